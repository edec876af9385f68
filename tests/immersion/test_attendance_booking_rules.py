"""Issue 17's attendance and booking rules: attendance only once a session has started and
only against the session the form showed; "mark all present" and "mark all as in the Zoom
report" as one batch with a fixed number of queries; one booking per organisation at a
time, moving it to another cohort in one step, and cancelling through a confirmation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.extensions import db
from app.immersion import services
from app.immersion.models import (
    AttendanceRecord,
    Booking,
    ImmersionCohort,
    ImmersionSession,
)
from app.notifications.models import Notification
from app.organisations.models import Organisation
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
from tests.helpers import events, login, page_text
from tests.querycount import count_queries


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer", email="tariq@superhub.example.org")


def signed_in(app, user):
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    return other


def refused(call, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        call(*args, **kwargs)
    db.session.rollback()
    return error.value


def stamp_of(session_id: int) -> str:
    db.session.expire_all()
    return services.session_stamp(db.session.get(ImmersionSession, session_id))


@pytest.fixture
def held(app, trainer, make_team):
    """A cohort whose three 90-minute sessions have taken place, one team of four booked."""
    cohort = make_cohort(trainer, first=held_first(), sessions=3, duration=90)
    team = make_team()
    book(app, team, cohort)
    return cohort, team, sessions_of(cohort)


@pytest.fixture
def upcoming(app, trainer, make_team):
    """A cohort whose sessions are all to come, one team of four booked."""
    cohort = make_cohort(trainer, sessions=2, duration=90)
    team = make_team()
    book(app, team, cohort)
    return cohort, team, sessions_of(cohort)


# --- attendance only once the session has started --------------------------------------


def test_attendance_for_a_session_not_started_is_refused_by_the_service(app, trainer, upcoming):
    _cohort, team, sessions = upcoming
    before = attendance_rows()
    error = refused(
        services.record_attendance,
        sessions[0],
        by=trainer,
        user_id=team.lead.id,
        status="present",
        minutes=None,
    )
    assert "has not started yet: attendance can be recorded from" in error.message
    error = refused(
        services.record_session_attendance,
        sessions_of(upcoming[0])[0],
        by=trainer,
        rows=[services.AttendanceRow(team.lead.id, "present", None)],
        source="hand",
        mark_others="present",
    )
    assert "has not started yet" in error.message
    assert attendance_rows() == before


def test_a_session_under_way_takes_attendance(app, trainer, make_team):
    cohort = make_cohort(trainer, first=utcnow() - timedelta(minutes=5), sessions=2)
    team = make_team()
    book(app, team, cohort)
    first, second = sessions_of(cohort)
    with app.test_request_context():
        assert services.attendance_open(first) and not services.attendance_open(second)
        assert record(first, trainer, team.lead, "present").minutes == 90
        assert "has not started" in refused(record, second, trainer, team.lead).message


def test_attendance_page_for_a_future_session_offers_no_form_and_refuses_a_post(
    app, trainer, upcoming
):
    _cohort, team, sessions = upcoming
    client = signed_in(app, trainer)
    url = f"/immersion/sessions/{sessions[0].id}/attendance"
    page = page_text(client.get(url))
    assert "Not started yet" in page and "Attendance can be recorded from then" in page
    assert f'name="status-{team.lead.id}"' not in page and "Mark all present" not in page
    assert "Import from a Zoom participants report" not in page
    before = attendance_rows()
    # A crafted POST (the form's own fields, with the session's true stamp) is refused too.
    response = client.post(
        url,
        data={
            f"status-{team.lead.id}": "present",
            "stamp": stamp_of(sessions[0].id),
            "action": "all_present",
        },
    )
    assert response.status_code == 400
    assert "has not started yet: attendance can be recorded from" in page_text(response)
    zoom = client.post(
        f"/immersion/sessions/{sessions[0].id}/zoom/confirm",
        data={f"use-{team.lead.id}": "on", f"minutes-{team.lead.id}": "90"},
    )
    assert zoom.status_code == 400 and "has not started yet" in page_text(zoom)
    preview = client.post(
        f"/immersion/sessions/{sessions[0].id}/zoom",
        data={"report": csv_upload("Name,Duration (Minutes)\nJo,20\n")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 400 and "has not started yet" in page_text(preview)
    assert attendance_rows() == before


# --- a session moved while its form was open -------------------------------------------


def test_a_save_made_on_a_form_for_a_moved_session_is_refused(app, trainer, held):
    _cohort, team, sessions = held
    client = signed_in(app, trainer)
    url = f"/immersion/sessions/{sessions[0].id}/attendance"
    page = page_text(client.get(url))
    old_stamp = stamp_of(sessions[0].id)
    assert f'name="stamp" value="{old_stamp}"' in page
    # Another tab moves the session an hour later.
    db.session.execute(
        update(ImmersionSession)
        .where(ImmersionSession.id == sessions[0].id)
        .values(starts_at=sessions[0].starts_at + timedelta(hours=1))
    )
    db.session.commit()
    before = attendance_rows()
    response = client.post(url, data={f"status-{team.lead.id}": "present", "stamp": old_stamp})
    assert response.status_code == 400
    text = page_text(response)
    assert "This session changed while the form was open" in text
    assert "Nothing was saved" in text
    assert attendance_rows() == before
    # The page shown again carries the new stamp and keeps what was chosen: saving works.
    new_stamp = stamp_of(sessions[0].id)
    assert new_stamp != old_stamp and f'value="{new_stamp}"' in text
    response = client.post(url, data={f"status-{team.lead.id}": "present", "stamp": new_stamp})
    assert response.status_code == 302
    # A longer session changes the stamp too (its end moved).
    db.session.execute(
        update(ImmersionSession)
        .where(ImmersionSession.id == sessions[0].id)
        .values(duration_minutes=120)
    )
    db.session.commit()
    response = client.post(url, data={f"status-{team.lead.id}": "absent", "stamp": new_stamp})
    assert response.status_code == 400 and "This session changed" in page_text(response)


# --- mark all present / mark all as in the Zoom report ---------------------------------


def test_mark_all_present_fills_everyone_not_recorded(app, trainer, held):
    _cohort, team, sessions = held
    session = sessions[1]
    record(session, trainer, team.specialist, "partial", 40)
    client = signed_in(app, trainer)
    url = f"/immersion/sessions/{session.id}/attendance"
    page = page_text(client.get(url))
    assert "Mark all present" in page
    response = client.post(
        url,
        data={
            f"status-{team.coordinator.id}": "absent",
            f"status-{team.specialist.id}": "partial",
            f"minutes-{team.specialist.id}": "40",
            "stamp": stamp_of(session.id),
            "action": "all_present",
        },
        follow_redirects=True,
    )
    assert "everyone not recorded yet is marked present" in page_text(response)
    db.session.expire_all()
    rows = {
        r.user_id: (r.status, r.minutes)
        for r in db.session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
        )
    }
    assert rows == {
        team.lead.id: ("present", 90),
        team.facilitator.id: ("present", 90),
        team.coordinator.id: ("absent", 0),
        team.specialist.id: ("partial", 40),  # already recorded: kept as it was
    }
    recorded = [
        e.details["user"]
        for e in events("immersion.attendance_recorded")
        if e.details["session"] == session.id
    ]
    # The specialist's record was made before (and kept); the batch made three.
    assert sorted(recorded) == sorted(
        [team.specialist.id, team.lead.id, team.facilitator.id, team.coordinator.id]
    )
    assert audit.verify_chain().intact


def test_mark_all_present_is_all_or_nothing(app, trainer, held):
    _cohort, team, sessions = held
    client = signed_in(app, trainer)
    before = attendance_rows()
    response = client.post(
        f"/immersion/sessions/{sessions[0].id}/attendance",
        data={
            f"status-{team.coordinator.id}": "partial",  # no minutes
            "stamp": stamp_of(sessions[0].id),
            "action": "all_present",
        },
    )
    assert response.status_code == 400
    assert "Enter the minutes attended." in page_text(response)
    assert attendance_rows() == before


def _zoom_preview(client, session, team):
    report = (
        "Name (Original Name),User Email,Duration (Minutes)\n"
        f"{team.lead.name},{team.lead.email},88\n"
        f"{team.coordinator.name},{team.coordinator.email},30\n"
        f"{team.specialist.name},,85\n"
    )
    return client.post(
        f"/immersion/sessions/{session.id}/zoom",
        data={"report": csv_upload(report)},
        content_type="multipart/form-data",
    )


def test_mark_all_as_in_the_zoom_report(app, trainer, held):
    _cohort, team, sessions = held
    session = sessions[0]
    client = signed_in(app, trainer)
    preview = page_text(_zoom_preview(client, session, team))
    assert "Mark all as in the Zoom report" in preview
    stamp = stamp_of(session.id)
    assert f'name="stamp" value="{stamp}"' in preview
    # The specialist matched by name only, unticked: "mark all" saves that row too, and
    # marks the facilitator (booked, not in the report) absent.
    response = client.post(
        f"/immersion/sessions/{session.id}/zoom/confirm",
        data={
            f"use-{team.lead.id}": "on",
            f"minutes-{team.lead.id}": "88",
            f"use-{team.coordinator.id}": "on",
            f"minutes-{team.coordinator.id}": "30",
            f"minutes-{team.specialist.id}": "85",
            "reason": "Imported from the Zoom participants report",
            "stamp": stamp,
            "action": "everyone",
        },
        follow_redirects=True,
    )
    assert "saved for everyone booked" in page_text(response)
    db.session.expire_all()
    rows = {
        r.user_id: (r.status, r.minutes, r.source)
        for r in db.session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
        )
    }
    assert rows == {
        team.lead.id: ("present", 88, "zoom"),
        team.coordinator.id: ("partial", 30, "zoom"),
        team.specialist.id: ("present", 85, "zoom"),
        team.facilitator.id: ("absent", 0, "zoom"),
    }


def test_the_zoom_batch_is_refused_whole_for_a_moved_session(app, trainer, held):
    _cohort, team, sessions = held
    session = sessions[0]
    client = signed_in(app, trainer)
    _zoom_preview(client, session, team)
    stamp = stamp_of(session.id)
    db.session.execute(
        update(ImmersionSession)
        .where(ImmersionSession.id == session.id)
        .values(starts_at=session.starts_at - timedelta(days=1))
    )
    db.session.commit()
    before = attendance_rows()
    response = client.post(
        f"/immersion/sessions/{session.id}/zoom/confirm",
        data={f"minutes-{team.lead.id}": "88", "stamp": stamp, "action": "everyone"},
    )
    assert response.status_code == 400
    assert "Nothing was saved: This session changed" in page_text(response)
    assert attendance_rows() == before


def _big_cohort(app, trainer, make_team, teams: int):
    cohort = make_cohort(
        trainer, title=f"{teams} teams", first=held_first(), sessions=1, capacity=teams
    )
    for _ in range(teams):
        book(app, make_team(), reload_cohort(cohort.id))
    return sessions_of(cohort)[0]


def test_a_batch_costs_the_same_queries_for_8_or_40_attendees(app, trainer, make_team):
    """Mark all present: the cohort's bookings read once, the records and their audit
    events written in one statement each, whatever the number of attendees."""
    counts = []
    for teams in (2, 10):
        session = _big_cohort(app, trainer, make_team, teams)
        db.session.expire_all()
        session = db.session.get(ImmersionSession, session.id)
        by = db.session.get(User, trainer.id)
        with app.test_request_context(), count_queries(db.engine) as statements:
            changed = services.record_session_attendance(
                session, by=by, rows=[], source="hand", mark_others="present"
            )
        assert len(changed) == teams * 4
        db.session.commit()
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12, counts
    assert audit.verify_chain().intact
    assert len(events("immersion.attendance_recorded")) == 48


def test_the_cached_grid_follows_every_change_it_shows(app, trainer, held):
    """The grid's rows are cached; attendance (a bulk insert), a correction, a renamed
    attendee and a cancelled booking each show at once after their commit."""
    cohort, team, sessions = held
    client = signed_in(app, trainer)
    url = f"/immersion/cohorts/{cohort.id}"

    def lead_row():
        text = page_text(client.get(url))
        return text[text.index("<tbody>") : text.index("</tbody>")]

    assert "0/3 (0%)" in lead_row() and lead_row() == lead_row()
    with app.test_request_context():
        services.record_session_attendance(
            sessions_of(cohort)[0], by=trainer, rows=[], source="hand", mark_others="present"
        )
        db.session.commit()
    assert "1/3 (33%)" in lead_row()
    record(sessions_of(cohort)[0], trainer, team.lead, "absent", reason="Left at once.")
    assert "Absent" in lead_row()
    db.session.get(User, team.coordinator.id).name = "Morven Renamed"
    db.session.commit()
    assert "Morven Renamed" in lead_row()
    with app.test_request_context():
        booking = db.session.scalar(select(Booking).where(Booking.cohort_id == cohort.id))
        booking.status = "cancelled"
        db.session.commit()
    assert "Attendance appears here once teams are booked" in page_text(client.get(url))


# --- one booking at a time -------------------------------------------------------------


@pytest.fixture
def two_cohorts(trainer):
    first = make_cohort(trainer, title="Spring cohort", capacity=1)
    second = make_cohort(trainer, title="Summer cohort", capacity=2)
    return first, second


def test_a_second_booking_is_refused_and_a_move_offered(app, trainer, make_team, two_cohorts):
    first, second = two_cohorts
    team = make_team()
    booking = book(app, team, first)
    with app.test_request_context():
        error = refused(services.book, team.org, reload_cohort(second.id), by=team.lead,
                        attendee_ids=team.ids)  # fmt: skip
    assert isinstance(error, services.AlreadyBooked)
    assert "already holds a confirmed place on “Spring cohort”" in error.message
    assert "move the booking" in error.message
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    # The page: the refused cohort's form shows why, with the move one click away.
    lead = signed_in(app, team.lead)
    response = lead.post(
        f"/organisations/{team.org.id}/immersion/{second.id}/book",
        data={f"c{second.id}-attendees": [str(team.lead.id)]},
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "already holds a confirmed place" in text
    assert (
        f"/organisations/{team.org.id}/immersion/bookings/{booking.id}/move?to={second.id}" in text
    )
    # A waiting-list place counts as held too.
    other = make_team()
    waiting = book(app, other, reload_cohort(first.id))
    assert waiting.status == "waiting"
    with app.test_request_context():
        error = refused(services.book, other.org, reload_cohort(second.id), by=other.lead,
                        attendee_ids=other.ids)  # fmt: skip
    assert "already holds a waiting-list place" in error.message


def test_a_finished_cohort_is_history_and_the_team_may_book_again(
    app, trainer, make_team, two_cohorts
):
    first, second = two_cohorts
    team = make_team()
    book(app, team, first)
    db.session.execute(
        update(ImmersionCohort).where(ImmersionCohort.id == first.id).values(status="completed")
    )
    db.session.commit()
    assert services.current_booking(db.session.get(Organisation, team.org.id)) is None
    assert book(app, team, reload_cohort(second.id)).status == "confirmed"


@pytest.mark.commits
def test_one_organisation_booking_two_cohorts_at_once_gets_one(app, trainer, make_team):
    cohorts = [make_cohort(trainer, title=f"Twin {i}") for i in range(2)]
    team = make_team()
    ids = [c.id for c in cohorts]
    org_id, lead_id, attendees = team.org.id, team.lead.id, team.ids
    db.session.commit()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def attempt(cohort_id):
        try:
            with app.test_request_context():
                try:
                    org = db.session.get(Organisation, org_id)
                    lead = db.session.get(User, lead_id)
                    cohort = db.session.get(ImmersionCohort, cohort_id)
                    barrier.wait(timeout=30)
                    services.book(org, cohort, by=lead, attendee_ids=attendees)
                    db.session.commit()
                    results.append(cohort_id)
                except ServiceError as error:
                    db.session.rollback()
                    errors.append(error)
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 1
    assert [type(e) for e in errors] == [services.AlreadyBooked]
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Booking).where(Booking.organisation_id == org_id)
        )
        == 1
    )


# --- moving a booking ------------------------------------------------------------------


def test_moving_releases_the_old_place_to_the_waiting_list(app, trainer, make_team, two_cohorts):
    first, second = two_cohorts
    team, queued = make_team(), make_team()
    booking = book(app, team, first)
    waiting = book(app, queued, reload_cohort(first.id))
    assert waiting.status == "waiting"
    clear_outbox()
    with app.test_request_context():
        plan = services.plan_move(reload_booking(booking.id), reload_cohort(second.id))
        assert (plan.status, plan.free_places, plan.gives_up_place) == ("confirmed", 2, False)
        moved, promoted = services.move(
            reload_booking(booking.id), reload_cohort(second.id), by=team.lead
        )
        db.session.commit()
    assert (moved.cohort_id, moved.status) == (second.id, "confirmed")
    assert sorted(a.user_id for a in moved.attendees) == sorted(team.ids)
    assert reload_booking(booking.id).status == "cancelled"
    assert promoted.id == waiting.id and reload_booking(waiting.id).status == "confirmed"
    assert reload_cohort(first.id).status == "full"
    # In plain words in the audit log, and every attendee told (with the new sessions).
    [event] = events("immersion.moved")
    assert audit.describe(event) == (
        f"{team.lead.name} moved an Immersion booking to another cohort (from “Spring "
        "cohort” (a confirmed place) to “Summer cohort”; place confirmed)"
    )
    [cancel_event] = [e for e in events("immersion.promoted")]
    assert "“Spring cohort”" in audit.describe(cancel_event)
    for person in team.members:
        [message] = outbox_to(person.email)
        assert message.subject.endswith("Booking moved to Summer cohort")
        assert "has moved from Spring cohort to Summer cohort" in message.body
        assert message.attachments and message.attachments[0][0] == "immersion.ics"
    notes = db.session.scalars(
        select(Notification.title).where(Notification.user_id == team.coordinator.id)
    ).all()
    assert "Booking moved to Summer cohort" in notes
    [told] = outbox_to(queued.lead.email)
    assert "Your place is confirmed" in told.subject


def test_moving_to_a_full_cohort_needs_the_lead_to_accept_the_waiting_list(
    app, trainer, make_team, two_cohorts
):
    first, second = two_cohorts
    team, queued = make_team(), make_team()
    for _ in range(2):
        book(app, make_team(), reload_cohort(second.id))
    assert reload_cohort(second.id).status == "full"
    booking = book(app, team, reload_cohort(first.id))
    waiting = book(app, queued, reload_cohort(first.id))
    with app.test_request_context():
        error = refused(
            services.move, reload_booking(booking.id), reload_cohort(second.id), by=team.lead
        )
    assert error.field == "accept_waiting"
    assert "is full: moving there puts" in error.message
    assert reload_booking(booking.id).status == "confirmed"
    assert reload_booking(waiting.id).status == "waiting"
    with app.test_request_context():
        moved, promoted = services.move(
            reload_booking(booking.id),
            reload_cohort(second.id),
            by=team.lead,
            accept_waiting=True,
        )
        db.session.commit()
    assert moved.status == "waiting" and promoted.id == waiting.id
    assert reload_booking(booking.id).status == "cancelled"


def test_a_move_is_refused_once_the_cohort_has_started_or_to_a_closed_cohort(
    app, trainer, make_team
):
    started = make_cohort(trainer, title="Under way", first=held_first())
    later = make_cohort(trainer, title="Later")
    closed = make_cohort(trainer, title="Closed")
    closed.status = "closed"
    db.session.commit()
    team, other = make_team(), make_team()
    booking = book(app, team, started)
    with app.test_request_context():
        error = refused(services.move, reload_booking(booking.id), reload_cohort(later.id),
                        by=team.lead)  # fmt: skip
        assert "has already started, so the booking can no longer be moved" in error.message
        mine = book(app, other, reload_cohort(later.id))
        error = refused(services.move, reload_booking(mine.id), reload_cohort(closed.id),
                        by=other.lead)  # fmt: skip
        assert "is closed" in error.message and error.field == "cohort"
        error = refused(services.move, reload_booking(mine.id), reload_cohort(later.id),
                        by=other.lead)  # fmt: skip
        assert "already on that cohort" in error.message
        error = refused(services.move, reload_booking(mine.id), reload_cohort(started.id),
                        by=other.coordinator)  # fmt: skip
        assert "Only the organisation's hub lead" in error.message
    assert reload_booking(mine.id).status == "confirmed"


def test_the_move_pages_choose_then_confirm(app, trainer, make_team, two_cohorts):
    first, second = two_cohorts
    team = make_team()
    booking = book(app, team, first)
    lead = signed_in(app, team.lead)
    url = f"/organisations/{team.org.id}/immersion/bookings/{booking.id}/move"
    choose = page_text(lead.get(url))
    assert 'name="to"' in choose and "Summer cohort" in choose and "Continue" in choose
    confirm = page_text(lead.get(f"{url}?to={second.id}"))
    assert "Moving to Summer cohort" in confirm and "your place there is" in confirm
    assert "Move the booking to Summer cohort" in confirm
    assert "I understand" not in confirm  # a free place: nothing to accept
    assert reload_booking(booking.id).status == "confirmed"  # a GET changes nothing
    # Bad input: an unknown or absurd cohort is not found, a missing one a message.
    assert lead.get(f"{url}?to=999999").status_code == 404
    assert lead.get(f"{url}?to=99999999999999999999").status_code == 404
    assert lead.get(f"{url}?to=abc").status_code == 404
    response = lead.post(url, data={})
    assert response.status_code == 400 and "Choose the cohort to move to." in page_text(response)
    response = lead.post(url, data={"cohort": "99999999999999999999"})
    assert response.status_code == 400
    response = lead.post(url, data={"cohort": str(first.id)})
    assert response.status_code == 400 and "already on that cohort" in page_text(response)
    response = lead.post(url, data={"cohort": str(second.id)}, follow_redirects=True)
    assert "Booking moved to “Summer cohort”: place confirmed." in page_text(response)
    assert reload_booking(booking.id).status == "cancelled"
    # Only the lead, and only the organisation's own booking.
    assert signed_in(app, team.coordinator).get(url).status_code == 403
    stranger = make_team()
    assert (
        signed_in(app, stranger.lead)
        .get(f"/organisations/{stranger.org.id}/immersion/bookings/{booking.id}/move")
        .status_code
        == 404
    )


def test_the_move_page_for_a_full_cohort_asks_to_accept_the_waiting_list(
    app, trainer, make_team, two_cohorts
):
    first, second = two_cohorts
    team = make_team()
    for _ in range(2):
        book(app, make_team(), reload_cohort(second.id))
    booking = book(app, team, reload_cohort(first.id))
    lead = signed_in(app, team.lead)
    url = f"/organisations/{team.org.id}/immersion/bookings/{booking.id}/move"
    confirm = page_text(lead.get(f"{url}?to={second.id}"))
    assert "is full:" in confirm and "waiting list" in confirm and "I understand" in confirm
    response = lead.post(url, data={"cohort": str(second.id)})
    assert response.status_code == 400
    assert "Tick the box to confirm" in page_text(response)
    assert reload_booking(booking.id).status == "confirmed"
    response = lead.post(
        url, data={"cohort": str(second.id), "accept_waiting": "y"}, follow_redirects=True
    )
    assert "you are on its waiting list" in page_text(response)


def test_cancelling_asks_first_and_is_audited_in_plain_words(app, trainer, make_team):
    cohort = make_cohort(trainer, title="Autumn cohort")
    team = make_team()
    booking = book(app, team, cohort)
    lead = signed_in(app, team.lead)
    url = f"/organisations/{team.org.id}/immersion/bookings/{booking.id}/cancel"
    page = page_text(lead.get(url))
    assert "Cancel the booking on Autumn cohort?" in page and "No, keep it" in page
    assert reload_booking(booking.id).status == "confirmed"
    clear_outbox()
    assert lead.post(url).status_code == 302
    [event] = events("immersion.cancelled")
    assert audit.describe(event) == (
        f"{team.lead.name} cancelled an Immersion booking (“Autumn cohort”; gave up a "
        "confirmed place)"
    )
    for person in team.members:
        [message] = outbox_to(person.email)
        assert message.subject.endswith("Booking cancelled: Autumn cohort")
    # Cancelling twice: a clear message, nothing changed.
    response = lead.post(url)
    assert response.status_code == 400 and "already cancelled" in page_text(response)
