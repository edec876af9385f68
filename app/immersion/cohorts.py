"""Immersion cohorts and their sessions: create, add sessions, open/close/complete, list;
who is booked on a cohort (`booked_attendees`, `confirmed_count`) and which cohorts an
organisation may book now (`bookable_cohorts`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.programme import programme
from app.core.roles import ADMIN, TRAINER
from app.extensions import db
from app.immersion.models import (
    Booking,
    BookingAttendee,
    BookingStatus,
    ImmersionCohort,
    ImmersionSession,
)
from app.notifications.services import notify

ACTIVE = ("confirmed", "waiting")


def _require_staff(user: User) -> None:
    if not (user.has_role(TRAINER) or user.has_role(ADMIN)):
        raise ServiceError("Only trainers and administrators manage Immersion cohorts.")


def create_cohort(
    *,
    by: User,
    title: str,
    description: str,
    capacity: int | None,
    booking_deadline: datetime | None,
    session_minimum_percent: int = 75,
    attendance_threshold_percent: int = 80,
) -> ImmersionCohort:
    _require_staff(by)
    title = (title or "").strip()
    if not title:
        raise ServiceError("Enter a title for the cohort.", field="title")
    if capacity is None or capacity < 1 or capacity > 500:
        raise ServiceError("Enter a capacity from 1 to 500 organisations.", field="capacity")
    if booking_deadline is None:
        raise ServiceError("Enter the booking deadline.", field="booking_deadline")
    for name, value in (
        ("session_minimum_percent", session_minimum_percent),
        ("attendance_threshold_percent", attendance_threshold_percent),
    ):
        if not 1 <= value <= 100:
            raise ServiceError("Enter a percentage from 1 to 100.", field=name)
    cohort = ImmersionCohort(
        title=title,
        description=(description or "").strip(),
        capacity=capacity,
        booking_deadline=booking_deadline,
        status="open",
        session_minimum_percent=session_minimum_percent,
        attendance_threshold_percent=attendance_threshold_percent,
        created_by_id=by.id,
    )
    db.session.add(cohort)
    db.session.flush()
    audit.record(
        "immersion.cohort_created",
        actor=by,
        subject=cohort,
        details={"title": title, "capacity": capacity},
    )
    return cohort


def add_session(
    cohort: ImmersionCohort,
    *,
    by: User,
    title: str,
    starts_at: datetime | None,
    duration_minutes: int | None,
    join_url: str = "",
    facilitators: str = "",
    prework_modules: list[str] | None = None,
) -> ImmersionSession:
    _require_staff(by)
    title = (title or "").strip()
    if not title:
        raise ServiceError("Enter a title for the session.", field="title")
    if starts_at is None:
        raise ServiceError("Enter the date and time the session starts.", field="starts_at")
    if duration_minutes is None or not 10 <= duration_minutes <= 480:
        raise ServiceError("Enter a duration from 10 to 480 minutes.", field="duration_minutes")
    join_url = (join_url or "").strip()
    if join_url and not join_url.startswith("https://"):
        raise ServiceError("The join link must start with https://.", field="join_url")
    from app.training.services import curriculum

    modules = [m for m in (prework_modules or []) if m]
    unknown = [m for m in modules if curriculum().get(m) is None]
    if unknown:
        raise ServiceError(f"Unknown module: {', '.join(unknown)}.", field="prework_modules")
    session = ImmersionSession(
        cohort_id=cohort.id,
        title=title,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        join_url=join_url,
        facilitators=(facilitators or "").strip(),
        prework_modules=modules,
    )
    db.session.add(session)
    db.session.flush()
    audit.record(
        "immersion.session_added",
        actor=by,
        subject=session,
        details={"cohort": cohort.id, "title": title, "starts_at": starts_at.isoformat()},
    )
    return session


def set_cohort_status(cohort: ImmersionCohort, *, by: User, status: str) -> None:
    """Open, close or complete a cohort; completing it asks every attendee to evaluate it."""
    _require_staff(by)
    if status not in ("open", "closed", "completed"):
        raise ServiceError("Choose open, closed or completed.", field="status")
    if status == "open" and confirmed_count(cohort) >= cohort.capacity:
        status = "full"
    previous, cohort.status = cohort.status, status
    audit.record(
        "immersion.cohort_status",
        actor=by,
        subject=cohort,
        details={"from": previous, "to": status},
    )
    if status == "completed" and previous != "completed":
        # Completing the cohort opens its evaluation and asks every attendee to answer.
        cohort.evaluation_closes_at = utcnow() + timedelta(days=programme().evaluation_days)
        people = [a.user for a in booked_attendees(cohort)]
        if people:
            notify(
                people,
                subject=f"Tell us about {cohort.title}",
                template="immersion_evaluation",
                cohort=cohort,
                link=url_for("immersion.evaluate", cohort_id=cohort.id, _external=True),
            )


def list_cohorts() -> list[tuple[ImmersionCohort, int, int]]:
    """Cohorts, newest deadline first, with confirmed and waiting counts (two queries)."""
    cohorts = list(
        db.session.scalars(
            select(ImmersionCohort)
            .options(selectinload(ImmersionCohort.sessions))
            .order_by(ImmersionCohort.booking_deadline.desc())
        )
    )
    counts = {
        (cid, status): n
        for cid, status, n in db.session.execute(
            select(Booking.cohort_id, Booking.status, func.count())
            .where(Booking.status.in_(ACTIVE))
            .group_by(Booking.cohort_id, Booking.status)
        )
    }
    return [
        (c, counts.get((c.id, "confirmed"), 0), counts.get((c.id, "waiting"), 0)) for c in cohorts
    ]


def confirmed_count(cohort: ImmersionCohort) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.cohort_id == cohort.id, Booking.status == BookingStatus.CONFIRMED)
    )


def booked_attendees(
    cohort: ImmersionCohort, organisation_id: int | None = None
) -> list[BookingAttendee]:
    """Everyone on a confirmed booking for the cohort (or one organisation's booking), by
    organisation then name."""
    stmt = select(BookingAttendee)
    if organisation_id is not None:
        stmt = stmt.where(Booking.organisation_id == organisation_id)
    return list(
        db.session.scalars(
            stmt.join(Booking, Booking.id == BookingAttendee.booking_id)
            .join(User, User.id == BookingAttendee.user_id)
            .where(Booking.cohort_id == cohort.id, Booking.status == BookingStatus.CONFIRMED)
            .options(
                selectinload(BookingAttendee.booking).selectinload(Booking.organisation),
                # Attendees' site roles are never needed here: skip a query and 1 object each.
                selectinload(BookingAttendee.user).lazyload(User.role_links),
            )
            .order_by(Booking.organisation_id, User.name)
        )
    )
