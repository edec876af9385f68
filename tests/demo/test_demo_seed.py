"""`flask demo seed`: organisations in every stage so far, built by the real services, once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEvent, verify_chain
from app.core.mail import outbox
from app.demo.services import DEMO_DOMAIN, DEMO_ORGANISATIONS, DEMO_PASSWORD
from app.extensions import db
from app.organisations import services as org_services
from app.organisations.models import Invitation, Membership, Organisation, StageChange
from app.readiness import services as readiness
from app.readiness.models import Agreement, ChecklistAnswer, ChecklistComment, EvidenceFile
from tests.helpers import login

EXPECTED_STAGES = {
    "Willow Hospice": "draft",
    "St Aidan's Hospice Care": "submitted",
    "Glen Affric Hospice": "in_training",
    "Mourne Coast Hospice": "in_training",
    "Cwm Taf Palliative Care Network": "draft",
    "Lough Erne Care Homes": "submitted",
    "Riverside Care Homes Group": "rejected",
    "Harbourside Hospice": "withdrawn",
}


def _counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (
            User,
            Organisation,
            Membership,
            Invitation,
            StageChange,
            AuditEvent,
            Agreement,
            ChecklistAnswer,
            ChecklistComment,
            EvidenceFile,
        )
    }


def _org(name: str) -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def _roles(org: Organisation) -> dict[str, set[str]]:
    return {m.user.email: m.roles for m in org.memberships}


@pytest.mark.any_hour
def test_demo_seed_creates_every_stage_once(frozen_clock, app, runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    after_first = _counts()

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert "created " not in second.output
    assert _counts() == after_first

    orgs = [o for o in db.session.scalars(select(Organisation)) if o.name in EXPECTED_STAGES]
    assert {o.name: o.stage for o in orgs} == EXPECTED_STAGES
    assert {d.details.name for d in DEMO_ORGANISATIONS} == set(EXPECTED_STAGES)
    for name in EXPECTED_STAGES:
        assert f"created organisation {name} (" in first.output
    # Every implemented stage, and every UK nation.
    assert {o.stage for o in orgs} == {"draft", "submitted", "in_training", "rejected", "withdrawn"}
    assert {"england", "scotland", "wales", "northern_ireland"} <= {o.nation for o in orgs}
    # Each has exactly one hub lead, and a team beyond them.
    for org in orgs:
        leads = [email for email, roles in _roles(org).items() if "hub_lead" in roles]
        assert len(leads) == 1, org.name
        assert len(org.memberships) >= 2, org.name

    willow = _org("Willow Hospice")
    assert _roles(willow) == {
        f"lead@{DEMO_DOMAIN}": {"hub_lead"},
        f"trainee@{DEMO_DOMAIN}": {"coordinator"},
    }
    pending = [i for i in willow.invitations if i.is_open]
    assert len(pending) == 1
    assert db.session.scalar(select(User).where(User.email == pending[0].email)) is None
    assert any(pending[0].email in m.to for m in outbox())
    assert org_services.missing_fields(willow.application)  # a draft half done
    assert willow.application.network_name

    glen = _org("Glen Affric Hospice")
    assert org_services.team_composition(glen).complete
    assert glen.nation == "scotland"

    cwm_taf = _org("Cwm Taf Palliative Care Network")
    assert cwm_taf.nation == "wales"
    assert cwm_taf.changes_requested
    assert cwm_taf.application.submission_count == 1

    lough_erne = _org("Lough Erne Care Homes")
    assert lough_erne.nation == "northern_ireland"
    assert lough_erne.application.submission_count == 2  # changes requested, then resubmitted
    assert not lough_erne.changes_requested

    for name in ("St Aidan's Hospice Care", "Lough Erne Care Homes", "Glen Affric Hospice"):
        assert org_services.missing_fields(_org(name).application) == [], name
    assert _org("Riverside Care Homes Group").closed_reason
    assert _org("Harbourside Hospice").closed_reason

    # Each move is on the organisation's history, with the trainer who decided.
    decisions = {
        e.action: e.actor_label
        for e in org_services.history(glen)
        if e.action.startswith("organisation.")
    }
    assert decisions["organisation.accept"] == f"trainer2@{DEMO_DOMAIN}"
    assert decisions["organisation.submit"] == glen.memberships[0].user.email
    assert verify_chain().intact

    # A demo hub lead logs in with the published password and opens their organisation.
    client = app.test_client()
    assert login(client, f"lead@{DEMO_DOMAIN}", DEMO_PASSWORD).status_code == 302
    assert client.get(f"/organisations/{willow.id}").status_code == 200
    assert client.get(f"/organisations/{glen.id}").status_code == 404


def _statuses(org: Organisation) -> dict[str, str]:
    return {key: answer.status for key, answer in readiness.current_answers(org).items()}


def test_demo_seed_puts_organisations_at_points_of_the_readiness_checklist(app, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "recorded readiness evidence for Glen Affric Hospice" in result.output
    assert "recorded readiness evidence for Mourne Coast Hospice" in result.output

    # Glen Affric: both agreements verified (the IP terms after a rejected first upload),
    # most items accepted, one with changes requested, one waiting, the optional one untouched.
    glen = _org("Glen Affric Hospice")
    agreements = readiness.current_agreements(glen)
    assert {kind: a.status for kind, a in agreements.items()} == {
        "ip_terms": "accepted",
        "collaboration": "accepted",
    }
    history = [(a.kind, a.status) for a in readiness.agreement_history(glen)]
    assert history.count(("ip_terms", "superseded")) == 1
    statuses = _statuses(glen)
    assert statuses.pop("case-form") == "changes_requested"
    assert statuses.pop("first-session") == "submitted"
    assert "communications" not in statuses
    assert set(statuses.values()) == {"accepted"}
    assert len(statuses) == 7
    met = {r.key: r.met for r in readiness.requirements(glen)}
    assert met["agreements"] and met["team"] and not met["checklist"]
    _answers, comments = readiness.item_history(glen, "case-form")
    assert [c.kind for c in comments] == ["changes"] and "de-identification" in comments[0].body
    evaluation, _comments = readiness.item_history(glen, "evaluation-plan")
    assert [(a.version, a.status) for a in evaluation] == [
        (2, "accepted"),
        (1, "changes_requested"),
    ]

    # Mourne Coast: one agreement verified, one rejected with a reason, a few items waiting.
    mourne = _org("Mourne Coast Hospice")
    assert mourne.nation == "northern_ireland"
    assert org_services.team_composition(mourne).complete
    agreements = readiness.current_agreements(mourne)
    assert agreements["ip_terms"].status == "accepted"
    assert agreements["collaboration"].status == "rejected"
    assert "chief executive" in agreements["collaboration"].review_reason
    assert set(_statuses(mourne).values()) == {"submitted"}
    assert len(_statuses(mourne)) == 3
    queued = {(e.org.name, e.title) for e in readiness.review_queue()}
    assert ("Glen Affric Hospice", "First session scheduled") in queued
    assert ("Mourne Coast Hospice", "Executive sponsor letter") in queued

    # The evidence is real: PDFs and PNGs on disk, matching their recorded size and hash.
    files = db.session.scalars(select(EvidenceFile)).all()
    kinds = {f.content_type for f in files}
    assert kinds == {"application/pdf", "image/png"}
    root = Path(app.config["STORAGE_DIR"])
    for evidence in files:
        data = (root / evidence.storage_key).read_bytes()
        assert len(data) == evidence.size
        assert hashlib.sha256(data).hexdigest() == evidence.sha256
        magic = b"%PDF-" if evidence.content_type == "application/pdf" else b"\x89PNG\r\n\x1a\n"
        assert data.startswith(magic), evidence.original_name
    assert verify_chain().intact

    # The hub lead downloads an evidence file as an attachment.
    client = app.test_client()
    lead = glen.memberships[0].user.email
    assert login(client, lead, DEMO_PASSWORD).status_code == 302
    letter = readiness.current_agreements(glen)["collaboration"].file
    response = client.get(f"/evidence/{letter.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data.startswith(b"%PDF-") and len(response.data) == letter.size


def test_demo_seed_skips_an_organisation_that_already_exists(app, runner, make_user):
    owner = make_user()
    existing = org_services.create_organisation(
        owner,
        org_services.OrganisationDetails(
            name="Harbourside Hospice", org_type="charity", nation="england"
        ),
    )
    db.session.commit()

    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "created organisation Harbourside Hospice" not in result.output

    db.session.expire_all()
    harbourside = db.session.scalars(
        select(Organisation).where(Organisation.name == "Harbourside Hospice")
    ).all()
    assert [o.id for o in harbourside] == [existing.id]
    assert harbourside[0].stage == "draft"
    from app.demo.certificates import hub_names

    assert db.session.scalar(select(func.count()).select_from(Organisation)) == len(
        EXPECTED_STAGES
    ) + len(hub_names())


def test_every_demo_page_opens_for_a_trainer(app, runner):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    client = app.test_client()
    assert login(client, f"trainer@{DEMO_DOMAIN}", DEMO_PASSWORD).status_code == 302
    queue = client.get("/organisations/queue")
    assert queue.status_code == 200
    text = queue.get_data(as_text=True)
    assert "St Aidan" in text and "Lough Erne Care Homes" in text and "resubmitted" in text
    assert client.get("/organisations").status_code == 200
    for org in db.session.scalars(select(Organisation)):
        for page in ("", "/application", "/team", "/readiness", "/history", "/screening"):
            response = client.get(f"/organisations/{org.id}{page}")
            assert response.status_code == 200, (org.name, page)
    glen = _org("Glen Affric Hospice")
    for item in readiness.checklist().items:
        response = client.get(f"/organisations/{glen.id}/checklist/{item.key}")
        assert response.status_code == 200, item.key
    queue = client.get("/readiness/queue").get_data(as_text=True)
    assert "Mourne Coast Hospice" in queue and "First session scheduled" in queue
    for evidence in db.session.scalars(select(EvidenceFile)):
        assert client.get(f"/evidence/{evidence.id}").status_code == 200, evidence.original_name
