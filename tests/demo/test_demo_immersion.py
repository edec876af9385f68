"""Immersion demo data: a completed cohort (attendance partly from Zoom reports, evaluations
returned), a cohort in progress and an open one, with Glen Affric Hospice meeting Immersion;
running the seeder again adds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEvent, verify_chain
from app.core.db import utcnow
from app.demo.immersion import seed_immersion
from app.demo.services import DEMO_DOMAIN, DEMO_PASSWORD, demo_email, seed_demo
from app.extensions import db
from app.immersion import services
from app.immersion.models import (
    AttendanceChange,
    AttendanceRecord,
    Booking,
    BookingAttendee,
    EvaluationResponse,
    ImmersionCohort,
    ImmersionSession,
    SessionResource,
)
from app.organisations.models import Organisation
from app.readiness import services as readiness
from app.readiness.models import Agreement, EvidenceFile
from tests.helpers import login, page_text

MODELS = (
    ImmersionCohort,
    ImmersionSession,
    Booking,
    BookingAttendee,
    AttendanceRecord,
    AttendanceChange,
    SessionResource,
    EvaluationResponse,
    Agreement,
    EvidenceFile,
    AuditEvent,
)


def _counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in MODELS
    }


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _records(session: ImmersionSession) -> dict[str, tuple[str, int, str]]:
    rows = db.session.execute(
        select(
            User.email, AttendanceRecord.status, AttendanceRecord.minutes, AttendanceRecord.source
        )
        .join(User, User.id == AttendanceRecord.user_id)
        .where(AttendanceRecord.session_id == session.id)
    ).all()
    return {email: (status, minutes, source) for email, status, minutes, source in rows}


@pytest.mark.any_hour
def test_demo_immersion_seeds_three_cohorts_once(frozen_clock, app):
    messages: list[str] = []
    seed_demo(messages.append)
    db.session.commit()
    seed_immersion(messages.append)
    db.session.commit()
    after_first = _counts()

    seed_immersion(messages.append)
    db.session.commit()
    assert _counts() == after_first

    now = utcnow()
    cohorts = {
        c.title: c for c in db.session.scalars(select(ImmersionCohort).order_by(ImmersionCohort.id))
    }
    assert {title: c.status for title, c in cohorts.items()} == {
        "ECHO Immersion cohort 14": "completed",
        "ECHO Immersion cohort 15": "closed",
        "ECHO Immersion cohort 16": "open",
        "ECHO Immersion cohort 17": "open",
    }
    completed, running, upcoming, next_quarter = cohorts.values()
    glen = db.session.scalars(
        select(Organisation).where(Organisation.name == "Glen Affric Hospice")
    ).one()
    morag, iain, catriona, ewan = (
        _user(demo_email(n))
        for n in ("Dr Morag MacLeod", "Iain Fraser", "Catriona Munro", "Dr Ewan Grant")
    )
    jo = _user(f"trainee@{DEMO_DOMAIN}")

    # --- the completed cohort ---------------------------------------------------------
    assert len(completed.sessions) == 5
    assert all(s.ends_at < now for s in completed.sessions)
    assert completed.booking_deadline < completed.sessions[0].starts_at
    (booking,) = db.session.scalars(select(Booking).where(Booking.cohort_id == completed.id))
    assert booking.organisation_id == glen.id and booking.status == "confirmed"
    assert booking.queued_at < completed.booking_deadline
    attendees = {a.user.email for a in booking.attendees}
    assert attendees == {u.email for u in (morag, iain, catriona, ewan, jo)}
    # Every attendee has a record for every session.
    s = completed.sessions
    assert [len(_records(session)) for session in s] == [5, 5, 5, 5, 5]
    # Session 1 from a per-join report: two joins added up; a guest matched by name.
    first = _records(s[0])
    assert first[morag.email] == ("present", 86, "zoom")
    assert first[ewan.email] == ("present", 80, "zoom")
    assert first[jo.email] == ("partial", 50, "zoom")
    # Session 2 from a "unique users" report; the one missing from it marked by hand.
    second = _records(s[1])
    assert {e: src for e, (_st, _m, src) in second.items()} == {
        morag.email: "zoom",
        iain.email: "zoom",
        ewan.email: "zoom",
        jo.email: "zoom",
        catriona.email: "hand",
    }
    assert second[catriona.email] == ("absent", 0, "hand")
    # Sessions 3 to 5 by hand, with one correction kept with its reason.
    assert {src for session in s[2:] for (_st, _m, src) in _records(session).values()} == {"hand"}
    (change,) = db.session.scalars(select(AttendanceChange)).all()
    assert (change.old_status, change.new_status, change.new_minutes) == ("absent", "present", 90)
    assert "by phone" in change.reason
    # Attendance rules: the required role-holders met the threshold; Jo Williams did not.
    _attendees, _sessions, _records_by_key, summaries = services.attendance_grid(completed)
    met = {
        u.email: (summaries[u.id].counted, summaries[u.id].met)
        for u in (morag, iain, catriona, ewan, jo)
    }
    assert met == {
        morag.email: (5, True),
        iain.email: (5, True),
        catriona.email: (4, True),
        ewan.email: (4, True),
        jo.email: (3, False),
    }
    # Recordings and resources for the library.
    assert all(session.recording_url.startswith("https://") for session in s)
    assert len(services.library(completed)[0][1]) == 1
    # Evaluations: open, three returned, two awaited.
    assert services.evaluation_open(completed)
    responses, rows = services.evaluation_results(completed)
    assert {r.user_id for r in responses} == {morag.id, iain.id, ewan.id}
    assert all(answered == 3 for _text, answered, _percent in rows)
    assert (
        dict((text, pct) for text, _n, pct in rows)[
            "I would recommend ECHO Immersion to colleagues."
        ]
        == 100
    )
    assert any(r.comments for r in responses)
    assert services.pending_evaluations(catriona) == [completed]
    assert services.pending_evaluations(jo) == [completed]
    assert services.pending_evaluations(morag) == []
    # Evaluations and attendance are on each organisation's record, in plain words.
    on_record = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action.in_(["immersion.evaluated", "immersion.attendance_recorded"])
        )
    ).all()
    assert on_record and all(e.organisation_id is not None for e in on_record)

    # --- the cohort in progress ----------------------------------------------------------
    assert running.booking_deadline < now
    held = [x for x in running.sessions if x.ends_at < now]
    to_come = [x for x in running.sessions if x.starts_at > now]
    assert len(held) == 2 and len(to_come) == 2
    assert [len(_records(x)) for x in held] == [3, 3]
    assert [len(_records(x)) for x in to_come] == [0, 0]
    (booking,) = db.session.scalars(select(Booking).where(Booking.cohort_id == running.id))
    assert {a.user.email for a in booking.attendees} == {
        demo_email("Hamish Ross"),
        demo_email("Dr Eilidh Campbell"),
        jo.email,
    }

    # --- the open cohort -----------------------------------------------------------------
    assert upcoming.booking_deadline > now
    assert all(x.starts_at > upcoming.booking_deadline for x in upcoming.sessions)
    assert services.confirmed_count(upcoming) == 0

    # --- dates that changed: a session moved, a cohort copied for the next quarter -------
    assert [x.sequence for x in running.sessions] == [0, 0, 0, 1]
    assert next_quarter.copied_from_id == upcoming.id
    # Thirteen weeks on at the same UK time (an hour apart in UTC across a clock change).
    assert all(
        abs(a.starts_at - b.starts_at - timedelta(weeks=13)) <= timedelta(hours=1)
        for a, b in zip(next_quarter.sessions, upcoming.sessions, strict=True)
    )
    assert services.confirmed_count(next_quarter) == 0

    # --- readiness: Glen Affric meets Immersion; the audit chain holds -------------------
    assert {k: a.status for k, a in readiness.current_agreements(glen).items()} == {
        "ip_terms": "accepted",
        "collaboration": "accepted",
    }
    requirement = {r.key: r for r in readiness.requirements(glen)}["immersion"]
    assert requirement.met, requirement.summary
    assert (requirement.done, requirement.total) == (4, 4)
    assert verify_chain().intact
    assert "created Immersion cohort ECHO Immersion cohort 14 (completed" in "\n".join(messages)
    assert "Glen Affric Hospice: Immersion attendance met" in messages


def test_demo_immersion_pages_open(app):
    seed_demo()
    seed_immersion(lambda _msg: None)
    db.session.commit()
    cohorts = db.session.scalars(select(ImmersionCohort).order_by(ImmersionCohort.id)).all()
    glen_id = db.session.scalar(
        select(Organisation.id).where(Organisation.name == "Glen Affric Hospice")
    )

    trainer = app.test_client()
    assert login(trainer, f"trainer@{DEMO_DOMAIN}", DEMO_PASSWORD).status_code == 302
    listing = page_text(trainer.get("/immersion/cohorts"))
    assert all(c.title in listing for c in cohorts)
    for cohort in cohorts:
        assert trainer.get(f"/immersion/cohorts/{cohort.id}").status_code == 200
        assert trainer.get(f"/immersion/cohorts/{cohort.id}/library").status_code == 200
        for session in cohort.sessions:
            response = trainer.get(f"/immersion/sessions/{session.id}/attendance")
            assert response.status_code == 200
    results = page_text(trainer.get(f"/immersion/cohorts/{cohorts[0].id}/evaluation/results"))
    assert "3 responses" in results and "100%" in results

    lead = app.test_client()
    assert login(lead, demo_email("Dr Morag MacLeod"), DEMO_PASSWORD).status_code == 302
    team = page_text(lead.get(f"/organisations/{glen_id}/immersion"))
    assert "ECHO Immersion cohort 14 — place confirmed" in team
    # One booking at a time: cohort 15 is under way, so cohort 16 is not offered yet.
    assert "Book ECHO Immersion cohort 16" not in team
    assert "ECHO Immersion cohort 15 is under way: once it is completed" in team
    # A completed cohort's booking (its attendance counts for readiness) is not cancellable.
    completed_booking, running_booking = (
        db.session.scalar(select(Booking.id).where(Booking.cohort_id == c.id)) for c in cohorts[:2]
    )
    # Nor one under way (cancelling it would be refused): neither offers cancel or move.
    for booking_id in (completed_booking, running_booking):
        assert f"/immersion/bookings/{booking_id}/cancel" not in team
        assert f"/immersion/bookings/{booking_id}/move" not in team
    panel = page_text(lead.get(f"/organisations/{glen_id}/readiness"))
    assert "Every required role has someone who met the attendance threshold." in panel

    trainee = app.test_client()
    assert login(trainee, f"trainee@{DEMO_DOMAIN}", DEMO_PASSWORD).status_code == 302
    mine = page_text(trainee.get("/immersion/mine"))
    assert "Please evaluate ECHO Immersion cohort 14" in mine
    assert "ECHO Immersion cohort 15" in mine


def test_without_the_readiness_seed_the_agreements_go_through_the_readiness_services(app):
    from app.core.mail import mail_kept_in_memory
    from app.demo import services as demo
    from tests.helpers import events

    with mail_kept_in_memory():
        for seeder in demo.SEEDERS[: demo.SEEDERS.index(demo.seed_readiness)]:
            seeder(lambda _msg: None)
    messages: list[str] = []
    seed_immersion(messages.append)
    db.session.commit()
    assert any(m.startswith("verified Glen Affric Hospice's") for m in messages)
    uploaded, accepted = events("agreement.uploaded"), events("agreement.accepted")
    assert len(uploaded) == 2 and len(accepted) == 2
    assert {e.actor_label for e in accepted} == {f"trainer@{DEMO_DOMAIN}"}
