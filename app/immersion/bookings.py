"""Immersion bookings: book places (with a waiting list), change attendees, move to another
cohort, cancel (promoting the waiting list), and each person's upcoming sessions.

An organisation holds at most one current booking (`current_booking`: confirmed or waiting,
on a cohort not yet completed or cancelled); a second is refused with `AlreadyBooked`, and
`move` changes cohort in one step. Bookings on one cohort are serialised on the cohort's
row, and one organisation's bookings on the organisation's row (an UPDATE takes the row lock
on PostgreSQL and the write lock on SQLite), so two leads taking the last place at the same
moment cannot both get it, and one organisation booking two cohorts at once gets one."""

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
from app.extensions import db
from app.immersion.cohorts import ACTIVE, confirmed_count, list_cohorts
from app.immersion.ical import cohort_calendar
from app.immersion.models import (
    Booking,
    BookingAttendee,
    BookingStatus,
    CohortStatus,
    ImmersionCohort,
    ImmersionSession,
)
from app.notifications.services import notify
from app.organisations import services as org_services
from app.organisations.models import Membership, Organisation, Stage
from app.readiness.facts import agreements_verified, verified_organisation_ids

# Cohorts that take bookings (a full one, for its waiting list), and the stage at which an
# organisation books.
BOOKABLE = (CohortStatus.OPEN, CohortStatus.FULL)
BOOKING_STAGE = Stage.IN_TRAINING


def active_booking(org: Organisation, cohort: ImmersionCohort) -> Booking | None:
    return db.session.scalar(
        select(Booking).where(
            Booking.organisation_id == org.id,
            Booking.cohort_id == cohort.id,
            Booking.status.in_(ACTIVE),
        )
    )


# A confirmed or waiting booking on a cohort that is over (completed) or cancelled is
# history, not a booking held: the organisation may book again.
FINISHED = (CohortStatus.COMPLETED, CohortStatus.CANCELLED)


class AlreadyBooked(ServiceError):
    """The organisation already holds a booking (`booking`): it may move it instead."""

    def __init__(self, message: str, booking: Booking):
        super().__init__(message)
        self.booking = booking


def current_booking(org: Organisation) -> Booking | None:
    """The organisation's one current booking (confirmed or waiting, on a cohort neither
    completed nor cancelled), if any."""
    return db.session.scalar(
        select(Booking)
        .join(ImmersionCohort, ImmersionCohort.id == Booking.cohort_id)
        .where(
            Booking.organisation_id == org.id,
            Booking.status.in_(ACTIVE),
            ImmersionCohort.status.not_in(FINISHED),
        )
        .order_by(Booking.queued_at, Booking.id)
        .limit(1)
    )


def _held_words(booking: Booking) -> str:
    held = (
        "a confirmed place" if booking.status == BookingStatus.CONFIRMED else "a waiting-list place"
    )
    return f"{held} on “{booking.cohort.title}”"


def _lock_organisation(org: Organisation) -> None:
    db.session.execute(
        update(Organisation)
        .where(Organisation.id == org.id)
        .values(id=Organisation.id)
        .execution_options(synchronize_session=False)
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
    if cohort.status not in BOOKABLE:
        raise ServiceError(f"Booking for “{cohort.title}” is closed.")
    if utcnow() > cohort.booking_deadline:
        raise ServiceError(f"The booking deadline for “{cohort.title}” has passed.")


def bookable_cohorts(org: Organisation, *, also: int | None = None) -> list[ImmersionCohort]:
    """Cohorts the organisation may book now: open (or full, for the waiting list), before
    their deadline, and not already booked by it; plus cohort `also` (the one whose booking
    was just refused, so its form can show why)."""
    booked = set(
        db.session.scalars(
            select(Booking.cohort_id).where(
                Booking.organisation_id == org.id, Booking.status.in_(ACTIVE)
            )
        )
    )
    now = utcnow()
    return [
        cohort
        for cohort, _confirmed, _waiting in list_cohorts()
        if (
            cohort.status in BOOKABLE and cohort.id not in booked and now <= cohort.booking_deadline
        )
        or cohort.id == also
    ]


def ready_to_book(orgs: list[Organisation]) -> list[Organisation]:
    """Of `orgs`, those `book` would let book now: at the booking stage with both agreements
    verified (one query, however many)."""
    staged = [org for org in orgs if org.stage == BOOKING_STAGE]
    verified = verified_organisation_ids(org.id for org in staged)
    return [org for org in staged if org.id in verified]


def unbooked_ready_organisations() -> list[Organisation]:
    """Organisations ready to book with no place or waiting-list place on any cohort (two
    queries), their hub team loaded for telling the leads."""
    active = select(Booking.organisation_id).where(Booking.status.in_(ACTIVE))
    orgs = list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.stage == BOOKING_STAGE, Organisation.id.not_in(active))
            .options(selectinload(Organisation.memberships).joinedload(Membership.user))
            .order_by(Organisation.id)
        )
    )
    return ready_to_book(orgs)


def book(org: Organisation, cohort: ImmersionCohort, *, by: User, attendee_ids) -> Booking:
    """Book the team onto a cohort: a place if one is free, otherwise the waiting list."""
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can book Immersion.")
    if org.stage != BOOKING_STAGE:
        raise ServiceError("Immersion is booked while the organisation is in training.")
    if not agreements_verified(org):
        raise ServiceError(
            "Immersion can be booked once both partnership agreements (the IP Terms of Use "
            "Agreement and the Statement of Collaboration) are verified: ECHO asks for the "
            "agreements before Immersion. Upload them on the Readiness tab."
        )
    ids = _check_attendees(org, attendee_ids)
    _lock_organisation(org)
    _lock_cohort(cohort)
    _booking_open(cohort)
    if active_booking(org, cohort) is not None:
        raise ServiceError(f"{org.name} is already booked on “{cohort.title}”.")
    held = current_booking(org)
    if held is not None:
        raise AlreadyBooked(
            f"{org.name} already holds {_held_words(held)}, and an organisation holds one "
            f"booking at a time. To go to “{cohort.title}” instead, move the booking: the "
            "place you hold now is given up only once the new one is yours.",
            held,
        )
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
        details={
            "cohort": cohort.id,
            "title": cohort.title,
            "status": booking.status,
            "attendees": ids,
        },
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


def _not_started(booking: Booking, doing: str) -> None:
    cohort = booking.cohort
    if cohort.status == CohortStatus.COMPLETED or any(
        s.starts_at <= utcnow() for s in cohort.sessions
    ):
        raise ServiceError(
            f"“{cohort.title}” has already started, so the booking can no longer be {doing}: "
            "its attendance counts towards your readiness."
        )


def cancel(booking: Booking, *, by: User) -> Booking | None:
    """Cancel a booking and tell its attendees and the hub leads; the first organisation
    waiting takes the freed place. Returns that booking, if any."""
    org = booking.organisation
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can cancel the booking.")
    if booking.status not in ACTIVE:
        raise ServiceError("This booking is already cancelled.")
    _not_started(booking, "cancelled")
    cohort = booking.cohort
    _lock_cohort(cohort)
    was = booking.status
    promoted = _release(booking, by=by)
    audit.record(
        "immersion.cancelled",
        actor=by,
        subject=booking,
        organisation_id=org.id,
        details={"cohort": cohort.id, "title": cohort.title, "was": was},
    )
    _send_booking_email(booking, cancelled=True)
    return promoted


def _release(booking: Booking, *, by: User) -> Booking | None:
    """Give up the booking's place (its cohort row locked by the caller): the first
    organisation waiting takes a freed confirmed place. Returns that booking, if any."""
    cohort = booking.cohort
    was_confirmed = booking.status == BookingStatus.CONFIRMED
    booking.status = "cancelled"
    booking.cancelled_at = utcnow()
    db.session.flush()
    promoted = None
    if was_confirmed:
        promoted = db.session.scalar(
            select(Booking)
            .where(Booking.cohort_id == cohort.id, Booking.status == BookingStatus.WAITING)
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
                details={"cohort": cohort.id, "title": cohort.title},
            )
            _send_booking_email(promoted, promoted_from_waiting=True)
        elif cohort.status == CohortStatus.FULL:
            cohort.status = "open"
    return promoted


@dataclass(frozen=True)
class MovePlan:
    """What moving a booking to `cohort` would do, for the confirmation page."""

    cohort: ImmersionCohort
    status: str  # what the booking would be there: confirmed or waiting
    free_places: int
    waiting_ahead: int  # organisations already waiting there
    gives_up_place: bool  # a confirmed place traded for a waiting-list one

    @property
    def confirmed(self) -> bool:
        return self.status == BookingStatus.CONFIRMED


def move_targets(booking: Booking) -> list[ImmersionCohort]:
    """The cohorts a booking could move to now: taking bookings, before their deadline,
    other than its own."""
    now = utcnow()
    return [
        cohort
        for cohort, _confirmed, _waiting in list_cohorts()
        if cohort.status in BOOKABLE
        and now <= cohort.booking_deadline
        and cohort.id != booking.cohort_id
    ]


def plan_move(booking: Booking, cohort: ImmersionCohort) -> MovePlan:
    """What `move` would do now (it checks again, under the locks, when it runs)."""
    confirmed = confirmed_count(cohort)
    waiting = db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.cohort_id == cohort.id, Booking.status == BookingStatus.WAITING)
    )
    place = confirmed < cohort.capacity
    return MovePlan(
        cohort,
        "confirmed" if place else "waiting",
        max(cohort.capacity - confirmed, 0),
        waiting,
        not place and booking.status == BookingStatus.CONFIRMED,
    )


def move(
    booking: Booking,
    cohort: ImmersionCohort,
    *,
    by: User,
    accept_waiting: bool = False,
) -> tuple[Booking, Booking | None]:
    """Move a booking to another cohort in one step: the new booking (the same attendees)
    is made first, confirmed if the cohort has a free place, else on its waiting list; only
    then is the old place given up, and the first organisation waiting there takes it.

    A confirmed place is not traded for a waiting-list place unless `accept_waiting` says
    the lead chose that. Returns (the new booking, the booking promoted on the old cohort).
    """
    org = booking.organisation
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can move the booking.")
    if booking.status not in ACTIVE:
        raise ServiceError("This booking is cancelled: book a cohort instead.")
    if org.stage != BOOKING_STAGE:
        raise ServiceError("Immersion is booked while the organisation is in training.")
    if cohort.id == booking.cohort_id:
        raise ServiceError(
            "The booking is already on that cohort: choose another one.", field="cohort"
        )
    _not_started(booking, "moved")
    old = booking.cohort
    _lock_organisation(org)
    # Both cohort rows, in id order, so two moves in opposite directions cannot deadlock.
    for locked in sorted((old, cohort), key=lambda c: c.id):
        _lock_cohort(locked)
    db.session.refresh(booking)
    if booking.status not in ACTIVE:  # cancelled or moved meanwhile
        raise ServiceError("This booking was changed meanwhile: it is no longer held.")
    try:
        _booking_open(cohort)
    except ServiceError as error:
        raise ServiceError(error.message, field="cohort") from None
    if active_booking(org, cohort) is not None:
        raise ServiceError(f"{org.name} is already booked on “{cohort.title}”.", field="cohort")
    place = confirmed_count(cohort) < cohort.capacity
    if not place and booking.status == BookingStatus.CONFIRMED and not accept_waiting:
        raise ServiceError(
            f"“{cohort.title}” is full: moving there puts {org.name} on its waiting list and "
            f"gives up your confirmed place on “{old.title}”. Tick the box to confirm you "
            "want that, or choose another cohort.",
            field="accept_waiting",
        )
    moved = Booking(
        cohort_id=cohort.id,
        organisation_id=org.id,
        status="confirmed" if place else "waiting",
        confirmed_at=utcnow() if place else None,
        booked_by_id=by.id,
    )
    moved.attendees = [BookingAttendee(user_id=a.user_id) for a in booking.attendees]
    db.session.add(moved)
    db.session.flush()
    if not place or confirmed_count(cohort) >= cohort.capacity:
        cohort.status = "full"
    # The new place is held: only now is the old one given up.
    was = booking.status
    promoted = _release(booking, by=by)
    audit.record(
        "immersion.moved",
        actor=by,
        subject=moved,
        organisation_id=org.id,
        details={
            "from_cohort": old.id,
            "from_title": old.title,
            "was": was,
            "to_cohort": cohort.id,
            "title": cohort.title,
            "status": moved.status,
            "old_booking": booking.id,
        },
    )
    db.session.refresh(moved)
    _send_booking_email(moved, moved_from=old)
    return moved, promoted


def _send_booking_email(
    booking: Booking,
    promoted_from_waiting: bool = False,
    *,
    cancelled: bool = False,
    moved_from: ImmersionCohort | None = None,
) -> None:
    """Tell the booking's attendees and the organisation's hub leads (email as each chose,
    and a notification in the portal) what became of the booking."""
    org, cohort = booking.organisation, booking.cohort
    recipients = [a.user for a in booking.attendees] + [
        m.user for m in org.memberships if m.has_role("hub_lead")
    ]
    confirmed = booking.status == BookingStatus.CONFIRMED
    if cancelled:
        subject = f"Booking cancelled: {cohort.title}"
    elif moved_from is not None:
        subject = f"Booking moved to {cohort.title}" + ("" if confirmed else " (waiting list)")
    else:
        subject = f"{'Your place is confirmed' if confirmed else 'Waiting list'}: {cohort.title}"
    notify(
        recipients,
        subject=subject,
        template="immersion_booking",
        attachments=[("immersion.ics", cohort_calendar(cohort), "text/calendar")]
        if confirmed and not cancelled
        else [],
        org=org,
        cohort=cohort,
        booking=booking,
        promoted=promoted_from_waiting,
        cancelled=cancelled,
        moved_from=moved_from,
        link=url_for("immersion.team_immersion", org_id=org.id, _external=True),
    )


def cohort_bookings(cohort: ImmersionCohort):
    """The cohort's bookings in queue order as plain rows (id, organisation_name, status,
    queued_at, attending), in one query."""
    return db.session.execute(
        select(
            Booking.id,
            Organisation.name.label("organisation_name"),
            Booking.status,
            Booking.queued_at,
            func.count(BookingAttendee.id).label("attending"),
        )
        .join(Organisation, Organisation.id == Booking.organisation_id)
        .outerjoin(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .where(Booking.cohort_id == cohort.id)
        .group_by(Booking.id, Organisation.name, Booking.status, Booking.queued_at)
        .order_by(Booking.queued_at, Booking.id)
    ).all()


def upcoming_for(user: User, now: datetime | None = None):
    """The user's sessions on confirmed bookings, soonest first, with join links shortly
    before the start (15 minutes) until the end."""
    now = now or utcnow()
    rows = db.session.execute(
        select(ImmersionSession, Booking)
        .join(Booking, Booking.cohort_id == ImmersionSession.cohort_id)
        .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .where(BookingAttendee.user_id == user.id, Booking.status == BookingStatus.CONFIRMED)
        .order_by(ImmersionSession.starts_at)
    ).all()
    result = []
    for session, booking in rows:
        show_link = session.starts_at - timedelta(minutes=15) <= now <= session.ends_at
        result.append((session, booking, show_link, session.ends_at < now))
    return result
