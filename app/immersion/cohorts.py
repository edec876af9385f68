"""Immersion cohorts and their sessions: create, add sessions, open/close/complete, list;
change them afterwards (`update_cohort`, `update_session`, `cancel_session`,
`delete_session`, `cancel_cohort`, `duplicate_cohort`) and read what happened
(`cohort_history`); who is booked on a cohort (`booked_attendees`, `confirmed_count`).

Trainers' changes are checked against the version their form was opened at (two trainers
editing one cohort at once: the second save is refused, never merged). The cohort's row is
the lock for everything on it, sessions included, as it is for bookings (see bookings.py):
a change takes it first, so the checks that span the cohort (overlaps, the deadline before
the first session, capacity against the confirmed places) read a settled state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.filters import format_datetime, format_time, to_local
from app.core.mail import send_email
from app.core.programme import programme
from app.core.roles import ADMIN, TRAINER
from app.extensions import db
from app.immersion.ical import cohort_calendar, session_cancellation, session_update
from app.immersion.models import (
    AttendanceRecord,
    Booking,
    BookingAttendee,
    BookingStatus,
    CohortStatus,
    ImmersionCohort,
    ImmersionSession,
    SessionResource,
)
from app.notifications.kinds import Delivery, group_of
from app.notifications.services import notify, preferences

ACTIVE = ("confirmed", "waiting")
BOOKABLE = (CohortStatus.OPEN, CohortStatus.FULL)

STALE_COHORT = (
    "Someone else changed this cohort while you were editing it, so nothing was saved. "
    "Reload the page to see their changes, then make yours again."
)
STALE_SESSION = (
    "Someone else changed this session while you were editing it, so nothing was saved. "
    "Reload the page to see their changes, then make yours again."
)
PAST_TICK = "Recording a session that already took place"


def _require_staff(user: User) -> None:
    if not (user.has_role(TRAINER) or user.has_role(ADMIN)):
        raise ServiceError("Only trainers and administrators manage Immersion cohorts.")


def _check_cohort_fields(
    title, capacity, booking_deadline, session_minimum_percent, attendance_threshold_percent
) -> str:
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
        if value is None or not 1 <= value <= 100:
            raise ServiceError("Enter a percentage from 1 to 100.", field=name)
    return title


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
    title = _check_cohort_fields(
        title, capacity, booking_deadline, session_minimum_percent, attendance_threshold_percent
    )
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


# --- locks and versions ------------------------------------------------------------------


def _claim(model, obj, version: int | None, stale: str) -> None:
    """Take `obj`'s row lock and raise its version, in one statement: refused (`stale`) if
    `version` (the one the trainer's form was opened at) is no longer current. The check
    and the bump are one UPDATE, so two saves racing cannot both pass."""
    conditions = [model.id == obj.id]
    if version is not None:
        conditions.append(model.version == version)
    claimed = db.session.execute(
        update(model)
        .where(*conditions)
        .values(version=model.version + 1)
        .returning(model.version)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if claimed is None:
        raise ServiceError(stale)
    db.session.refresh(obj)  # what the lock's holder before us committed


def _lock_cohort(cohort: ImmersionCohort, version: int | None = None) -> None:
    _claim(ImmersionCohort, cohort, version, STALE_COHORT)
    if cohort.status == CohortStatus.CANCELLED:
        raise ServiceError("This cohort is cancelled, so it can no longer be changed.")


def _when(value: datetime) -> str:
    return format_datetime(value)


def _until(value: datetime) -> str:
    return format_time(value)


# --- sessions ----------------------------------------------------------------------------


def _session_fields(title, duration_minutes, join_url, facilitators, prework_modules) -> dict:
    title = (title or "").strip()
    if not title:
        raise ServiceError("Enter a title for the session.", field="title")
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
    return {
        "title": title,
        "duration_minutes": duration_minutes,
        "join_url": join_url,
        "facilitators": (facilitators or "").strip(),
        "prework_modules": modules,
    }


def _check_schedule(
    cohort: ImmersionCohort,
    starts_at: datetime,
    duration_minutes: int,
    *,
    already_took_place: bool,
    session: ImmersionSession | None = None,
) -> None:
    """A session's time: not in the past (unless the trainer says it already took place),
    not before the booking deadline, not overlapping another session of the cohort."""
    now = utcnow()
    if starts_at > now + timedelta(days=3660):
        raise ServiceError("Choose a start within the next ten years.", field="starts_at")
    if starts_at < now and not already_took_place:
        raise ServiceError(
            "This start is in the past. If you are recording a session that already took "
            f"place, tick “{PAST_TICK}”.",
            field="starts_at",
        )
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    for other in cohort.held_sessions:
        if other is session:
            continue
        if other.starts_at < ends_at and starts_at < other.ends_at:
            raise ServiceError(
                f"This overlaps “{other.title}” ({_when(other.starts_at)} to "
                f"{_until(other.ends_at)}): sessions of one cohort cannot overlap.",
                field="starts_at",
            )
    # The deadline is for booking ahead: a session recorded after the fact is history.
    if starts_at >= now and starts_at < cohort.booking_deadline:
        raise ServiceError(
            f"The booking deadline is {_when(cohort.booking_deadline)}, and a session cannot "
            "start before it. Choose a later start, or first move the deadline earlier "
            "(Edit cohort).",
            field="starts_at",
        )


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
    already_took_place: bool = False,
) -> ImmersionSession:
    """Add a session; the people already booked are sent its calendar entry."""
    _require_staff(by)
    values = _session_fields(title, duration_minutes, join_url, facilitators, prework_modules)
    if starts_at is None:
        raise ServiceError("Enter the date and time the session starts.", field="starts_at")
    _lock_cohort(cohort)
    _check_schedule(
        cohort, starts_at, values["duration_minutes"], already_took_place=already_took_place
    )
    session = ImmersionSession(cohort_id=cohort.id, starts_at=starts_at, **values)
    db.session.add(session)
    db.session.flush()
    db.session.refresh(cohort, ["sessions"])
    audit.record(
        "immersion.session_added",
        actor=by,
        subject=session,
        details={
            "cohort": cohort.id,
            "title": values["title"],
            "starts_at": starts_at.isoformat(),
            "when": _when(starts_at),
            **({"already_took_place": True} if starts_at < utcnow() else {}),
        },
    )
    if session.ends_at > utcnow():
        _tell_attendees(session, "added")
    return session


# What a calendar entry shows: a change to any of these is sent to the attendees.
_CALENDAR_FIELDS = ("title", "starts_at", "duration_minutes", "join_url", "facilitators")
_FIELD_WORDS = {
    "title": "title",
    "starts_at": "start",
    "duration_minutes": "length",
    "join_url": "join link",
    "facilitators": "facilitators",
    "prework_modules": "pre-work",
}


def _words(name: str, value) -> str:
    if isinstance(value, datetime):
        return _when(value)
    if name == "duration_minutes":
        return f"{value} minutes"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value) if value not in ("", None) else "none"


def update_session(
    session: ImmersionSession,
    *,
    by: User,
    version: int | None,
    title: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    join_url: str = "",
    facilitators: str = "",
    prework_modules: list[str] | None = None,
    already_took_place: bool = False,
) -> list[str]:
    """Edit or move a session (its start and end); refused if it changed since the form
    was opened. Attendees are told of a change to their calendar entry, with the entry
    itself (same UID, SEQUENCE raised). Returns the names of the fields that changed."""
    _require_staff(by)
    if starts_at is None:
        raise ServiceError("Enter the date and time the session starts.", field="starts_at")
    if ends_at is None:
        raise ServiceError("Enter the date and time the session ends.", field="ends_at")
    if ends_at <= starts_at:
        raise ServiceError("The session must end after it starts.", field="ends_at")
    duration = int((ends_at - starts_at).total_seconds() // 60)
    if not 10 <= duration <= 480:
        raise ServiceError(
            "A session lasts from 10 minutes to 8 hours: check the end time.", field="ends_at"
        )
    values = _session_fields(title, duration, join_url, facilitators, prework_modules)
    cohort = session.cohort
    _lock_cohort(cohort)
    _claim(ImmersionSession, session, version, STALE_SESSION)
    if session.is_cancelled:
        raise ServiceError("This session is cancelled, so it can no longer be changed.")
    values["starts_at"] = starts_at
    moved = starts_at != session.starts_at or duration != session.duration_minutes
    if moved:
        _check_schedule(
            cohort, starts_at, duration, already_took_place=already_took_place, session=session
        )
    before = {"starts_at": session.starts_at, "ends_at": session.ends_at, "title": session.title}
    changes = {
        name: [_words(name, getattr(session, name)), _words(name, value)]
        for name, value in values.items()
        if getattr(session, name) != value
    }
    if not changes:
        return []
    upcoming = session.ends_at > utcnow() or starts_at > utcnow()
    for name, value in values.items():
        setattr(session, name, value)
    if any(name in changes for name in _CALENDAR_FIELDS):
        session.sequence += 1
    db.session.flush()
    db.session.refresh(cohort, ["sessions"])
    audit.record(
        "immersion.session_moved" if moved else "immersion.session_changed",
        actor=by,
        subject=session,
        details={
            "cohort": cohort.id,
            "title": session.title,
            "changes": {_FIELD_WORDS[name]: pair for name, pair in changes.items()},
            **({"already_took_place": True} if starts_at < utcnow() else {}),
        },
    )
    if upcoming and any(name in changes for name in _CALENDAR_FIELDS):
        _tell_attendees(session, "moved" if moved else "changed", before=before)
    return list(changes)


def _attendance_recorded(session: ImmersionSession) -> bool:
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(AttendanceRecord)
            .where(AttendanceRecord.session_id == session.id)
        )
    )


def cancel_session(
    session: ImmersionSession, *, by: User, version: int | None, reason: str
) -> None:
    """Cancel a session: it stays on the cohort, marked, and counts for nobody's attendance;
    attendees get the calendar cancellation (METHOD:CANCEL, same UID)."""
    _require_staff(by)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            "Say why the session is cancelled: the attendees are told.", field="reason"
        )
    cohort = session.cohort
    _lock_cohort(cohort)
    _claim(ImmersionSession, session, version, STALE_SESSION)
    if session.is_cancelled:
        raise ServiceError("This session is already cancelled.")
    if _attendance_recorded(session):
        raise ServiceError(
            "Attendance is recorded for this session, so it took place and cannot be "
            "cancelled. Correct the attendance instead."
        )
    session.cancelled_at = utcnow()
    session.cancellation_reason = reason
    session.sequence += 1
    db.session.flush()
    audit.record(
        "immersion.session_cancelled",
        actor=by,
        subject=session,
        details={
            "cohort": cohort.id,
            "title": session.title,
            "when": _when(session.starts_at),
            "reason": reason,
        },
    )
    if session.ends_at > utcnow():
        _tell_attendees(session, "cancelled")


def delete_session(session: ImmersionSession, *, by: User, version: int | None) -> None:
    """Delete a session added by mistake. Refused once any attendance is recorded for it,
    or anything is in its library: cancel it instead, so the record stays."""
    _require_staff(by)
    cohort = session.cohort
    _lock_cohort(cohort)
    _claim(ImmersionSession, session, version, STALE_SESSION)
    if _attendance_recorded(session):
        raise ServiceError(
            "Attendance is recorded for this session, so it cannot be deleted: cancel it "
            "instead (it stays on the cohort, marked cancelled)."
        )
    resources = db.session.scalar(
        select(func.count())
        .select_from(SessionResource)
        .where(SessionResource.session_id == session.id)
    )
    if resources or session.recording_url:
        raise ServiceError(
            "This session has a recording or resources in the cohort's library, so it "
            "cannot be deleted: cancel it instead."
        )
    if not session.is_cancelled and session.ends_at > utcnow():
        session.sequence += 1
        _tell_attendees(session, "deleted")
    audit.record(
        "immersion.session_deleted",
        actor=by,
        subject=cohort,
        details={
            "cohort": cohort.id,
            "session": session.id,
            "title": session.title,
            "when": _when(session.starts_at),
        },
    )
    db.session.delete(session)
    db.session.flush()
    db.session.refresh(cohort, ["sessions"])


# --- changing and ending a cohort --------------------------------------------------------


def update_cohort(
    cohort: ImmersionCohort,
    *,
    by: User,
    version: int | None,
    title: str,
    description: str,
    capacity: int | None,
    booking_deadline: datetime | None,
    session_minimum_percent: int | None,
    attendance_threshold_percent: int | None,
) -> list[str]:
    """Edit a cohort's title, description, capacity, booking deadline and attendance rules;
    refused if it changed since the form was opened. A higher capacity gives free places to
    the waiting list at once. Returns the names of the fields that changed."""
    _require_staff(by)
    title = _check_cohort_fields(
        title, capacity, booking_deadline, session_minimum_percent, attendance_threshold_percent
    )
    _lock_cohort(cohort, version)
    values = {
        "title": title,
        "description": (description or "").strip(),
        "capacity": capacity,
        "booking_deadline": booking_deadline,
        "session_minimum_percent": session_minimum_percent,
        "attendance_threshold_percent": attendance_threshold_percent,
    }
    confirmed = confirmed_count(cohort)
    if capacity < confirmed:
        raise ServiceError(
            f"{confirmed} organisations already hold a confirmed place, so the capacity "
            f"cannot be lower than {confirmed}.",
            field="capacity",
        )
    held = cohort.held_sessions
    if booking_deadline != cohort.booking_deadline and held:
        first = held[0]
        if booking_deadline > first.starts_at:
            raise ServiceError(
                f"The booking deadline must be before the first session "
                f"(“{first.title}”, {_when(first.starts_at)}).",
                field="booking_deadline",
            )
    changes = {
        name: [_cohort_words(name, getattr(cohort, name)), _cohort_words(name, value)]
        for name, value in values.items()
        if getattr(cohort, name) != value
    }
    if not changes:
        return []
    for name, value in values.items():
        setattr(cohort, name, value)
    promoted = []
    if cohort.status in BOOKABLE:
        promoted = _promote_waiting(cohort, by)
        cohort.status = "full" if confirmed_count(cohort) >= cohort.capacity else "open"
    audit.record(
        "immersion.cohort_changed",
        actor=by,
        subject=cohort,
        details={
            "title": cohort.title,
            "changes": {
                _COHORT_WORDS[name]: pair for name, pair in changes.items() if name != "description"
            },
            **({"fields": ["description"]} if "description" in changes else {}),
            **({"promoted": len(promoted)} if promoted else {}),
        },
    )
    return list(changes)


_COHORT_WORDS = {
    "title": "title",
    "description": "description",
    "capacity": "capacity",
    "booking_deadline": "booking deadline",
    "session_minimum_percent": "a session counts at",
    "attendance_threshold_percent": "attendance needed",
}


def _cohort_words(name: str, value) -> str:
    if isinstance(value, datetime):
        return _when(value)
    if name.endswith("_percent"):
        return f"{value}%"
    return str(value)


def _promote_waiting(cohort: ImmersionCohort, by: User) -> list[Booking]:
    """Give free places (after a capacity rise) to the organisations waiting, in order."""
    db.session.flush()
    free = cohort.capacity - confirmed_count(cohort)
    if free <= 0:
        return []
    waiting = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.cohort_id == cohort.id, Booking.status == BookingStatus.WAITING)
            .order_by(Booking.queued_at, Booking.id)
            .limit(free)
        )
    )
    for booking in waiting:
        booking.status = "confirmed"
        booking.confirmed_at = utcnow()
        audit.record(
            "immersion.promoted",
            actor=by,
            subject=booking,
            organisation_id=booking.organisation_id,
            details={"cohort": cohort.id},
        )
        org = booking.organisation
        notify(
            [a.user for a in booking.attendees] + _hub_leads(booking),
            subject=f"Your place is confirmed: {cohort.title}",
            template="immersion_booking",
            attachments=[("immersion.ics", cohort_calendar(cohort), "text/calendar")],
            org=org,
            cohort=cohort,
            booking=booking,
            promoted=True,
            link=url_for("immersion.team_immersion", org_id=org.id, _external=True),
        )
    db.session.flush()
    return waiting


def _hub_leads(booking: Booking) -> list[User]:
    return [m.user for m in booking.organisation.memberships if m.has_role("hub_lead")]


def cancel_cohort(cohort: ImmersionCohort, *, by: User, version: int | None, reason: str) -> int:
    """Cancel a cohort that has not started: every session is cancelled (attendees get the
    calendar cancellations), every booking and waiting-list place released, and each
    organisation booked told. Returns how many bookings were released."""
    _require_staff(by)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            "Say why the cohort is cancelled: everyone booked is told.", field="reason"
        )
    _lock_cohort(cohort, version)
    if cohort.status == CohortStatus.COMPLETED:
        raise ServiceError("This cohort is completed, so it can no longer be cancelled.")
    now = utcnow()
    started = [s for s in cohort.held_sessions if s.starts_at <= now]
    if started:
        raise ServiceError(
            f"This cohort has started (“{started[0].title}” was on "
            f"{_when(started[0].starts_at)}), so it cannot be cancelled as a whole: cancel its "
            "remaining sessions one by one, or complete it.",
        )
    attendees = booked_attendees(cohort)
    bookings = list(
        db.session.scalars(
            select(Booking).where(Booking.cohort_id == cohort.id, Booking.status.in_(ACTIVE))
        )
    )
    sessions = cohort.held_sessions
    for session in sessions:
        session.cancelled_at = now
        session.cancellation_reason = reason
        session.sequence += 1
        session.version += 1
    for booking in bookings:
        booking.status = "cancelled"
        booking.cancelled_at = now
    previous = cohort.status
    cohort.status = "cancelled"
    cohort.cancelled_at = now
    cohort.cancellation_reason = reason
    db.session.flush()
    audit.record(
        "immersion.cohort_cancelled",
        actor=by,
        subject=cohort,
        details={
            "title": cohort.title,
            "from": previous,
            "reason": reason,
            "sessions": len(sessions),
            "bookings": len(bookings),
        },
    )
    people = [a.user for a in attendees]
    leads = [u for b in bookings for u in _hub_leads(b) if u.id not in {p.id for p in people}]
    context = {"cohort": cohort, "sessions": sessions, "reason": reason}
    subject = f"Cancelled: {cohort.title}"
    _tell(
        people,
        subject,
        "immersion_cohort_cancelled",
        key=f"immersion-cohort-cancelled-{cohort.id}",
        attachments=[
            (f"immersion-session-{n}.ics", session_cancellation(s), "text/calendar")
            for n, s in enumerate(sessions, start=1)
        ],
        attending=True,
        **context,
    )
    _tell(
        leads,
        subject,
        "immersion_cohort_cancelled",
        key=f"immersion-cohort-cancelled-{cohort.id}-leads",
        attachments=[],
        attending=False,
        **context,
    )
    return len(bookings)


def _local_shift(value: datetime, days: int) -> datetime:
    """`value` moved by whole days on the UK clock: 10:00 stays 10:00 across a change
    between winter and summer time."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    local = value.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=zone).astimezone(value.tzinfo)


def copyable_sessions(cohort: ImmersionCohort) -> list[ImmersionSession]:
    """The sessions a copy of the cohort gets: those not cancelled, or for a cancelled cohort
    those it had when it was cancelled (a cohort called off can be run again)."""
    if cohort.is_cancelled:
        return [s for s in cohort.sessions if s.cancelled_at in (None, cohort.cancelled_at)]
    return cohort.held_sessions


def duplicate_cohort(
    cohort: ImmersionCohort,
    *,
    by: User,
    title: str,
    first_session_on: date | None,
    booking_deadline: datetime | None = None,
) -> ImmersionCohort:
    """A copy of the cohort's shape for a later run: its capacity, rules and sessions (not
    the cancelled ones), each moved by the same number of days so the first falls on
    `first_session_on` at its usual UK time; the booking deadline moves with them unless
    one is given. The copy is open for booking and has no bookings."""
    _require_staff(by)
    title = (title or "").strip()
    if not title:
        raise ServiceError("Enter a title for the new cohort.", field="title")
    if len(title) > 200:
        raise ServiceError("Use at most 200 characters.", field="title")
    if first_session_on is None:
        raise ServiceError(
            "Enter the date of the new cohort's first session.", field="first_session_on"
        )
    sessions = copyable_sessions(cohort)
    if not sessions:
        raise ServiceError(
            "This cohort has no sessions to copy: create a new cohort instead.",
            field="first_session_on",
        )
    if not -3660 <= (first_session_on - utcnow().date()).days <= 3660:
        raise ServiceError(
            "Choose a first-session date within the next ten years.", field="first_session_on"
        )
    first_local = to_local(sessions[0].starts_at).date()
    days = (first_session_on - first_local).days
    starts = [_local_shift(s.starts_at, days) for s in sessions]
    now = utcnow()
    if starts[0] <= now:
        raise ServiceError(
            "Choose a first-session date in the future: the copy is for a later run.",
            field="first_session_on",
        )
    deadline = booking_deadline or _local_shift(cohort.booking_deadline, days)
    if deadline > starts[0]:
        raise ServiceError(
            f"The new booking deadline ({_when(deadline)}) would fall after the first session "
            f"({_when(starts[0])}): give a deadline before it.",
            field="booking_deadline",
        )
    if deadline <= now:
        raise ServiceError(
            f"The new booking deadline ({_when(deadline)}) would already have passed: give a "
            "later one, or a later first-session date.",
            field="booking_deadline",
        )
    copy = ImmersionCohort(
        title=title,
        description=cohort.description,
        capacity=cohort.capacity,
        booking_deadline=deadline,
        status="open",
        session_minimum_percent=cohort.session_minimum_percent,
        attendance_threshold_percent=cohort.attendance_threshold_percent,
        created_by_id=by.id,
        copied_from_id=cohort.id,
    )
    copy.sessions = [
        ImmersionSession(
            title=s.title,
            starts_at=start,
            duration_minutes=s.duration_minutes,
            join_url=s.join_url,
            facilitators=s.facilitators,
            prework_modules=list(s.prework_modules or []),
        )
        for s, start in zip(sessions, starts, strict=True)
    ]
    db.session.add(copy)
    db.session.flush()
    audit.record(
        "immersion.cohort_duplicated",
        actor=by,
        subject=copy,
        details={
            "title": title,
            "copied_from": cohort.id,
            "copied_from_title": cohort.title,
            "sessions": len(sessions),
            "first": _when(starts[0]),
            "deadline": _when(deadline),
        },
    )
    return copy


# --- telling the attendees ---------------------------------------------------------------

_SUBJECTS = {
    "added": "New session",
    "moved": "Session moved",
    "changed": "Session changed",
    "cancelled": "Session cancelled",
    "deleted": "Session cancelled",
}


def _tell_attendees(session: ImmersionSession, what: str, before: dict | None = None) -> None:
    """Tell everyone on a confirmed booking of a session added, changed, moved or cancelled,
    with its calendar entry as it now stands (or its cancellation)."""
    cohort = session.cohort
    people = [a.user for a in booked_attendees(cohort)]
    cancelled = what in ("cancelled", "deleted")
    calendar = session_cancellation(session) if cancelled else session_update(session)
    _tell(
        people,
        f"{_SUBJECTS[what]}: {cohort.title}, {session.title}",
        "immersion_session_changed",
        key=f"immersion-session-{session.id}-{session.sequence}",
        attachments=[("immersion-session.ics", calendar, "text/calendar")],
        cohort=cohort,
        session=session,
        what=what,
        before=before,
    )


def _tell(people: list[User], subject: str, template: str, *, key: str, attachments, **context):
    """A notification in the portal for each person, emailed as they chose; and the calendar
    file by email at once to those who chose otherwise: their calendar holds the old entry,
    and a digest tomorrow (or no email) would leave it wrong."""
    if not people:
        return
    link = url_for("immersion.my_immersion", _external=True)
    notify(
        people,
        subject=subject,
        template=template,
        link=link,
        key=key,
        attachments=attachments,
        **context,
    )
    if not attachments:
        return
    group = group_of(template).key
    chosen = preferences(p.id for p in people)
    for person in {p.id: p for p in people}.values():
        if person.is_active and chosen[person.id][group] != Delivery.IMMEDIATE:
            send_email(
                person.email,
                subject,
                template,
                kind=template,
                key=f"{key}:{person.id}",
                attachments=attachments,
                footer="Calendar changes are always emailed at once, so your calendar stays "
                "right whatever you chose for Immersion emails.",
                user=person,
                link=link,
                **context,
            )


# --- reading -----------------------------------------------------------------------------


def cohort_history(cohort: ImmersionCohort, limit: int = 300) -> list[audit.AuditEvent]:
    """What happened to the cohort, its sessions and its bookings, newest first (one
    query): every event about the cohort itself, and every Immersion event naming it."""
    event = audit.AuditEvent
    return list(
        db.session.scalars(
            select(event)
            .where(
                or_(
                    and_(
                        event.subject_type == ImmersionCohort.__tablename__,
                        event.subject_id == str(cohort.id),
                    ),
                    and_(
                        event.action.like("immersion.%"),
                        event.subject_type.in_(
                            (ImmersionSession.__tablename__, Booking.__tablename__)
                        ),
                        event.details["cohort"].as_integer() == cohort.id,
                    ),
                )
            )
            .order_by(event.seq.desc())
            .limit(limit)
        )
    )


def set_cohort_status(cohort: ImmersionCohort, *, by: User, status: str) -> None:
    """Open, close or complete a cohort; completing it asks every attendee to evaluate it."""
    _require_staff(by)
    if cohort.status == CohortStatus.CANCELLED:
        raise ServiceError("This cohort is cancelled, so its status can no longer change.")
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
