"""An exact record: the organisation's history and the approval dossier say what happened in
plain words (people by name, no addresses, no internal keys), Immersion attendance is on the
organisation's record, and module completion at approval is kept with the certificate."""

from __future__ import annotations

import re

import pytest

from app.audit import dossier as dossier_module
from app.core import audit
from app.extensions import db
from app.organisations import services as org_services
from app.readiness import services as readiness
from tests.factories.certificates import approve, write
from tests.factories.immersion import attend_immersion
from tests.factories.organisations import join_team
from tests.factories.readiness import agreement, verify_agreements

REASON = "The signature page is missing."


@pytest.fixture
def app_config(tmp_path):
    return {"STORAGE_DIR": str(tmp_path / "storage")}


@pytest.fixture
def world(app, make_user, make_organisation):
    lead = make_user(name="Lead Person", email="lead.person@example.org")
    trainer = make_user(roles=("trainer",), name="Tess Trainer", email="tess@example.org")
    coordinator = make_user(name="Cora Coordinator", email="cora@example.org")
    org = make_organisation(stage="in_training", lead=lead, name="Osprey Point Hospice")
    with app.test_request_context():
        join_team(org, lead, coordinator, ["coordinator"])
        db.session.commit()
        first = agreement(org, lead, kind="collaboration", filename="soc-first.pdf")
        readiness.review_agreement(
            org, by=trainer, agreement_id=first.id, decision="reject", reason=REASON
        )
        db.session.commit()
        agreement(org, lead, kind="collaboration", based_on=first.id, filename="soc-second.pdf")
    return org, lead, trainer, coordinator


def history_text(org) -> list[str]:
    return [audit.describe(e) for e in org_services.history(org)]


def assert_plain(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert "@" not in text, text
    assert not re.search(r"item_key=|_id\b|\{\"|\b[a-z]+_[a-z]+\b=", text), text


def test_the_history_tells_the_rejection_and_the_replacement_by_name(app, world):
    org, lead, trainer, coordinator = world
    lines = history_text(org)
    assert f"Statement of Collaboration rejected by Tess Trainer ({REASON})" in lines
    replaced = [line for line in lines if line.startswith("Statement of Collaboration replaced")]
    assert replaced and replaced[0].startswith("Statement of Collaboration replaced by Lead Person")
    # Team events name the person, not their address.
    assert any("Cora Coordinator" in line for line in lines)
    assert_plain(lines)


def test_immersion_attendance_is_on_the_organisations_record(app, world, make_user):
    org, lead, trainer, coordinator = world
    with app.test_request_context():
        verify_agreements(org, lead, trainer)
    attend_immersion(org, lead, make_user(roles=("trainer",), name="Ivo Trainer"), [coordinator])
    lines = history_text(org)
    recorded = [line for line in lines if "recorded Immersion attendance" in line]
    assert len(recorded) == 2  # two sessions, one attendee
    assert all(
        line.startswith("Ivo Trainer recorded Immersion attendance (Cora Coordinator at “")
        for line in recorded
    )
    assert any("booked places in an Immersion cohort" in line for line in lines)
    assert_plain(lines)


def _approved(app, org, lead, trainer, make_user):
    """The world's organisation, its agreements verified, approved by two trainers."""
    author = make_user(roles=("trainer",), name="Ada Assessor")
    approver = make_user(roles=("trainer",), name="Ben Approver")
    with app.test_request_context():
        verify_agreements(org, lead, trainer)
        org.stage = "readiness_review"
        db.session.commit()
        return approve(write(org, author), approver)


def test_the_dossier_keeps_completion_at_approval_beside_now(app, world, make_user):
    org, lead, trainer, coordinator = world
    cert = _approved(app, org, lead, trainer, make_user)
    snapshot = cert.details["training"]
    assert {row["name"] for row in snapshot} == {"Lead Person", "Cora Coordinator"}
    assert all(row["completed"] == 0 and row["required"] > 0 for row in snapshot)

    with app.test_request_context():
        built = dossier_module.build(cert)
        rows = {row["name"]: row for row in built.completion}
        assert rows["Cora Coordinator"]["then"].startswith("0 of ")
        assert rows["Cora Coordinator"]["now"].startswith("0 of ")
        # The replaced copy knows what replaced it.
        history = readiness.agreement_history(org)
        rejected = next(a for a in history if a.file.original_name == "soc-first.pdf")
        assert built.replaced_by[rejected.id].file.original_name == "soc-second.pdf"
        text = [audit.describe(e) for e in built.history]
        assert f"Statement of Collaboration rejected by Tess Trainer ({REASON})" in text
        assert_plain(text)


def test_the_dossier_page_names_people_and_shows_no_addresses(app, world, make_user, client, auth):
    org, lead, trainer, coordinator = world
    cert = _approved(app, org, lead, trainer, make_user)
    admin = make_user(roles=("admin",))
    assert auth.login(admin.email).status_code == 302
    page = client.get(f"/audit/certificates/{cert.id}").get_data(as_text=True)
    main = page[page.index("<main") :]
    for address in (lead.email, trainer.email, coordinator.email):
        assert address not in main
    assert "Rejected by Tess Trainer" in main and "then replaced by Lead Person" in main
    assert "At approval" in main and "What happened, in order" in main
