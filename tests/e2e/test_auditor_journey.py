"""The auditor console in Chromium.

An auditor signs in with a password and a TOTP code, filters the certificate register to
revoked certificates, opens the approval dossier, downloads an evidence file and the
dossier PDF, exports the register as CSV and as a ZIP (whose manifest hashes match its
files), and runs the audit log's integrity check. Every page shown is checked with axe.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.core import clock
from tests.e2e.helpers import nav_link
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import team_in_training
from tests.factories.certificates import pdf_text

pytestmark = pytest.mark.e2e

ORG = "Curlew Bay Hospice"


def _revoked_hub(live_app, create_account) -> tuple[str, bytes]:
    """An approved hub with verified agreements whose certificate was then revoked."""
    from app.auth.services import get_user_by_email
    from app.certificates import services as certificates
    from app.core.storage import path_for
    from app.extensions import db
    from app.organisations.models import Organisation
    from app.readiness import services as readiness
    from tests.factories.certificates import approve, write
    from tests.factories.readiness import agreement

    org_id, lead, _members = team_in_training(live_app, create_account, ORG)
    author = create_account(roles=("trainer",), name="Ada Assessor")
    approver = create_account(roles=("trainer",), name="Ben Approver")
    admin = create_account(roles=("admin",), name="Cal Admin")
    with live_app.test_request_context():
        org = db.session.get(Organisation, org_id)
        uploaded = agreement(org, get_user_by_email(lead[0]))
        evidence = readiness.agreement_history(org)[0].file
        evidence_bytes = path_for(evidence.storage_key).read_bytes()
        assert uploaded is not None
        org.stage = "readiness_review"
        db.session.commit()
        cert = approve(write(org, get_user_by_email(author[0])), get_user_by_email(approver[0]))
        certificates.revoke(cert, by=get_user_by_email(admin[0]), reason="Hub closed")
        db.session.commit()
        serial = cert.serial
        db.session.remove()
    return serial, evidence_bytes


def _auditor_with_totp(live_app, create_account):
    import pyotp

    from app.auth import mfa
    from app.auth import services as auth_services
    from app.extensions import db

    email, name, password = create_account(roles=("auditor",), name="Ann Auditor")
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    with live_app.app_context():
        user = auth_services.get_user_by_email(email)
        previous = totp.generate_otp(totp.timecode(clock.now()) - 1)
        auth_services.enable_mfa(user, secret=secret, code=previous)
        db.session.commit()
        db.session.remove()
    return email, password, totp


def test_an_auditor_checks_a_revoked_certificate_end_to_end(
    page: Page, live_app, create_account, assert_accessible
):
    serial, evidence_bytes = _revoked_hub(live_app, create_account)
    email, password, totp = _auditor_with_totp(live_app, create_account)

    open_login(page, assert_accessible)
    log_in(page, email, password, assert_accessible)
    expect(page.get_by_label("Verification code")).to_be_visible()
    page.get_by_label("Verification code").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect(nav_link(page, "Certificates")).to_be_visible()

    # The register, filtered to revoked certificates.
    nav_link(page, "Certificates").click()
    expect(page.get_by_role("heading", level=1, name="Certificate register")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Status").select_option("revoked")
    page.get_by_role("button", name="Apply filters").click()
    row = page.get_by_role("row").filter(has_text=serial)
    expect(row).to_contain_text("Revoked")
    assert_accessible(page)

    # CSV and ZIP of the filtered register.
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))
    # The live portal is shared with other journeys, which revoke certificates of their own.
    assert serial in [r[0] for r in rows[1:]]
    status = rows[0].index("status") if "status" in rows[0] else None
    assert status is None or {r[status] for r in rows[1:]} == {"revoked"}
    with page.expect_download() as zip_download:
        page.get_by_role("link", name="Download PDFs as ZIP").click()
    with zipfile.ZipFile(zip_download.value.path()) as archive:
        manifest = list(
            csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig")))
        )
        assert serial in [m["serial"] for m in manifest]
        assert len(manifest) == len(rows) - 1  # the same filtered register as the CSV
        for entry in manifest:
            assert hashlib.sha256(archive.read(entry["file"])).hexdigest() == entry["sha256"]
            assert entry["status"] == "revoked"

    # The dossier, its evidence and its PDF.
    row.get_by_role("link", name=serial, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=f"Approval dossier: {serial}")).to_be_visible()
    expect(page.get_by_text("Hash matches the register.")).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as evidence_download:
        page.get_by_role("link", name="ip_terms-signed.pdf").first.click()
    assert Path(evidence_download.value.path()).read_bytes() == evidence_bytes
    with page.expect_download() as dossier_download:
        page.get_by_role("link", name="Download this dossier as PDF").click()
    dossier = Path(dossier_download.value.path()).read_bytes()
    assert dossier.startswith(b"%PDF-") and serial in pdf_text(dossier)

    # The audit log and its integrity check; the exports above are on it.
    nav_link(page, "Audit log").click()
    expect(page.get_by_role("cell", name="exported the certificate register").first).to_be_visible()
    page.get_by_role("link", name="Verify integrity").click()
    expect(page.locator(".integrity-result")).to_contain_text("Intact")
    assert_accessible(page)

    # The programme reports: charts with tables.
    nav_link(page, "Reports").click()
    expect(page.get_by_role("heading", level=1, name="Programme reports")).to_be_visible()
    expect(page.get_by_role("img", name="Certificates issued per quarter")).to_be_visible()
    page.get_by_text("The figures as a table").first.click()
    assert_accessible(page)
