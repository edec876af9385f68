"""Immersion attendance: record and correct it (one person, or a whole session at once, with
"mark all present" and "mark all as in the Zoom report"), the present/partial/absent rule
for minutes, the attendance grid, and the facts other areas read (`organisation_attendance`,
`attendance_standing`).

Attendance is recorded only once a session has started, and only against the session as
the trainer saw it: a form carries the session's stamp (`session_stamp`) and a save made
after the session was moved is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, insert, select, type_coerce, update
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit, cache
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.filters import format_datetime
from app.extensions import db
from app.immersion.cohorts import _require_staff
from app.immersion.models import (
    ATTENDANCE_STATUSES,
    AttendanceChange,
    AttendanceRecord,
    Booking,
    BookingAttendee,
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

    def __init__(self, errors: dict[int, str], fields: dict[int, str | None] | None = None):
        super().__init__(" ".join(sorted(set(errors.values()))))
        self.errors = errors
        self.fields = fields or {}


def status_for_minutes(session: ImmersionSession, minutes: int) -> str:
    """The rule for a Zoom report's minutes: present from the cohort's session minimum,
    partly present below it, absent at zero."""
    if minutes >= session.minimum_minutes(session.cohort.session_minimum_percent):
        return "present"
    return "partial" if minutes else "absent"


def session_stamp(session: ImmersionSession) -> str:
    """What an attendance form was opened against: the session's start, end and status.
    A save whose stamp differs was made on a form showing a session that has since moved."""
    status = "cancelled" if session.is_cancelled else "held"
    return (
        f"{session.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        f"-{session.ends_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{status}"
    )


def attendance_open(session: ImmersionSession, now: datetime | None = None) -> bool:
    """Whether attendance can be recorded for the session yet (it has started)."""
    return (now or utcnow()) >= session.starts_at


def _check_recordable(session: ImmersionSession, stamp: str | None) -> None:
    if session.is_cancelled:
        raise ServiceError(f"“{session.title}” was cancelled: there is no attendance to record.")
    if stamp is not None and stamp != session_stamp(session):
        raise ServiceError(
            f"This session changed while the form was open: “{session.title}” now starts "
            f"{format_datetime(session.starts_at)} and lasts {session.duration_minutes} minutes. "
            "Nothing was saved: check the attendance below and save again."
        )
    if not attendance_open(session):
        raise ServiceError(
            f"“{session.title}” has not started yet: attendance can be recorded from "
            f"{format_datetime(session.starts_at)}."
        )


def _lock_session(session: ImmersionSession) -> None:
    """Serialise with anyone moving the session (an UPDATE takes its row lock on PostgreSQL
    and the write lock on SQLite), then read it as it now is."""
    db.session.execute(
        update(ImmersionSession)
        .where(ImmersionSession.id == session.id)
        .values(duration_minutes=ImmersionSession.duration_minutes)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(session)


@dataclass(frozen=True, slots=True)
class _Booked:
    organisation_id: int
    name: str


def _booked_ids(session: ImmersionSession) -> dict[int, _Booked]:
    """The people on a confirmed booking for the session's cohort, with their organisation
    and name for the record (one query)."""
    return {
        row.user_id: _Booked(row.organisation_id, row.name)
        for row in db.session.execute(
            select(BookingAttendee.user_id, Booking.organisation_id, User.name)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .join(User, User.id == BookingAttendee.user_id)
            .where(
                Booking.cohort_id == session.cohort_id,
                Booking.status == BookingStatus.CONFIRMED,
            )
        )
    }


def record_attendance(
    session: ImmersionSession,
    *,
    by: User,
    user_id: int,
    status: str,
    minutes: int | None,
    reason: str = "",
    source: str = "hand",
    stamp: str | None = None,
) -> AttendanceRecord | None:
    """Set one attendee's attendance; changing an existing record needs a reason. Returns
    the record, or None when nothing changed."""
    try:
        changed = record_session_attendance(
            session,
            by=by,
            rows=[AttendanceRow(user_id, status, minutes, reason)],
            source=source,
            stamp=stamp,
        )
    except AttendanceRefused as refusal:
        raise ServiceError(refusal.message, field=refusal.fields.get(user_id)) from None
    return changed[0] if changed else None


def record_session_attendance(
    session: ImmersionSession,
    *,
    by: User,
    rows: list[AttendanceRow],
    source: str,
    stamp: str | None = None,
    mark_others: str | None = None,
    reason: str = "",
) -> list[AttendanceRecord]:
    """Apply every row, or none: AttendanceRefused names each refused row.

    `mark_others` ("present" or "absent") also marks every booked attendee the rows leave
    out: "present" (mark all present) only those not recorded yet, for the whole session;
    "absent" (mark all as in the Zoom report) everyone missing from the report, with
    `reason` where that changes a record. The cohort's bookings and the session's records
    are read once for the whole batch, and the records and their audit events are written
    in one statement each, whatever the number of attendees. A refused batch is rolled back
    whole by the caller's request boundary. Returns the records that changed.
    """
    _require_staff(by)
    _lock_session(session)
    _check_recordable(session, stamp)
    booked = _booked_ids(session)
    existing = {
        record.user_id: record
        for record in db.session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
        )
    }
    rows = list(rows)
    given = {row.user_id for row in rows}
    if mark_others == "present":
        rows += [
            AttendanceRow(uid, "present", None)
            for uid in sorted(booked.keys() - given - set(existing))
        ]
    elif mark_others == "absent":
        rows += [AttendanceRow(uid, "absent", 0, reason) for uid in sorted(booked.keys() - given)]
    errors: dict[int, str] = {}
    fields: dict[int, str | None] = {}
    applied = []
    for row in rows:
        try:
            outcome = _apply(session, by, booked, existing.get(row.user_id), row, source)
        except ServiceError as error:
            errors[row.user_id], fields[row.user_id] = error.message, error.field
        else:
            if outcome is not None:
                applied.append(outcome)
    if errors:
        raise AttendanceRefused(errors, fields)
    # Written in bulk: one INSERT of the new records (read back, with their ids, in one
    # query), one of the changes' history, one UPDATE of the changed records at flush, and
    # the audit events in one go.
    new = {record.user_id: record for record, _event, _change in applied if record.id is None}
    if new:
        db.session.execute(
            insert(AttendanceRecord),
            [
                {
                    "session_id": r.session_id,
                    "user_id": r.user_id,
                    "status": r.status,
                    "minutes": r.minutes,
                    "source": r.source,
                    "recorded_by_id": r.recorded_by_id,
                    "recorded_at": r.recorded_at,
                }
                for r in new.values()
            ],
        )
        stored = {
            r.user_id: r
            for r in db.session.scalars(
                select(AttendanceRecord).where(
                    AttendanceRecord.session_id == session.id,
                    AttendanceRecord.user_id.in_(list(new)),
                )
            )
        }
        applied = [
            (stored[record.user_id] if record.id is None else record, event, change)
            for record, event, change in applied
        ]
        cache.changed("immersion-grid")  # a bulk INSERT: the session does not see it
    changes = [change for _record, _event, change in applied if change is not None]
    if changes:
        db.session.execute(insert(AttendanceChange), changes)
    db.session.flush()
    audit.record_many([{**event, "subject": record} for record, event, _change in applied])
    return [record for record, _event, _change in applied]


def record_from_report(
    session: ImmersionSession,
    *,
    by: User,
    minutes: dict[int, int | None],
    reason: str = "",
    stamp: str | None = None,
    everyone: bool = False,
) -> list[AttendanceRecord]:
    """Save attendance from a Zoom report's minutes (person -> minutes in the report), each
    status by the cohort's rule (`status_for_minutes`). With `everyone` ("mark all as in the
    Zoom report") every booked attendee missing from `minutes` is marked absent."""
    if any(m is None or m < 0 for m in minutes.values()):
        raise ServiceError("Every confirmed row needs its minutes (0 or more).", field="minutes")
    if not minutes and not everyone:
        raise ServiceError("Tick at least one row to save, or upload the report again.")
    rows = [
        AttendanceRow(user_id, status_for_minutes(session, m), m, reason)
        for user_id, m in minutes.items()
    ]
    return record_session_attendance(
        session,
        by=by,
        rows=rows,
        source="zoom",
        stamp=stamp,
        mark_others="absent" if everyone else None,
        reason=reason,
    )


def _apply(
    session: ImmersionSession,
    by: User,
    booked: dict[int, _Booked],
    record: AttendanceRecord | None,
    row: AttendanceRow,
    source: str,
):
    """Check one row and apply it to its record (a new one is not added to the session:
    the caller inserts the batch); returns (record, audit event, history row for a change)
    or None when nothing changes."""
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
            recorded_at=utcnow(),
        )
        event = {
            "action": "immersion.attendance_recorded",
            "actor": by,
            "organisation_id": booked[user_id].organisation_id,
            "details": {
                "session": session.id,
                "session_title": session.title,
                "user": user_id,
                "person": booked[user_id].name,
                "status": status,
                "minutes": minutes,
                "source": source,
            },
        }
        return record, event, None
    if record.status == status and record.minutes == minutes:
        return None
    reason = (row.reason or "").strip()
    if not reason:
        raise ServiceError(
            "Give a reason for changing an attendance record that already exists.", field="reason"
        )
    change = {
        "record_id": record.id,
        "old_status": record.status,
        "old_minutes": record.minutes,
        "new_status": status,
        "new_minutes": minutes,
        "reason": reason,
        "changed_by_id": by.id,
        "changed_at": utcnow(),
    }
    event = {
        "action": "immersion.attendance_changed",
        "actor": by,
        "organisation_id": booked[user_id].organisation_id,
        "details": {
            "session": session.id,
            "session_title": session.title,
            "user": user_id,
            "person": booked[user_id].name,
            "from": [record.status, record.minutes],
            "to": [status, minutes],
            "reason": reason,
        },
    }
    record.status, record.minutes, record.source = status, minutes, source
    record.recorded_by_id, record.recorded_at = by.id, utcnow()
    return record, event, change


@dataclass(frozen=True, slots=True)
class Person:
    """An attendee as the grid shows them (plain values, not an account)."""

    id: int
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class OrganisationName:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class GridAttendee:
    """One booked attendee of a cohort, in the grid's order."""

    user_id: int
    booking_id: int
    user: Person
    organisation: OrganisationName


@dataclass(frozen=True)
class AttendeeSummary:
    user: Person
    organisation: OrganisationName
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


def grid_attendees(cohort: ImmersionCohort, organisation_id: int | None = None):
    """Everyone on a confirmed booking for the cohort (or one organisation's), by
    organisation then name, as plain values in one query."""
    stmt = (
        select(
            BookingAttendee.user_id,
            Booking.id,
            User.name,
            User.email,
            Organisation.id,
            Organisation.name,
        )
        .join(Booking, Booking.id == BookingAttendee.booking_id)
        .join(User, User.id == BookingAttendee.user_id)
        .join(Organisation, Organisation.id == Booking.organisation_id)
        .where(Booking.cohort_id == cohort.id, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Booking.organisation_id, User.name)
    )
    if organisation_id is not None:
        stmt = stmt.where(Booking.organisation_id == organisation_id)
    organisations: dict[int, OrganisationName] = {}
    attendees = []
    for user_id, booking_id, name, email, org_id, org_name in db.session.execute(stmt):
        org = organisations.get(org_id) or organisations.setdefault(
            org_id, OrganisationName(org_id, org_name)
        )
        attendees.append(GridAttendee(user_id, booking_id, Person(user_id, name, email), org))
    return attendees


def attendance_grid(cohort: ImmersionCohort, organisation_id: int | None = None):
    """(attendees, sessions, records by (session, user), summaries) in three queries
    (attendees, sessions, records), all plain rows but the sessions; for one organisation's
    attendees only when `organisation_id` is given."""
    attendees = grid_attendees(cohort, organisation_id)
    sessions = cohort.held_sessions  # a cancelled session counts for nobody
    # Plain rows (status, minutes, source), not ORM records: a grid has hundreds of cells.
    stmt = select(
        AttendanceRecord.session_id,
        AttendanceRecord.user_id,
        # The status as stored text: no enum made per cell.
        type_coerce(AttendanceRecord.status, String).label("status"),
        AttendanceRecord.minutes,
        AttendanceRecord.source,
    ).where(AttendanceRecord.session_id.in_([s.id for s in sessions] or [0]))
    if organisation_id is not None:
        stmt = stmt.where(AttendanceRecord.user_id.in_([a.user_id for a in attendees] or [0]))
    # Each record is looked at once: filed by (session, user) for the cells, and counted
    # for its attendee when it reaches the session's minimum (a grid has 480 cells).
    minimum = {s.id: s.minimum_minutes(cohort.session_minimum_percent) for s in sessions}
    records, counted = {}, dict.fromkeys([a.user_id for a in attendees], 0)
    for r in db.session.execute(stmt):
        session_id, user_id, status, minutes, _source = r
        records[session_id, user_id] = r
        if status != "absent" and minutes >= minimum[session_id] and user_id in counted:
            counted[user_id] += 1
    session_ids = [s.id for s in sessions]
    threshold, total = cohort.attendance_threshold_percent, len(sessions)
    get = records.get
    summaries = {
        a.user_id: AttendeeSummary(
            a.user,
            a.organisation,
            counted[a.user_id],
            total,
            threshold,
            tuple([get((sid, a.user_id)) for sid in session_ids]),
        )
        for a in attendees
    }
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
