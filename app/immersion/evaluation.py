"""Immersion evaluations: who may answer, the attendee's response, the results for trainers,
and the evaluations still waiting for a person."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.programme import programme
from app.extensions import db
from app.immersion.cohorts import booked_attendees
from app.immersion.models import (
    Booking,
    BookingAttendee,
    BookingStatus,
    CohortStatus,
    EvaluationResponse,
    ImmersionCohort,
)

AGREE_SCALE = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}


def is_attendee(user: User, cohort: ImmersionCohort) -> bool:
    return any(a.user_id == user.id for a in booked_attendees(cohort))


def evaluation_open(cohort: ImmersionCohort) -> bool:
    return (
        cohort.status == CohortStatus.COMPLETED
        and cohort.evaluation_closes_at is not None
        and utcnow() < cohort.evaluation_closes_at
    )


def my_evaluation(user: User, cohort: ImmersionCohort) -> EvaluationResponse | None:
    return db.session.scalar(
        select(EvaluationResponse).where(
            EvaluationResponse.cohort_id == cohort.id, EvaluationResponse.user_id == user.id
        )
    )


def submit_evaluation(
    cohort: ImmersionCohort, *, by: User, ratings: dict[str, int | None], comments: str
) -> EvaluationResponse:
    """One response per attendee, editable until the evaluation closes."""
    mine = next((a for a in booked_attendees(cohort) if a.user_id == by.id), None)
    if mine is None:
        raise ServiceError("Only people who attended this cohort can evaluate it.")
    if not evaluation_open(cohort):
        raise ServiceError("The evaluation for this cohort is not open.")
    statements = programme().evaluation_statements
    missing = [text for key, text in statements if ratings.get(key) not in AGREE_SCALE]
    if missing:
        raise ServiceError("Choose an answer for every statement: " + "; ".join(missing))
    comments = (comments or "").strip()
    if len(comments) > 5000:
        raise ServiceError("Use at most 5,000 characters.", field="comments")
    response = my_evaluation(by, cohort)
    clean = {key: int(ratings[key]) for key, _ in statements}
    if response is None:
        response = EvaluationResponse(
            cohort_id=cohort.id, user_id=by.id, ratings=clean, comments=comments
        )
        db.session.add(response)
    else:
        response.ratings, response.comments, response.updated_at = clean, comments, utcnow()
    db.session.flush()
    audit.record(
        "immersion.evaluated",
        actor=by,
        subject=response,
        organisation_id=mine.booking.organisation_id,
        details={"cohort": cohort.id, "title": cohort.title},
    )
    return response


def evaluation_results(cohort: ImmersionCohort):
    """Per statement: responses, and the % who agree or strongly agree; plus the comments."""
    responses = list(
        db.session.scalars(
            select(EvaluationResponse)
            .where(EvaluationResponse.cohort_id == cohort.id)
            .order_by(EvaluationResponse.submitted_at)
        )
    )
    rows = []
    for key, text in programme().evaluation_statements:
        answered = [r.ratings.get(key) for r in responses if r.ratings.get(key) in AGREE_SCALE]
        agree = sum(1 for v in answered if v >= 4)
        rows.append((text, len(answered), round(100 * agree / len(answered)) if answered else None))
    return responses, rows


def pending_evaluations(user: User) -> list[ImmersionCohort]:
    """Completed cohorts the user attended whose evaluation is open and not yet answered."""
    cohorts = (
        db.session.scalars(
            select(ImmersionCohort)
            .join(Booking, Booking.cohort_id == ImmersionCohort.id)
            .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
            .where(
                BookingAttendee.user_id == user.id,
                Booking.status == BookingStatus.CONFIRMED,
                ImmersionCohort.status == CohortStatus.COMPLETED,
                ImmersionCohort.evaluation_closes_at > utcnow(),
            )
        )
        .unique()
        .all()
    )
    answered = set(
        db.session.scalars(
            select(EvaluationResponse.cohort_id).where(EvaluationResponse.user_id == user.id)
        )
    )
    return [c for c in cohorts if c.id not in answered]
