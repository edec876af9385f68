"""Immersion rules: cohorts and sessions, bookings with a waiting list, attendance.

Bookings on one cohort are serialised on the cohort's row (an UPDATE takes the row lock
on PostgreSQL and the write lock on SQLite), so two leads taking the last place at the
same moment cannot both get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.mail import send_email
from app.core.programme import HUB_ROLES, programme
from app.core.roles import ADMIN, TRAINER
from app.extensions import db
from app.immersion.ical import cohort_calendar
from app.immersion.models import (
    ATTENDANCE_STATUSES,
    AttendanceChange,
    AttendanceRecord,
    Booking,
    BookingAttendee,
    EvaluationResponse,
    ImmersionCohort,
    ImmersionSession,
    SessionResource,
)
from app.organisations import services as org_services
from app.organisations.models import Membership, Organisation

ACTIVE = ("confirmed", "waiting")


def _require_staff(user: User) -> None:
    if not (user.has_role(TRAINER) or user.has_role(ADMIN)):
        raise ServiceError("Only trainers and administrators manage Immersion cohorts.")


# --- cohorts and sessions --------------------------------------------------------------


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
        emails = sorted({a.user.email for a in booked_attendees(cohort) if a.user.is_active})
        if emails:
            send_email(
                emails,
                f"Tell us about {cohort.title}",
                "immersion_evaluation",
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
        .where(Booking.cohort_id == cohort.id, Booking.status == "confirmed")
    )


# --- bookings --------------------------------------------------------------------------


def agreements_verified(org: Organisation) -> bool:
    from app.readiness.services import current_agreements

    return all(a is not None and a.status == "accepted" for a in current_agreements(org).values())


def active_booking(org: Organisation, cohort: ImmersionCohort) -> Booking | None:
    return db.session.scalar(
        select(Booking).where(
            Booking.organisation_id == org.id,
            Booking.cohort_id == cohort.id,
            Booking.status.in_(ACTIVE),
        )
    )


def _check_attendees(org: Organisation, user_ids) -> list[int]:
    ids = sorted({int(u) for u in user_ids or []})
    if not ids:
        raise ServiceError("Choose at least one team member to attend.", field="attendees")
    members = set(
        db.session.scalars(select(Membership.user_id).where(Membership.organisation_id == org.id))
    )
    if set(ids) - members:
        raise ServiceError(
            "Only members of your organisation's team can attend.", field="attendees"
        )
    return ids


def _lock_cohort(cohort: ImmersionCohort) -> None:
    db.session.execute(
        update(ImmersionCohort)
        .where(ImmersionCohort.id == cohort.id)
        .values(capacity=ImmersionCohort.capacity)
    )
    db.session.refresh(cohort)


def _booking_open(cohort: ImmersionCohort) -> None:
    if cohort.status not in ("open", "full"):
        raise ServiceError(f"Booking for “{cohort.title}” is closed.")
    if utcnow() > cohort.booking_deadline:
        raise ServiceError(f"The booking deadline for “{cohort.title}” has passed.")


def book(org: Organisation, cohort: ImmersionCohort, *, by: User, attendee_ids) -> Booking:
    """Book the team onto a cohort: a place if one is free, otherwise the waiting list."""
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can book Immersion.")
    if org.stage != "in_training":
        raise ServiceError("Immersion is booked while the organisation is in training.")
    if not agreements_verified(org):
        raise ServiceError(
            "Immersion can be booked once both partnership agreements (the IP Terms of Use "
            "Agreement and the Statement of Collaboration) are verified: ECHO asks for the "
            "agreements before Immersion. Upload them on the Readiness tab."
        )
    ids = _check_attendees(org, attendee_ids)
    _lock_cohort(cohort)
    _booking_open(cohort)
    if active_booking(org, cohort) is not None:
        raise ServiceError(f"{org.name} is already booked on “{cohort.title}”.")
    place = confirmed_count(cohort) < cohort.capacity
    booking = Booking(
        cohort_id=cohort.id,
        organisation_id=org.id,
        status="confirmed" if place else "waiting",
        confirmed_at=utcnow() if place else None,
        booked_by_id=by.id,
    )
    booking.attendees = [BookingAttendee(user_id=uid) for uid in ids]
    db.session.add(booking)
    db.session.flush()
    if not place or confirmed_count(cohort) >= cohort.capacity:
        cohort.status = "full"
    audit.record(
        "immersion.booked",
        actor=by,
        subject=booking,
        organisation_id=org.id,
        details={"cohort": cohort.id, "status": booking.status, "attendees": ids},
    )
    _send_booking_email(booking)
    return booking


def change_attendees(booking: Booking, *, by: User, attendee_ids) -> None:
    org = booking.organisation
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can change the attendees.")
    if booking.status not in ACTIVE:
        raise ServiceError("This booking is cancelled.")
    if utcnow() > booking.cohort.booking_deadline:
        raise ServiceError("Attendees can be changed only until the booking deadline.")
    ids = _check_attendees(org, attendee_ids)
    before = sorted(a.user_id for a in booking.attendees)
    if before == ids:
        return
    booking.attendees = [a for a in booking.attendees if a.user_id in ids] + [
        BookingAttendee(user_id=uid) for uid in ids if uid not in before
    ]
    audit.record(
        "immersion.attendees_changed",
        actor=by,
        subject=booking,
        organisation_id=org.id,
        details={"before": before, "after": ids},
    )


def cancel(booking: Booking, *, by: User) -> Booking | None:
    """Cancel a booking; the first organisation waiting takes the freed place. Returns it."""
    org = booking.organisation
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can cancel the booking.")
    if booking.status not in ACTIVE:
        raise ServiceError("This booking is already cancelled.")
    cohort = booking.cohort
    if cohort.status == "completed" or any(s.starts_at <= utcnow() for s in cohort.sessions):
        raise ServiceError(
            "This cohort has already started, so the booking can no longer be cancelled: "
            "its attendance counts towards your readiness."
        )
    _lock_cohort(cohort)
    was_confirmed = booking.status == "confirmed"
    booking.status = "cancelled"
    booking.cancelled_at = utcnow()
    audit.record(
        "immersion.cancelled",
        actor=by,
        subject=booking,
        organisation_id=org.id,
        details={"cohort": cohort.id},
    )
    db.session.flush()
    promoted = None
    if was_confirmed:
        promoted = db.session.scalar(
            select(Booking)
            .where(Booking.cohort_id == cohort.id, Booking.status == "waiting")
            .order_by(Booking.queued_at, Booking.id)
            .limit(1)
        )
        if promoted is not None:
            promoted.status = "confirmed"
            promoted.confirmed_at = utcnow()
            audit.record(
                "immersion.promoted",
                actor=by,
                subject=promoted,
                organisation_id=promoted.organisation_id,
                details={"cohort": cohort.id},
            )
            _send_booking_email(promoted, promoted_from_waiting=True)
        elif cohort.status == "full":
            cohort.status = "open"
    return promoted


def _send_booking_email(booking: Booking, promoted_from_waiting: bool = False) -> None:
    from flask_mailman import EmailMessage

    from app.core.mail import render_email

    org, cohort = booking.organisation, booking.cohort
    recipients = sorted(
        {a.user.email for a in booking.attendees}
        | {m.user.email for m in org.memberships if m.has_role("hub_lead")}
    )
    subject, body = render_email(
        f"{'Your place is confirmed' if booking.status == 'confirmed' else 'Waiting list'}: "
        f"{cohort.title}",
        "immersion_booking",
        org=org,
        cohort=cohort,
        booking=booking,
        promoted=promoted_from_waiting,
        link=url_for("immersion.team_immersion", org_id=org.id, _external=True),
    )
    message = EmailMessage(subject=subject, body=body, to=recipients)
    if booking.status == "confirmed":
        message.attach("immersion.ics", cohort_calendar(cohort), "text/calendar")
    message.send()


# --- attendance ------------------------------------------------------------------------


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
            .where(Booking.cohort_id == cohort.id, Booking.status == "confirmed")
            .options(
                selectinload(BookingAttendee.booking).selectinload(Booking.organisation),
                # Attendees' site roles are never needed here: skip a query and 1 object each.
                selectinload(BookingAttendee.user).lazyload(User.role_links),
            )
            .order_by(Booking.organisation_id, User.name)
        )
    )


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
    if status not in ATTENDANCE_STATUSES:
        raise ServiceError("Choose present, partly present or absent.", field="status")
    booked = {a.user_id for a in booked_attendees(session.cohort)}
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
    record = db.session.scalar(
        select(AttendanceRecord).where(
            AttendanceRecord.session_id == session.id, AttendanceRecord.user_id == user_id
        )
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
    reason = (reason or "").strip()
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
    sessions = list(cohort.sessions)
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
            if r is not None and r.status != "absent" and r.minutes >= minimum
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
        if booking.status == "confirmed":
            _a, _s, _r, all_summaries = attendance_grid(booking.cohort, org.id)
            summaries = {
                a.user_id: all_summaries[a.user_id]
                for a in booking.attendees
                if a.user_id in all_summaries
            }
        result.append((booking, summaries))
    return result


def immersion_requirement(org: Organisation):
    """Readiness: each required hub role has a holder who met the attendance threshold."""
    from app.readiness.services import Requirement

    met_users = set()
    recorded = False
    for booking, summaries in organisation_attendance(org):
        for user_id, summary in summaries.items():
            recorded = recorded or summary.counted > 0 or booking.cohort.status == "completed"
            if summary.met:
                met_users.add(user_id)
    if not recorded:
        return Requirement(
            "immersion",
            "Immersion attendance",
            False,
            "No Immersion attendance recorded yet.",
            ["Book the team onto an Immersion cohort; the superhub records attendance."],
        )
    required = programme().required_roles
    members = org_services.team_members(org)
    missing = [
        role
        for role in required
        if not any(m.user_id in met_users and m.has_role(role) for m in members)
    ]
    covered = len(required) - len(missing)
    return Requirement(
        "immersion",
        "Immersion attendance",
        not missing,
        "Every required role has someone who met the attendance threshold."
        if not missing
        else f"{covered} of {len(required)} required roles have met the attendance threshold.",
        [f"No {HUB_ROLES[r].lower()} has met the attendance threshold yet" for r in missing],
        covered,
        len(required),
    )


def upcoming_for(user: User, now: datetime | None = None):
    """The user's sessions on confirmed bookings, soonest first, with join links shortly
    before the start (15 minutes) until the end."""
    now = now or utcnow()
    rows = db.session.execute(
        select(ImmersionSession, Booking)
        .join(Booking, Booking.cohort_id == ImmersionSession.cohort_id)
        .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .where(BookingAttendee.user_id == user.id, Booking.status == "confirmed")
        .order_by(ImmersionSession.starts_at)
    ).all()
    result = []
    for session, booking in rows:
        show_link = session.starts_at - timedelta(minutes=15) <= now <= session.ends_at
        result.append((session, booking, show_link, session.ends_at < now))
    return result


# --- recordings, resources and the library ---------------------------------------------


def set_recording(session: ImmersionSession, *, by: User, url: str) -> None:
    _require_staff(by)
    url = (url or "").strip()
    if url and not url.startswith("https://"):
        raise ServiceError("The recording link must start with https://.", field="url")
    session.recording_url = url
    audit.record("immersion.recording_set", actor=by, subject=session, details={"url": url})


def add_resource(
    session: ImmersionSession, *, by: User, title: str, url: str = "", upload=None
) -> SessionResource:
    """A link or an uploaded file (same checks as evidence) for the cohort's library."""
    from app.core.storage import store_upload

    _require_staff(by)
    title = (title or "").strip()
    if not title:
        raise ServiceError("Give the resource a title.", field="title")
    url = (url or "").strip()
    has_file = upload is not None and getattr(upload, "filename", "")
    if bool(url) == bool(has_file):
        raise ServiceError("Give either a link or a file.", field="url")
    resource = SessionResource(session_id=session.id, title=title, added_by_id=by.id)
    if url:
        if not url.startswith("https://"):
            raise ServiceError("The link must start with https://.", field="url")
        resource.url = url
    else:
        stored = store_upload(upload, area=f"immersion-{session.cohort_id}")
        resource.storage_key = stored.key
        resource.original_name = stored.original_name
        resource.content_type = stored.content_type
        resource.size = stored.size
        resource.sha256 = stored.sha256
    db.session.add(resource)
    db.session.flush()
    audit.record(
        "immersion.resource_added",
        actor=by,
        subject=resource,
        details={"session": session.id, "title": title},
    )
    return resource


def can_use_library(user: User, cohort: ImmersionCohort) -> bool:
    """Trainers, admins, and members of organisations with a confirmed place on the cohort."""
    if not user.is_authenticated:
        return False
    if user.has_role(TRAINER) or user.has_role(ADMIN):
        return True
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Membership, Membership.organisation_id == Booking.organisation_id)
            .where(
                Booking.cohort_id == cohort.id,
                Booking.status == "confirmed",
                Membership.user_id == user.id,
            )
        )
        > 0
    )


def library(cohort: ImmersionCohort) -> list[tuple[ImmersionSession, list[SessionResource]]]:
    resources: dict[int, list[SessionResource]] = {}
    for resource in db.session.scalars(
        select(SessionResource)
        .join(ImmersionSession)
        .where(ImmersionSession.cohort_id == cohort.id)
        .order_by(SessionResource.id)
    ):
        resources.setdefault(resource.session_id, []).append(resource)
    return [(s, resources.get(s.id, [])) for s in cohort.sessions]


# --- evaluation ------------------------------------------------------------------------

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
        cohort.status == "completed"
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
    if not is_attendee(by, cohort):
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
    audit.record("immersion.evaluated", actor=by, subject=response, details={"cohort": cohort.id})
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
                Booking.status == "confirmed",
                ImmersionCohort.status == "completed",
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
