"""Immersion attendance: record and correct it (one person, or a whole session at once), the
present/partial/absent rule for minutes, the attendance grid, and the facts other areas
read (`organisation_attendance`, `attendance_standing`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.extensions import db
from app.immersion.cohorts import _require_staff, booked_attendees
from app.immersion.models import (
    ATTENDANCE_STATUSES,
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    CohortStatus,
    ImmersionCohort,
    ImmersionSession,
)
from app.organisations.models import Organisation


@dataclass(frozen=True)
class AttendanceRow:
    """One attendee's attendance as a trainer gave it (by hand or from a Zoom report)."""

    user_id: int
    status: str
    minutes: int | None
    reason: str = ""


class AttendanceRefused(ServiceError):
    """Some rows of a batch were refused; nothing of the batch was kept. `errors` maps each
    refused attendee's user id to the reason."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(" ".join(sorted(set(errors.values()))))
        self.errors = errors


def status_for_minutes(session: ImmersionSession, minutes: int) -> str:
    """The rule for a Zoom report's minutes: present from the cohort's session minimum,
    partly present below it, absent at zero."""
    if minutes >= session.minimum_minutes(session.cohort.session_minimum_percent):
        return "present"
    return "partial" if minutes else "absent"


def record_attendance(
    session: ImmersionSession,
    *,
    by: User,
    user_id: int,
    status: str,
    minutes: int | None,
    reason: str = "",
    source: str = "hand",
) -> AttendanceRecord | None:
    """Set one attendee's attendance; changing an existing record needs a reason."""
    _require_staff(by)
    booked = {a.user_id for a in booked_attendees(session.cohort)}
    existing = _records(session, [user_id])
    row = AttendanceRow(user_id, status, minutes, reason)
    return _record_one(session, by, booked, existing.get(user_id), row, source)


def record_session_attendance(
    session: ImmersionSession, *, by: User, rows: list[AttendanceRow], source: str
) -> int:
    """Apply every row, or none: AttendanceRefused names each refused row.

    The cohort's bookings and the session's records are read once for the whole batch
    (two queries, whatever the number of attendees). No savepoint per row: each row is
    checked before it writes, and a refused batch is rolled back whole by the caller's
    request boundary. Returns how many rows changed something.
    """
    _require_staff(by)
    booked = {a.user_id for a in booked_attendees(session.cohort)}
    existing = _records(session, [row.user_id for row in rows])
    errors: dict[int, str] = {}
    changed = 0
    for row in rows:
        try:
            record = _record_one(session, by, booked, existing.get(row.user_id), row, source)
        except ServiceError as error:
            errors[row.user_id] = error.message
        else:
            changed += record is not None
    if errors:
        raise AttendanceRefused(errors)
    return changed


def _records(session: ImmersionSession, user_ids) -> dict[int, AttendanceRecord]:
    return {
        record.user_id: record
        for record in db.session.scalars(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session.id,
                AttendanceRecord.user_id.in_(set(user_ids)),
            )
        )
    }


def _record_one(
    session: ImmersionSession,
    by: User,
    booked: set[int],
    record: AttendanceRecord | None,
    row: AttendanceRow,
    source: str,
) -> AttendanceRecord | None:
    user_id, status, minutes = row.user_id, row.status, row.minutes
    if session.is_cancelled:
        raise ServiceError("This session was cancelled, so no attendance is recorded for it.")
    if status not in ATTENDANCE_STATUSES:
        raise ServiceError("Choose present, partly present or absent.", field="status")
    if user_id not in booked:
        raise ServiceError("That person is not booked on this cohort.")
    if status == "absent":
        minutes = 0
    elif minutes is None:
        minutes = session.duration_minutes if status == "present" else None
    if minutes is None:
        raise ServiceError("Enter the minutes attended.", field="minutes")
    if not 0 <= minutes <= session.duration_minutes * 2:
        raise ServiceError(
            f"Minutes must be between 0 and {session.duration_minutes * 2}.", field="minutes"
        )
    if record is None:
        record = AttendanceRecord(
            session_id=session.id,
            user_id=user_id,
            status=status,
            minutes=minutes,
            source=source,
            recorded_by_id=by.id,
        )
        db.session.add(record)
        db.session.flush()
        audit.record(
            "immersion.attendance_recorded",
            actor=by,
            subject=record,
            details={
                "session": session.id,
                "user": user_id,
                "status": status,
                "minutes": minutes,
                "source": source,
            },
        )
        return record
    if record.status == status and record.minutes == minutes:
        return None
    reason = (row.reason or "").strip()
    if not reason:
        raise ServiceError(
            "Give a reason for changing an attendance record that already exists.", field="reason"
        )
    db.session.add(
        AttendanceChange(
            record_id=record.id,
            old_status=record.status,
            old_minutes=record.minutes,
            new_status=status,
            new_minutes=minutes,
            reason=reason,
            changed_by_id=by.id,
        )
    )
    audit.record(
        "immersion.attendance_changed",
        actor=by,
        subject=record,
        details={
            "session": session.id,
            "user": user_id,
            "from": [record.status, record.minutes],
            "to": [status, minutes],
            "reason": reason,
        },
    )
    record.status, record.minutes, record.source = status, minutes, source
    record.recorded_by_id, record.recorded_at = by.id, utcnow()
    return record


@dataclass(frozen=True)
class AttendeeSummary:
    user: User
    organisation: Organisation
    counted: int
    sessions: int
    threshold: int
    cells: tuple = ()  # the attendee's record (or None) for each session, in order

    @property
    def percent(self) -> int:
        return round(100 * self.counted / self.sessions) if self.sessions else 0

    @property
    def met(self) -> bool:
        return self.sessions > 0 and self.percent >= self.threshold


def attendance_grid(cohort: ImmersionCohort, organisation_id: int | None = None):
    """(attendees, sessions, records by (session, user), summaries) in a fixed number of
    queries; for one organisation's attendees only when `organisation_id` is given."""
    attendees = booked_attendees(cohort, organisation_id)
    sessions = cohort.held_sessions  # a cancelled session counts for nobody
    # Plain rows (status, minutes, source), not ORM records: a grid has hundreds of cells.
    stmt = select(
        AttendanceRecord.session_id,
        AttendanceRecord.user_id,
        AttendanceRecord.status,
        AttendanceRecord.minutes,
        AttendanceRecord.source,
    ).where(AttendanceRecord.session_id.in_([s.id for s in sessions] or [0]))
    if organisation_id is not None:
        stmt = stmt.where(AttendanceRecord.user_id.in_([a.user_id for a in attendees] or [0]))
    records = {(r.session_id, r.user_id): r for r in db.session.execute(stmt)}
    minimums = [s.minimum_minutes(cohort.session_minimum_percent) for s in sessions]
    summaries = {}
    for attendee in attendees:
        cells = tuple(records.get((s.id, attendee.user_id)) for s in sessions)
        counted = sum(
            1
            for r, minimum in zip(cells, minimums, strict=True)
            if r is not None and r.status != AttendanceStatus.ABSENT and r.minutes >= minimum
        )
        summaries[attendee.user_id] = AttendeeSummary(
            attendee.user,
            attendee.booking.organisation,
            counted,
            len(sessions),
            cohort.attendance_threshold_percent,
            cells,
        )
    return attendees, sessions, records, summaries


def organisation_attendance(org: Organisation) -> list[tuple[Booking, dict]]:
    """The organisation's bookings with each attendee's summary on that cohort."""
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.organisation_id == org.id)
            .options(selectinload(Booking.cohort).selectinload(ImmersionCohort.sessions))
            .order_by(Booking.queued_at.desc())
        )
    )
    result = []
    for booking in bookings:
        summaries = {}
        if booking.status == BookingStatus.CONFIRMED:
            _a, _s, _r, all_summaries = attendance_grid(booking.cohort, org.id)
            summaries = {
                a.user_id: all_summaries[a.user_id]
                for a in booking.attendees
                if a.user_id in all_summaries
            }
        result.append((booking, summaries))
    return result


@dataclass(frozen=True)
class AttendanceStanding:
    """What Immersion tells readiness about an organisation: whether any attendance is
    recorded yet, and who met the attendance threshold on a confirmed booking."""

    recorded: bool
    met_user_ids: frozenset[int]


def attendance_standing(org: Organisation) -> AttendanceStanding:
    met_users: set[int] = set()
    recorded = False
    for booking, summaries in organisation_attendance(org):
        for user_id, summary in summaries.items():
            recorded = (
                recorded or summary.counted > 0 or booking.cohort.status == CohortStatus.COMPLETED
            )
            if summary.met:
                met_users.add(user_id)
    return AttendanceStanding(recorded, frozenset(met_users))
