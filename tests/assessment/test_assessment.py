"""Readiness assessment and the four-eyes decision (services)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from app.assessment import services
from app.assessment.models import Assessment
from app.certificates import render
from app.certificates.models import Certificate, SerialCounter
from app.core.audit import verify_chain
from app.core.errors import ServiceError
from app.extensions import db
from tests.factories.certificates import approve, pdf_bytes_of, scores, write
from tests.factories.organisations import (
    clear_outbox,
    count,
    outbox_to,
    reload_org,
)
from tests.factories.readiness import stored_files
from tests.helpers import events, race


@pytest.fixture
def trainers(make_user):
    return (
        make_user(roles=("trainer",), name="Ada Assessor"),
        make_user(roles=("trainer",), name="Ben Approver"),
    )


@pytest.fixture
def in_review(make_organisation, make_user):
    lead = make_user(name="Hana Lead")
    return make_organisation(stage="readiness_review", lead=lead), lead


def test_an_assessment_records_the_requirements_as_they_stood(app, in_review, trainers):
    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
    assert assessment.status == "awaiting_decision"
    assert [r["key"] for r in assessment.requirements_snapshot] == [
        "agreements",
        "team",
        "training",
        "immersion",
        "checklist",
    ]
    assert assessment.total_score == 3 * len(services.criteria())
    assert reload_org(org.id).stage == "readiness_review"
    (event,) = events("assessment.written")
    assert event.details["recommendation"] == "approve"


def test_missing_scores_are_refused_and_nothing_is_saved(app, in_review, trainers):
    org, _lead = in_review
    partial = scores()
    first_key = next(iter(partial))
    partial[first_key] = services.Score(first_key, None, "")
    with app.test_request_context(), pytest.raises(ServiceError) as refused:
        services.write_assessment(
            org, by=trainers[0], scores=partial, overall_notes="", recommendation="approve"
        )
    db.session.rollback()
    assert "Score every criterion" in refused.value.message
    assert count(Assessment) == 0


def test_only_an_organisation_in_readiness_review_can_be_assessed(app, make_organisation, trainers):
    org = make_organisation(stage="in_training")
    with app.test_request_context(), pytest.raises(ServiceError) as refused:
        write(org, trainers[0])
    db.session.rollback()
    assert "readiness review" in refused.value.message
    assert count(Assessment) == 0


def test_requesting_changes_sends_the_organisation_back_with_the_list(app, in_review, trainers):
    org, lead = in_review
    clear_outbox()
    with app.test_request_context():
        with pytest.raises(ServiceError):
            write(org, trainers[0], recommendation="request_changes")
        db.session.rollback()
        write(
            org,
            trainers[0],
            recommendation="request_changes",
            changes_list="Name a second facilitator.\nUpload the DPIA.",
        )
    org = reload_org(org.id)
    assert org.stage == "in_training"
    assert "second facilitator" in org.changes_requested
    (mail,) = outbox_to(lead.email)
    assert "Upload the DPIA" in mail.body


def test_rejecting_needs_a_reason_and_closes_the_journey(app, in_review, trainers):
    org, _lead = in_review
    with app.test_request_context():
        with pytest.raises(ServiceError):
            write(org, trainers[0], recommendation="reject", notes="")
        db.session.rollback()
        write(org, trainers[0], recommendation="reject", notes="No executive sponsor.")
    org = reload_org(org.id)
    assert org.stage == "rejected"
    assert org.closed_reason == "No executive sponsor."


def test_a_second_assessment_waits_for_the_first_decision(app, in_review, trainers):
    org, _lead = in_review
    with app.test_request_context():
        write(org, trainers[0])
        with pytest.raises(ServiceError) as refused:
            write(org, trainers[1])
    db.session.rollback()
    assert "waiting for a decision" in refused.value.message
    assert count(Assessment) == 1


def test_the_author_cannot_approve_their_own_assessment(app, in_review, trainers):
    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
        with pytest.raises(ServiceError) as refused:
            services.decide(assessment, by=trainers[0], decision="approve")
    db.session.rollback()
    assert "four-eyes" in refused.value.message
    assert reload_org(org.id).stage == "readiness_review"
    assert count(Certificate) == 0


def test_a_second_trainer_approves_and_the_certificate_is_issued(app, in_review, trainers):
    org, lead = in_review
    clear_outbox()
    with app.test_request_context():
        cert = approve(write(org, trainers[0]), trainers[1])
    org = reload_org(org.id)
    assert org.stage == "approved"
    assert cert.serial.startswith("HUB-") and cert.serial.endswith("-0001")
    assert cert.approvers == ["Ada Assessor", "Ben Approver"]
    assert not cert.single_person
    data = pdf_bytes_of(cert)
    import hashlib

    assert hashlib.sha256(data).hexdigest() == cert.sha256 and len(data) == cert.size
    assert (cert.expires_on.year - cert.approved_on.year) == 3
    assert [e.action for e in events("certificate.issued")] == ["certificate.issued"]
    assert any("approved as a Project ECHO hub" in m.subject for m in outbox_to(lead.email))
    assert verify_chain().intact


def test_single_person_approval_when_the_programme_allows_it(app, in_review, trainers):
    org, _lead = in_review
    settings = app.extensions["programme"]
    app.extensions["programme"] = dataclasses.replace(settings, four_eyes=False)
    with app.test_request_context():
        cert = approve(write(org, trainers[0]), trainers[0])
    assert cert.single_person
    assert cert.approvers == ["Ada Assessor"]
    assert events("assessment.approved")[0].details["single_person"] is True


def test_sending_back_needs_a_reason_and_allows_a_new_assessment(app, in_review, trainers):
    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
        with pytest.raises(ServiceError):
            services.decide(assessment, by=trainers[1], decision="send_back", notes=" ")
        db.session.rollback()
        services.decide(assessment, by=trainers[1], decision="send_back", notes="Scores too high")
        db.session.commit()
        write(org, trainers[1])
    assert reload_org(org.id).stage == "readiness_review"
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 2


def test_a_failed_render_approves_nothing_and_uses_no_serial(app, in_review, trainers, monkeypatch):
    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
        before = stored_files(app.config["STORAGE_DIR"])

        def broken(*args, **kwargs):
            raise ValueError("font missing")

        monkeypatch.setattr(render, "render_pdf", broken)
        with pytest.raises(ServiceError) as refused:
            services.decide(assessment, by=trainers[1], decision="approve")
        db.session.rollback()
        assert "Nothing was approved" in refused.value.message
        assert reload_org(org.id).stage == "readiness_review"
        assert db.session.get(Assessment, assessment.id).status == "awaiting_decision"
        assert count(Certificate) == 0
        assert db.session.scalar(select(SerialCounter.last)) in (None, 0)
        monkeypatch.undo()
        cert = approve(db.session.get(Assessment, assessment.id), trainers[1])
    assert cert.serial.endswith("-0001")
    assert len(stored_files(app.config["STORAGE_DIR"])) == len(before) + 1


def test_a_failed_sign_leaves_no_stored_file(app, in_review, trainers, monkeypatch):
    from app.certificates import signing

    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
        before = len(stored_files(app.config["STORAGE_DIR"]))
        monkeypatch.setattr(
            signing, "sign_pdf", lambda *a, **k: (_ for _ in ()).throw(signing.SigningError("x"))
        )
        with pytest.raises(ServiceError):
            services.decide(assessment, by=trainers[1], decision="approve")
        db.session.rollback()
    assert len(stored_files(app.config["STORAGE_DIR"])) == before
    assert count(Certificate) == 0


def test_a_rollback_after_storing_removes_the_file(app, in_review, trainers):
    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
        before = len(stored_files(app.config["STORAGE_DIR"]))
        services.decide(assessment, by=trainers[1], decision="approve")
        assert len(stored_files(app.config["STORAGE_DIR"])) == before + 1
        db.session.rollback()
    assert len(stored_files(app.config["STORAGE_DIR"])) == before
    assert reload_org(org.id).stage == "readiness_review"


def test_serials_are_sequential_per_year(app, make_organisation, trainers):
    serials = []
    for _ in range(3):
        org = make_organisation(stage="readiness_review")
        with app.test_request_context():
            serials.append(approve(write(org, trainers[0]), trainers[1]).serial)
    assert [s[-4:] for s in serials] == ["0001", "0002", "0003"]
    assert len({s[4:8] for s in serials}) == 1


@pytest.mark.commits
def test_two_trainers_approving_at_once_make_one_approval_and_one_certificate(
    app, in_review, trainers, make_user
):
    """Two second trainers press Approve at the same moment (threads, real transactions)."""
    org, _lead = in_review
    with app.test_request_context():
        assessment = write(org, trainers[0])
    assessment_id = assessment.id
    deciders = [trainers[1], make_user(roles=("trainer",), name="Cai Third")]
    files_before = len(stored_files(app.config["STORAGE_DIR"]))

    def approve_as(trainer):
        def call():
            current = db.session.get(Assessment, assessment_id)
            return services.decide(current, by=db.session.merge(trainer), decision="approve")

        return call

    outcomes = race(app, [approve_as(t) for t in deciders])
    assert outcomes == ["ok", "refused"]
    db.session.expire_all()
    assert count(Certificate) == 1
    assert len(events("assessment.approved")) == 1
    assert len(events("certificate.issued")) == 1
    assert reload_org(org.id).stage == "approved"
    assert db.session.scalar(select(SerialCounter.last)) == 1
    assert len(stored_files(app.config["STORAGE_DIR"])) == files_before + 1
    assert verify_chain().intact
