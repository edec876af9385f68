"""Immersion rules, tested through the services: cohorts and sessions, bookings with the
waiting list and calendar files, attendance by hand with its history, the attendance rules
and the readiness requirement they fill, join links, and two leads taking the last place
at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, update

from app.auth.models import User
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.programme import programme
from app.extensions import db
from app.immersion import services
from app.immersion.models import (
    AttendanceChange,
    AttendanceRecord,
    Booking,
    BookingAttendee,
    ImmersionCohort,
    ImmersionSession,
)
from app.organisations.models import Organisation
from app.readiness import services as readiness
from tests.factories.immersion import (
    FIRST_SESSION,
    attendance_rows,
    book,
    held_first,
    make_cohort,
    record,
    reload_booking,
    reload_cohort,
    sessions_of,
)
from tests.factories.organisations import clear_outbox, outbox_to
from tests.factories.readiness import verify_agreements
from tests.helpers import events


@pytest.fixture(autouse=True)
def request_context(app):
    """Booking emails carry absolute links, which need a request context."""
    with app.test_request_context():
        yield


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer")


def refused(call, *args, **kwargs) -> ServiceError:
    """Call a service that must refuse; roll back its partial work; return the error."""
    with pytest.raises(ServiceError) as error:
        call(*args, **kwargs)
    db.session.rollback()
    return error.value


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- cohorts and sessions --------------------------------------------------------------


def test_trainer_creates_a_cohort_open_for_booking(app, trainer):
    deadline = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)
    cohort = services.create_cohort(
        by=trainer,
        title="  Immersion spring 2027  ",
        description=" Partner launch training. ",
        capacity=12,
        booking_deadline=deadline,
    )
    db.session.commit()
    cohort = reload_cohort(cohort.id)
    assert cohort.title == "Immersion spring 2027"
    assert cohort.description == "Partner launch training."
    assert (cohort.capacity, cohort.status) == (12, "open")
    assert cohort.booking_deadline == deadline
    assert (cohort.session_minimum_percent, cohort.attendance_threshold_percent) == (75, 80)
    assert cohort.created_by_id == trainer.id
    assert [e.details["title"] for e in events("immersion.cohort_created")] == [cohort.title]


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"title": "   "}, "title", "Enter a title"),
        ({"capacity": None}, "capacity", "capacity from 1 to 500"),
        ({"capacity": 0}, "capacity", "capacity from 1 to 500"),
        ({"capacity": 501}, "capacity", "capacity from 1 to 500"),
        ({"booking_deadline": None}, "booking_deadline", "booking deadline"),
        ({"session_minimum_percent": 0}, "session_minimum_percent", "1 to 100"),
        ({"attendance_threshold_percent": 101}, "attendance_threshold_percent", "1 to 100"),
    ],
)
def test_cohort_validation(app, trainer, changes, field, message):
    values = {
        "title": "Immersion",
        "description": "",
        "capacity": 10,
        "booking_deadline": utcnow() + timedelta(days=10),
    }
    values.update(changes)
    error = refused(services.create_cohort, by=trainer, **values)
    assert error.field == field and message in error.message
    assert count(ImmersionCohort) == 0


def test_capacity_limits_are_accepted(app, trainer):
    for capacity in (1, 500):
        services.create_cohort(
            by=trainer,
            title=f"Cap {capacity}",
            description="",
            capacity=capacity,
            booking_deadline=utcnow() + timedelta(days=1),
        )
    db.session.commit()
    assert count(ImmersionCohort) == 2


def test_only_staff_create_cohorts_and_sessions(app, trainer, make_user):
    applicant = make_user(roles=("applicant",))
    auditor = make_user(roles=("auditor",))
    for user in (applicant, auditor):
        error = refused(
            services.create_cohort,
            by=user,
            title="Mine",
            description="",
            capacity=5,
            booking_deadline=utcnow() + timedelta(days=1),
        )
        assert "Only trainers and administrators" in error.message
    admin = make_user(roles=("admin",))
    cohort = make_cohort(admin, sessions=0)
    error = refused(
        services.add_session,
        cohort,
        by=applicant,
        title="S",
        starts_at=FIRST_SESSION,
        duration_minutes=60,
    )
    assert "Only trainers" in error.message


def test_sessions_are_added_in_order_with_prework(app, trainer):
    cohort = make_cohort(trainer, sessions=0)
    later = services.add_session(
        cohort,
        by=trainer,
        title="Second",
        starts_at=FIRST_SESSION + timedelta(weeks=1),
        duration_minutes=480,
        join_url=" https://zoom.example.org/j/2 ",
        facilitators=" Dr Priya Shah ",
    )
    first = services.add_session(
        cohort,
        by=trainer,
        title="First",
        starts_at=FIRST_SESSION,
        duration_minutes=10,
        prework_modules=["basics", "", "facilitation"],
    )
    db.session.commit()
    stored = sessions_of(cohort)
    assert [s.id for s in stored] == [first.id, later.id]
    assert stored[0].prework_modules == ["basics", "facilitation"]
    assert stored[0].join_url == ""
    assert stored[1].join_url == "https://zoom.example.org/j/2"
    assert stored[1].facilitators == "Dr Priya Shah"
    assert stored[1].ends_at == FIRST_SESSION + timedelta(weeks=1, minutes=480)
    assert reload_cohort(cohort.id).sessions == stored
    assert len(events("immersion.session_added")) == 2


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"title": " "}, "title", "Enter a title"),
        ({"starts_at": None}, "starts_at", "date and time"),
        ({"duration_minutes": None}, "duration_minutes", "10 to 480"),
        ({"duration_minutes": 9}, "duration_minutes", "10 to 480"),
        ({"duration_minutes": 481}, "duration_minutes", "10 to 480"),
        ({"duration_minutes": -60}, "duration_minutes", "10 to 480"),
        ({"join_url": "http://zoom.example.org/j/1"}, "join_url", "https://"),
        ({"join_url": "javascript:alert(1)"}, "join_url", "https://"),
        ({"prework_modules": ["basics", "no-such-module"]}, "prework_modules", "no-such-module"),
    ],
)
def test_session_validation(app, trainer, changes, field, message):
    cohort = make_cohort(trainer, sessions=0)
    values = {"title": "Session", "starts_at": FIRST_SESSION, "duration_minutes": 90}
    values.update(changes)
    error = refused(services.add_session, cohort, by=trainer, **values)
    assert error.field == field and message in error.message
    assert count(ImmersionSession) == 0


def test_session_minimum_rounds_up(app, trainer):
    cohort = make_cohort(trainer, sessions=0)
    session = ImmersionSession(cohort_id=cohort.id, title="x", starts_at=FIRST_SESSION)
    for duration, percent, minimum in ((90, 75, 68), (60, 75, 45), (90, 50, 45), (10, 75, 8)):
        session.duration_minutes = duration
        assert session.minimum_minutes(percent) == minimum


def test_reopening_a_cohort_with_every_place_taken_keeps_it_full(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=1)
    book(app, make_team(), cohort)
    services.set_cohort_status(reload_cohort(cohort.id), by=trainer, status="closed")
    db.session.commit()
    assert reload_cohort(cohort.id).status == "closed"
    services.set_cohort_status(reload_cohort(cohort.id), by=trainer, status="open")
    db.session.commit()
    assert reload_cohort(cohort.id).status == "full"
    error = refused(services.set_cohort_status, reload_cohort(cohort.id), by=trainer, status="x")
    assert error.field == "status"


# --- booking ---------------------------------------------------------------------------


def test_booking_is_refused_until_both_agreements_are_verified(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team(verified=False)
    error = refused(services.book, team.org, cohort, by=team.lead, attendee_ids=team.ids)
    assert "both partnership agreements" in error.message
    assert "IP Terms of Use Agreement" in error.message
    assert "Statement of Collaboration" in error.message

    verify_agreements(team.org, team.lead, kinds=["ip_terms"])
    verify_agreements(team.org, team.lead, kinds=["collaboration"], status="submitted")
    error = refused(services.book, team.org, cohort, by=team.lead, attendee_ids=team.ids)
    assert "partnership agreements" in error.message
    assert count(Booking) == 0

    verify_agreements(team.org, team.lead, kinds=["collaboration"])
    booking = book(app, team, cohort)
    assert booking.status == "confirmed"


def test_lead_books_a_place_and_chosen_members_attend(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=3)
    team = make_team()
    booking = book(app, team, cohort, attendees=[team.coordinator, team.lead])
    booking = reload_booking(booking.id)
    assert booking.status == "confirmed" and booking.confirmed_at is not None
    assert booking.organisation_id == team.org.id and booking.booked_by_id == team.lead.id
    assert sorted(a.user_id for a in booking.attendees) == sorted(
        [team.lead.id, team.coordinator.id]
    )
    assert reload_cohort(cohort.id).status == "open"
    [event] = events("immersion.booked")
    assert event.details["status"] == "confirmed"
    assert event.organisation_id == team.org.id


def test_only_the_hub_lead_books(app, trainer, make_team, make_user):
    cohort = make_cohort(trainer)
    team = make_team()
    for user in (team.coordinator, trainer, make_user()):
        error = refused(services.book, team.org, cohort, by=user, attendee_ids=team.ids)
        assert "Only the organisation's hub lead" in error.message
    assert count(Booking) == 0


@pytest.mark.parametrize("stage", ["draft", "submitted", "readiness_review", "approved"])
def test_only_organisations_in_training_book(app, trainer, make_team, stage):
    cohort = make_cohort(trainer)
    team = make_team(stage=stage)
    error = refused(services.book, team.org, cohort, by=team.lead, attendee_ids=team.ids)
    assert "while the organisation is in training" in error.message
    assert count(Booking) == 0


def test_members_of_another_organisation_cannot_attend(app, trainer, make_team, make_user):
    cohort = make_cohort(trainer)
    team, other = make_team(), make_team()
    for attendees in (
        [team.lead.id, other.specialist.id],
        [make_user().id],
        [],
    ):
        error = refused(services.book, team.org, cohort, by=team.lead, attendee_ids=attendees)
        assert error.field == "attendees"
    error = refused(
        services.book, team.org, cohort, by=team.lead, attendee_ids=[other.specialist.id]
    )
    assert "Only members of your organisation's team" in error.message
    assert count(Booking) == 0


def test_closed_completed_or_past_deadline_cohorts_are_refused(app, trainer, make_team):
    team = make_team()
    for status in ("closed", "completed"):
        cohort = make_cohort(trainer, title=f"Cohort {status}")
        cohort.status = status
        db.session.commit()
        error = refused(services.book, team.org, cohort, by=team.lead, attendee_ids=team.ids)
        assert f"Booking for “Cohort {status}” is closed" in error.message
    late = make_cohort(trainer, title="Late")
    late.booking_deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    error = refused(services.book, team.org, late, by=team.lead, attendee_ids=team.ids)
    assert "booking deadline for “Late” has passed" in error.message
    assert count(Booking) == 0


def test_double_booking_is_refused_but_rebooking_after_cancelling_works(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    first = book(app, team, cohort)
    error = refused(services.book, team.org, cohort, by=team.lead, attendee_ids=team.ids)
    assert "already booked" in error.message
    services.cancel(reload_booking(first.id), by=team.lead)
    db.session.commit()
    again = book(app, team, reload_cohort(cohort.id))
    assert again.status == "confirmed"
    assert count(Booking, Booking.organisation_id == team.org.id) == 2


def test_third_organisation_goes_on_the_waiting_list(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=2)
    first, second, third = make_team(), make_team(), make_team()
    assert book(app, first, cohort).status == "confirmed"
    assert reload_cohort(cohort.id).status == "open"
    assert book(app, second, reload_cohort(cohort.id)).status == "confirmed"
    assert reload_cohort(cohort.id).status == "full"
    clear_outbox()
    waiting = book(app, third, reload_cohort(cohort.id))
    assert waiting.status == "waiting" and waiting.confirmed_at is None
    cohort = reload_cohort(cohort.id)
    assert cohort.status == "full" and cohort.status_label == "Full (waiting list)"
    assert services.confirmed_count(cohort) == 2
    [(listed, confirmed, queued)] = services.list_cohorts()
    assert (listed.id, confirmed, queued) == (cohort.id, 2, 1)
    # The waiting team is told, without a calendar file (no place yet).
    [message] = outbox_to(third.lead.email)
    assert "Waiting list" in message.subject and "waiting list" in message.body
    assert message.attachments == []


def _queue(app, trainer, make_team):
    """A capacity-2 cohort with two confirmed teams and three waiting: the third waiting
    team queued first; the other two queued at the same moment (ties go by id)."""
    cohort = make_cohort(trainer, capacity=2)
    teams = [make_team() for _ in range(5)]
    bookings = [book(app, t, reload_cohort(cohort.id)) for t in teams]
    assert [b.status for b in bookings] == ["confirmed"] * 2 + ["waiting"] * 3
    same = utcnow() - timedelta(hours=1)
    ids = [b.id for b in bookings]
    db.session.execute(update(Booking).where(Booking.id.in_(ids[2:4])).values(queued_at=same))
    db.session.execute(
        update(Booking).where(Booking.id == ids[4]).values(queued_at=same - timedelta(minutes=5))
    )
    db.session.commit()
    return cohort, teams, ids


def test_cancelling_a_place_promotes_the_first_waiting_in_order(app, trainer, make_team):
    cohort, teams, ids = _queue(app, trainer, make_team)
    clear_outbox()
    promoted = services.cancel(reload_booking(ids[0]), by=teams[0].lead)
    db.session.commit()
    assert promoted.id == ids[4]  # queued earliest
    statuses = [reload_booking(i).status for i in ids]
    assert statuses == ["cancelled", "confirmed", "waiting", "waiting", "confirmed"]
    assert reload_booking(ids[4]).confirmed_at is not None
    assert reload_booking(ids[0]).cancelled_at is not None
    # The promoted team is told, with the calendar file.
    [message] = outbox_to(teams[4].lead.email)
    assert "Your place is confirmed" in message.subject
    assert "moved from the waiting list" in message.body
    assert [a[0] for a in message.attachments] == ["immersion.ics"]
    assert outbox_to(teams[2].lead.email) == []
    [event] = events("immersion.promoted")
    assert event.subject_id == str(ids[4])

    # Next place: the two queued at the same moment go by id.
    promoted = services.cancel(reload_booking(ids[1]), by=teams[1].lead)
    db.session.commit()
    assert promoted.id == ids[2]
    assert [reload_booking(i).status for i in ids] == [
        "cancelled",
        "cancelled",
        "confirmed",
        "waiting",
        "confirmed",
    ]
    assert reload_cohort(cohort.id).status == "full"


def test_cancelling_a_waiting_booking_promotes_nobody(app, trainer, make_team):
    cohort, teams, ids = _queue(app, trainer, make_team)
    clear_outbox()
    assert services.cancel(reload_booking(ids[3]), by=teams[3].lead) is None
    db.session.commit()
    assert [reload_booking(i).status for i in ids] == [
        "confirmed",
        "confirmed",
        "waiting",
        "cancelled",
        "waiting",
    ]
    assert events("immersion.promoted") == []
    assert [m for m in outbox_to(teams[2].lead.email) + outbox_to(teams[4].lead.email)] == []
    assert reload_cohort(cohort.id).status == "full"


def test_cancelling_the_last_confirmed_place_with_nobody_waiting_reopens(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=1)
    team = make_team()
    booking = book(app, team, cohort)
    assert reload_cohort(cohort.id).status == "full"
    assert services.cancel(reload_booking(booking.id), by=team.lead) is None
    db.session.commit()
    assert reload_cohort(cohort.id).status == "open"
    error = refused(services.cancel, reload_booking(booking.id), by=team.lead)
    assert "already cancelled" in error.message


def test_only_the_lead_cancels(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    booking = book(app, team, cohort)
    error = refused(services.cancel, reload_booking(booking.id), by=team.coordinator)
    assert "Only the organisation's hub lead" in error.message
    assert reload_booking(booking.id).status == "confirmed"


def test_attendees_can_change_until_the_deadline(app, trainer, make_team, make_user):
    cohort = make_cohort(trainer)
    team, other = make_team(), make_team()
    booking = book(app, team, cohort, attendees=[team.lead, team.coordinator])
    services.change_attendees(
        reload_booking(booking.id), by=team.lead, attendee_ids=[team.lead.id, team.specialist.id]
    )
    db.session.commit()
    assert sorted(a.user_id for a in reload_booking(booking.id).attendees) == sorted(
        [team.lead.id, team.specialist.id]
    )
    [event] = events("immersion.attendees_changed")
    assert event.details["after"] == sorted([team.lead.id, team.specialist.id])

    error = refused(
        services.change_attendees,
        reload_booking(booking.id),
        by=team.lead,
        attendee_ids=[other.lead.id],
    )
    assert error.field == "attendees"
    error = refused(
        services.change_attendees,
        reload_booking(booking.id),
        by=team.coordinator,
        attendee_ids=[team.lead.id],
    )
    assert "Only the organisation's hub lead" in error.message

    cohort = reload_cohort(cohort.id)
    cohort.booking_deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    error = refused(
        services.change_attendees, reload_booking(booking.id), by=team.lead, attendee_ids=team.ids
    )
    assert "until the booking deadline" in error.message
    assert sorted(a.user_id for a in reload_booking(booking.id).attendees) == sorted(
        [team.lead.id, team.specialist.id]
    )


def test_confirmation_email_has_a_calendar_with_every_session(app, trainer, make_team):
    cohort = make_cohort(trainer, sessions=3)
    team = make_team()
    clear_outbox()
    book(app, team, cohort, attendees=[team.lead, team.specialist])
    messages = outbox_to(team.specialist.email)
    assert len(messages) == 1
    [message] = messages
    # One message per recipient: attendees and the lead, each seeing only their own address.
    assert message.to == [team.specialist.email]
    assert len(outbox_to(team.lead.email)) == 1
    assert outbox_to(team.coordinator.email) == []  # not attending, not the lead
    assert "Your place is confirmed: Immersion spring 2027" in message.subject
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == ("immersion.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    vevents = calendar.walk("VEVENT")
    sessions = sessions_of(cohort)
    assert len(vevents) == len(sessions) == 3
    assert [e.decoded("dtstart") for e in vevents] == [s.starts_at for s in sessions]
    assert [e.decoded("dtend") for e in vevents] == [s.ends_at for s in sessions]
    assert [str(e["summary"]) for e in vevents] == [
        f"Immersion spring 2027: Session {i}" for i in (1, 2, 3)
    ]
    assert len({str(e["uid"]) for e in vevents}) == 3
    assert all("https://zoom.example.org/j/123456" in str(e["location"]) for e in vevents)
    # The message really goes out with the attachment as text/calendar.
    assert "Content-Type: text/calendar" in message.message().as_string()


# --- two leads, one place --------------------------------------------------------------


def _race(app, plan, cohort_id):
    """Each (org_id, lead_id, attendee_ids) books `cohort_id` in its own thread and app
    context, all released together by a barrier. Returns (statuses, errors)."""
    barrier = threading.Barrier(len(plan))
    errors: list[BaseException] = []
    results: list[str] = []

    def attempt(org_id, lead_id, attendee_ids):
        try:
            with app.test_request_context():
                try:
                    org = db.session.get(Organisation, org_id)
                    lead = db.session.get(User, lead_id)
                    cohort = db.session.get(ImmersionCohort, cohort_id)
                    barrier.wait(timeout=30)
                    booking = services.book(org, cohort, by=lead, attendee_ids=attendee_ids)
                    db.session.commit()
                    results.append(booking.status)
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=attempt, args=args) for args in plan]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    return results, errors


@pytest.mark.commits
def test_two_leads_booking_the_last_place_at_once_exactly_one_gets_it(app, trainer, make_team):
    """Parallel bookings serialise on the cohort row: one place, one confirmation."""
    cohorts = [make_cohort(trainer, title=f"Race {i}", capacity=1) for i in range(3)]
    # Two new organisations per cohort: an organisation holds one booking at a time.
    plans = [[(t.org.id, t.lead.id, t.ids) for t in (make_team(), make_team())] for _ in cohorts]
    cohort_ids = [c.id for c in cohorts]
    db.session.commit()

    for cohort_id, plan in zip(cohort_ids, plans, strict=True):
        results, errors = _race(app, plan, cohort_id)
        assert errors == []
        assert sorted(results) == ["confirmed", "waiting"]
        db.session.expire_all()
        statuses = db.session.scalars(
            select(Booking.status).where(Booking.cohort_id == cohort_id)
        ).all()
        assert sorted(statuses) == ["confirmed", "waiting"]
        assert reload_cohort(cohort_id).status == "full"


# --- attendance by hand ----------------------------------------------------------------


@pytest.fixture
def booked(app, trainer, make_team):
    """A 3-session cohort (90 minutes each) with one team of four booked."""
    cohort = make_cohort(trainer, first=held_first(), sessions=3, duration=90)
    team = make_team()
    book(app, team, cohort)
    return cohort, team, sessions_of(cohort)


def test_present_defaults_to_the_session_length(app, trainer, booked):
    cohort, team, sessions = booked
    rec = record(sessions[0], trainer, team.coordinator, "present")
    assert (rec.status, rec.minutes, rec.source) == ("present", 90, "hand")
    assert rec.recorded_by_id == trainer.id
    rec = record(sessions[1], trainer, team.coordinator, "present", minutes=80)
    assert (rec.status, rec.minutes) == ("present", 80)
    [first, _] = events("immersion.attendance_recorded")
    assert first.details | {"ip": None} == {
        "ip": None,
        "session": sessions[0].id,
        "session_title": sessions[0].title,
        "user": team.coordinator.id,
        "person": team.coordinator.name,
        "status": "present",
        "minutes": 90,
        "source": "hand",
    }
    # On the organisation's record, so its history and dossier show it.
    assert first.organisation_id == team.org.id


def test_partial_needs_minutes_and_absent_is_zero(app, trainer, booked):
    cohort, team, sessions = booked
    error = refused(
        services.record_attendance,
        sessions[0],
        by=trainer,
        user_id=team.lead.id,
        status="partial",
        minutes=None,
    )
    assert error.field == "minutes" and "Enter the minutes" in error.message
    rec = record(sessions[0], trainer, team.lead, "partial", minutes=40)
    assert (rec.status, rec.minutes) == ("partial", 40)
    rec = record(sessions[1], trainer, team.lead, "absent", minutes=55)
    assert (rec.status, rec.minutes) == ("absent", 0)


@pytest.mark.parametrize("minutes", [-1, 181, 10_000])
def test_minutes_out_of_range_are_refused(app, trainer, booked, minutes):
    cohort, team, sessions = booked
    error = refused(
        services.record_attendance,
        sessions[0],
        by=trainer,
        user_id=team.lead.id,
        status="partial",
        minutes=minutes,
    )
    assert error.field == "minutes" and "between 0 and 180" in error.message
    assert attendance_rows() == [("changes", 0)]


def test_only_booked_attendees_and_only_staff(app, trainer, booked, make_team, make_user):
    cohort, team, sessions = booked
    waiting_cohort = make_cohort(trainer, first=held_first(), title="Small", capacity=1, sessions=1)
    book(app, make_team(), waiting_cohort)
    waiting_team = make_team()
    book(app, waiting_team, reload_cohort(waiting_cohort.id))
    [small_session] = sessions_of(waiting_cohort)
    for session, user in (
        (sessions[0], make_user()),  # nobody's attendee
        (sessions[0], waiting_team.lead),  # booked on another cohort
        (small_session, waiting_team.lead),  # on the waiting list
    ):
        error = refused(
            services.record_attendance,
            session,
            by=trainer,
            user_id=user.id,
            status="present",
            minutes=None,
        )
        assert "not booked on this cohort" in error.message
    error = refused(
        services.record_attendance,
        sessions[0],
        by=team.lead,
        user_id=team.lead.id,
        status="present",
        minutes=None,
    )
    assert "Only trainers" in error.message
    error = refused(
        services.record_attendance,
        sessions[0],
        by=trainer,
        user_id=team.lead.id,
        status="late",
        minutes=None,
    )
    assert error.field == "status"
    assert attendance_rows() == [("changes", 0)]


def test_a_change_needs_a_reason_and_keeps_its_history(app, trainer, booked, make_user):
    cohort, team, sessions = booked
    original = record(sessions[0], trainer, team.specialist, "present")
    before = attendance_rows()

    error = refused(
        services.record_attendance,
        sessions[0],
        by=trainer,
        user_id=team.specialist.id,
        status="partial",
        minutes=30,
        reason="   ",
    )
    assert error.field == "reason" and "Give a reason" in error.message
    assert attendance_rows() == before
    assert events("immersion.attendance_changed") == []

    # The same values again is not a change: no reason needed, nothing written.
    assert record(sessions[0], trainer, team.specialist, "present", minutes=90) is None
    assert attendance_rows() == before

    second = make_user(roles=("trainer",))
    changed = record(
        sessions[0], second, team.specialist, "partial", 30, reason="Left early (told us)."
    )
    assert changed.id == original.id
    db.session.expire_all()
    rec = db.session.get(AttendanceRecord, original.id)
    assert (rec.status, rec.minutes, rec.recorded_by_id) == ("partial", 30, second.id)
    [change] = db.session.scalars(select(AttendanceChange)).all()
    assert (change.record_id, change.old_status, change.old_minutes) == (rec.id, "present", 90)
    assert (change.new_status, change.new_minutes) == ("partial", 30)
    assert change.reason == "Left early (told us)."
    assert change.changed_by_id == second.id and change.changed_at is not None
    [event] = events("immersion.attendance_changed")
    assert event.details["from"] == ["present", 90] and event.details["to"] == ["partial", 30]

    record(sessions[0], trainer, team.specialist, "absent", reason="Was someone else.")
    history = db.session.scalars(select(AttendanceChange).order_by(AttendanceChange.id)).all()
    assert [(c.old_status, c.new_status) for c in history] == [
        ("present", "partial"),
        ("partial", "absent"),
    ]


# --- attendance rules ------------------------------------------------------------------


def test_a_session_counts_from_the_cohort_minimum(app, trainer, booked):
    cohort, team, sessions = booked  # 90 minutes: counts from 68 (75%, rounded up)
    record(sessions[0], trainer, team.lead, "partial", 68)
    record(sessions[1], trainer, team.lead, "partial", 67)
    record(sessions[2], trainer, team.lead, "present", 90)
    record(sessions[0], trainer, team.coordinator, "present", 67)
    _a, _s, _r, summaries = services.attendance_grid(reload_cohort(cohort.id))
    assert summaries[team.lead.id].counted == 2
    assert summaries[team.coordinator.id].counted == 0
    assert summaries[team.specialist.id].counted == 0  # nothing recorded


def test_percentage_and_threshold_per_attendee(app, trainer, make_team):
    cohort = make_cohort(trainer, first=held_first(), sessions=5, duration=60)
    team = make_team()
    book(app, team, cohort)
    sessions = sessions_of(cohort)
    for s in sessions[:4]:
        record(s, trainer, team.lead, "present")  # 4 of 5: 80%
    for s in sessions[:3]:
        record(s, trainer, team.coordinator, "present")  # 3 of 5: 60%
    for s in sessions:
        record(s, trainer, team.facilitator, "absent")
    attendees, grid_sessions, records, summaries = services.attendance_grid(
        reload_cohort(cohort.id)
    )
    assert [s.id for s in grid_sessions] == [s.id for s in sessions]
    assert len(records) == 4 + 3 + 5
    assert {a.user_id for a in attendees} == set(team.ids)
    lead, coordinator = summaries[team.lead.id], summaries[team.coordinator.id]
    assert (lead.counted, lead.sessions, lead.percent, lead.met) == (4, 5, 80, True)
    assert (coordinator.counted, coordinator.percent, coordinator.met) == (3, 60, False)
    assert (summaries[team.facilitator.id].percent, summaries[team.facilitator.id].met) == (
        0,
        False,
    )
    assert summaries[team.lead.id].organisation.id == team.org.id


def test_cohort_rules_can_be_changed(app, trainer, make_team):
    cohort = make_cohort(
        trainer,
        first=held_first(),
        sessions=2,
        duration=60,
        session_minimum_percent=50,
        attendance_threshold_percent=50,
    )
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    s1, _s2 = sessions_of(cohort)
    record(s1, trainer, team.lead, "partial", 30)
    _a, _s, _r, summaries = services.attendance_grid(reload_cohort(cohort.id))
    assert (summaries[team.lead.id].counted, summaries[team.lead.id].met) == (1, True)


def _immersion(org):
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    [requirement] = [r for r in readiness.requirements(org) if r.key == "immersion"]
    return requirement


def test_readiness_requirement_follows_attendance(app, trainer, booked):
    cohort, team, sessions = booked
    assert programme().required_roles == ("hub_lead", "coordinator", "facilitator", "specialist")
    requirement = _immersion(team.org)
    assert requirement.title == "Immersion attendance"
    assert not requirement.met
    assert requirement.summary == "No Immersion attendance recorded yet."

    for s in sessions:
        record(s, trainer, team.lead, "present")
        record(s, trainer, team.facilitator, "partial", 70)  # above 68: counts
    record(sessions[0], trainer, team.coordinator, "present")
    record(sessions[1], trainer, team.coordinator, "present")  # 2 of 3: 67%
    for s in sessions:
        record(s, trainer, team.specialist, "partial", 60)  # below 68: none count
    requirement = _immersion(team.org)
    assert not requirement.met
    assert (requirement.done, requirement.total) == (2, 4)
    assert requirement.summary == "2 of 4 required roles have met the attendance threshold."
    assert requirement.details == [
        "No coordinator has met the attendance threshold yet",
        "No specialist has met the attendance threshold yet",
    ]

    record(sessions[2], trainer, team.coordinator, "present")
    for s in sessions:
        record(s, trainer, team.specialist, "present", reason="Zoom report showed the full hour.")
    requirement = _immersion(team.org)
    assert requirement.met
    assert (requirement.done, requirement.total) == (4, 4)
    assert requirement.details == []
    assert requirement.summary == (
        "Every required role has someone who met the attendance threshold."
    )


def test_one_person_can_cover_several_roles(app, trainer, make_user, make_organisation):
    lead = make_user(name="Lead")
    all_rounder = make_user(name="All Rounder")
    org = make_organisation(
        stage="in_training",
        lead=lead,
        members={("coordinator", "facilitator", "specialist"): all_rounder},
    )
    verify_agreements(org, lead)
    cohort = make_cohort(trainer, first=held_first(), sessions=1)
    booking = services.book(org, cohort, by=lead, attendee_ids=[lead.id, all_rounder.id])
    db.session.commit()
    [session] = sessions_of(cohort)
    record(session, trainer, all_rounder, "present")
    requirement = _immersion(org)
    assert requirement.details == ["No hub lead has met the attendance threshold yet"]
    record(session, trainer, lead, "present")
    assert _immersion(org).met
    # A cancelled booking's attendance no longer counts. (Cancelling is refused once the
    # cohort has started; a booking cancelled before the rule existed stays cancelled.)
    db.session.execute(update(Booking).where(Booking.id == booking.id).values(status="cancelled"))
    db.session.commit()
    assert not _immersion(org).met


# --- My Immersion: sessions and join links ---------------------------------------------


def test_join_link_shows_from_15_minutes_before_until_the_end(app, trainer, booked, make_team):
    cohort, team, sessions = booked
    first = sessions[0]
    start, end = first.starts_at, first.ends_at

    def link_at(now):
        rows = services.upcoming_for(team.specialist, now=now)
        assert [s.id for s, _b, _l, _p in rows] == [s.id for s in sessions]
        _s, booking, show_link, past = rows[0]
        assert booking.cohort_id == cohort.id
        return show_link, past

    assert link_at(start - timedelta(minutes=16)) == (False, False)
    assert link_at(start - timedelta(minutes=15)) == (True, False)
    assert link_at(start) == (True, False)
    assert link_at(end) == (True, False)
    assert link_at(end + timedelta(minutes=1)) == (False, True)


def test_upcoming_lists_only_the_users_confirmed_sessions(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=1, sessions=2)
    other_cohort = make_cohort(trainer, title="Other", sessions=1)
    team, waiting = make_team(), make_team()
    book(app, team, cohort, attendees=[team.lead, team.coordinator])
    book(app, waiting, reload_cohort(cohort.id))
    # Confirmed on another cohort too: a booking made before an organisation was held to
    # one at a time (`book` refuses it now), as an older database may hold.
    other = Booking(
        cohort_id=other_cohort.id,
        organisation_id=waiting.org.id,
        status="confirmed",
        confirmed_at=utcnow(),
    )
    other.attendees = [BookingAttendee(user_id=waiting.lead.id)]
    db.session.add(other)
    db.session.commit()
    assert len(services.upcoming_for(team.coordinator)) == 2
    assert services.upcoming_for(team.specialist) == []  # a member, not attending
    # On the waiting list for one cohort, confirmed on the other.
    assert [s.cohort_id for s, *_ in services.upcoming_for(waiting.lead)] == [other_cohort.id]
    assert services.upcoming_for(waiting.coordinator) == []


def test_organisation_attendance_lists_bookings_newest_first(app, trainer, make_team):
    team = make_team()
    older = make_cohort(trainer, title="Older", capacity=1)
    newer = make_cohort(trainer, title="Newer", capacity=1)
    book(app, make_team(), newer)
    first = book(app, team, older, attendees=[team.lead])
    db.session.execute(
        update(Booking).where(Booking.id == first.id).values(queued_at=utcnow() - timedelta(days=1))
    )
    # The older cohort is over, so the team may book again.
    db.session.execute(
        update(ImmersionCohort).where(ImmersionCohort.id == older.id).values(status="completed")
    )
    db.session.commit()
    book(app, team, reload_cohort(newer.id), attendees=[team.lead])
    [(b_new, s_new), (b_old, s_old)] = services.organisation_attendance(
        db.session.get(Organisation, team.org.id)
    )
    assert (b_new.cohort.title, b_new.status, s_new) == ("Newer", "waiting", {})
    assert (b_old.cohort.title, b_old.status) == ("Older", "confirmed")
    assert list(s_old) == [team.lead.id]
