"""Readiness rules through the services: partnership agreements and their verification, checklist
answers and trainer review with version checks, comment threads, the review queue, and the
requirements engine that decides when an organisation may submit for readiness review."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import utcnow
from app.core.errors import ServiceError
from app.extensions import db
from app.readiness import services
from app.readiness.models import Agreement, ChecklistAnswer, ChecklistComment, EvidenceFile
from tests.factories.immersion import attend_immersion
from tests.factories.notifications import tell_at_once
from tests.factories.organisations import (
    clear_outbox,
    outbox_to,
    reload_org,
    stage_changes,
)
from tests.factories.readiness import (
    EXECUTABLE,
    YESTERDAY,
    accept_checklist,
    agreement,
    answer,
    answer_input,
    complete_training,
    pdf_bytes,
    png_bytes,
    readiness_snapshot,
    stored_files,
    upload,
    verify_agreements,
)
from tests.helpers import events
from tests.paths import FIXTURES

REQUIRED_ITEMS = [
    "sponsor-letter",
    "network-design",
    "spoke-recruitment",
    "videoconferencing",
    "case-form",
    "governance-policies",
    "evaluation-plan",
    "dry-run",
    "first-session",
]


@pytest.fixture
def app_config(tmp_path):
    return {"STORAGE_DIR": str(tmp_path / "storage")}


@pytest.fixture
def root(app) -> Path:
    return Path(app.config["STORAGE_DIR"]).resolve()


@pytest.fixture(autouse=True)
def request_context(app):
    """Services build absolute links for emails, which needs a request context."""
    with app.test_request_context():
        yield


@pytest.fixture
def lead(make_user):
    return make_user(name="Lena Lead")


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer")


@pytest.fixture
def coordinator(make_user):
    return make_user(name="Cora Coordinator")


@pytest.fixture
def specialist(make_user):
    return make_user(name="Sam Specialist")


@pytest.fixture
def it_person(make_user):
    return make_user(name="Ifan IT")


@pytest.fixture
def org(make_organisation, lead, trainer, coordinator, specialist, it_person):
    """In training, with every role the programme requires plus IT support."""
    return make_organisation(
        stage="in_training",
        lead=lead,
        trainer=trainer,
        name="Heron Vale Hospice",
        members={
            "coordinator": coordinator,
            ("facilitator", "specialist"): specialist,
            "it_support": it_person,
        },
    )


def requirement(org, key) -> services.Requirement:
    return next(r for r in services.requirements(org) if r.key == key)


# --- agreements ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ip_terms", "collaboration"])
def test_the_lead_uploads_an_agreement(org, lead, root, kind):
    data = pdf_bytes("signed")
    a = agreement(
        org,
        lead,
        kind,
        data=data,
        filename="../Signed\nagreement.pdf",
        signatory_name="  Dr Alex Morgan ",
        signatory_role="Chief executive",
        signed_on=YESTERDAY,
    )
    db.session.expire_all()
    a = db.session.get(Agreement, a.id)
    assert (a.kind, a.status, a.signatory_name, a.signatory_role, a.signed_on) == (
        kind,
        "submitted",
        "Dr Alex Morgan",
        "Chief executive",
        YESTERDAY,
    )
    assert a.submitted_by_id == lead.id
    assert a.file.original_name == "Signedagreement.pdf"
    assert a.file.size == len(data)
    assert a.file.uploaded_by_id == lead.id and a.file.organisation_id == org.id
    assert (root / a.file.storage_key).resolve().read_bytes() == data
    [event] = events("agreement.uploaded")
    assert event.organisation_id == org.id and event.actor_id == lead.id
    assert event.details["kind"] == kind
    assert event.details["file_sha256"] == a.file.sha256
    assert event.details["replaces"] is None
    assert services.current_agreements(org)[kind].id == a.id


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"signatory_name": ""}, "signatory_name", "Enter the name of the person who signed."),
        ({"signatory_name": "   "}, "signatory_name", "Enter the name of the person who signed."),
        ({"signatory_role": ""}, "signatory_role", "Enter the signatory's role."),
        ({"signed_on": None}, "signed_on", "Enter the date it was signed."),
        (
            {"signed_on": utcnow().date() + timedelta(days=1)},
            "signed_on",
            "The date signed cannot be in the future.",
        ),
        ({"data": EXECUTABLE}, "file", "is named like a PDF but its contents are not a PDF"),
        ({"data": png_bytes(), "filename": "scan.docx"}, "file", "not a Word document"),
        ({"filename": "agreement.exe"}, "file", "is not a file type we accept"),
    ],
)
def test_incomplete_or_bad_agreements_are_refused(org, lead, root, changes, field, message):
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError) as refused:
        agreement(org, lead, "ip_terms", **changes)
    db.session.rollback()
    assert message in refused.value.message
    assert refused.value.field == field
    assert readiness_snapshot(root) == before


def test_today_is_a_valid_signing_date(org, lead):
    assert agreement(org, lead, signed_on=utcnow().date()).status == "submitted"


def test_only_the_hub_lead_uploads_agreements(org, coordinator, trainer, make_user, root):
    outsider = make_user()
    before = readiness_snapshot(root)
    for who in (coordinator, trainer, outsider):
        with pytest.raises(ServiceError, match="Only the organisation's hub lead"):
            agreement(org, who)
        db.session.rollback()
    assert readiness_snapshot(root) == before


def test_unknown_agreement_kind(org, lead):
    with pytest.raises(LookupError):
        agreement(org, lead, "nda")


@pytest.mark.parametrize(
    ("stage", "label"),
    [
        ("draft", "Draft"),
        ("submitted", "Submitted for screening"),
        ("readiness_review", "Readiness review"),
        ("withdrawn", "Withdrawn"),
        ("rejected", "Not accepted"),
    ],
)
def test_agreements_only_while_in_training(make_organisation, lead, root, stage, label):
    org = make_organisation(stage=stage, lead=lead)
    with pytest.raises(ServiceError) as refused:
        agreement(org, lead)
    assert "only while the organisation is in training" in refused.value.message
    assert label in refused.value.message
    assert stored_files(root) == []
    assert db.session.scalars(select(Agreement)).all() == []


def test_a_trainer_accepts_one_and_rejects_the_other_and_the_lead_is_emailed(
    org, lead, trainer, coordinator
):
    ip = agreement(org, lead, "ip_terms")
    collab = agreement(org, lead, "collaboration")
    tell_at_once(lead, coordinator)  # reviews come in the daily digest unless one asks
    clear_outbox()

    services.review_agreement(org, by=trainer, agreement_id=ip.id, decision="accept")
    services.review_agreement(
        org,
        by=trainer,
        agreement_id=collab.id,
        decision="reject",
        reason="  Page 2 is not signed.  ",
    )
    db.session.commit()

    current = services.current_agreements(org)
    assert current["ip_terms"].status == "accepted"
    assert current["ip_terms"].reviewed_by_id == trainer.id
    assert current["ip_terms"].reviewed_at is not None
    assert current["collaboration"].status == "rejected"
    assert current["collaboration"].review_reason == "Page 2 is not signed."

    [accepted] = events("agreement.accepted")
    [rejected] = events("agreement.rejected")
    assert accepted.actor_id == trainer.id and accepted.details["kind"] == "ip_terms"
    assert rejected.details == {**rejected.details, "kind": "collaboration"}
    assert rejected.details["reason"] == "Page 2 is not signed."

    verified, needs_attention = outbox_to(lead.email)
    assert "IP Terms of Use Agreement verified" in verified.subject
    assert "Statement of Collaboration needs attention" in needs_attention.subject
    assert "Page 2 is not signed." in needs_attention.body
    assert f"/organisations/{org.id}/readiness" in needs_attention.body
    assert outbox_to(coordinator.email) == []  # the decision goes to the hub lead


def test_rejecting_needs_a_reason_and_records_nothing_without_it(org, lead, trainer, root):
    a = agreement(org, lead)
    clear_outbox()
    before = readiness_snapshot(root)
    for reason in ("", "   "):
        with pytest.raises(ServiceError, match="Give the reason for rejecting") as refused:
            services.review_agreement(
                org, by=trainer, agreement_id=a.id, decision="reject", reason=reason
            )
        assert refused.value.field == "reason"
        db.session.rollback()
    with pytest.raises(ServiceError, match="Choose accept or reject"):
        services.review_agreement(org, by=trainer, agreement_id=a.id, decision="maybe")
    db.session.rollback()
    assert readiness_snapshot(root) == before
    assert outbox_to(lead.email) == []


def test_only_trainers_verify_agreements(org, lead, make_user):
    a = agreement(org, lead)
    for who in (lead, make_user(roles=("auditor",)), make_user(roles=("admin",))):
        with pytest.raises(ServiceError, match="Only superhub trainers"):
            services.review_agreement(org, by=who, agreement_id=a.id, decision="accept")
    db.session.rollback()
    assert db.session.get(Agreement, a.id).status == "submitted"


def test_an_agreement_of_another_organisation_is_not_found(
    org, make_organisation, lead, trainer, make_user
):
    other_lead = make_user()
    other = make_organisation(stage="in_training", lead=other_lead, trainer=trainer)
    theirs = agreement(other, other_lead)
    with pytest.raises(LookupError):
        services.review_agreement(org, by=trainer, agreement_id=theirs.id, decision="accept")
    with pytest.raises(LookupError):
        services.review_agreement(org, by=trainer, agreement_id=999_999, decision="accept")


def test_a_new_upload_replaces_the_current_one_and_keeps_the_history(org, lead, trainer, root):
    first = agreement(org, lead, "collaboration", data=pdf_bytes("first"))
    services.review_agreement(
        org, by=trainer, agreement_id=first.id, decision="reject", reason="Unsigned."
    )
    db.session.commit()
    second = agreement(org, lead, "collaboration", based_on=first.id, data=pdf_bytes("second"))
    third = agreement(org, lead, "collaboration", based_on=second.id, data=pdf_bytes("third"))

    db.session.expire_all()
    assert services.current_agreements(org)["collaboration"].id == third.id
    history = services.agreement_history(org)
    assert [(a.id, a.status) for a in history] == [
        (third.id, "submitted"),
        (second.id, "superseded"),
        (first.id, "superseded"),
    ]
    assert db.session.get(Agreement, first.id).review_reason == "Unsigned."  # kept
    assert len({a.file.sha256 for a in history}) == 3
    assert len(stored_files(root)) == 3  # earlier files stay
    assert [e.details["replaces"] for e in events("agreement.uploaded")] == [
        None,
        first.id,
        second.id,
    ]


def test_uploading_over_a_verified_agreement_is_refused(org, lead, trainer, root):
    a = agreement(org, lead)
    services.review_agreement(org, by=trainer, agreement_id=a.id, decision="accept")
    db.session.commit()
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError, match="IP Terms of Use Agreement is already verified"):
        agreement(org, lead, based_on=a.id)
    db.session.rollback()
    assert readiness_snapshot(root) == before


def test_a_double_submission_is_refused_as_stale_and_stored_once(org, lead, root):
    agreement(org, lead, based_on=None)
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError, match="changed since you opened the page"):
        agreement(org, lead, based_on=None)  # the same form, sent again
    db.session.rollback()
    assert readiness_snapshot(root) == before
    assert len(db.session.scalars(select(Agreement)).all()) == 1
    assert len(db.session.scalars(select(EvidenceFile)).all()) == 1
    assert len(stored_files(root)) == 1


def test_replacing_from_a_stale_page_is_refused(org, lead, root):
    first = agreement(org, lead)
    agreement(org, lead, based_on=first.id)
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError, match="changed since you opened the page"):
        agreement(org, lead, based_on=first.id)
    db.session.rollback()
    assert readiness_snapshot(root) == before


def test_a_decision_on_a_replaced_agreement_is_refused_and_nothing_recorded(
    org, lead, trainer, root
):
    seen = agreement(org, lead)  # the trainer opens the page showing this one
    newer = agreement(org, lead, based_on=seen.id)  # the lead replaces it meanwhile
    clear_outbox()
    before = readiness_snapshot(root)
    for decision, reason in (("accept", ""), ("reject", "Wrong file.")):
        with pytest.raises(ServiceError, match="changed since you opened the page"):
            services.review_agreement(
                org, by=trainer, agreement_id=seen.id, decision=decision, reason=reason
            )
        db.session.rollback()
    assert readiness_snapshot(root) == before
    db.session.expire_all()
    assert db.session.get(Agreement, seen.id).reviewed_by_id is None
    assert db.session.get(Agreement, newer.id).status == "submitted"
    assert events("agreement.accepted") == [] and events("agreement.rejected") == []
    assert outbox_to(lead.email) == []


def test_an_agreement_is_decided_once(org, lead, trainer, make_user):
    a = agreement(org, lead)
    services.review_agreement(org, by=trainer, agreement_id=a.id, decision="accept")
    db.session.commit()
    second_trainer = make_user(roles=("trainer",))
    with pytest.raises(ServiceError, match="changed since you opened the page"):
        services.review_agreement(
            org, by=second_trainer, agreement_id=a.id, decision="reject", reason="No."
        )
    db.session.rollback()
    assert db.session.get(Agreement, a.id).status == "accepted"
    assert len(events("agreement.accepted")) == 1 and events("agreement.rejected") == []


# --- checklist answers -------------------------------------------------------------------------


def test_the_shipped_checklist_matches_the_fixture(app):
    shipped = Path(app.root_path).parent / "modules" / "readiness-checklist.yaml"
    fixture = FIXTURES / "content" / "readiness-checklist.yaml"
    assert shipped.read_text() == fixture.read_text()
    items = services.checklist().items
    assert [i.key for i in items if i.required] == REQUIRED_ITEMS
    assert {i.kind for i in items} == {"file", "text", "date", "attestation"}


def test_a_text_answer(org, coordinator):
    a = answer(org, coordinator, "spoke-recruitment", services.AnswerInput(text="  A plan.  "))
    assert (a.version, a.status, a.text_value, a.submitted_by_id) == (
        1,
        "submitted",
        "A plan.",
        coordinator.id,
    )
    [event] = events("checklist.submitted")
    assert event.details["item"] == "spoke-recruitment" and event.details["version"] == 1
    assert "file_sha256" not in event.details


@pytest.mark.parametrize(
    ("item_key", "given", "field", "message"),
    [
        ("spoke-recruitment", {"text": ""}, "text", "Write your answer."),
        ("spoke-recruitment", {"text": " \n "}, "text", "Write your answer."),
        ("spoke-recruitment", {"text": "x" * 10_001}, "text", "Use at most 10,000 characters."),
        ("dry-run", {}, "date_value", "Enter the date."),
        (
            "dry-run",
            {"date_value": utcnow().date() + timedelta(days=3)},
            "date_value",
            "This date cannot be in the future.",
        ),
        ("first-session", {"text": "soon"}, "date_value", "Enter the date."),
        (
            "videoconferencing",
            {"attested_by_role": "IT manager", "confirmed": True},
            "attested_by_name",
            "Enter the name of the person confirming.",
        ),
        (
            "videoconferencing",
            {"attested_by_name": "Ifan Jones", "confirmed": True},
            "attested_by_role",
            "Enter their role.",
        ),
        (
            "videoconferencing",
            {"attested_by_name": "Ifan Jones", "attested_by_role": "IT manager"},
            "confirmed",
            "Tick the box to confirm the statement.",
        ),
        ("sponsor-letter", {}, "file", "Choose a file to upload."),
        (
            "sponsor-letter",
            {"upload": upload(EXECUTABLE, "letter.pdf")},
            "file",
            "its contents are not a PDF",
        ),
        (
            "sponsor-letter",
            {"upload": upload(b"<html></html>", "letter.html")},
            "file",
            "not a file type we accept",
        ),
        ("sponsor-letter", {"upload": upload(b"", "letter.pdf")}, "file", "is empty (0 bytes)"),
    ],
)
def test_answers_are_validated(org, lead, root, item_key, given, field, message):
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError) as refused:
        answer(org, lead, item_key, services.AnswerInput(**given))
    db.session.rollback()
    assert refused.value.message == message or message in refused.value.message
    assert refused.value.field == field
    assert readiness_snapshot(root) == before


def test_date_attestation_and_file_answers(org, lead, it_person, root):
    future = utcnow().date() + timedelta(days=30)
    first = answer(
        org, lead, "first-session", services.AnswerInput(date_value=future, text="Invites out")
    )
    assert (first.date_value, first.text_value) == (future, "Invites out")
    assert answer(org, lead, "dry-run", services.AnswerInput(date_value=YESTERDAY)).date_value

    attested = answer(
        org,
        it_person,
        "videoconferencing",
        services.AnswerInput(
            attested_by_name=" Ifan Jones ", attested_by_role="IT manager", confirmed=True
        ),
    )
    assert (attested.attested_by_name, attested.attested_by_role) == ("Ifan Jones", "IT manager")

    data = pdf_bytes("letter")
    letter = answer(
        org,
        lead,
        "sponsor-letter",
        services.AnswerInput(upload=upload(data, "Sponsor letter.pdf"), text="Signed by the CEO"),
    )
    assert letter.file.original_name == "Sponsor letter.pdf"
    assert letter.file.size == len(data)
    assert letter.text_value == "Signed by the CEO"
    assert (root / letter.file.storage_key).resolve().read_bytes() == data
    submitted = events("checklist.submitted")
    assert submitted[-1].details["file_sha256"] == letter.file.sha256


def test_the_lead_answers_anything_members_their_roles_items(
    org, lead, coordinator, specialist, it_person, make_user, trainer, root
):
    checklist = services.checklist()
    for item in checklist.items:
        assert services.can_answer(lead, org, item)
    assert services.can_answer(coordinator, org, checklist.get("spoke-recruitment"))
    assert services.can_answer(specialist, org, checklist.get("network-design"))
    assert services.can_answer(it_person, org, checklist.get("videoconferencing"))
    for who, key in (
        (coordinator, "videoconferencing"),
        (coordinator, "sponsor-letter"),
        (specialist, "spoke-recruitment"),
        (it_person, "evaluation-plan"),
        (trainer, "spoke-recruitment"),
        (make_user(), "spoke-recruitment"),
    ):
        assert not services.can_answer(who, org, checklist.get(key))
        before = readiness_snapshot(root)
        with pytest.raises(ServiceError, match="Only the hub lead or a team member with the"):
            answer(org, who, key, based_on=None)
        db.session.rollback()
        assert readiness_snapshot(root) == before


def test_the_refusal_names_the_responsible_role(org, coordinator):
    with pytest.raises(ServiceError, match="with the IT support role can answer this item"):
        answer(org, coordinator, "videoconferencing", based_on=None)


def test_unknown_items_are_not_found(org, lead):
    with pytest.raises(LookupError):
        answer(org, lead, "no-such-item", services.AnswerInput(text="x"), based_on=None)


@pytest.mark.parametrize("stage", ["draft", "submitted", "withdrawn", "readiness_review"])
def test_answers_only_while_in_training(make_organisation, lead, coordinator, root, stage):
    org = make_organisation(stage=stage, lead=lead, members={"coordinator": coordinator})
    for who in (lead, coordinator):
        with pytest.raises(ServiceError, match="only while the organisation is in training"):
            answer(org, who, "spoke-recruitment", based_on=None)
        db.session.rollback()
    assert db.session.scalars(select(ChecklistAnswer)).all() == []
    assert stored_files(root) == []


def test_resubmission_makes_a_new_version_and_keeps_the_old(org, coordinator, lead, trainer):
    v1 = answer(org, coordinator, "spoke-recruitment", services.AnswerInput(text="First plan"))
    v2 = answer(org, coordinator, "spoke-recruitment", services.AnswerInput(text="Second plan"))
    services.review_answer(
        org,
        by=trainer,
        item_key="spoke-recruitment",
        answer_id=v2.id,
        decision="changes",
        comment="Say how many spokes.",
    )
    db.session.commit()
    v3 = answer(org, lead, "spoke-recruitment", services.AnswerInput(text="Third plan: 18"))

    answers, comments = services.item_history(org, "spoke-recruitment")
    assert [(a.version, a.status, a.text_value) for a in answers] == [
        (3, "submitted", "Third plan: 18"),
        (2, "changes_requested", "Second plan"),
        (1, "superseded", "First plan"),
    ]
    assert services.current_answers(org)["spoke-recruitment"].id == v3.id
    assert [(c.kind, c.body, c.answer_id) for c in comments] == [
        ("changes", "Say how many spokes.", v2.id)
    ]
    assert v1.id < v2.id < v3.id


def test_a_double_submitted_answer_is_refused_as_stale(org, lead, root):
    answer(org, lead, "sponsor-letter", based_on=None)
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError, match="changed since you opened the page"):
        answer(org, lead, "sponsor-letter", based_on=None)
    db.session.rollback()
    assert readiness_snapshot(root) == before
    assert len(stored_files(root)) == 1


def test_a_trainer_accepts_and_the_responsible_member_is_emailed(
    org, lead, coordinator, specialist, trainer
):
    a = answer(org, lead, "spoke-recruitment")
    tell_at_once(lead, coordinator, specialist)
    clear_outbox()
    services.review_answer(
        org, by=trainer, item_key="spoke-recruitment", answer_id=a.id, decision="accept", comment=""
    )
    db.session.commit()
    db.session.expire_all()
    a = db.session.get(ChecklistAnswer, a.id)
    assert (a.status, a.reviewed_by_id) == ("accepted", trainer.id)
    [event] = events("checklist.accepted")
    assert event.actor_id == trainer.id
    assert event.details["item"] == "spoke-recruitment" and event.details["version"] == 1
    [to_coordinator] = outbox_to(coordinator.email)  # holds the responsible role
    assert "Spoke recruitment plan: accepted" in to_coordinator.subject
    assert f"/organisations/{org.id}/checklist/spoke-recruitment" in to_coordinator.body
    assert len(outbox_to(lead.email)) == 1  # submitted it
    assert outbox_to(specialist.email) == []


def test_requesting_changes_needs_a_comment(org, coordinator, trainer, root):
    a = answer(org, coordinator, "spoke-recruitment")
    tell_at_once(coordinator)
    clear_outbox()
    before = readiness_snapshot(root)
    for comment in ("", "   "):
        with pytest.raises(ServiceError, match="Say what needs to change.") as refused:
            services.review_answer(
                org,
                by=trainer,
                item_key="spoke-recruitment",
                answer_id=a.id,
                decision="changes",
                comment=comment,
            )
        assert refused.value.field == "comment"
        db.session.rollback()
    with pytest.raises(ServiceError, match="Choose accept or request changes"):
        services.review_answer(
            org, by=trainer, item_key="spoke-recruitment", answer_id=a.id, decision="x", comment=""
        )
    db.session.rollback()
    assert readiness_snapshot(root) == before
    assert outbox_to(coordinator.email) == []

    services.review_answer(
        org,
        by=trainer,
        item_key="spoke-recruitment",
        answer_id=a.id,
        decision="changes",
        comment="Name the areas you will recruit from.",
    )
    db.session.commit()
    [event] = events("checklist.changes_requested")
    assert event.details["reason"] == "Name the areas you will recruit from."
    [message] = outbox_to(coordinator.email)
    assert "changes requested" in message.subject
    assert "Name the areas you will recruit from." in message.body


def test_a_review_of_an_answer_changed_since_it_was_opened_is_refused(
    org, coordinator, trainer, root
):
    seen = answer(org, coordinator, "spoke-recruitment", services.AnswerInput(text="v1"))
    newer = answer(org, coordinator, "spoke-recruitment", services.AnswerInput(text="v2"))
    clear_outbox()
    before = readiness_snapshot(root)
    for decision, comment in (("accept", ""), ("changes", "Needs more.")):
        with pytest.raises(ServiceError, match="changed since you opened"):
            services.review_answer(
                org,
                by=trainer,
                item_key="spoke-recruitment",
                answer_id=seen.id,
                decision=decision,
                comment=comment,
            )
        db.session.rollback()
    assert readiness_snapshot(root) == before
    assert db.session.get(ChecklistAnswer, newer.id).status == "submitted"
    assert db.session.scalars(select(ChecklistComment)).all() == []
    assert outbox_to(coordinator.email) == []


def test_an_answer_is_reviewed_once_and_only_by_trainers(org, coordinator, trainer, lead):
    a = answer(org, coordinator, "spoke-recruitment")
    with pytest.raises(ServiceError, match="Only superhub trainers"):
        services.review_answer(
            org,
            by=lead,
            item_key="spoke-recruitment",
            answer_id=a.id,
            decision="accept",
            comment="",
        )
    services.review_answer(
        org, by=trainer, item_key="spoke-recruitment", answer_id=a.id, decision="accept", comment=""
    )
    db.session.commit()
    with pytest.raises(ServiceError, match="changed since you opened"):
        services.review_answer(
            org,
            by=trainer,
            item_key="spoke-recruitment",
            answer_id=a.id,
            decision="changes",
            comment="Hmm.",
        )
    db.session.rollback()
    assert db.session.get(ChecklistAnswer, a.id).status == "accepted"


def test_an_answer_id_from_another_item_is_stale(org, lead, trainer):
    letter = answer(org, lead, "sponsor-letter")
    answer(org, lead, "spoke-recruitment")
    with pytest.raises(ServiceError, match="changed since you opened"):
        services.review_answer(
            org,
            by=trainer,
            item_key="spoke-recruitment",
            answer_id=letter.id,
            decision="accept",
            comment="",
        )


def test_comment_threads(org, lead, coordinator, trainer, make_user):
    services.add_comment(org, by=coordinator, item_key="dry-run", body="  Is a partial run OK? ")
    services.add_comment(org, by=trainer, item_key="dry-run", body="Yes, with the full team.")
    db.session.commit()
    for body in ("", "   \n"):
        with pytest.raises(ServiceError, match="Write a comment.") as refused:
            services.add_comment(org, by=lead, item_key="dry-run", body=body)
        assert refused.value.field == "body"
    with pytest.raises(ServiceError, match="at most 5,000 characters"):
        services.add_comment(org, by=lead, item_key="dry-run", body="x" * 5001)
    with pytest.raises(LookupError):
        services.add_comment(org, by=lead, item_key="nope", body="Hello")
    db.session.rollback()
    _answers, comments = services.item_history(org, "dry-run")
    assert [(c.author_id, c.kind, c.body) for c in comments] == [
        (coordinator.id, "comment", "Is a partial run OK?"),
        (trainer.id, "comment", "Yes, with the full team."),
    ]
    assert services.item_history(org, "first-session") == ([], [])


def test_no_comments_on_a_closed_organisation(make_organisation, lead):
    org = make_organisation(stage="withdrawn", lead=lead)
    with pytest.raises(ServiceError, match="closed"):
        services.add_comment(org, by=lead, item_key="dry-run", body="Hello")


# --- the review queue --------------------------------------------------------------------------


def test_the_review_queue_lists_waiting_evidence_across_organisations_oldest_first(
    org, make_organisation, lead, coordinator, trainer, make_user
):
    other_lead = make_user()
    other = make_organisation(stage="in_training", lead=other_lead, trainer=trainer, name="Ash")
    reviewing_lead = make_user()
    elsewhere = make_organisation(
        stage="in_training", lead=reviewing_lead, trainer=trainer, name="Birch"
    )

    old_agreement = agreement(other, other_lead, "collaboration")
    newest_answer = answer(org, coordinator, "spoke-recruitment")
    oldest_answer = answer(other, other_lead, "dry-run")
    decided = answer(org, lead, "sponsor-letter")
    services.review_answer(
        org,
        by=trainer,
        item_key="sponsor-letter",
        answer_id=decided.id,
        decision="accept",
        comment="",
    )
    replaced = agreement(org, lead, "ip_terms")
    current_agreement = agreement(org, lead, "ip_terms", based_on=replaced.id)
    hidden = answer(elsewhere, reviewing_lead, "dry-run")
    db.session.commit()
    now = utcnow()
    stamps = {
        (ChecklistAnswer, oldest_answer.id): now - timedelta(days=9),
        (Agreement, old_agreement.id): now - timedelta(days=5),
        (Agreement, current_agreement.id): now - timedelta(days=2),
        (ChecklistAnswer, newest_answer.id): now - timedelta(hours=1),
    }
    for (model, pk), when in stamps.items():
        db.session.get(model, pk).submitted_at = when
    elsewhere.stage = "readiness_review"  # only organisations in training are worked on
    db.session.commit()
    db.session.expire_all()

    queue = services.review_queue()
    assert [(e.org.name, e.kind, e.title) for e in queue] == [
        ("Ash", "item", "Dry run completed"),
        ("Ash", "agreement", "Statement of Collaboration"),
        ("Heron Vale Hospice", "agreement", "IP Terms of Use Agreement"),
        ("Heron Vale Hospice", "item", "Spoke recruitment plan"),
    ]
    assert queue[0].answer.id == oldest_answer.id and queue[0].item.key == "dry-run"
    assert queue[2].agreement.id == current_agreement.id
    assert hidden.id not in {e.answer.id for e in queue if e.answer}


def test_an_empty_queue(app):
    assert services.review_queue() == []


# --- the requirements engine -----------------------------------------------------------------


def test_a_fresh_organisation_meets_nothing(make_organisation, lead):
    org = make_organisation(stage="in_training", lead=lead)
    result = services.requirements(org)
    assert [r.key for r in result] == ["agreements", "team", "training", "immersion", "checklist"]
    assert not any(r.met for r in result)
    by_key = {r.key: r for r in result}

    agreements = by_key["agreements"]
    assert agreements.details == [
        "IP Terms of Use Agreement: not uploaded",
        "Statement of Collaboration: not uploaded",
    ]
    assert (agreements.done, agreements.total, agreements.summary) == (0, 2, "0 of 2 verified.")

    team = by_key["team"]
    assert team.details == [
        "No coordinator on the team",
        "No facilitator on the team",
        "No specialist on the team",
    ]
    assert team.summary == "Roles still needed: Coordinator, Facilitator, Specialist."
    assert (team.done, team.total) == (1, 4)

    training = by_key["training"]
    assert training.details == ["Lena Lead: Basics of the model; Facilitation for tests"]
    assert (training.done, training.total) == (0, 2)

    immersion = by_key["immersion"]
    assert immersion.summary == "No Immersion attendance recorded yet."
    assert not immersion.met

    checklist = by_key["checklist"]
    assert checklist.details == [
        f"{services.checklist().get(k).title}: not answered" for k in REQUIRED_ITEMS
    ]
    assert (checklist.done, checklist.total) == (0, 9)
    assert "Launch communications" not in " ".join(checklist.details)


def test_agreements_requirement_details(org, lead, trainer):
    ip = agreement(org, lead, "ip_terms")
    r = requirement(org, "agreements")
    assert r.details == [
        "IP Terms of Use Agreement: waiting for a trainer to verify it",
        "Statement of Collaboration: not uploaded",
    ]
    collab = agreement(org, lead, "collaboration")
    services.review_agreement(org, by=trainer, agreement_id=ip.id, decision="accept")
    services.review_agreement(
        org, by=trainer, agreement_id=collab.id, decision="reject", reason="Unsigned on page 2."
    )
    db.session.commit()
    r = requirement(org, "agreements")
    assert not r.met
    assert r.details == ["Statement of Collaboration: rejected — Unsigned on page 2."]
    assert (r.done, r.total, r.summary) == (1, 2, "1 of 2 verified.")

    again = agreement(org, lead, "collaboration", based_on=collab.id)
    assert requirement(org, "agreements").details == [
        "Statement of Collaboration: waiting for a trainer to verify it"
    ]
    services.review_agreement(org, by=trainer, agreement_id=again.id, decision="accept")
    db.session.commit()
    r = requirement(org, "agreements")
    assert r.met and r.details == [] and (r.done, r.total) == (2, 2)
    assert r.summary == "Both agreements are verified."


def test_team_requirement_is_met_by_a_full_team(org):
    r = requirement(org, "team")
    assert r.met and r.details == [] and (r.done, r.total) == (4, 4)


def test_training_requirement_lists_members_lacking_modules(
    org, lead, coordinator, specialist, it_person
):
    r = requirement(org, "training")
    assert not r.met
    assert r.details == [
        "Lena Lead: Basics of the model; Facilitation for tests",
        "Cora Coordinator: Basics of the model",
        "Sam Specialist: Basics of the model; Facilitation for tests",
        "Ifan IT: Basics of the model",
    ]
    assert (r.done, r.total) == (0, 6)

    complete_training(lead)
    complete_training(coordinator)
    r = requirement(org, "training")
    assert r.details == [
        "Sam Specialist: Basics of the model; Facilitation for tests",
        "Ifan IT: Basics of the model",
    ]
    assert (r.done, r.total, r.summary) == (3, 6, "3 of 6 required module completions done.")

    complete_training(specialist)
    complete_training(it_person)
    r = requirement(org, "training")
    assert r.met and r.details == [] and (r.done, r.total) == (6, 6)


def test_immersion_is_not_met_without_recorded_attendance(org, lead, trainer, coordinator):
    for user in (lead, coordinator):
        complete_training(user)
    verify_agreements(org, lead, trainer)
    r = requirement(org, "immersion")
    assert not r.met
    assert r.summary == "No Immersion attendance recorded yet."


def test_checklist_requirement_details(org, lead, coordinator, trainer):
    title = {i.key: i.title for i in services.checklist().items}
    accepted = answer(org, lead, "sponsor-letter")
    changes = answer(org, coordinator, "spoke-recruitment")
    answer(org, lead, "dry-run")
    services.review_answer(
        org,
        by=trainer,
        item_key="sponsor-letter",
        answer_id=accepted.id,
        decision="accept",
        comment="",
    )
    services.review_answer(
        org,
        by=trainer,
        item_key="spoke-recruitment",
        answer_id=changes.id,
        decision="changes",
        comment="More detail.",
    )
    db.session.commit()
    r = requirement(org, "checklist")
    assert not r.met
    details = dict(d.split(": ", 1) for d in r.details)
    assert title["sponsor-letter"] not in details
    assert details[title["spoke-recruitment"]] == "changes requested"
    assert details[title["dry-run"]] == "waiting for review"
    assert details[title["first-session"]] == "not answered"
    assert len(r.details) == 8
    assert (r.done, r.total, r.summary) == (1, 9, "1 of 9 required items accepted.")

    # an accepted item answered again waits for review again
    answer(org, lead, "sponsor-letter")
    assert "Executive sponsor letter: waiting for review" in requirement(org, "checklist").details


def test_optional_items_do_not_count(org, lead, trainer):
    accept_checklist(org, lead, trainer, required_only=True)
    r = requirement(org, "checklist")
    assert r.met and r.details == [] and (r.done, r.total) == (9, 9)
    assert r.summary == "Every required item is accepted."
    assert "communications" not in services.current_answers(org)

    optional = answer(org, lead, "communications")
    services.review_answer(
        org,
        by=trainer,
        item_key="communications",
        answer_id=optional.id,
        decision="changes",
        comment="Say more.",
    )
    db.session.commit()
    assert requirement(org, "checklist").met


# --- submitting for readiness review ------------------------------------------------------------


def make_ready(org, lead, trainer, members):
    verify_agreements(org, lead, trainer)
    for user in (lead, *members):
        complete_training(user)
    accept_checklist(org, lead, trainer)


def test_submitting_too_early_lists_what_is_missing(org, lead, root):
    before = readiness_snapshot(root)
    with pytest.raises(ServiceError) as refused:
        services.submit_for_review(org, by=lead)
    db.session.rollback()
    message = refused.value.message
    assert message.startswith("Not yet: ")
    for expected in (
        "Partnership agreements verified (0 of 2 verified)",
        "Required training modules completed (0 of 6 required module completions done)",
        "Immersion attendance (No Immersion attendance recorded yet)",
        "Readiness checklist accepted (0 of 9 required items accepted)",
    ):
        assert expected in message
    assert "Team composition" not in message  # met
    assert readiness_snapshot(root) == before
    assert reload_org(org.id).stage == "in_training"


def test_everything_but_immersion_is_still_refused(
    org, lead, trainer, coordinator, specialist, it_person
):
    make_ready(org, lead, trainer, (coordinator, specialist, it_person))
    unmet = [r.key for r in services.requirements(org) if not r.met]
    assert unmet == ["immersion"]
    clear_outbox()
    with pytest.raises(ServiceError) as refused:
        services.submit_for_review(org, by=lead)
    db.session.rollback()
    assert refused.value.message == (
        "Not yet: Immersion attendance (No Immersion attendance recorded yet)."
    )
    assert reload_org(org.id).stage == "in_training"
    assert outbox_to(trainer.email) == []


def test_when_everything_is_met_the_lead_submits_and_trainers_are_told(
    org, lead, trainer, coordinator, specialist, it_person, make_user
):
    make_ready(org, lead, trainer, (coordinator, specialist, it_person))
    attend_immersion(org, lead, trainer, (lead, coordinator, specialist, it_person))
    second_trainer = make_user(roles=("trainer",))
    retired = make_user(roles=("trainer",), active=False)
    assert all(r.met for r in services.requirements(org))

    with pytest.raises(ServiceError, match="Only the organisation's hub lead"):
        services.submit_for_review(org, by=coordinator)
    with pytest.raises(ServiceError, match="Only the organisation's hub lead"):
        services.submit_for_review(org, by=trainer)
    db.session.rollback()

    clear_outbox()
    services.submit_for_review(org, by=lead)
    db.session.commit()
    assert reload_org(org.id).stage == "readiness_review"
    change = stage_changes(org.id)[-1]
    assert (change.from_stage, change.to_stage, change.actor_id) == (
        "in_training",
        "readiness_review",
        lead.id,
    )
    [event] = events("organisation.submit_for_review")
    assert event.actor_id == lead.id and event.organisation_id == org.id
    for who in (trainer, second_trainer):
        [message] = outbox_to(who.email)
        assert "Ready for assessment: Heron Vale Hospice" in message.subject
        assert f"/organisations/{org.id}/readiness" in message.body
    assert outbox_to(retired.email) == []

    # it cannot be submitted twice, and the evidence is now frozen
    with pytest.raises(ServiceError, match="Readiness review"):
        services.submit_for_review(reload_org(org.id), by=lead)
    db.session.rollback()
    with pytest.raises(ServiceError, match="only while the organisation is in training"):
        answer(reload_org(org.id), lead, "communications")


def test_answer_input_helper_covers_every_kind(app):
    kinds = {item.kind for item in services.checklist().items}
    for item in services.checklist().items:
        assert isinstance(answer_input(item), services.AnswerInput)
    assert kinds == {"file", "text", "date", "attestation"}
