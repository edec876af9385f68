"""Certificates: the PDF, its signature, checking a PDF, the lifecycle, trainee certificates."""

from __future__ import annotations

import hashlib
import io

import pytest

from app.certificates import render, services, signing
from app.certificates.models import Certificate
from app.core import clock
from app.core.errors import ServiceError
from app.extensions import db
from tests.factories.certificates import (
    approved_hub,
    flip_byte,
    pdf_bytes_of,
    pdf_text,
    qr_payloads,
    reload,
)
from tests.factories.organisations import clear_outbox, count, outbox_to
from tests.helpers import events


@pytest.fixture
def hub(app, make_user, make_organisation):
    return approved_hub(app, make_user, make_organisation, name="Heron Vale Hospice")


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), name="Ada Admin")


def test_the_pdf_says_who_and_what_and_is_one_a4_landscape_page(hub):
    import io

    from pypdf import PdfReader

    org, cert, _lead, _a, _b = hub
    data = pdf_bytes_of(cert)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert round(float(box.width)) == 842 and round(float(box.height)) == 595
    text = pdf_text(data)
    for expected in ("Heron Vale Hospice", cert.serial, "Ada Assessor", "Ben Approver", cert.code):
        assert expected in text.replace("\n", " ") or expected in text.replace("\n", "")


def test_the_qr_code_decodes_to_the_verification_url(hub):
    _org, cert, *_ = hub
    assert qr_payloads(pdf_bytes_of(cert)) == [services.verify_url(cert.code)]


def test_the_verification_code_has_at_least_128_bits(hub):
    _org, cert, *_ = hub
    assert len(cert.code) >= 22 and services.is_well_formed(cert.code)
    assert services.CODE_BYTES * 8 >= 128


def test_an_issued_pdf_is_signed_and_checks_valid(app, hub):
    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    assert signing.check_signature(data).state == "ok"
    result = services.check_pdf(data)
    assert (result.result, result.certificate.id) == ("valid", cert.id)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: flip_byte(d), id="one-byte-changed"),
        pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
        pytest.param(lambda d: d + b"\n% appended\n", id="bytes-appended"),
    ],
)
def test_a_changed_pdf_is_reported_as_tampered(hub, damage):
    _org, cert, *_ = hub
    assert services.check_pdf(damage(pdf_bytes_of(cert))).result == "tampered"


def test_a_file_that_is_not_a_pdf_is_reported_as_such(hub):
    assert services.check_pdf(b"PK\x03\x04 not a pdf").result == "not_pdf"


def test_an_unsigned_pdf_is_unknown(hub):
    from tests.factories.readiness import pdf_bytes

    assert services.check_pdf(pdf_bytes()).result == "unknown"


def test_a_pdf_signed_by_another_key_is_unknown(app, hub, tmp_path):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    # Another superhub's key and self-signed certificate, the same kind as ours.
    key_path, cert_path = tmp_path / "other-key.pem", tmp_path / "other-cert.pem"
    signing.create_material(key_path, cert_path, superhub="Another superhub")
    signer = signers.SimpleSigner.load(str(key_path), str(cert_path))
    unsigned = render.render_pdf(render.template_for("hub"), _context())
    foreign = signing._outside_event_loop(  # a browser test in this worker runs a loop
        signers.sign_pdf,
        IncrementalPdfFileWriter(io.BytesIO(unsigned), strict=False),
        signers.PdfSignatureMetadata(field_name=signing.FIELD_NAME, md_algorithm="sha256"),
        signer=signer,
    ).getvalue()
    assert services.check_pdf(foreign).result == "unknown"
    assert services.check_pdf(data).result == "valid"


def _context(**overrides) -> dict:
    context = {
        "superhub_name": "Superhub",
        "serial": "HUB-2026-9999",
        "code": "x" * 32,
        "verify_url": "http://localhost/verify/" + "x" * 32,
        "qr_svg": render.qr_svg("http://localhost/verify/" + "x" * 32),
        "issued_on": "1 January 2026",
        "approved_on": "1 January 2026",
        "expires_on": "1 January 2029",
        "organisation_name": "Org",
        "network_name": "Network",
        "theme": "Theme",
        "approvers": ["A", "B"],
        "single_person": False,
        "replaces": "",
        "person_name": "",
        "roles": [],
        "modules": [],
        "attendance_percent": None,
    }
    context.update(overrides)
    return context


@pytest.mark.parametrize(
    "name",
    [
        '<img src="file:///etc/hostname"> & "Quotes" Hospice',
        "Hospice 🌷 of the Dales",
        "مستشفى الرعاية التلطيفية",
        "X" * 200,
    ],
)
def test_names_from_users_are_text_never_markup_and_fetch_nothing(app, name, monkeypatch):
    fetched = []
    original = render.TemplateAssetFetcher.fetch

    def spy(self, url, headers=None):
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(render.TemplateAssetFetcher, "fetch", spy)
    template = render.template_for("hub")
    html = render.render_html(template, _context(organisation_name=name))
    assert '<img src="file:' not in html
    pdf = render.render_pdf(template, _context(organisation_name=name))
    import io

    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert all(url.startswith(("asset://", "data:")) for url in fetched)
    if name.startswith("<img"):
        assert "<img" in pdf_text(pdf)


def test_the_fetcher_refuses_every_url_but_the_templates_own(app):
    fetcher = render.template_for("hub").fetcher()
    for url in ("file:///etc/passwd", "http://example.org/x.png", "asset://../../etc/passwd"):
        with pytest.raises(ValueError, match="blocked"):
            fetcher.fetch(url)


# --- lifecycle ----------------------------------------------------------------------------


def test_revoking_needs_a_reason_and_a_manager(app, hub, admin, make_user):
    org, cert, lead, author, _b = hub
    with app.test_request_context():
        with pytest.raises(ServiceError, match="administrator or a lead trainer"):
            services.revoke(cert, by=author, reason="Closed")
        with pytest.raises(ServiceError, match="reason"):
            services.revoke(cert, by=admin, reason="  ")
        db.session.rollback()
        assert services.status_of(reload(cert.id)) == "valid"
        clear_outbox()
        services.revoke(reload(cert.id), by=admin, reason="The hub closed in March.")
        db.session.commit()
        cert = reload(cert.id)
        assert services.status_of(cert) == "revoked"
        assert cert.revocation_reason == "The hub closed in March."
        (mail,) = outbox_to(lead.email)
        assert "revoked" in mail.subject and "The hub closed in March." in mail.body
        with pytest.raises(ServiceError, match="already revoked"):
            services.revoke(cert, by=admin, reason="again")
    assert count(Certificate) == 1  # a status change, never a deletion
    assert services.check_pdf(pdf_bytes_of(cert)).result == "revoked"


def test_a_lead_trainer_may_revoke(app, hub, make_user):
    _org, cert, *_ = hub
    lead_trainer = make_user(roles=("trainer", "lead_trainer"))
    with app.test_request_context():
        services.revoke(cert, by=lead_trainer, reason="Data breach under investigation")
        db.session.commit()
    assert services.status_of(reload(cert.id)) == "revoked"


def test_a_reissue_supersedes_the_old_certificate_with_todays_name(app, hub, admin):
    org, cert, *_ = hub
    org.name = "Heron Vale Hospice & Community Care"
    db.session.commit()
    with app.test_request_context():
        new = services.reissue(cert, by=admin, reason="Name changed")
        db.session.commit()
        old = reload(cert.id)
        assert services.status_of(old) == "superseded"
        assert old.superseded_by_id == new.id and new.supersedes_id == old.id
        assert new.expires_on == old.expires_on and new.serial != old.serial
        assert "Heron Vale Hospice & Community Care" in pdf_text(pdf_bytes_of(new))
        assert old.serial in pdf_text(pdf_bytes_of(new))
        with pytest.raises(ServiceError, match="replaced"):
            services.reissue(old, by=admin, reason="again")
    assert services.check_pdf(pdf_bytes_of(old)).result == "superseded"


def test_renewal_needs_confirmation_and_gives_a_new_expiry(app, hub, admin):
    _org, cert, *_ = hub
    with app.test_request_context():
        with pytest.raises(ServiceError, match="still active"):
            services.renew(cert, by=admin, still_active=False)
        db.session.rollback()
        cert = reload(cert.id)
        cert.expires_on = services.add_years(clock.today(), 1)
        db.session.commit()
        new = services.renew(cert, by=admin, still_active=True, note="Monthly sessions")
        db.session.commit()
    assert new.expires_on == services.add_years(clock.today(), 3)
    assert services.status_of(reload(cert.id)) == "superseded"
    assert events("certificate.renewed")[0].details["new_serial"] == new.serial


def test_an_expired_certificate_cannot_be_renewed_and_shows_expired(app, hub, admin):
    from datetime import timedelta

    _org, cert, *_ = hub
    cert.expires_on = clock.today() - timedelta(days=1)
    db.session.commit()
    assert services.status_of(reload(cert.id)) == "expired"
    with app.test_request_context(), pytest.raises(ServiceError, match="expired"):
        services.renew(reload(cert.id), by=admin, still_active=True)
    assert services.check_pdf(pdf_bytes_of(cert)).result == "expired"


def test_every_download_serves_the_stored_bytes(app, hub):
    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    assert hashlib.sha256(data).hexdigest() == cert.sha256


# --- the CLI ------------------------------------------------------------------------------


def test_cli_verify_reports_valid_tampered_and_revoked(app, runner, hub, admin, tmp_path):
    _org, cert, *_ = hub
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf_bytes_of(cert))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(flip_byte(pdf_bytes_of(cert)))
    result = runner.invoke(args=["certificates", "verify", str(good)])
    assert (
        result.exit_code == 0 and result.output.startswith("VALID") and cert.serial in result.output
    )
    result = runner.invoke(args=["certificates", "verify", str(bad)])
    assert result.exit_code == 1 and result.output.startswith("TAMPERED")
    with app.test_request_context():
        services.revoke(reload(cert.id), by=admin, reason="Closed")
        db.session.commit()
    result = runner.invoke(args=["certificates", "verify", str(good)])
    assert (
        result.exit_code == 1 and result.output.startswith("REVOKED") and "Closed" in result.output
    )
    missing = runner.invoke(args=["certificates", "verify", str(tmp_path / "nope.pdf")])
    assert missing.exit_code == 2


def test_cli_init_signing_creates_the_key_once(app, runner, tmp_path):
    app.config.update(SIGNING_DIR=str(tmp_path / "signing"))
    first = runner.invoke(args=["certificates", "init-signing"])
    assert first.exit_code == 0 and first.output.startswith("Created")
    key = tmp_path / "signing" / signing.KEY_FILE
    assert key.stat().st_mode & 0o077 == 0
    second = runner.invoke(args=["certificates", "init-signing"])
    assert second.exit_code == 0 and "Already present" in second.output


def test_configured_key_paths_that_are_missing_are_an_error(app, runner, tmp_path):
    app.config.update(
        SIGNING_KEY_PATH=str(tmp_path / "k.pem"), SIGNING_CERT_PATH=str(tmp_path / "c.pem")
    )
    result = runner.invoke(args=["certificates", "init-signing"])
    assert result.exit_code == 1 and "missing" in result.output
