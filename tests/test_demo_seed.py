"""`flask demo seed`: organisations in every stage so far, built by the real services, once."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEvent, verify_chain
from app.core.mail import outbox
from app.demo.services import DEMO_DOMAIN, DEMO_ORGANISATIONS, DEMO_PASSWORD
from app.extensions import db
from app.organisations import services as org_services
from app.organisations.models import Invitation, Membership, Organisation, StageChange
from tests.helpers import login

EXPECTED_STAGES = {
    "Willow Hospice": "draft",
    "St Aidan's Hospice Care": "submitted",
    "Glen Affric Hospice": "in_training",
    "Cwm Taf Palliative Care Network": "draft",
    "Lough Erne Care Homes": "submitted",
    "Riverside Care Homes Group": "rejected",
    "Harbourside Hospice": "withdrawn",
}


def _counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Organisation, Membership, Invitation, StageChange, AuditEvent)
    }


def _org(name: str) -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def _roles(org: Organisation) -> dict[str, set[str]]:
    return {m.user.email: m.roles for m in org.memberships}


def test_demo_seed_creates_every_stage_once(app, runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    after_first = _counts()

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert "created " not in second.output
    assert _counts() == after_first

    orgs = db.session.scalars(select(Organisation)).all()
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
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == len(EXPECTED_STAGES)


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
        for page in ("", "/application", "/team", "/history", "/screening"):
            response = client.get(f"/organisations/{org.id}{page}")
            assert response.status_code == 200, (org.name, page)
