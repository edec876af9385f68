"""Demo hubs: certificates launched, approved, revoked, superseded and expired, all genuine."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.certificates import services
from app.certificates.models import Certificate
from app.core.audit import verify_chain
from app.demo.services import DEMO_DOMAIN, DEMO_PASSWORD
from app.extensions import db
from app.organisations.models import Organisation
from tests.factories.certificates import pdf_bytes_of
from tests.helpers import login


@pytest.mark.any_hour
def test_demo_seed_issues_certificates_in_every_state_once(frozen_clock, app, runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    certificates = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert len(db.session.scalars(select(Certificate)).all()) == len(certificates)

    states = {(c.organisation_name, c.kind): services.status_of(c) for c in certificates}
    assert states[("Severn Vale Hospice", "hub")] == "valid"
    assert states[("Severn Vale Hospice", "trainee")] == "valid"
    assert states[("Fenland Palliative Care Network", "hub")] == "revoked"
    assert states[("Ashgrove Hospice", "hub")] == "expired"
    assert states[("Harbour Lights Hospice", "hub")] == "superseded"
    assert states[("Harbour Lights Hospice & Community Care", "hub")] == "valid"
    # The signing key was rotated before the re-issue: both keys are listed, both verify.
    by_name = {(c.organisation_name, c.kind): c for c in certificates}
    old = by_name[("Harbour Lights Hospice", "hub")]
    new = by_name[("Harbour Lights Hospice & Community Care", "hub")]
    assert old.signing_key_id != new.signing_key_id
    assert services.check_pdf(pdf_bytes_of(old)).result == "superseded"
    assert services.check_pdf(pdf_bytes_of(new)).result == "valid"

    stages = dict(db.session.execute(select(Organisation.name, Organisation.stage)).all())
    assert stages["Severn Vale Hospice"] == "launched"
    assert stages["Harbour Lights Hospice & Community Care"] == "approved"
    assert stages["Peak District Hospice"] == "readiness_review"
    assert stages["Tayside Children's Hospice"] == "readiness_review"
    from app.assessment import services as assessment_services

    (waiting,) = assessment_services.awaiting_decision()
    assert waiting.organisation.name == "Peak District Hospice"
    assert [o.name for o in assessment_services.awaiting_assessment()] == [
        "Tayside Children's Hospice"
    ]
    # The directory is not empty: the demo's listed hubs published listings through the
    # service (approval alone lists nothing).
    from app.public import services as public

    listed = {item.organisation.name for item in public.directory()}
    assert listed == {"Severn Vale Hospice", "Harbour Lights Hospice & Community Care"}
    assert all(item.audience and item.summary and item.contact_email for item in public.directory())
    for cert in certificates:  # every stored file is a real, signed certificate of its own
        result = services.check_pdf(pdf_bytes_of(cert))
        assert result.certificate.id == cert.id, cert.serial
    assert verify_chain().intact
    # Each carries its Open Badges credential, dated as the certificate, revoked with it.
    from app.certificates import credentials
    from tests.factories.credentials import schema_errors, terms_jsonld_drops

    for cert in certificates:
        with app.test_request_context():
            row = credentials.of_certificate(cert)
            check = credentials.check_jwt(row.jwt)
        assert check.result == services.status_of(cert), cert.serial
        assert schema_errors(credentials.decoded(row)) == [], cert.serial
        assert terms_jsonld_drops(credentials.decoded(row)) == [], cert.serial

    # The demo hub lead downloads their hub's current certificate.
    client = app.test_client()
    assert login(client, f"lead@{DEMO_DOMAIN}", DEMO_PASSWORD).status_code == 302
    current = next(c for c in certificates if c.organisation_name.endswith("& Community Care"))
    assert client.get(f"/certificates/{current.id}/download").status_code == 200
