"""Cohorts and sessions that change, tested through the services: editing a cohort (and the
waiting list a higher capacity lets in), moving, editing, cancelling and deleting sessions
with the calendar entries attendees are sent (same UID, higher SEQUENCE, METHOD:CANCEL),
cancelling and duplicating a cohort, the checks that refuse bad changes, two trainers saving
at once, and the cohort's history in plain words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.extensions import db
from app.immersion import services
from app.immersion.ical import cohort_calendar
from app.immersion.models import Booking, ImmersionCohort, ImmersionSession
from app.notifications.models import Notification
from app.notifications.services import set_preferences
from tests.factories.immersion import (
    FIRST_SESSION,
    book,
    make_cohort,
    record,
    reload_booking,
    reload_cohort,
    sessions_of,
)
from tests.factories.organisations import clear_outbox, outbox_to
from tests.helpers import events


@pytest.fixture(autouse=True)
def request_context(app):
    """Emails carry absolute links, which need a request context."""
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


def edit(cohort, trainer, **changes):
    """update_cohort with the cohort's current values, changed by `changes`."""
    values = {
        "title": cohort.title,
        "description": cohort.description,
        "capacity": cohort.capacity,
        "booking_deadline": cohort.booking_deadline,
        "session_minimum_percent": cohort.session_minimum_percent,
        "attendance_threshold_percent": cohort.attendance_threshold_percent,
        "version": cohort.version,
    }
    values.update(changes)
    return services.update_cohort(cohort, by=trainer, **values)


def move(session, trainer, starts_at=None, minutes=None, **changes):
    """update_session with the session's current values, moved or changed by the rest."""
    starts_at = starts_at or session.starts_at
    values = {
        "title": session.title,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=minutes or session.duration_minutes),
        "join_url": session.join_url,
        "facilitators": session.facilitators,
        "prework_modules": session.prework_modules,
        "version": session.version,
    }
    values.update(changes)
    return services.update_session(session, by=trainer, **values)


def calendar_of(message, filename="immersion-session.ics") -> Calendar:
    [content] = [c for name, c, mimetype in message.attachments if name == filename]
    return Calendar.from_ical(content)


def the_event(calendar: Calendar):
    [event] = calendar.walk("VEVENT")
    return event


# --- editing a cohort --------------------------------------------------------------------


def test_trainer_edits_a_cohort_and_the_history_says_what_changed(app, trainer):
    cohort = make_cohort(trainer, capacity=10)
    version = cohort.version
    new_deadline = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)
    changed = edit(
        cohort,
        trainer,
        title="  Immersion spring 2027 (Wales)  ",
        capacity=12,
        booking_deadline=new_deadline,
        attendance_threshold_percent=75,
    )
    db.session.commit()
    assert sorted(changed) == [
        "attendance_threshold_percent",
        "booking_deadline",
        "capacity",
        "title",
    ]
    cohort = reload_cohort(cohort.id)
    assert cohort.title == "Immersion spring 2027 (Wales)"
    assert (cohort.capacity, cohort.booking_deadline) == (12, new_deadline)
    assert cohort.attendance_threshold_percent == 75
    assert cohort.version == version + 1
    [event] = events("immersion.cohort_changed")
    words = audit.describe(event)
    assert "edited an Immersion cohort" in words
    assert "capacity 10 → 12" in words
    assert "attendance needed 80% → 75%" in words
    assert "booking deadline" in words and "1 March 2027, 17:00 GMT" in words
    history = [audit.describe(e) for e in services.cohort_history(cohort)]
    assert history[0] == words
    assert any("added a session to an Immersion cohort (Session 1" in h for h in history)


def test_saving_nothing_new_changes_nothing(app, trainer):
    cohort = make_cohort(trainer)
    assert edit(cohort, trainer) == []
    db.session.commit()
    assert events("immersion.cohort_changed") == []


def test_the_second_of_two_trainers_editing_a_cohort_is_refused(app, trainer, make_user):
    other = make_user(roles=("trainer",))
    cohort = make_cohort(trainer, capacity=10)
    opened_at = cohort.version  # both open the form now
    edit(cohort, trainer, capacity=14, version=opened_at)
    db.session.commit()
    cohort = reload_cohort(cohort.id)
    error = refused(edit, cohort, other, title="Another title", version=opened_at)
    assert "Someone else changed this cohort" in error.message
    assert "Reload the page" in error.message
    cohort = reload_cohort(cohort.id)
    assert (cohort.title, cohort.capacity) == ("Immersion spring 2027", 14)


def test_capacity_cannot_go_below_the_confirmed_places(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=3)
    for _ in range(2):
        book(app, make_team(), cohort)
    cohort = reload_cohort(cohort.id)
    error = refused(edit, cohort, trainer, capacity=1)
    assert error.field == "capacity"
    assert "2 organisations already hold a confirmed place" in error.message
    assert reload_cohort(cohort.id).capacity == 3
    edit(reload_cohort(cohort.id), trainer, capacity=2)  # exactly the confirmed places
    db.session.commit()
    assert reload_cohort(cohort.id).status == "full"


def test_booking_deadline_after_the_first_session_is_refused(app, trainer):
    cohort = make_cohort(trainer)
    error = refused(edit, cohort, trainer, booking_deadline=FIRST_SESSION + timedelta(hours=1))
    assert error.field == "booking_deadline"
    assert "must be before the first session (“Session 1”, 7 April 2027, 11:00 BST)" in (
        error.message
    )
    assert reload_cohort(cohort.id).booking_deadline < FIRST_SESSION


def test_a_higher_capacity_gives_the_waiting_list_its_places(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=1)
    book(app, make_team(), cohort)
    waiting = [book(app, make_team(), cohort) for _ in range(2)]
    assert [reload_booking(b.id).status for b in waiting] == ["waiting", "waiting"]
    clear_outbox()
    edit(reload_cohort(cohort.id), trainer, capacity=2)
    db.session.commit()
    first, second = (reload_booking(b.id) for b in waiting)
    assert (first.status, second.status) == ("confirmed", "waiting")
    assert reload_cohort(cohort.id).status == "full"
    lead = first.organisation.memberships[0].user
    assert any("Your place is confirmed" in m.subject for m in outbox_to(lead.email))
    assert len(events("immersion.promoted")) == 1
    edit(reload_cohort(cohort.id), trainer, capacity=5)
    db.session.commit()
    assert reload_booking(second.id).status == "confirmed"
    assert reload_cohort(cohort.id).status == "open"


# --- sessions: checks --------------------------------------------------------------------


def test_moving_a_session_to_end_before_it_starts_is_refused(app, trainer):
    cohort = make_cohort(trainer)
    session = sessions_of(cohort)[0]
    error = refused(move, session, trainer, ends_at=session.starts_at - timedelta(minutes=5))
    assert (error.field, error.message) == ("ends_at", "The session must end after it starts.")
    error = refused(move, sessions_of(cohort)[0], trainer, minutes=600)
    assert error.field == "ends_at" and "10 minutes to 8 hours" in error.message
    assert sessions_of(cohort)[0].starts_at == FIRST_SESSION


def test_sessions_of_one_cohort_cannot_overlap(app, trainer):
    cohort = make_cohort(trainer, duration=90)
    first, second, _third = sessions_of(cohort)
    error = refused(move, second, trainer, starts_at=first.starts_at + timedelta(minutes=60))
    assert error.field == "starts_at"
    assert "This overlaps “Session 1” (7 April 2027, 11:00 BST to 12:30 BST)" in error.message
    error = refused(
        services.add_session,
        reload_cohort(cohort.id),
        by=trainer,
        title="Extra",
        starts_at=first.starts_at - timedelta(minutes=30),
        duration_minutes=60,
    )
    assert error.field == "starts_at" and "overlaps “Session 1”" in error.message
    # Back to back is fine.
    move(sessions_of(cohort)[1], trainer, starts_at=first.ends_at)
    db.session.commit()
    assert sessions_of(cohort)[1].starts_at == first.ends_at


def test_a_session_in_the_past_needs_the_tick(app, trainer):
    cohort = make_cohort(trainer, sessions=0, deadline=utcnow() - timedelta(days=20))
    past = utcnow() - timedelta(days=7)
    error = refused(
        services.add_session,
        cohort,
        by=trainer,
        title="Held last week",
        starts_at=past,
        duration_minutes=90,
    )
    assert error.field == "starts_at"
    assert "tick “Recording a session that already took place”" in error.message
    assert sessions_of(cohort) == []
    services.add_session(
        reload_cohort(cohort.id),
        by=trainer,
        title="Held last week",
        starts_at=past,
        duration_minutes=90,
        already_took_place=True,
    )
    db.session.commit()
    [session] = sessions_of(cohort)
    error = refused(move, session, trainer, starts_at=past - timedelta(days=1))
    assert "tick" in error.message
    move(session, trainer, starts_at=past - timedelta(days=1), already_took_place=True)
    db.session.commit()
    assert sessions_of(cohort)[0].starts_at == past - timedelta(days=1)
    assert "a session that already took place" in audit.describe(
        events("immersion.session_added")[-1]
    )


def test_a_session_cannot_start_before_the_booking_deadline(app, trainer):
    cohort = make_cohort(trainer, deadline=datetime(2027, 3, 31, 17, 0, tzinfo=UTC))
    session = sessions_of(cohort)[0]
    error = refused(move, session, trainer, starts_at=datetime(2027, 3, 30, 9, 0, tzinfo=UTC))
    assert error.field == "starts_at"
    assert "The booking deadline is 31 March 2027, 18:00 BST" in error.message


def test_a_stale_session_form_is_refused(app, trainer, make_user):
    cohort = make_cohort(trainer)
    session = sessions_of(cohort)[0]
    opened_at = session.version
    move(session, trainer, title="Welcome and the ECHO model", version=opened_at)
    db.session.commit()
    session = sessions_of(cohort)[0]
    error = refused(move, session, make_user(roles=("admin",)), minutes=60, version=opened_at)
    assert "Someone else changed this session" in error.message
    session = sessions_of(cohort)[0]
    assert (session.title, session.duration_minutes) == ("Welcome and the ECHO model", 90)


def test_only_staff_change_sessions(app, trainer, make_user):
    cohort = make_cohort(trainer)
    session = sessions_of(cohort)[0]
    error = refused(move, session, make_user(roles=("auditor",)), minutes=60)
    assert "Only trainers and administrators" in error.message
    error = refused(services.cancel_session, session, by=make_user(), version=None, reason="x")
    assert "Only trainers and administrators" in error.message


# --- sessions: attendees are told, with the calendar entry --------------------------------


def test_moving_a_session_sends_attendees_the_same_uid_with_a_higher_sequence(
    app, trainer, make_team
):
    cohort = make_cohort(trainer)
    team = make_team()
    clear_outbox()
    book(app, team, cohort, attendees=[team.lead, team.specialist])
    [booking_mail] = [
        m for m in outbox_to(team.specialist.email) if "Your place is confirmed" in m.subject
    ]
    original = {
        str(e["uid"]): int(e.get("sequence", 0))
        for e in Calendar.from_ical(booking_mail.attachments[0][1]).walk("VEVENT")
    }
    clear_outbox()
    session = sessions_of(cohort)[1]
    new_start = session.starts_at + timedelta(days=1, hours=2)
    changed = move(session, trainer, starts_at=new_start, minutes=120)
    db.session.commit()
    assert sorted(changed) == ["duration_minutes", "starts_at"]
    [message] = outbox_to(team.specialist.email)
    assert message.subject.endswith("Session moved: Immersion spring 2027, Session 2")
    assert "Now: 15 April 2027, 13:00 BST to 15:00 BST (120 minutes)." in message.body
    assert "Was: 14 April 2027, 11:00 BST to 12:30 BST." in message.body
    calendar = calendar_of(message)
    assert str(calendar["method"]) == "PUBLISH"
    event = the_event(calendar)
    assert str(event["uid"]) in original
    assert int(event["sequence"]) == original[str(event["uid"])] + 1 == 1
    assert event.decoded("dtstart") == new_start
    assert event.decoded("dtend") == new_start + timedelta(minutes=120)
    assert str(event["status"]) == "CONFIRMED"
    assert len(outbox_to(team.lead.email)) == 1
    assert outbox_to(team.coordinator.email) == []  # not attending
    [note] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == team.specialist.id,
            Notification.kind == "immersion_session_changed",
        )
    ).all()
    assert note.link == "http://localhost/immersion/mine"
    # The cohort's own calendar agrees: same UID, the raised SEQUENCE, the new time.
    events_now = {
        str(e["uid"]): e
        for e in Calendar.from_ical(cohort_calendar(reload_cohort(cohort.id))).walk("VEVENT")
    }
    assert int(events_now[str(event["uid"])]["sequence"]) == 1
    assert events_now[str(event["uid"])].decoded("dtstart") == new_start
    [moved] = events("immersion.session_moved")
    assert "start 14 April 2027, 11:00 BST → 15 April 2027, 13:00 BST" in audit.describe(moved)
    # A second change raises it again.
    clear_outbox()
    move(sessions_of(cohort)[1], trainer, join_url="https://zoom.example.org/j/999")
    db.session.commit()
    [message] = outbox_to(team.specialist.email)
    assert message.subject.endswith("Session changed: Immersion spring 2027, Session 2")
    assert int(the_event(calendar_of(message))["sequence"]) == 2
    assert sessions_of(cohort)[1].sequence == 2


def test_the_calendar_change_reaches_people_who_chose_no_immersion_email(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    book(app, team, cohort, attendees=[team.lead, team.coordinator])
    set_preferences(team.coordinator, {"immersion": "off"})
    db.session.commit()
    clear_outbox()
    move(sessions_of(cohort)[0], trainer, minutes=60)
    db.session.commit()
    [message] = outbox_to(team.coordinator.email)
    assert "Calendar changes are always emailed at once" in message.body
    assert int(the_event(calendar_of(message))["sequence"]) == 1
    assert len(outbox_to(team.lead.email)) == 1


def test_a_change_not_shown_in_calendars_tells_nobody(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    book(app, team, cohort)
    clear_outbox()
    move(sessions_of(cohort)[0], trainer, prework_modules=["basics"])
    db.session.commit()
    assert outbox_to(team.lead.email) == []
    assert sessions_of(cohort)[0].sequence == 0
    assert [e.details["changes"] for e in events("immersion.session_changed")] == [
        {"pre-work": ["none", "basics"]}
    ]


def test_a_session_added_after_booking_is_sent_to_the_attendees(app, trainer, make_team):
    cohort = make_cohort(trainer, sessions=2)
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    clear_outbox()
    services.add_session(
        reload_cohort(cohort.id),
        by=trainer,
        title="Extra: evaluation",
        starts_at=FIRST_SESSION + timedelta(weeks=3),
        duration_minutes=60,
    )
    db.session.commit()
    [message] = outbox_to(team.lead.email)
    assert message.subject.endswith("New session: Immersion spring 2027, Extra: evaluation")
    assert int(the_event(calendar_of(message))["sequence"]) == 0


def test_cancelling_a_session_sends_a_cancellation_and_it_no_longer_counts(app, trainer, make_team):
    # One session held a week ago, one in two hours, one next week; booking open an hour.
    cohort = make_cohort(
        trainer,
        first=utcnow() - timedelta(weeks=1) + timedelta(hours=2),
        sessions=3,
        deadline=utcnow() + timedelta(hours=1),
    )
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    past, upcoming, last = sessions_of(cohort)
    record(past, trainer, team.lead)
    clear_outbox()
    _a, _s, _r, summaries = services.attendance_grid(reload_cohort(cohort.id))
    assert (summaries[team.lead.id].counted, summaries[team.lead.id].sessions) == (1, 3)

    error = refused(
        services.cancel_session, upcoming, by=trainer, version=upcoming.version, reason="  "
    )
    assert error.field == "reason"
    upcoming = sessions_of(cohort)[1]
    services.cancel_session(
        upcoming, by=trainer, version=upcoming.version, reason="The trainer is unwell."
    )
    db.session.commit()
    upcoming = sessions_of(cohort)[1]
    assert upcoming.is_cancelled and upcoming.sequence == 1
    [message] = outbox_to(team.lead.email)
    assert message.subject.endswith("Session cancelled: Immersion spring 2027, Session 2")
    assert "Reason: The trainer is unwell." in message.body
    calendar = calendar_of(message)
    assert str(calendar["method"]) == "CANCEL"
    event = the_event(calendar)
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 1
    assert str(event["uid"]) == f"immersion-session-{upcoming.id}@localhost"
    # Still on the cohort and in its calendar, marked; no longer counted for attendance.
    cohort = reload_cohort(cohort.id)
    assert [s.id for s in cohort.sessions] == [past.id, upcoming.id, last.id]
    statuses = {
        str(e["uid"]): str(e["status"])
        for e in Calendar.from_ical(cohort_calendar(cohort)).walk("VEVENT")
    }
    assert statuses[str(event["uid"])] == "CANCELLED"
    _a, sessions, _r, summaries = services.attendance_grid(cohort)
    assert [s.id for s in sessions] == [past.id, last.id]
    assert (summaries[team.lead.id].counted, summaries[team.lead.id].sessions) == (1, 2)
    # No attendance for it, no change to it, no second cancellation.
    error = refused(
        services.record_attendance,
        sessions_of(cohort)[1],
        by=trainer,
        user_id=team.lead.id,
        status="present",
        minutes=None,
    )
    assert "cancelled" in error.message
    error = refused(move, sessions_of(cohort)[1], trainer, minutes=60)
    assert "cancelled" in error.message
    s = sessions_of(cohort)[1]
    assert (
        "already cancelled"
        in refused(
            services.cancel_session, s, by=trainer, version=s.version, reason="again"
        ).message
    )
    [event] = events("immersion.session_cancelled")
    assert "reason: The trainer is unwell." in audit.describe(event)
    # A session with attendance recorded took place: it is not cancelled.
    s = sessions_of(cohort)[0]
    error = refused(services.cancel_session, s, by=trainer, version=s.version, reason="x")
    assert "Attendance is recorded for this session" in error.message


def test_deleting_a_session_with_attendance_is_refused(app, trainer, make_team):
    cohort = make_cohort(
        trainer,
        first=utcnow() - timedelta(days=2),
        sessions=2,
        deadline=utcnow() + timedelta(days=1),
    )
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    held = sessions_of(cohort)[0]
    record(held, trainer, team.lead, status="absent")
    error = refused(services.delete_session, held, by=trainer, version=held.version)
    assert "cannot be deleted: cancel it instead" in error.message
    assert len(sessions_of(cohort)) == 2


def test_deleting_a_session_added_by_mistake_tells_the_attendees(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    clear_outbox()
    session = sessions_of(cohort)[2]
    uid = f"immersion-session-{session.id}@localhost"
    services.delete_session(session, by=trainer, version=session.version)
    db.session.commit()
    assert [s.title for s in sessions_of(cohort)] == ["Session 1", "Session 2"]
    [message] = outbox_to(team.lead.email)
    event = the_event(calendar_of(message))
    assert (str(event["uid"]), str(event["status"])) == (uid, "CANCELLED")
    [deleted] = events("immersion.session_deleted")
    assert "deleted an Immersion session (Session 3; 21 April 2027" in audit.describe(deleted)
    assert deleted in services.cohort_history(reload_cohort(cohort.id))


# --- cancelling a cohort -----------------------------------------------------------------


def test_cancelling_a_cohort_releases_every_booking_and_tells_everyone(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=1)
    placed, queued = make_team(), make_team()
    first = book(app, placed, cohort, attendees=[placed.lead, placed.coordinator])
    second = book(app, queued, cohort)
    clear_outbox()
    cohort = reload_cohort(cohort.id)
    error = refused(services.cancel_cohort, cohort, by=trainer, version=cohort.version, reason="")
    assert error.field == "reason"
    cohort = reload_cohort(cohort.id)
    released = services.cancel_cohort(
        cohort, by=trainer, version=cohort.version, reason="Too few teams could come."
    )
    db.session.commit()
    assert released == 2
    cohort = reload_cohort(cohort.id)
    assert cohort.status == "cancelled" and cohort.status_label == "Cancelled"
    assert all(s.is_cancelled and s.sequence == 1 for s in cohort.sessions)
    assert reload_booking(first.id).status == reload_booking(second.id).status == "cancelled"
    [message] = outbox_to(placed.coordinator.email)
    assert message.subject.endswith("Cancelled: Immersion spring 2027")
    assert "Reason: Too few teams could come." in message.body
    calendars = [Calendar.from_ical(c) for _n, c, _m in message.attachments]
    assert len(calendars) == 3
    assert {str(c["method"]) for c in calendars} == {"CANCEL"}
    assert {str(the_event(c)["status"]) for c in calendars} == {"CANCELLED"}
    [to_waiting_lead] = outbox_to(queued.lead.email)
    assert to_waiting_lead.attachments == []
    assert "has been cancelled" in to_waiting_lead.body
    # The released team can book elsewhere; the cancelled cohort takes no more changes.
    assert services.active_booking(placed.org, cohort) is None
    error = refused(edit, cohort, trainer, capacity=4)
    assert "cancelled" in error.message
    error = refused(services.set_cohort_status, reload_cohort(cohort.id), by=trainer, status="open")
    assert "cancelled" in error.message
    [event] = events("immersion.cohort_cancelled")
    words = audit.describe(event)
    assert "cancelled an Immersion cohort" in words and "2 bookings released" in words
    # A cohort called off can be run again later: its copy has its sessions, uncancelled.
    again = services.duplicate_cohort(
        reload_cohort(cohort.id), by=trainer, title="Run again", first_session_on=date(2027, 9, 8)
    )
    db.session.commit()
    again = reload_cohort(again.id)
    assert [s.title for s in again.sessions] == ["Session 1", "Session 2", "Session 3"]
    assert not any(s.is_cancelled for s in again.sessions) and again.status == "open"


def test_a_cohort_that_has_started_is_not_cancelled_whole(app, trainer):
    cohort = make_cohort(
        trainer,
        first=utcnow() - timedelta(days=1),
        sessions=2,
        deadline=utcnow() + timedelta(hours=1),
    )
    error = refused(services.cancel_cohort, cohort, by=trainer, version=None, reason="x")
    assert "cannot be cancelled as a whole" in error.message
    assert reload_cohort(cohort.id).status == "open"


# --- duplicating -------------------------------------------------------------------------


def test_duplicate_keeps_the_shape_on_new_dates_in_uk_time(app, trainer, make_team):
    # Sessions at 11:00 UK time in spring (BST); the copy runs in winter (GMT).
    cohort = make_cohort(
        trainer, capacity=8, session_minimum_percent=70, attendance_threshold_percent=90
    )
    book(app, make_team(), cohort)
    third = sessions_of(cohort)[2]
    services.cancel_session(third, by=trainer, version=third.version, reason="Not needed")
    db.session.commit()
    original = reload_cohort(cohort.id)
    copy = services.duplicate_cohort(
        original, by=trainer, title="Immersion winter 2027", first_session_on=date(2027, 11, 17)
    )
    db.session.commit()
    copy = reload_cohort(copy.id)
    assert copy.title == "Immersion winter 2027" and copy.copied_from_id == cohort.id
    assert (copy.capacity, copy.session_minimum_percent, copy.attendance_threshold_percent) == (
        8,
        70,
        90,
    )
    assert copy.status == "open" and copy.description == original.description
    # 7 Apr 11:00 BST → 17 Nov 11:00 GMT (224 days on), weekly as before; the third was
    # cancelled, so it is not copied.
    assert [s.starts_at for s in copy.sessions] == [
        datetime(2027, 11, 17, 11, 0, tzinfo=UTC),
        datetime(2027, 11, 24, 11, 0, tzinfo=UTC),
    ]
    assert [(s.title, s.duration_minutes, s.join_url, s.sequence) for s in copy.sessions] == [
        ("Session 1", 90, "https://zoom.example.org/j/123456", 0),
        ("Session 2", 90, "https://zoom.example.org/j/123456", 0),
    ]
    shifted = original.booking_deadline.astimezone(UTC) + timedelta(days=224)
    assert abs(copy.booking_deadline - shifted) <= timedelta(hours=1)  # same UK clock time
    assert (
        db.session.scalar(
            select(func.count()).select_from(Booking).where(Booking.cohort_id == copy.id)
        )
        == 0
    )
    [event] = events("immersion.cohort_duplicated")
    words = audit.describe(event)
    assert "copy of Immersion spring 2027" in words and "2 sessions" in words
    assert "first session 17 November 2027, 11:00 GMT" in words


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"title": " "}, "title", "Enter a title"),
        ({"first_session_on": None}, "first_session_on", "Enter the date"),
        ({"first_session_on": date(2020, 1, 1)}, "first_session_on", "in the future"),
        ({"first_session_on": date(9999, 12, 31)}, "first_session_on", "ten years"),
        (
            {"booking_deadline": datetime(2027, 12, 1, tzinfo=UTC)},
            "booking_deadline",
            "would fall after the first session",
        ),
    ],
)
def test_duplicate_checks(app, trainer, changes, field, message):
    cohort = make_cohort(trainer)
    values = {"title": "Next", "first_session_on": date(2027, 11, 17)}
    values.update(changes)
    error = refused(services.duplicate_cohort, cohort, by=trainer, **values)
    assert error.field == field and message in error.message
    assert db.session.scalar(select(func.count()).select_from(ImmersionCohort)) == 1


def test_a_cohort_without_sessions_is_not_duplicated(app, trainer):
    cohort = make_cohort(trainer, sessions=0)
    error = refused(
        services.duplicate_cohort,
        cohort,
        by=trainer,
        title="Next",
        first_session_on=date(2027, 11, 17),
    )
    assert "no sessions to copy" in error.message


# --- two trainers at the same moment ------------------------------------------------------


@pytest.mark.commits
def test_two_trainers_saving_one_cohort_at_once_one_is_refused(app, make_user):
    from tests.helpers import race

    trainers = [make_user(roles=("trainer",)) for _ in range(2)]
    trainer_ids = [t.id for t in trainers]
    cohort = make_cohort(trainers[0], capacity=10)
    cohort_id, opened_at = cohort.id, cohort.version
    db.session.remove()

    def save(trainer_id, capacity):
        def call():
            from app.auth.models import User

            c = db.session.get(ImmersionCohort, cohort_id)
            return edit(c, db.session.get(User, trainer_id), capacity=capacity, version=opened_at)

        return call

    outcomes = race(app, [save(trainer_ids[0], 12), save(trainer_ids[1], 14)])
    assert outcomes == ["ok", "refused"]
    assert reload_cohort(cohort_id).version == opened_at + 1
    assert reload_cohort(cohort_id).capacity in (12, 14)


def test_session_rows_keep_their_uid_through_every_change(app, trainer):
    cohort = make_cohort(trainer, sessions=1)
    session = sessions_of(cohort)[0]
    before = the_event(Calendar.from_ical(cohort_calendar(reload_cohort(cohort.id))))
    move(session, trainer, starts_at=session.starts_at + timedelta(days=2))
    db.session.commit()
    after = the_event(Calendar.from_ical(cohort_calendar(reload_cohort(cohort.id))))
    assert str(before["uid"]) == str(after["uid"])
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert db.session.get(ImmersionSession, session.id).version == 2


def test_a_cancelled_session_is_not_reminded_the_day_before(app, trainer, make_team):
    from tests.reminders.test_reminders import at, run

    cohort = make_cohort(trainer, sessions=2)
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    first = sessions_of(cohort)[0]
    services.cancel_session(first, by=trainer, version=first.version, reason="Snow")
    db.session.commit()
    clear_outbox()
    with at(FIRST_SESSION.date() - timedelta(days=1)):
        assert run()["sessions_tomorrow"] == 0
    with at(FIRST_SESSION.date() + timedelta(days=6)):
        assert run()["sessions_tomorrow"] == 1  # the second, which still takes place
