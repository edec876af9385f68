"""Changing cohorts and sessions through the pages: editing a cohort and a session in UK
time, the hidden version that refuses a stale save, the tick for a session that already
took place, cancelling and deleting sessions, cancelling and duplicating a cohort, the
history and the calendar file; who may use each page; and input that must not break them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.core.db import utcnow
from app.extensions import db
from app.immersion.models import ImmersionCohort
from tests.factories.immersion import (
    FIRST_SESSION,
    book,
    make_cohort,
    record,
    reload_cohort,
    sessions_of,
)
from tests.factories.organisations import clear_outbox, outbox_to
from tests.helpers import field_errors, login, page_text


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer", email="tariq@superhub.example.org")


@pytest.fixture
def as_trainer(client, trainer):
    assert login(client, trainer.email).status_code == 302
    return client


def signed_in(app, user):
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    return other


def hidden_version(response) -> str:
    match = re.search(r'name="version" type="hidden" value="(\d+)"', page_text(response))
    if match is None:
        match = re.search(r'type="hidden" name="version" value="(\d+)"', page_text(response))
    assert match, "no version field on the page"
    return match.group(1)


def cohort_data(cohort, **changes) -> dict:
    data = {
        "title": cohort.title,
        "description": cohort.description,
        "capacity": str(cohort.capacity),
        "booking_deadline": "2027-03-01T17:00",
        "session_minimum_percent": str(cohort.session_minimum_percent),
        "attendance_threshold_percent": str(cohort.attendance_threshold_percent),
        "version": str(cohort.version),
    }
    data.update(changes)
    return data


def session_data(session, **changes) -> dict:
    data = {
        "title": session.title,
        # FIRST_SESSION is 10:00 UTC, 11:00 in London (summer time).
        "starts_at": "2027-04-07T11:00",
        "ends_at": "2027-04-07T12:30",
        "join_url": session.join_url,
        "facilitators": session.facilitators,
        "version": str(session.version),
    }
    data.update(changes)
    return data


# --- editing a cohort ------------------------------------------------------------------


def test_trainer_edits_a_cohort_from_its_page(app, as_trainer, trainer):
    cohort = make_cohort(trainer, capacity=10)
    page = as_trainer.get(f"/immersion/cohorts/{cohort.id}")
    assert f'href="/immersion/cohorts/{cohort.id}/edit"' in page_text(page)
    form = as_trainer.get(f"/immersion/cohorts/{cohort.id}/edit")
    assert form.status_code == 200
    assert hidden_version(form) == str(cohort.version)
    assert 'value="Immersion spring 2027"' in page_text(form)
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/edit",
        data=cohort_data(cohort, capacity="16", booking_deadline="2027-03-31T17:00"),
    )
    assert response.status_code == 302
    cohort = reload_cohort(cohort.id)
    assert cohort.capacity == 16
    assert cohort.booking_deadline == datetime(2027, 3, 31, 16, 0, tzinfo=UTC)  # BST
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    assert "Cohort saved." in page and "capacity 16 organisations" in page


def test_a_stale_cohort_form_is_refused_and_nothing_changes(app, as_trainer, trainer, make_user):
    cohort = make_cohort(trainer, capacity=10)
    opened = cohort_data(cohort)
    other = signed_in(app, make_user(roles=("admin",)))
    assert (
        other.post(
            f"/immersion/cohorts/{cohort.id}/edit", data=cohort_data(cohort, capacity="12")
        ).status_code
        == 302
    )
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/edit", data={**opened, "title": "Mine"}
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "Someone else changed this cohort while you were editing it" in text
    assert "There is a problem" in text
    cohort = reload_cohort(cohort.id)
    assert (cohort.title, cohort.capacity) == ("Immersion spring 2027", 12)


@pytest.mark.parametrize("version", ["", "abc", "-1", "99999999999999999999999"])
def test_a_missing_or_tampered_version_is_refused_not_an_error(app, as_trainer, trainer, version):
    cohort = make_cohort(trainer)
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/edit", data=cohort_data(cohort, title="X", version=version)
    )
    assert response.status_code == 400
    assert "Someone else changed this cohort" in page_text(response)
    assert reload_cohort(cohort.id).title == "Immersion spring 2027"


def test_cohort_checks_show_next_to_the_field(app, as_trainer, trainer, make_team):
    cohort = make_cohort(trainer, capacity=4)
    book(app, make_team(), cohort)
    book(app, make_team(), cohort)
    cohort = reload_cohort(cohort.id)
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/edit", data=cohort_data(cohort, capacity="1")
    )
    assert response.status_code == 400
    assert "2 organisations already hold a confirmed place" in field_errors(response, "capacity")
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/edit",
        data=cohort_data(cohort, booking_deadline="2027-04-08T09:00"),
    )
    assert "must be before the first session" in field_errors(response, "booking_deadline")
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/edit", data=cohort_data(cohort, booking_deadline="soon")
    )
    assert "Enter the booking deadline" in field_errors(response, "booking_deadline")
    assert reload_cohort(cohort.id).capacity == 4


# --- sessions --------------------------------------------------------------------------


def test_trainer_moves_a_session_and_the_attendees_get_the_calendar_change(
    app, as_trainer, trainer, make_team
):
    cohort = make_cohort(trainer)
    team = make_team()
    book(app, team, cohort, attendees=[team.coordinator])
    clear_outbox()
    session = sessions_of(cohort)[0]
    form = as_trainer.get(f"/immersion/sessions/{session.id}/edit")
    assert form.status_code == 200
    text = page_text(form)
    assert 'value="2027-04-07T11:00"' in text and 'value="2027-04-07T12:30"' in text
    response = as_trainer.post(
        f"/immersion/sessions/{session.id}/edit",
        data=session_data(session, starts_at="2027-04-08T14:00", ends_at="2027-04-08T16:00"),
    )
    assert response.status_code == 302
    session = sessions_of(cohort)[0]
    assert session.starts_at == datetime(2027, 4, 8, 13, 0, tzinfo=UTC)
    assert session.duration_minutes == 120
    [message] = outbox_to(team.coordinator.email)
    [(_name, content, _type)] = message.attachments
    [event] = Calendar.from_ical(content).walk("VEVENT")
    assert str(event["uid"]) == f"immersion-session-{session.id}@localhost"
    assert int(event["sequence"]) == 1
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    assert "the attendees have been sent the change" in page
    assert "Session 1</strong> — 8 April 2027, 14:00 BST, 120 minutes" in page


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"ends_at": "2027-04-07T10:30"}, "ends_at", "The session must end after it starts."),
        ({"ends_at": "2027-04-07T11:00"}, "ends_at", "The session must end after it starts."),
        ({"ends_at": "2027-04-08T11:00"}, "ends_at", "10 minutes to 8 hours"),
        (
            {"starts_at": "2027-04-14T10:30", "ends_at": "2027-04-14T12:00"},
            "starts_at",
            "This overlaps “Session 2”",
        ),
        ({"starts_at": "2027-02-30T10:00"}, "starts_at", "Enter the start as a date and time."),
        ({"ends_at": ""}, "ends_at", "Enter the end as a date and time."),
        (
            {"starts_at": "9999-12-31T20:00", "ends_at": "9999-12-31T21:30"},
            "starts_at",
            "Enter a date between the years 1900 and 2999.",  # every form's calendar bound
        ),
        (
            {"starts_at": "2099-12-31T20:00", "ends_at": "2099-12-31T21:30"},
            "starts_at",
            "within the next ten years",
        ),
        (
            {"starts_at": "2024-01-10T10:00", "ends_at": "2024-01-10T11:30"},
            "starts_at",
            "Recording a session that already",
        ),
        ({"join_url": "javascript:alert(1)"}, "join_url", "must start with https://"),
        ({"title": ""}, "title", "Enter a title."),
    ],
)
def test_session_checks_show_next_to_the_field(app, as_trainer, trainer, changes, field, message):
    cohort = make_cohort(trainer)
    session = sessions_of(cohort)[0]
    data = session_data(session, **changes)
    response = as_trainer.post(f"/immersion/sessions/{session.id}/edit", data=data)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    session = sessions_of(cohort)[0]
    assert (session.starts_at, session.duration_minutes) == (FIRST_SESSION, 90)


def test_adding_a_past_session_needs_the_tick(app, as_trainer, trainer):
    cohort = make_cohort(trainer, sessions=0, deadline=utcnow() - timedelta(days=30))
    when = (utcnow() - timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    data = {"title": "Held on Monday", "starts_at": when, "duration_minutes": "60"}
    response = as_trainer.post(f"/immersion/cohorts/{cohort.id}/sessions", data=data)
    assert response.status_code == 400
    assert "Recording a session that already took place" in field_errors(response, "starts_at")
    assert sessions_of(cohort) == []
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/sessions", data={**data, "already_took_place": "y"}
    )
    assert response.status_code == 302
    assert [s.title for s in sessions_of(cohort)] == ["Held on Monday"]


def test_a_stale_session_form_is_refused(app, as_trainer, trainer, make_user):
    cohort = make_cohort(trainer)
    session = sessions_of(cohort)[0]
    opened = session_data(session)
    other = signed_in(app, make_user(roles=("trainer",)))
    assert (
        other.post(
            f"/immersion/sessions/{session.id}/edit", data={**opened, "title": "Renamed"}
        ).status_code
        == 302
    )
    response = as_trainer.post(
        f"/immersion/sessions/{session.id}/edit", data={**opened, "ends_at": "2027-04-07T12:00"}
    )
    assert response.status_code == 400
    assert "Someone else changed this session" in page_text(response)
    session = sessions_of(cohort)[0]
    assert (session.title, session.duration_minutes) == ("Renamed", 90)


def test_trainer_cancels_a_session_which_stays_visible_marked(app, as_trainer, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    session = sessions_of(cohort)[1]
    page = as_trainer.get(f"/immersion/sessions/{session.id}/cancel")
    assert page.status_code == 200
    response = as_trainer.post(
        f"/immersion/sessions/{session.id}/cancel",
        data={"reason": "", "version": hidden_version(page)},
    )
    assert response.status_code == 400
    assert "Say why the session is cancelled." in field_errors(response, "reason")
    clear_outbox()
    response = as_trainer.post(
        f"/immersion/sessions/{session.id}/cancel",
        data={"reason": "Clashes with the national conference.", "version": str(session.version)},
    )
    assert response.status_code == 302
    [message] = outbox_to(team.lead.email)
    assert "METHOD:CANCEL" in message.attachments[0][1]
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    assert "is cancelled and the attendees told" in page
    assert "Cancelled</span> <strong>Session 2</strong>" in page
    assert "Cancelled: Clashes with the national conference." in page
    assert f"/immersion/sessions/{session.id}/edit" not in page
    # The attendee sees it marked too; the edit page sends the trainer back.
    lead_page = page_text(signed_in(app, team.lead).get("/immersion/mine"))
    assert "This session was cancelled: Clashes with the national conference." in lead_page
    response = as_trainer.get(f"/immersion/sessions/{session.id}/edit")
    assert response.status_code == 302


def test_deleting_a_session_with_attendance_is_refused_on_the_page(
    app, as_trainer, trainer, make_team
):
    cohort = make_cohort(
        trainer,
        first=utcnow() - timedelta(days=1),
        sessions=2,
        deadline=utcnow() + timedelta(hours=1),
    )
    team = make_team()
    book(app, team, cohort, attendees=[team.lead])
    held, later = sessions_of(cohort)
    record(held, trainer, team.lead)
    response = as_trainer.post(
        f"/immersion/sessions/{held.id}/delete", data={"version": str(held.version)}
    )
    assert response.status_code == 400
    assert "cannot be deleted: cancel it instead" in page_text(response)
    assert len(sessions_of(cohort)) == 2
    response = as_trainer.post(
        f"/immersion/sessions/{later.id}/delete", data={"version": str(later.version)}
    )
    assert response.status_code == 302
    assert [s.id for s in sessions_of(cohort)] == [held.id]


# --- cancelling and duplicating a cohort ------------------------------------------------


def test_trainer_cancels_a_cohort_after_confirming(app, as_trainer, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    book(app, team, cohort)
    page = as_trainer.get(f"/immersion/cohorts/{cohort.id}/cancel")
    assert page.status_code == 200
    assert "cannot be undone" in page_text(page)
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/cancel",
        data={"reason": "The venue closed.", "version": hidden_version(page)},
    )
    assert response.status_code == 302
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    assert "is cancelled: 1 booking released and everyone booked told." in page
    assert "Cancelled</strong> on" in page and "The venue closed." in page
    assert f"/immersion/cohorts/{cohort.id}/edit" not in page
    assert as_trainer.get(f"/immersion/cohorts/{cohort.id}/edit").status_code == 302
    listing = page_text(as_trainer.get("/immersion/cohorts"))
    assert "Cancelled" in listing


def test_trainer_duplicates_a_cohort_for_next_quarter(app, as_trainer, trainer, make_team):
    cohort = make_cohort(trainer)
    book(app, make_team(), cohort)
    page = as_trainer.get(f"/immersion/cohorts/{cohort.id}/duplicate")
    assert page.status_code == 200
    text = page_text(page)
    assert 'value="Immersion spring 2027 (copy)"' in text
    assert 'value="2027-07-07"' in text  # thirteen weeks on, the same weekday
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/duplicate",
        data={"title": "Immersion summer 2027", "first_session_on": "2027-07-07"},
    )
    assert response.status_code == 302
    copy = db.session.scalar(
        select(ImmersionCohort).where(ImmersionCohort.title == "Immersion summer 2027")
    )
    assert response.headers["Location"] == f"/immersion/cohorts/{copy.id}"
    assert [s.starts_at for s in sessions_of(copy)] == [
        FIRST_SESSION + timedelta(weeks=13 + i) for i in range(3)
    ]
    page = page_text(as_trainer.get(f"/immersion/cohorts/{copy.id}"))
    assert "with 3 sessions and no bookings" in page
    assert "No bookings yet." in page


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"first_session_on": ""}, "first_session_on", "Enter the date of the first session."),
        ({"first_session_on": "07/07/2027"}, "first_session_on", "Enter the date"),
        ({"first_session_on": "2020-01-01"}, "first_session_on", "in the future"),
        (
            {"first_session_on": "2027-07-07", "booking_deadline": "2027-07-08T09:00"},
            "booking_deadline",
            "would fall after the first session",
        ),
        ({"first_session_on": "2027-07-07", "title": ""}, "title", "Enter a title."),
    ],
)
def test_duplicate_checks_show_next_to_the_field(app, as_trainer, trainer, data, field, message):
    cohort = make_cohort(trainer)
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/duplicate", data={"title": "Next", **data}
    )
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert db.session.scalar(select(func.count()).select_from(ImmersionCohort)) == 1


# --- history and calendar ----------------------------------------------------------------


def test_history_reads_in_plain_words_and_auditors_may_read_it(app, as_trainer, trainer, make_user):
    cohort = make_cohort(trainer, capacity=10)
    as_trainer.post(f"/immersion/cohorts/{cohort.id}/edit", data=cohort_data(cohort, capacity="11"))
    session = sessions_of(cohort)[0]
    as_trainer.post(
        f"/immersion/sessions/{session.id}/edit",
        data=session_data(session, starts_at="2027-04-07T13:00", ends_at="2027-04-07T14:30"),
    )
    auditor = signed_in(app, make_user(roles=("auditor",)))
    response = auditor.get(f"/immersion/cohorts/{cohort.id}/history")
    assert response.status_code == 200
    text = page_text(response)
    assert "edited an Immersion cohort (Immersion spring 2027; booking deadline " in text
    assert "→ 1 March 2027, 17:00 GMT; capacity 10 → 11)" in text
    assert "moved an Immersion session (Session 1; start 7 April 2027, 11:00 BST → " in text
    assert "created an Immersion cohort" in text
    assert "immersion." not in text  # no internal names
    assert auditor.get(f"/immersion/cohorts/{cohort.id}/edit").status_code == 403
    assert (
        auditor.post(
            f"/immersion/sessions/{session.id}/cancel", data={"reason": "x", "version": "1"}
        ).status_code
        == 403
    )


def test_cohort_calendar_for_staff_and_people_booked_only(app, as_trainer, trainer, make_team):
    cohort = make_cohort(trainer)
    team, outsider = make_team(), make_team()
    book(app, team, cohort, attendees=[team.lead])
    session = sessions_of(cohort)[0]
    as_trainer.post(
        f"/immersion/sessions/{session.id}/edit",
        data=session_data(session, title="Welcome"),
    )
    response = as_trainer.get(f"/immersion/cohorts/{cohort.id}/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert [int(e["sequence"]) for e in events] == [1, 0, 0]
    assert str(events[0]["summary"]) == "Immersion spring 2027: Welcome"
    member = signed_in(app, team.coordinator)
    assert member.get(f"/immersion/cohorts/{cohort.id}/calendar.ics").status_code == 200
    stranger = signed_in(app, outsider.lead)
    assert stranger.get(f"/immersion/cohorts/{cohort.id}/calendar.ics").status_code == 403
    assert stranger.get(f"/immersion/cohorts/{cohort.id}/edit").status_code == 403
    assert (
        stranger.post(f"/immersion/sessions/{session.id}/delete", data={"version": "1"}).status_code
        == 403
    )
    assert len(sessions_of(cohort)) == 3


def test_unknown_cohorts_and_sessions_are_not_found(app, as_trainer):
    for url in (
        "/immersion/cohorts/999999/edit",
        "/immersion/cohorts/999999/duplicate",
        "/immersion/cohorts/999999/history",
        "/immersion/sessions/999999/edit",
        "/immersion/sessions/999999/cancel",
    ):
        assert as_trainer.get(url).status_code == 404, url
