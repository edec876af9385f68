"""Immersion bookings: book places (with a waiting list), change attendees, cancel (promoting
the waiting list), and each person's upcoming sessions.

Bookings on one cohort are serialised on the cohort's row (an UPDATE takes the row lock
on PostgreSQL and the write lock on SQLite), so two leads taking the last place at the
same moment cannot both get it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select, update
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
    if cohort.status == CohortStatus.COMPLETED or any(
        s.starts_at <= utcnow() for s in cohort.sessions
    ):
        raise ServiceError(
            "This cohort has already started, so the booking can no longer be cancelled: "
            "its attendance counts towards your readiness."
        )
    _lock_cohort(cohort)
    was_confirmed = booking.status == BookingStatus.CONFIRMED
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
                details={"cohort": cohort.id},
            )
            _send_booking_email(promoted, promoted_from_waiting=True)
        elif cohort.status == CohortStatus.FULL:
            cohort.status = "open"
    return promoted


def _send_booking_email(booking: Booking, promoted_from_waiting: bool = False) -> None:
    org, cohort = booking.organisation, booking.cohort
    recipients = [a.user for a in booking.attendees] + [
        m.user for m in org.memberships if m.has_role("hub_lead")
    ]
    confirmed = booking.status == BookingStatus.CONFIRMED
    notify(
        recipients,
        subject=f"{'Your place is confirmed' if confirmed else 'Waiting list'}: {cohort.title}",
        template="immersion_booking",
        attachments=[("immersion.ics", cohort_calendar(cohort), "text/calendar")]
        if confirmed
        else [],
        org=org,
        cohort=cohort,
        booking=booking,
        promoted=promoted_from_waiting,
        link=url_for("immersion.team_immersion", org_id=org.id, _external=True),
    )


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
