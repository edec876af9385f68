"""Immersion pages through the test client: cohorts and sessions in UK time, booking and the
team page, attendance by hand (all or nothing), the Zoom import preview and confirmation,
the CSV export, My Immersion and its calendar file, and fixed query counts."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.core.db import utcnow
from app.extensions import db
from app.immersion.models import (
    AttendanceChange,
    AttendanceRecord,
    Booking,
    ImmersionCohort,
    ImmersionSession,
)
from tests.factories.immersion import (
    attendance_rows,
    book,
    csv_upload,
    held_first,
    make_cohort,
    record,
    reload_booking,
    reload_cohort,
    sessions_of,
)
from tests.factories.organisations import clear_outbox, outbox_to
from tests.factories.readiness import verify_agreements
from tests.helpers import field_errors, heading_skips, login, page_text
from tests.querycount import count_queries


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer", email="tariq@superhub.example.org")


@pytest.fixture
def as_trainer(client, trainer):
    """`client`, signed in as the trainer."""
    assert login(client, trainer.email).status_code == 302
    return client


def signed_in(app, user):
    """A separate test client signed in as `user`."""
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    return other


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def row_html(response, name: str) -> str:
    """The table row (<tr>…</tr>) that names `name`."""
    text = page_text(response)
    for row in re.findall(r"<tr[ >].*?</tr>", text, re.S):
        if name in row:
            return row
    raise AssertionError(f"no row for {name}")


# --- cohorts and sessions in UK time ---------------------------------------------------


def test_trainer_creates_a_cohort_with_a_uk_deadline(as_trainer):
    assert as_trainer.get("/immersion/cohorts/new").status_code == 200
    response = as_trainer.post(
        "/immersion/cohorts/new",
        data={
            "title": "Immersion summer 2027",
            "description": "Six sessions.",
            "capacity": "12",
            "booking_deadline": "2027-06-01T17:00",  # BST
            "session_minimum_percent": "75",
            "attendance_threshold_percent": "80",
        },
    )
    assert response.status_code == 302
    cohort = db.session.scalar(select(ImmersionCohort))
    assert response.headers["Location"] == f"/immersion/cohorts/{cohort.id}"
    assert cohort.booking_deadline == datetime(2027, 6, 1, 16, 0, tzinfo=UTC)
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    assert "Cohort “Immersion summer 2027” created" in page
    assert "booking deadline 1 June 2027, 17:00 BST" in page
    listing = page_text(as_trainer.get("/immersion/cohorts"))
    assert "Immersion summer 2027" in listing and "0 of 12" in listing


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"title": ""}, "title", "Enter a title."),
        ({"capacity": "501"}, "capacity", "Enter a number from 1 to 500."),
        ({"capacity": "0"}, "capacity", "Enter the capacity."),
        ({"booking_deadline": ""}, "booking_deadline", "Enter the booking deadline"),
        ({"booking_deadline": "next week"}, "booking_deadline", "Enter the booking deadline"),
        ({"attendance_threshold_percent": "120"}, "attendance_threshold_percent", "1 to 100."),
    ],
)
def test_cohort_form_validation(as_trainer, changes, field, message):
    data = {
        "title": "Immersion",
        "capacity": "10",
        "booking_deadline": "2027-06-01T17:00",
        "session_minimum_percent": "75",
        "attendance_threshold_percent": "80",
    }
    data.update(changes)
    response = as_trainer.post("/immersion/cohorts/new", data=data)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert count(ImmersionCohort) == 0


def test_session_times_in_uk_time_are_stored_in_utc_across_daylight_saving(
    app, as_trainer, trainer
):
    cohort = make_cohort(trainer, sessions=0)
    # Clocks go forward on 28 March 2027 and back on 31 October 2027.
    for title, local in (
        ("Before spring change", "2027-03-24T10:00"),
        ("After spring change", "2027-03-31T10:00"),
        ("Before autumn change", "2027-10-27T10:00"),
        ("After autumn change", "2027-11-03T10:00"),
    ):
        response = as_trainer.post(
            f"/immersion/cohorts/{cohort.id}/sessions",
            data={"title": title, "starts_at": local, "duration_minutes": "90"},
        )
        assert response.status_code == 302, page_text(response)
    stored = {s.title: s.starts_at for s in sessions_of(cohort)}
    assert stored == {
        "Before spring change": datetime(2027, 3, 24, 10, 0, tzinfo=UTC),
        "After spring change": datetime(2027, 3, 31, 9, 0, tzinfo=UTC),
        "Before autumn change": datetime(2027, 10, 27, 9, 0, tzinfo=UTC),
        "After autumn change": datetime(2027, 11, 3, 10, 0, tzinfo=UTC),
    }
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    assert "Before spring change</strong> — 24 March 2027, 10:00 GMT" in page
    assert "After spring change</strong> — 31 March 2027, 10:00 BST" in page
    assert "Before autumn change</strong> — 27 October 2027, 10:00 BST" in page
    assert "After autumn change</strong> — 3 November 2027, 10:00 GMT" in page


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"duration_minutes": "9"}, "duration_minutes", "Enter 10 to 480 minutes."),
        ({"duration_minutes": "481"}, "duration_minutes", "Enter 10 to 480 minutes."),
        ({"duration_minutes": "-30"}, "duration_minutes", "Enter 10 to 480 minutes."),
        ({"starts_at": "31/03/2027 10am"}, "starts_at", "Enter the start as a date and time."),
        ({"join_url": "http://zoom.example.org/j/1"}, "join_url", "must start with https://"),
    ],
)
def test_session_form_validation(app, as_trainer, trainer, changes, field, message):
    cohort = make_cohort(trainer, sessions=0)
    data = {"title": "Session", "starts_at": "2027-03-31T10:00", "duration_minutes": "90"}
    data.update(changes)
    response = as_trainer.post(f"/immersion/cohorts/{cohort.id}/sessions", data=data)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert count(ImmersionSession) == 0


def test_session_prework_must_be_a_known_module(app, as_trainer, trainer):
    cohort = make_cohort(trainer, sessions=0)
    data = {"title": "Session", "starts_at": "2027-03-31T10:00", "duration_minutes": "90"}
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/sessions",
        data={**data, "prework_modules": ["basics", "no-such-module"]},
    )
    assert response.status_code == 400
    assert count(ImmersionSession) == 0
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/sessions", data={**data, "prework_modules": ["basics"]}
    )
    assert response.status_code == 302
    [session] = sessions_of(cohort)
    assert session.prework_modules == ["basics"]


def test_trainer_closes_and_completes_a_cohort(app, as_trainer, trainer):
    cohort = make_cohort(trainer)
    response = as_trainer.post(
        f"/immersion/cohorts/{cohort.id}/status", data={"status": "closed"}, follow_redirects=True
    )
    assert "Cohort status: Booking closed." in page_text(response)
    assert reload_cohort(cohort.id).status == "closed"


# --- booking and the team page ---------------------------------------------------------


def _book(client, team, cohort, attendees=None):
    ids = [u.id for u in attendees] if attendees is not None else team.ids
    return client.post(
        f"/organisations/{team.org.id}/immersion/{cohort.id}/book",
        data={f"c{cohort.id}-attendees": [str(i) for i in ids]},
    )


def test_booking_without_verified_agreements_is_refused_with_the_reason(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team(verified=False)
    lead = signed_in(app, team.lead)
    page = page_text(lead.get(f"/organisations/{team.org.id}/immersion"))
    assert "Booking opens once both partnership agreements are verified" in page
    response = _book(lead, team, cohort)
    assert response.status_code == 400
    text = page_text(response)
    assert "both partnership agreements" in text and "Statement of Collaboration" in text
    assert count(Booking) == 0

    verify_agreements(team.org, team.lead)
    response = _book(lead, team, cohort)
    assert response.status_code == 302
    page = page_text(lead.get(response.headers["Location"]))
    assert "Booked on “Immersion spring 2027”: place confirmed." in page
    assert "Booking opens once" not in page
    assert count(Booking, Booking.status == "confirmed") == 1


def test_a_refused_booking_keeps_the_page_headings_in_order(app, trainer, make_team):
    """The error summary sits in the cohort's card (under its h4): the next cohort's heading
    must not follow an h2 (axe's heading-order, seen with two open cohorts)."""
    make_cohort(trainer, title="Immersion autumn")
    listed_first = make_cohort(trainer, title="Immersion winter")  # the sooner, shown first
    team = make_team()
    response = _book(signed_in(app, team.lead), team, listed_first, attendees=[])
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    assert heading_skips(html) == []


def test_only_the_hub_lead_can_book_through_the_page(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team, other = make_team(), make_team()
    assert _book(signed_in(app, team.coordinator), team, cohort).status_code == 403
    assert _book(signed_in(app, other.lead), team, cohort).status_code == 404
    assert count(Booking) == 0


def test_booking_someone_from_another_organisation_is_refused(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team, other = make_team(), make_team()
    response = _book(signed_in(app, team.lead), team, cohort, [team.lead, other.specialist])
    assert response.status_code == 400
    assert count(Booking) == 0


def test_team_page_offers_booking_only_where_it_is_allowed(app, trainer, make_team):
    open_cohort = make_cohort(trainer, title="Open cohort")
    closed = make_cohort(trainer, title="Closed cohort")
    closed.status = "closed"
    late = make_cohort(trainer, title="Late cohort", deadline=utcnow() + timedelta(hours=1))
    late.booking_deadline = utcnow() - timedelta(hours=1)
    booked_cohort = make_cohort(trainer, title="Booked cohort")
    db.session.commit()
    team = make_team()
    book(app, team, booked_cohort, attendees=[team.lead, team.specialist])

    unbooked = make_team()
    page = page_text(
        signed_in(app, unbooked.lead).get(f"/organisations/{unbooked.org.id}/immersion")
    )
    assert "Book a cohort" in page
    assert f"/immersion/{open_cohort.id}/book" in page
    assert f"/immersion/{booked_cohort.id}/book" in page
    assert f"/immersion/{closed.id}/book" not in page
    assert f"/immersion/{late.id}/book" not in page  # past its deadline: would be refused

    # One booking at a time: a team holding one is offered a move, not a second booking.
    page = page_text(signed_in(app, team.lead).get(f"/organisations/{team.org.id}/immersion"))
    assert "Book a cohort" not in page and '/book"' not in page
    assert "holds one booking at a time" in page
    assert "Booked cohort — place confirmed" in page
    assert "Change who attends" in page
    assert "Move to another cohort" in page and "Cancel the booking" in page

    # A team member who is not the lead sees the bookings but no booking or change forms.
    page = page_text(
        signed_in(app, team.coordinator).get(f"/organisations/{team.org.id}/immersion")
    )
    assert "Booked cohort — place confirmed" in page
    assert "Book a cohort" not in page and "/book" not in page
    assert "Change who attends" not in page and "Cancel the booking" not in page
    assert "Move to another cohort" not in page

    # A lead whose organisation is not in training yet cannot book.
    submitted = make_team(stage="submitted")
    page = page_text(
        signed_in(app, submitted.lead).get(f"/organisations/{submitted.org.id}/immersion")
    )
    assert "Book a cohort" not in page and "/book" not in page


def test_full_cohort_puts_the_third_team_on_the_waiting_list(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=2)
    teams = [make_team(name=f"Hospice {c}") for c in "ABC"]
    book(app, teams[0], cohort)
    book(app, teams[1], reload_cohort(cohort.id))
    lead = signed_in(app, teams[2].lead)
    response = _book(lead, teams[2], reload_cohort(cohort.id))
    assert response.status_code == 302
    lead_page = page_text(lead.get(response.headers["Location"]))
    assert "is full: you are on the waiting list" in lead_page
    assert "Immersion spring 2027 — on the waiting list" in lead_page

    trainer_client = signed_in(app, trainer)
    page = page_text(trainer_client.get(f"/immersion/cohorts/{cohort.id}"))
    assert "Full (waiting list)" in page
    assert "Hospice C — waiting" in page and "Hospice A — confirmed" in page
    listing = page_text(trainer_client.get("/immersion/cohorts"))
    assert "Full (waiting list)" in listing and "2 of 2" in listing


def test_cancelling_through_the_page_promotes_the_waiting_team(app, trainer, make_team):
    cohort = make_cohort(trainer, capacity=1)
    first, second = make_team(), make_team()
    booking = book(app, first, cohort)
    waiting = book(app, second, reload_cohort(cohort.id))
    clear_outbox()
    lead = signed_in(app, first.lead)
    url = f"/organisations/{first.org.id}/immersion/bookings/{booking.id}/cancel"
    # The team page links to a confirmation page; nothing changes until it is confirmed.
    assert url in page_text(lead.get(f"/organisations/{first.org.id}/immersion"))
    confirm = page_text(lead.get(url))
    assert "Cancel the booking on Immersion spring 2027?" in confirm
    assert "Yes, cancel the booking" in confirm and "the place goes to the first" in confirm
    assert reload_booking(booking.id).status == "confirmed" and outbox_to(first.lead.email) == []
    response = lead.post(url, follow_redirects=True)
    assert "Booking on “Immersion spring 2027” cancelled" in page_text(response)
    assert reload_booking(booking.id).status == "cancelled"
    assert reload_booking(waiting.id).status == "confirmed"
    [message] = outbox_to(second.lead.email)
    assert "Your place is confirmed" in message.subject
    # The cancelled team's attendees are told, by email and in the portal.
    for person in first.members:
        [told] = outbox_to(person.email)
        assert told.subject.endswith("Booking cancelled: Immersion spring 2027")
        assert "is cancelled by your hub lead" in told.body
    # Someone else's booking is not found.
    assert (
        signed_in(app, second.lead)
        .post(f"/organisations/{second.org.id}/immersion/bookings/{booking.id}/cancel")
        .status_code
        == 404
    )


def test_lead_changes_attendees_until_the_deadline(app, trainer, make_team):
    cohort = make_cohort(trainer)
    team = make_team()
    booking = book(app, team, cohort, attendees=[team.lead])
    lead = signed_in(app, team.lead)
    url = f"/organisations/{team.org.id}/immersion/bookings/{booking.id}/attendees"
    response = lead.post(
        url,
        data={f"b{booking.id}-attendees": [str(team.lead.id), str(team.facilitator.id)]},
        follow_redirects=True,
    )
    assert "Attendees updated." in page_text(response)
    assert sorted(a.user_id for a in reload_booking(booking.id).attendees) == sorted(
        [team.lead.id, team.facilitator.id]
    )

    cohort = reload_cohort(cohort.id)
    cohort.booking_deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = lead.post(
        url, data={f"b{booking.id}-attendees": [str(team.lead.id)]}, follow_redirects=True
    )
    assert "Attendees can be changed only until the booking deadline." in page_text(response)
    assert sorted(a.user_id for a in reload_booking(booking.id).attendees) == sorted(
        [team.lead.id, team.facilitator.id]
    )


# --- My Immersion and calendar files ---------------------------------------------------


def test_my_calendar_holds_only_my_sessions(app, trainer, make_team):
    mine = make_cohort(trainer, title="Mine", sessions=2)
    theirs = make_cohort(trainer, title="Theirs", sessions=1)
    team, other = make_team(), make_team()
    book(app, team, mine, attendees=[team.lead, team.coordinator])
    book(app, other, theirs)

    response = signed_in(app, team.coordinator).get("/immersion/mine.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-immersion.ics"'
    vevents = Calendar.from_ical(response.data).walk("VEVENT")
    sessions = sessions_of(mine)
    assert [str(e["summary"]) for e in vevents] == ["Mine: Session 1", "Mine: Session 2"]
    assert [e.decoded("dtstart") for e in vevents] == [s.starts_at for s in sessions]

    lead_calendar = Calendar.from_ical(signed_in(app, team.lead).get("/immersion/mine.ics").data)
    assert len(lead_calendar.walk("VEVENT")) == 2
    nobody = Calendar.from_ical(signed_in(app, team.specialist).get("/immersion/mine.ics").data)
    assert nobody.walk("VEVENT") == []


def test_my_immersion_shows_the_join_link_only_shortly_before(app, trainer, make_team):
    cohort = make_cohort(trainer, sessions=0)
    soon = ImmersionSession(
        cohort_id=cohort.id,
        title="Starting soon",
        starts_at=utcnow() + timedelta(minutes=10),
        duration_minutes=60,
        join_url="https://zoom.example.org/j/soon",
    )
    later = ImmersionSession(
        cohort_id=cohort.id,
        title="Next week",
        starts_at=utcnow() + timedelta(days=7),
        duration_minutes=60,
        join_url="https://zoom.example.org/j/later",
    )
    db.session.add_all([soon, later])
    db.session.commit()
    team = make_team()
    book(app, team, reload_cohort(cohort.id), attendees=[team.specialist])
    page = page_text(signed_in(app, team.specialist).get("/immersion/mine"))
    assert "Starting soon" in page and "Next week" in page
    assert 'href="https://zoom.example.org/j/soon"' in page
    assert "https://zoom.example.org/j/later" not in page
    assert "The join link appears here 15 minutes before the start." in page
    empty = page_text(signed_in(app, team.coordinator).get("/immersion/mine"))
    assert "You are not booked on an Immersion cohort" in empty


# --- attendance by hand ----------------------------------------------------------------


@pytest.fixture
def booked(app, trainer, make_team):
    """A 3-session cohort (90 minutes each) with one team of four booked."""
    cohort = make_cohort(trainer, first=held_first(), sessions=3, duration=90)
    team = make_team()
    book(app, team, cohort)
    return cohort, team, sessions_of(cohort)


def test_attendance_page_and_grid_render(app, as_trainer, trainer, booked):
    cohort, team, sessions = booked
    page = page_text(as_trainer.get(f"/immersion/sessions/{sessions[0].id}/attendance"))
    assert "Attendance: Session 1" in page and "counts from 68 minutes" in page
    for user in team.members:
        assert f'name="status-{user.id}"' in page
    record(sessions[0], trainer, team.lead, "present")
    record(sessions[1], trainer, team.lead, "partial", 70)
    record(sessions[2], trainer, team.lead, "present")
    record(sessions[0], trainer, team.coordinator, "absent")
    page = page_text(as_trainer.get(f"/immersion/cohorts/{cohort.id}"))
    lead_row = row_html(as_trainer.get(f"/immersion/cohorts/{cohort.id}"), team.lead.name)
    assert "Partly present" in lead_row and "3/3 (100%)" in lead_row and "met" in lead_row
    coordinator_row = row_html(
        as_trainer.get(f"/immersion/cohorts/{cohort.id}"), team.coordinator.name
    )
    assert "Absent" in coordinator_row and "0/3 (0%)" in coordinator_row
    assert "Download attendance as CSV" in page


def test_hand_attendance_saves_the_whole_batch(app, as_trainer, booked):
    cohort, team, sessions = booked
    url = f"/immersion/sessions/{sessions[0].id}/attendance"
    response = as_trainer.post(
        url,
        data={
            f"status-{team.lead.id}": "present",
            f"minutes-{team.lead.id}": "",
            f"status-{team.coordinator.id}": "partial",
            f"minutes-{team.coordinator.id}": "40",
            f"status-{team.facilitator.id}": "absent",
            f"status-{team.specialist.id}": "",  # left blank: not recorded
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = {
        r.user_id: (r.status, r.minutes, r.source)
        for r in db.session.scalars(select(AttendanceRecord))
    }
    assert saved == {
        team.lead.id: ("present", 90, "hand"),
        team.coordinator.id: ("partial", 40, "hand"),
        team.facilitator.id: ("absent", 0, "hand"),
    }
    page = page_text(as_trainer.get(url))
    assert "Attendance saved for “Session 1”." in page


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"status": "partial", "minutes": ""}, "Enter the minutes attended."),
        ({"status": "partial", "minutes": "500"}, "Minutes must be between 0 and 180."),
        ({"status": "present", "minutes": "lots"}, "Minutes must be between 0 and 180."),
        ({"status": "late", "minutes": "10"}, "Choose present, partly present or absent."),
    ],
)
def test_hand_attendance_is_all_or_nothing(app, as_trainer, booked, bad, message):
    cohort, team, sessions = booked
    response = as_trainer.post(
        f"/immersion/sessions/{sessions[0].id}/attendance",
        data={
            # Rows are applied by name: the refused one (the specialist) comes last.
            f"status-{team.coordinator.id}": "present",
            f"status-{team.facilitator.id}": "absent",
            f"status-{team.lead.id}": "present",
            f"status-{team.specialist.id}": bad["status"],
            f"minutes-{team.specialist.id}": bad["minutes"],
        },
    )
    assert response.status_code == 400
    assert attendance_rows() == [("changes", 0)]
    assert "Nothing was saved" in page_text(response)
    assert message in row_html(response, team.specialist.name)
    assert message not in row_html(response, team.lead.name)
    # What the trainer typed is kept for the correction.
    lead_row = row_html(response, team.lead.name)
    assert re.search(r'<option value="present" selected>', lead_row)


def test_changing_a_record_by_hand_needs_a_reason(app, as_trainer, trainer, booked):
    cohort, team, sessions = booked
    record(sessions[0], trainer, team.lead, "present")
    record(sessions[0], trainer, team.specialist, "present")
    before = attendance_rows()
    url = f"/immersion/sessions/{sessions[0].id}/attendance"
    response = as_trainer.post(
        url,
        data={
            f"status-{team.coordinator.id}": "present",  # new: would be fine on its own
            f"status-{team.lead.id}": "present",  # unchanged: fine without a reason
            f"status-{team.specialist.id}": "partial",
            f"minutes-{team.specialist.id}": "30",
        },
    )
    assert response.status_code == 400
    assert "Give a reason" in row_html(response, team.specialist.name)
    assert "Give a reason" not in row_html(response, team.coordinator.name)
    assert attendance_rows() == before

    response = as_trainer.post(
        url,
        data={
            f"status-{team.lead.id}": "present",
            f"minutes-{team.lead.id}": "90",
            f"status-{team.specialist.id}": "partial",
            f"minutes-{team.specialist.id}": "30",
            f"reason-{team.specialist.id}": "Left after half an hour.",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    [change] = db.session.scalars(select(AttendanceChange)).all()
    assert (change.old_status, change.old_minutes, change.new_status, change.new_minutes) == (
        "present",
        90,
        "partial",
        30,
    )
    assert change.reason == "Left after half an hour." and change.changed_by_id == trainer.id
    assert count(AttendanceRecord) == 2


# --- attendance from a Zoom report -----------------------------------------------------


def zoom_report(team, trainer) -> str:
    """A per-join report with a details block: the host, the trainer, a rejoin, a guest
    with no email who matches by name only, and a stranger."""
    return (
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
        "812 3456 7890,Immersion 1,04/07/2027 10:00:00 AM,04/07/2027 11:30:00 AM,"
        "host@superhub.example.org,90,6\n"
        "\n"
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        "Priya Shah (Host),host@superhub.example.org,04/07/2027 09:55:00 AM,"
        "04/07/2027 11:31:00 AM,96,No\n"
        f"{trainer.name},{trainer.email},04/07/2027 09:58:00 AM,04/07/2027 11:30:00 AM,92,No\n"
        f"{team.lead.name},{team.lead.email.upper()},04/07/2027 10:00:00 AM,"
        "04/07/2027 10:40:00 AM,40,No\n"
        f"{team.lead.name},{team.lead.email},04/07/2027 10:45:00 AM,04/07/2027 11:30:00 AM,45,No\n"
        f"{team.facilitator.name},{team.facilitator.email},04/07/2027 10:00:00 AM,"
        "04/07/2027 10:30:00 AM,30,No\n"
        f"{team.specialist.name},{team.specialist.email},04/07/2027 10:00:00 AM,"
        "04/07/2027 10:05:00 AM,5,No\n"
        f"Dr {team.coordinator.name} (iPad),,04/07/2027 10:02:00 AM,"
        "04/07/2027 11:30:00 AM,88,Yes\n"
        "Stranger Danger,stranger@example.com,04/07/2027 10:00:00 AM,"
        "04/07/2027 10:10:00 AM,10,Yes\n"
    )


def _preview(client, session, data):
    return client.post(
        f"/immersion/sessions/{session.id}/zoom",
        data={"report": csv_upload(data)},
        content_type="multipart/form-data",
    )


def test_zoom_report_preview_then_confirm(app, as_trainer, trainer, booked):
    cohort, team, sessions = booked
    response = _preview(as_trainer, sessions[0], zoom_report(team, trainer))
    assert response.status_code == 200, page_text(response)
    page = page_text(response)
    assert "Zoom report preview" in page and "Nothing is saved until you confirm" in page
    assert attendance_rows() == [("changes", 0)]

    lead_row = row_html(response, f'for="use-{team.lead.id}"')
    assert "checked" in lead_row and "By email (2 joins added up)" in lead_row
    assert f'name="minutes-{team.lead.id}" value="85"' in lead_row
    assert "checked" in row_html(response, f'for="use-{team.facilitator.id}"')
    suggested = row_html(response, f'for="use-{team.coordinator.id}"')
    assert "By name: tick to confirm" in suggested and "checked" not in suggested
    assert "(no email)" in suggested and 'value="88"' in suggested
    assert "In the report but not booked</strong> (ignored): Stranger Danger" in page
    host_line = re.search(r"Host rows ignored: ([^<]*)", page).group(1)
    assert "Priya Shah (Host)" in host_line and trainer.name in host_line
    assert "Booked but not in the report" not in page  # everyone booked is in it

    # Confirm: the lead and the facilitator as proposed, the specialist adjusted to 0
    # minutes; the name-only match is left unticked.
    response = as_trainer.post(
        f"/immersion/sessions/{sessions[0].id}/zoom/confirm",
        data={
            f"use-{team.lead.id}": "on",
            f"minutes-{team.lead.id}": "85",
            f"use-{team.facilitator.id}": "on",
            f"minutes-{team.facilitator.id}": "30",
            f"use-{team.specialist.id}": "on",
            f"minutes-{team.specialist.id}": "0",
            f"minutes-{team.coordinator.id}": "88",
            "reason": "Imported from the Zoom participants report",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = {
        r.user_id: (r.status, r.minutes, r.source)
        for r in db.session.scalars(select(AttendanceRecord))
    }
    assert saved == {
        team.lead.id: ("present", 85, "zoom"),
        team.facilitator.id: ("partial", 30, "zoom"),
        team.specialist.id: ("absent", 0, "zoom"),
    }
    page = page_text(as_trainer.get(response.headers["Location"]))
    assert "Attendance from the Zoom report saved for 3 people." in page


def test_zoom_preview_lists_booked_people_missing_from_the_report(app, as_trainer, booked):
    cohort, team, sessions = booked
    data = f"Name,User Email,Duration (Minutes)\n{team.lead.name},{team.lead.email},90\n"
    page = page_text(_preview(as_trainer, sessions[0], data))
    missing = re.search(r"Booked but not in the report:</strong> ([^(]*)", page).group(1)
    for user in (team.coordinator, team.facilitator, team.specialist):
        assert user.name in missing
    assert team.lead.name not in missing


@pytest.mark.parametrize(
    "data,filename,message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "This is not a CSV file"),
        (b"", "empty.csv", "The file is empty."),
        (b"a,b,c\n1,2,3\n", "other.csv", "Columns found: a, b, c. Expected: Name (Original Name)"),
        (
            b"Name,Join Time,Leave Time\nJo,2027-04-07 10:00,2027-04-07 09:00\n",
            "backwards.csv",
            "Line 2: the leave time is before the join time.",
        ),
        (
            b"Name,Duration (Minutes)\nJo,-20\n",
            "negative.csv",
            "Line 2: the duration is negative.",
        ),
    ],
)
def test_unreadable_zoom_reports_are_refused(app, as_trainer, booked, data, filename, message):
    cohort, team, sessions = booked
    response = as_trainer.post(
        f"/immersion/sessions/{sessions[0].id}/zoom",
        data={"report": csv_upload(data, filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = page_text(response)
    assert message in page
    assert "Zoom report preview" not in page
    assert attendance_rows() == [("changes", 0)]


def test_zoom_upload_without_a_file_is_refused(app, as_trainer, booked):
    cohort, team, sessions = booked
    response = as_trainer.post(
        f"/immersion/sessions/{sessions[0].id}/zoom", content_type="multipart/form-data", data={}
    )
    assert response.status_code == 400
    assert "Choose the CSV file Zoom exported." in page_text(response)


def test_zoom_confirm_needs_a_ticked_row(app, as_trainer, booked):
    cohort, team, sessions = booked
    response = as_trainer.post(
        f"/immersion/sessions/{sessions[0].id}/zoom/confirm",
        data={f"minutes-{team.lead.id}": "90", "reason": ""},
    )
    assert response.status_code == 400
    assert "Tick at least one row" in page_text(response)
    assert attendance_rows() == [("changes", 0)]


def test_zoom_confirm_changing_a_record_needs_a_reason(app, as_trainer, trainer, booked):
    cohort, team, sessions = booked
    record(sessions[0], trainer, team.lead, "present")  # marked by hand first
    before = attendance_rows()
    url = f"/immersion/sessions/{sessions[0].id}/zoom/confirm"
    data = {
        f"use-{team.coordinator.id}": "on",  # new: fine on its own, but all or nothing
        f"minutes-{team.coordinator.id}": "90",
        f"use-{team.lead.id}": "on",
        f"minutes-{team.lead.id}": "50",
        "reason": "  ",
    }
    response = as_trainer.post(url, data=data)
    assert response.status_code == 400
    assert "Nothing was saved: Give a reason" in page_text(response)
    assert attendance_rows() == before

    response = as_trainer.post(url, data={**data, "reason": "Zoom shows she left early."})
    assert response.status_code == 302
    db.session.expire_all()
    [change] = db.session.scalars(select(AttendanceChange)).all()
    assert (change.old_status, change.old_minutes) == ("present", 90)
    assert (change.new_status, change.new_minutes) == ("partial", 50)
    assert count(AttendanceRecord, AttendanceRecord.source == "zoom") == 2


def test_zoom_confirm_refuses_people_not_booked(app, as_trainer, booked, make_user):
    cohort, team, sessions = booked
    stranger = make_user()
    response = as_trainer.post(
        f"/immersion/sessions/{sessions[0].id}/zoom/confirm",
        data={
            f"use-{team.lead.id}": "on",
            f"minutes-{team.lead.id}": "90",
            f"use-{stranger.id}": "on",
            f"minutes-{stranger.id}": "90",
        },
    )
    assert response.status_code == 400
    assert "not booked on this cohort" in page_text(response)
    assert attendance_rows() == [("changes", 0)]


# --- CSV export ------------------------------------------------------------------------


def test_attendance_csv_export_protects_against_formulas(
    app, as_trainer, trainer, make_user, make_organisation
):
    lead = make_user(name='=HYPERLINK("http://evil.example","x")', email="evil@example.org")
    colleague = make_user(name="Catriona Munro")
    org = make_organisation(
        stage="in_training", lead=lead, members={"specialist": colleague}, name="+Plus Hospice"
    )
    verify_agreements(org, lead)
    cohort = make_cohort(trainer, first=held_first(), sessions=2, duration=60)
    with app.test_request_context():
        from app.immersion import services

        services.book(org, cohort, by=lead, attendee_ids=[lead.id, colleague.id])
        db.session.commit()
    s1, s2 = sessions_of(cohort)
    record(s1, trainer, lead, "present")
    record(s2, trainer, lead, "partial", 30)
    record(s1, trainer, colleague, "present")
    record(s2, trainer, colleague, "present")

    response = as_trainer.get(f"/immersion/cohorts/{cohort.id}/attendance.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="immersion-cohort-{cohort.id}-attendance.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "organisation",
        "attendee",
        "email",
        "Session 1",
        "Session 2",
        "sessions counted",
        "percent",
        "threshold met",
    ]
    by_email = {r[2]: r for r in rows[1:]}
    assert by_email["evil@example.org"] == [
        "'+Plus Hospice",
        '\'=HYPERLINK("http://evil.example","x")',
        "evil@example.org",
        "present (60 min)",
        "partial (30 min)",
        "1",
        "50",
        "no",
    ]
    assert by_email[colleague.email][3:] == [
        "present (60 min)",
        "present (60 min)",
        "2",
        "100",
        "yes",
    ]


# --- query counts ----------------------------------------------------------------------


def _cohort_with_teams(app, trainer, make_team, *, title, teams, waiting, sessions):
    """`teams` confirmed organisations (3 attendees each) with attendance at every session,
    and `waiting` more on the waiting list."""
    cohort = make_cohort(
        trainer, first=held_first(), title=title, capacity=teams, sessions=sessions, duration=60
    )
    booked = []
    for i in range(teams + waiting):
        team = make_team(name=f"{title} hospice {i}")
        book(app, team, reload_cohort(cohort.id), [team.lead, team.coordinator, team.specialist])
        booked.append(team)
    from app.immersion import services

    statuses = ["present", "partial", "absent"]
    for session in sessions_of(cohort):
        for team in booked[:teams]:
            for n, user in enumerate([team.lead, team.coordinator, team.specialist]):
                services.record_attendance(
                    session,
                    by=trainer,
                    user_id=user.id,
                    status=statuses[n],
                    minutes=30 if statuses[n] == "partial" else None,
                )
    db.session.commit()
    return cohort


def _queries_for(client, url):
    client.get(url)  # warm up: first-request work is not what we measure
    with count_queries(db.engine) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements), response


def test_cohort_page_query_count_does_not_grow(app, client, trainer, make_team):
    small = _cohort_with_teams(
        app, trainer, make_team, title="Small", teams=2, waiting=1, sessions=3
    )
    large = _cohort_with_teams(
        app, trainer, make_team, title="Large", teams=10, waiting=3, sessions=5
    )
    assert count(AttendanceRecord) == 2 * 3 * 3 + 10 * 3 * 5
    login(client, trainer.email)
    few, small_page = _queries_for(client, f"/immersion/cohorts/{small.id}")
    many, large_page = _queries_for(client, f"/immersion/cohorts/{large.id}")
    assert page_text(large_page).count("Large hospice") >= 13 + 30  # bookings and grid rows
    assert "Large hospice 12 — waiting" in page_text(large_page)
    assert many == few, (few, many)

    few_csv, _ = _queries_for(client, f"/immersion/cohorts/{small.id}/attendance.csv")
    many_csv, _ = _queries_for(client, f"/immersion/cohorts/{large.id}/attendance.csv")
    assert many_csv == few_csv, (few_csv, many_csv)


def test_booking_a_closed_or_late_cohort_shows_why(app, trainer, make_team):
    closed = make_cohort(trainer, title="Closed cohort")
    closed.status = "closed"
    late = make_cohort(trainer, title="Late cohort")
    late.booking_deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    team = make_team()
    lead = signed_in(app, team.lead)
    response = _book(lead, team, closed)
    assert response.status_code == 400
    assert "Booking for “Closed cohort” is closed." in page_text(response)
    response = _book(lead, team, late)
    assert response.status_code == 400
    assert "The booking deadline for “Late cohort” has passed." in page_text(response)
    assert count(Booking) == 0


def test_zoom_preview_says_how_the_report_was_read(app, as_trainer, booked):
    """A semicolon-separated export (Excel in a European locale): the preview says so."""
    cohort, team, sessions = booked
    data = f"Name;User Email;Duration (Minutes)\n{team.lead.name};{team.lead.email};90\n"
    response = _preview(as_trainer, sessions[0], data)
    assert response.status_code == 200, page_text(response)
    assert "Read as UTF-8 text with columns separated by semicolons." in page_text(response)
