"""Helpers for Immersion tests: verified agreements, cohorts with sessions, booked teams.

Agreements are put on file by `tests.factories.readiness.verify_agreements` (through the
readiness services); cohorts and sessions go through the services, as a trainer would
create them. `make_team` is a fixture of tests/conftest.py.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.core.db import utcnow
from app.extensions import db
from app.immersion import services
from app.immersion.models import (
    AttendanceChange,
    AttendanceRecord,
    Booking,
    ImmersionCohort,
    ImmersionSession,
)
from tests.factories.readiness import verify_agreements

_keys = itertools.count(1)

# A Wednesday in spring 2027, well in the future; sessions follow weekly at 10:00 UTC.
FIRST_SESSION = datetime(2027, 4, 7, 10, 0, tzinfo=UTC)


def held_first(weeks: int = 5) -> datetime:
    """A first session `weeks` weeks ago at 10:00 UTC: weekly sessions from it have taken
    place, so attendance can be recorded (it is refused before a session starts)."""
    return (utcnow() - timedelta(weeks=weeks)).replace(hour=10, minute=0, second=0, microsecond=0)


def make_cohort(
    trainer,
    *,
    title="Immersion spring 2027",
    capacity=10,
    deadline=None,
    sessions=3,
    duration=90,
    first=FIRST_SESSION,
    join_url="https://zoom.example.org/j/123456",
    **options,
) -> ImmersionCohort:
    """A cohort with `sessions` weekly sessions (through the services), committed. The
    deadline defaults to 30 days ahead, or the day before a first session sooner than that;
    sessions in the past are recorded as having taken place."""
    reopen = deadline is None and first <= utcnow()
    if deadline is None:
        deadline = utcnow() + timedelta(days=30)
        if reopen:  # a cohort already under way: booking closed the day before it began
            deadline = first - timedelta(days=1)
        elif first <= deadline:
            deadline = max(utcnow() + timedelta(minutes=1), first - timedelta(days=1))
    cohort = services.create_cohort(
        by=trainer,
        title=title,
        description="Partner launch training.",
        capacity=capacity,
        booking_deadline=deadline,
        **options,
    )
    for i in range(sessions):
        services.add_session(
            cohort,
            by=trainer,
            title=f"Session {i + 1}",
            starts_at=first + timedelta(weeks=i),
            duration_minutes=duration,
            join_url=join_url,
            facilitators="Dr Priya Shah",
            already_took_place=first + timedelta(weeks=i) < utcnow(),
        )
    if reopen:
        # Test data: the trainer let bookings in after the start (the service forbids
        # setting that up, so it is written directly), so tests can book a cohort whose
        # sessions have taken place and record their attendance.
        cohort.booking_deadline = utcnow() + timedelta(days=30)
    db.session.commit()
    return cohort


@dataclass
class Team:
    org: object
    lead: object
    coordinator: object
    facilitator: object
    specialist: object

    @property
    def members(self) -> list:
        return [self.lead, self.coordinator, self.facilitator, self.specialist]

    @property
    def ids(self) -> list[int]:
        return [u.id for u in self.members]


def team_factory(app, make_user, make_organisation):
    """Factory: make_team(stage="in_training", verified=True, name=None) -> Team.

    A hub lead, a coordinator, a facilitator and a specialist (the programme's required
    roles), each a separate person; both agreements verified unless `verified=False`.
    """

    def make(stage="in_training", verified=True, name=None, prefix=None) -> Team:
        n = next(_keys)
        prefix = prefix or f"t{n}"
        lead = make_user(name=f"{prefix} Lead", email=f"{prefix}.lead@example.org")
        coordinator = make_user(name=f"{prefix} Coordinator", email=f"{prefix}.coord@example.org")
        facilitator = make_user(name=f"{prefix} Facilitator", email=f"{prefix}.facil@example.org")
        specialist = make_user(name=f"{prefix} Specialist", email=f"{prefix}.spec@example.org")
        extra = {"name": name} if name else {}
        # Agreements are uploaded in training (the services refuse them before); a team
        # asked for at another stage is moved there afterwards, as make_organisation does.
        org = make_organisation(
            stage="in_training" if verified else stage,
            lead=lead,
            members={
                "coordinator": coordinator,
                "facilitator": facilitator,
                "specialist": specialist,
            },
            **extra,
        )
        if verified:
            verify_agreements(org, lead)
            if stage != "in_training":
                org.stage = stage
                db.session.commit()
        return Team(org, lead, coordinator, facilitator, specialist)

    return make


def book(app, team, cohort, attendees=None) -> Booking:
    """Book `team` onto `cohort` through the service (committed); all four attend by default."""
    with app.test_request_context():
        booking = services.book(
            team.org,
            cohort,
            by=team.lead,
            attendee_ids=[u.id for u in attendees] if attendees is not None else team.ids,
        )
        db.session.commit()
    return booking


def record(session, trainer, user, status="present", minutes=None, reason=""):
    result = services.record_attendance(
        session, by=trainer, user_id=user.id, status=status, minutes=minutes, reason=reason
    )
    db.session.commit()
    return result


def attend_immersion(org, lead, trainer, attendees) -> ImmersionCohort:
    """Real attendance, through the services: a cohort whose two sessions have taken place,
    booked by `lead` for `attendees`, each recorded present for the whole of both."""
    from flask import current_app

    cohort = make_cohort(
        trainer,
        title=f"Immersion for {org.name}",
        sessions=2,
        first=utcnow() - timedelta(days=15),
    )
    with current_app.test_request_context():
        services.book(org, cohort, by=lead, attendee_ids=[u.id for u in attendees])
        db.session.commit()
    for session in sessions_of(cohort):
        for user in attendees:
            record(session, trainer, user)
    return cohort


def reload_cohort(cohort_id: int) -> ImmersionCohort:
    db.session.expire_all()
    return db.session.get(ImmersionCohort, cohort_id)


def reload_booking(booking_id: int) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking_id)


def attendance_rows() -> list[tuple]:
    """Every attendance record and change, to prove a refusal saved nothing."""
    db.session.expire_all()
    records = db.session.execute(
        select(
            AttendanceRecord.session_id,
            AttendanceRecord.user_id,
            AttendanceRecord.status,
            AttendanceRecord.minutes,
            AttendanceRecord.source,
        ).order_by(AttendanceRecord.id)
    ).all()
    changes = db.session.scalar(select(func.count()).select_from(AttendanceChange))
    return [tuple(r) for r in records] + [("changes", changes)]


def sessions_of(cohort) -> list[ImmersionSession]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ImmersionSession)
            .where(ImmersionSession.cohort_id == cohort.id)
            .order_by(ImmersionSession.starts_at)
        )
    )


def csv_upload(text: str | bytes, filename: str = "participants.csv"):
    """A file for the test client's `data=` (multipart)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return (io.BytesIO(data), filename)
