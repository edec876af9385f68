"""Reminders on a schedule: each kind fires once at its due time (UK time, after the
programme's send hour), never early, never twice on a re-run or from a second scheduler,
and never for people or things it does not concern."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.core import clock, jobs
from app.extensions import db
from app.notifications.models import Notification
from app.organisations import services as org_services
from app.reminders import services
from app.reminders.models import ReminderSent
from tests.factories.organisations import clear_outbox, outbox_to

UK = ZoneInfo("Europe/London")


def at(day: date, hour: int = 9, minute: int = 0):
    """The clock stopped at `hour`:`minute` UK time on `day`."""
    instant = datetime.combine(day, time(hour, minute), tzinfo=UK).astimezone(UTC)
    return time_machine.travel(instant, tick=False)


def run() -> dict[str, int]:
    """The hourly job, as the scheduler runs it."""
    with jobs.job_context():
        return services.send_reminders()


def uk_day(instant: datetime) -> date:
    return instant.astimezone(UK).date()


def mails(user, kind: str) -> list:
    """The reminder emails `user` received whose subject contains `kind`."""
    return [m for m in outbox_to(user.email) if kind in m.subject]


def notes(user, kind: str) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def ledger(kind: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ReminderSent).where(ReminderSent.kind == kind)
    )


# --- certificates -------------------------------------------------------------------------


def test_certificate_expiry_reminds_lead_and_lead_trainers_at_each_stage_once(
    app, make_user, make_organisation
):
    from app.certificates import services as certificates
    from tests.factories.certificates import approved_hub

    hub = approved_hub(app, make_user, make_organisation)
    lead_trainer = make_user(roles=("lead_trainer",), name="Lena Lead-Trainer")
    outsider = make_user(name="Otto Outsider")
    clear_outbox()
    cert, expires = hub.cert, hub.cert.expires_on
    renew_page = f"http://localhost/organisations/{hub.org.id}/certificates"

    with at(expires - timedelta(days=91)):
        assert run()["certificate_expiry"] == 0  # too early
    for days in (90, 30):
        with at(expires - timedelta(days=days)):
            assert run()["certificate_expiry"] == 1
            assert run()["certificate_expiry"] == 0  # a re-run sends nothing twice
        for person in (hub.lead, lead_trainer):
            mail = mails(person, "expires on")[-1]
            assert mail.subject.endswith(
                f"Certificate {cert.serial} for {hub.org.name} expires on "
                f"{expires.day} {expires:%B %Y}"
            )
            assert f"{days} days from today" in mail.body and renew_page in mail.body
    assert len(mails(hub.lead, "expires on")) == 2 and len(mails(lead_trainer, "expires on")) == 2
    assert outbox_to(outsider.email) == [] and outbox_to(hub.approver.email) == []
    [first, second] = notes(hub.lead, "reminder_certificate_expiry")
    assert first.link == renew_page and second.read_at is None

    # Two days late (the scheduler was stopped): the 7-day reminder still goes, once.
    with at(expires - timedelta(days=5)):
        assert run()["certificate_expiry"] == 1
    assert "5 days from today" in mails(hub.lead, "expires on")[-1].body
    with at(expires, 23):
        assert run()["certificate_expiry"] == 0  # its last valid day: no new stage
    with at(expires + timedelta(days=1), 7, 59):
        assert run()["certificate_expiry"] == 0  # before the send hour
    with at(expires + timedelta(days=1), 8):
        assert run()["certificate_expiry"] == 1
        assert run()["certificate_expiry"] == 0
    [expired] = mails(hub.lead, "has expired")
    assert expired.subject.endswith(f"Certificate {cert.serial} for {hub.org.name} has expired")
    assert "cannot be renewed" in expired.body
    assert ledger("certificate_expiry") == 4

    # A revoked certificate is not reminded of again.
    with app.test_request_context():
        certificates.revoke(cert, by=lead_trainer, reason="Closed the network.")
        db.session.commit()
    db.session.query(ReminderSent).delete()
    db.session.commit()
    clear_outbox()
    with at(expires - timedelta(days=30)):
        assert run()["certificate_expiry"] == 0
    assert outbox_to(hub.lead.email) == []


# --- invitations --------------------------------------------------------------------------


def invited(app, make_organisation, email="newcomer@example.org"):
    """An organisation in training whose lead invited `email`; the invitation and its token
    (read from the invitation email: the portal keeps only its hash)."""
    org = make_organisation(stage="in_training")
    [lead] = [m.user for m in org.memberships]
    with app.test_request_context():
        result = org_services.invite_member(org, by=lead, email=email, roles=["coordinator"])
        db.session.commit()
    [invitation_mail] = outbox_to(email)
    token = re.search(r"/invitations/([\w-]+)", invitation_mail.body).group(1)
    clear_outbox()
    return org, lead, result.invitation, token


@pytest.mark.any_hour
def test_an_unanswered_invitation_reminds_the_hub_lead_after_7_days_and_before_it_lapses(
    app, make_organisation, frozen_clock
):
    org, lead, invitation, _token = invited(app, make_organisation)
    with app.test_request_context():
        other = org_services.invite_member(
            org, by=lead, email="cancelled@example.org", roles=["specialist"]
        ).invitation
        org_services.cancel_invitation(org, by=lead, invitation_id=other.id)
        db.session.commit()
    sent_on = uk_day(invitation.sent_at)
    team_page = f"http://localhost/organisations/{org.id}/team"

    with at(sent_on + timedelta(days=6), 23, 59):
        assert run()["invitations"] == 0
    with at(sent_on + timedelta(days=7), 7, 59):
        assert run()["invitations"] == 0  # the day has come, the send hour not yet
    with at(sent_on + timedelta(days=7), 8):
        assert run()["invitations"] == 1
        assert run()["invitations"] == 0
    [mail] = outbox_to(lead.email)
    assert mail.subject.endswith(
        f"newcomer@example.org has not yet answered the invitation to join {org.name}"
    )
    assert team_page in mail.body and "resend the invitation" in mail.body
    assert outbox_to("newcomer@example.org") == []  # the link is kept only as a hash

    lapse_on = uk_day(invitation.expires_at) - timedelta(days=2)
    with at(lapse_on - timedelta(days=1)):
        assert run()["invitations"] == 0
    with at(lapse_on, 10):
        assert run()["invitations"] == 1
        assert run()["invitations"] == 0
    lapsing = outbox_to(lead.email)[-1]
    assert lapsing.subject.endswith(
        f"The invitation to newcomer@example.org to join {org.name} lapses soon"
    )
    assert [n.link for n in notes(lead, "reminder_invitation")] == [team_page, team_page]
    assert not any("cancelled@example.org" in m.subject for m in outbox_to(lead.email))


def test_two_schedulers_at_once_send_a_reminder_once(app, make_organisation, monkeypatch):
    _org, lead, invitation, _token = invited(app, make_organisation)
    with at(uk_day(invitation.sent_at) + timedelta(days=7)):
        assert run()["invitations"] == 1
        # The second scheduler looked before the first one's commit: the unique key stops it.
        monkeypatch.setattr(services, "already_sent", lambda keys: set())
        assert run()["invitations"] == 0
    assert len(outbox_to(lead.email)) == 1
    assert ledger("invitation_unanswered") == 1


def test_finding_reminders_costs_the_same_queries_for_one_or_many(app, make_organisation):
    from app.core.programme import programme
    from tests.querycount import count_queries

    org, lead, invitation, _token = invited(app, make_organisation)

    def found() -> tuple[int, int]:
        with at(uk_day(invitation.sent_at) + timedelta(days=7)), jobs.job_context():
            window, settings = services.window(), programme().reminders
            with count_queries(db.engine) as statements:
                reminders = services.invitations(window, settings)
        return len(reminders), len(statements)

    one = found()
    with app.test_request_context():
        for n in range(3):
            org_services.invite_member(
                org, by=lead, email=f"more{n}@example.org", roles=["evaluation"]
            )
        other = make_organisation(stage="in_training")
        other_lead = other.memberships[0].user
        org_services.invite_member(
            other, by=other_lead, email="x@example.org", roles=["evaluation"]
        )
        db.session.commit()
    many = found()
    assert one[0] == 1 and many[0] == 5
    assert many[1] == one[1] <= 3


def test_an_answered_invitation_is_not_reminded(app, make_organisation, make_user):
    _org, lead, invitation, token = invited(app, make_organisation, email="joiner@example.org")
    joiner = make_user(email="joiner@example.org")
    with app.test_request_context():
        org_services.accept_invitation(token, user=joiner)
        db.session.commit()
    clear_outbox()
    with at(uk_day(invitation.sent_at) + timedelta(days=7)):
        assert run()["invitations"] == 0
    assert outbox_to(lead.email) == []


# --- Immersion ----------------------------------------------------------------------------


def test_booking_deadline_reminds_only_ready_teams_that_have_not_booked(
    app, make_user, make_team, make_organisation
):
    from app.core.db import utcnow
    from tests.factories.immersion import book, make_cohort

    trainer = make_user(roles=("trainer",))
    ready, booked = make_team(), make_team()
    unverified = make_organisation(stage="in_training")
    [unverified_lead] = [m.user for m in unverified.memberships]
    other = make_cohort(trainer, title="Autumn cohort", deadline=utcnow() + timedelta(days=60))
    book(app, booked, other)
    cohort = make_cohort(trainer, title="Spring cohort", deadline=utcnow() + timedelta(days=20))
    clear_outbox()
    due_on = uk_day(cohort.booking_deadline) - timedelta(days=7)

    with at(due_on - timedelta(days=1)):
        assert run()["booking_deadlines"] == 0
    with at(due_on):
        assert run()["booking_deadlines"] == 1
        assert run()["booking_deadlines"] == 0
    [mail] = outbox_to(ready.lead.email)
    assert mail.subject.endswith(
        f"Book Immersion for {ready.org.name}: “Spring cohort” closes "
        "for booking on " + f"{uk_day(cohort.booking_deadline).day} "
        f"{cohort.booking_deadline.astimezone(UK):%B %Y}"
    )
    assert f"http://localhost/organisations/{ready.org.id}/immersion" in mail.body
    assert outbox_to(ready.coordinator.email) == []  # only hub leads book
    assert outbox_to(booked.lead.email) == [] and outbox_to(unverified_lead.email) == []


def session_team(app, make_user, make_team, first):
    from tests.factories.immersion import book, make_cohort

    trainer = make_user(roles=("trainer",))
    team = make_team()
    cohort = make_cohort(trainer, title="Immersion summer", sessions=2, first=first)
    book(app, team, cohort, attendees=[team.lead, team.coordinator])
    clear_outbox()
    return team, cohort


def test_each_attendee_hears_of_a_session_the_day_before_in_uk_time_with_the_link_and_ics(
    app, make_user, make_team
):
    first = datetime(2027, 6, 9, 9, 30, tzinfo=UTC)  # 10:30 in London (summer time)
    team, _cohort = session_team(app, make_user, make_team, first)
    with at(date(2027, 6, 7), 20):
        assert run()["sessions_tomorrow"] == 0  # two days before
    with at(date(2027, 6, 8), 7, 59):
        assert run()["sessions_tomorrow"] == 0
    with at(date(2027, 6, 8), 8):
        assert run()["sessions_tomorrow"] == 1
        assert run()["sessions_tomorrow"] == 0
    for person in (team.lead, team.coordinator):
        [mail] = outbox_to(person.email)
        assert mail.subject.endswith("Tomorrow at 10:30 (UK time): Immersion summer, Session 1")
        assert "10:30 on Wednesday 9 June 2027 (UK time)" in mail.body
        assert "Join: https://zoom.example.org/j/123456" in mail.body
        [(filename, ics, mimetype)] = mail.attachments
        assert (filename, mimetype) == ("immersion-session.ics", "text/calendar")
        assert "DTSTART:20270609T093000Z" in ics and "Session 1" in ics and "Session 2" not in ics
        [note] = notes(person, "reminder_session_tomorrow")
        assert note.link == "http://localhost/immersion/mine"
    assert outbox_to(team.facilitator.email) == []  # not attending
    with at(date(2027, 6, 9), 9):
        assert run()["sessions_tomorrow"] == 0  # the day itself: nothing more


def test_a_cancelled_booking_hears_of_no_session(app, make_user, make_team):
    from app.immersion import services as immersion

    first = datetime(2027, 1, 13, 10, 0, tzinfo=UTC)
    team, cohort = session_team(app, make_user, make_team, first)
    with app.test_request_context():
        immersion.cancel(immersion.active_booking(team.org, cohort), by=team.lead)
        db.session.commit()
    clear_outbox()
    with at(date(2027, 1, 12)):
        assert run()["sessions_tomorrow"] == 0
    assert outbox_to(team.lead.email) == []


def test_attendees_who_have_not_evaluated_are_reminded_7_days_after_completion(
    app, make_user, make_team
):
    from app.core.programme import programme
    from app.immersion import services as immersion
    from tests.factories.immersion import book, make_cohort

    trainer = make_user(roles=("trainer",))
    team = make_team()
    cohort = make_cohort(
        trainer, title="Immersion winter", sessions=1, first=clock.now() - timedelta(days=3)
    )
    book(app, team, cohort, attendees=[team.lead, team.coordinator, team.specialist])
    with app.test_request_context():
        immersion.set_cohort_status(cohort, by=trainer, status="completed")
        db.session.commit()
        ratings = {key: 4 for key, _text in programme().evaluation_statements}
        immersion.submit_evaluation(cohort, by=team.coordinator, ratings=ratings, comments="")
        db.session.commit()
    completed_on = uk_day(clock.now())
    clear_outbox()

    with at(completed_on + timedelta(days=6)):
        assert run()["evaluations"] == 0
    with at(completed_on + timedelta(days=7)):
        assert run()["evaluations"] == 1
        assert run()["evaluations"] == 0
    for person in (team.lead, team.specialist):
        [mail] = outbox_to(person.email)
        assert mail.subject.endswith(
            "Please tell us about Immersion winter: the evaluation is still open"
        )
        assert f"http://localhost/immersion/cohorts/{cohort.id}/evaluation" in mail.body
    assert outbox_to(team.coordinator.email) == []  # answered
    assert outbox_to(team.facilitator.email) == []  # did not attend


# --- trainers' waiting work ---------------------------------------------------------------


def test_trainers_get_one_digest_of_work_waiting_more_than_5_working_days(
    app, make_user, make_organisation
):
    from app.readiness import services as readiness
    from tests.factories.certificates import write
    from tests.factories.readiness import answer, verify_agreements

    thursday = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    with time_machine.travel(thursday, tick=True):
        trainer, second = make_user(roles=("trainer",)), make_user(roles=("trainer",))
        waiting = make_organisation(stage="in_training", name="Waiting Hospice")
        [lead] = [m.user for m in waiting.memberships]
        ip_terms, collaboration = verify_agreements(waiting, lead, status="submitted")
        with app.test_request_context():
            readiness.review_agreement(
                waiting, by=trainer, agreement_id=collaboration.id, decision="accept"
            )
            db.session.commit()
            answer(waiting, lead, "sponsor-letter")
            reviewing = make_organisation(stage="readiness_review", name="Review Hospice")
            assessment = write(reviewing, trainer)
    clear_outbox()

    # Submitted on Thursday 3 December: five whole working days have passed on Thursday
    # 10th; the work has waited more than five on Friday 11th.
    with at(date(2026, 12, 10), 18):
        assert run()["trainer_work"] == 0
    with at(date(2026, 12, 11)):
        assert run()["trainer_work"] == 1
        assert run()["trainer_work"] == 0
    for person in (trainer, second):
        [mail] = outbox_to(person.email)
        assert mail.subject.endswith("3 items waiting for a trainer for more than 5 working days")
        body = mail.body
        assert "Waiting Hospice: IP Terms of Use Agreement to verify" in body
        assert "Waiting Hospice: Checklist answer to review" in body
        assert "Review Hospice: Readiness assessment waiting for a second trainer" in body
        assert "Statement of Collaboration" not in body  # accepted already
        assert f"/assessments/{assessment.id}" in body and "(3 new since" in body
    assert outbox_to(lead.email) == []
    assert ip_terms.status == "submitted"
    with at(date(2026, 12, 14)):
        assert run()["trainer_work"] == 0  # nothing newly overdue: no second digest
    assert ledger("trainer_work") == 1 and ledger("trainer_work_item") == 3


# --- training -----------------------------------------------------------------------------


def test_members_with_required_modules_not_started_30_days_after_acceptance(
    app, make_user, make_organisation
):
    from app.training import services as training

    coordinator, specialist = make_user(), make_user()
    org = make_organisation(
        stage="in_training", members={"coordinator": coordinator, "specialist": specialist}
    )
    lead = next(m.user for m in org.memberships if m.has_role("hub_lead"))
    basics = training.curriculum().get("basics")
    training.mark_read(coordinator, basics, basics.lessons[0].slug)  # started
    db.session.commit()
    accepted_on = uk_day(clock.now())
    clear_outbox()

    with at(accepted_on + timedelta(days=29)):
        assert run()["modules_not_started"] == 0
    with at(accepted_on + timedelta(days=30)):
        assert run()["modules_not_started"] == 2
        assert run()["modules_not_started"] == 0
    [to_lead] = outbox_to(lead.email)
    assert to_lead.subject.endswith(f"2 required training modules for {org.name} not started yet")
    assert "- Basics of the model" in to_lead.body and "http://localhost/training" in to_lead.body
    [to_specialist] = outbox_to(specialist.email)
    assert to_specialist.subject.endswith(
        f"1 required training module for {org.name} not started yet"
    )
    assert outbox_to(coordinator.email) == []
    assert len(notes(specialist, "reminder_modules_not_started")) == 1


# --- the job ------------------------------------------------------------------------------


def test_the_sweep_runs_the_reminders_job(app, runner):
    assert jobs.PERIODIC["reminders"][1] == 3600
    result = runner.invoke(args=["jobs", "run", "--burst"])
    assert result.exit_code == 0, result.output
    assert "reminders" in result.output


# --- settings -----------------------------------------------------------------------------


def write_programme(tmp_path, reminders: str | None, whole: bool = False):
    """The test programme.yaml with `reminders` as its section (None: no section), alone
    or (`whole`) in a copy of all the test content."""
    from tests.conftest import TEST_CONTENT_DIR

    content = tmp_path / "content"
    if whole:
        shutil.copytree(TEST_CONTENT_DIR, content, dirs_exist_ok=True)
    content.mkdir(exist_ok=True)
    text = (Path(TEST_CONTENT_DIR) / "programme.yaml").read_text(encoding="utf-8")
    text = text.split("\nreminders:")[0]
    path = content / "programme.yaml"
    path.write_text(text + (f"\nreminders:\n{reminders}" if reminders is not None else ""))
    return path


def test_the_reminders_section_is_optional_and_read_with_its_defaults(app, tmp_path):
    from app.core.programme import ReminderSettings, load_programme_settings, programme

    assert programme().reminders == ReminderSettings()  # the fixture spells out the defaults
    assert load_programme_settings(write_programme(tmp_path, None)).reminders == (
        ReminderSettings()
    )
    custom = load_programme_settings(
        write_programme(tmp_path, "  certificate_expiry_days: [7, 60]\n  send_hour: 0\n")
    ).reminders
    assert custom.certificate_expiry_days == (60, 7) and custom.send_hour == 0
    assert custom.invitation_unanswered_days == 7


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("  send_hour: 24\n", "reminders.send_hour: must be an hour from 0 to 23, got 24"),
        ("  catch_up_days: -1\n", "reminders.catch_up_days: must be a whole number ≥ 0"),
        (
            "  booking_deadline_days: 0\n",
            "reminders.booking_deadline_days: must be a whole number ≥ 1",
        ),
        ("  session_days_before: true\n", "reminders.session_days_before: must be a whole number"),
        ("  evaluation_days_after: seven\n", "reminders.evaluation_days_after: must be a whole"),
        ("  certificate_expired: 1\n", "reminders.certificate_expired: must be true or false"),
        ("  certificate_expiry_days: 30\n", "reminders.certificate_expiry_days: must be a list"),
        (
            "  certificate_expiry_days: [30, 0]\n",
            "reminders.certificate_expiry_days: must be a list",
        ),
        (
            "  certificate_expiry_days: [30, 30]\n",
            "certificate_expiry_days: lists a number of days twice",
        ),
        ("  invitation_lapse_days: 14\n", "reminders.invitation_lapse_days: must be fewer than"),
        ("  sessions_days_before: 1\n", "reminders: unknown setting(s) ['sessions_days_before']"),
        ("  - 7\n", "reminders: must be a mapping of settings"),
    ],
)
def test_invalid_reminder_settings_stop_start_up_naming_file_field_and_problem(
    tmp_path, section, problem
):
    from app.core.programme import ProgrammeError, load_programme_settings

    path = write_programme(tmp_path, section)
    with pytest.raises(ProgrammeError) as refused:
        load_programme_settings(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert problem in str(refused.value)


def test_the_app_does_not_start_with_invalid_reminder_settings(database_url, tmp_path):
    from app.core.programme import ProgrammeError
    from tests.conftest import build_app

    path = write_programme(tmp_path, "  send_hour: 25\n", whole=True)
    with pytest.raises(ProgrammeError, match="reminders.send_hour"):
        build_app(database_url, CONTENT_DIR=str(path.parent))
