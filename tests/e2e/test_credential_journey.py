"""Open Badges credentials in Chromium: a trainee downloads their certificate and its
credential, an independent verifier accepts both, a lead trainer revokes, both now report
revoked, and the LinkedIn link carries the right fields.

The trainee's certificate of completion is issued through the certificate service (the
training and Immersion steps that earn it have journeys of their own). The verifier is
independent of the portal's code: the PDF is checked by pyHanko against the signing
certificate alone, the JWT by joserfc against the JWKS and status list fetched over HTTP.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import nav_link, org_tab
from tests.e2e.test_attendance_booking_journey import narrow
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import team_in_training
from tests.factories.credentials import http_fetch, verify

pytestmark = pytest.mark.e2e

REASON = "Issued in error: the attendance record was corrected after an appeal."


def _trainee_certificate(live_app, org_id: int, email: str) -> tuple[str, str]:
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations.models import Organisation
    from tests.factories.certificates import trainee_certificate

    with live_app.test_request_context():
        org = db.session.get(Organisation, org_id)
        cert = trainee_certificate(org, get_user_by_email(email))
        serial, code = cert.serial, cert.code
        db.session.remove()
    return serial, code


def _pdf_signature_ok(live_app, data: bytes) -> bool:
    """pyHanko's validator with the portal's signing certificate as the only trust root."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from app.certificates import signing

    with live_app.app_context():
        cert_path = signing.ensure_material().cert_path
    root = load_cert_from_pemder(str(cert_path))
    (signature,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop
        status = pool.submit(validate_pdf_signature, signature, context).result()
    return status.bottom_line


def test_trainee_carries_the_credential_and_a_revocation_reaches_every_verifier(
    page: Page, browser, live_app, create_account, assert_accessible, tmp_path
):
    from pypdf import PdfReader

    org_name = "Dunlin Sands Hospice"
    org_id, _lead, members = team_in_training(live_app, create_account, org_name, train=False)
    trainee = members["coordinator"]
    serial, code = _trainee_certificate(live_app, org_id, trainee[0])
    lead_trainer = create_account(roles=("trainer", "lead_trainer"), name="Lin Lead-Trainer")
    jwks_url = f"{live_app.live_url}/credentials/jwks.json"

    # The trainee downloads the certificate and its credential from the Certificates tab.
    open_login(page, assert_accessible)
    log_in(page, trainee[0], trainee[2], assert_accessible)
    page.goto(f"/organisations/{org_id}/certificates")
    expect(page.get_by_role("heading", name="Certificates", exact=True)).to_be_visible()
    assert_accessible(page)
    narrow(page, assert_accessible)
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name=f"Download PDF of {serial}").click()
    pdf_path = tmp_path / "certificate.pdf"
    pdf_download.value.save_as(pdf_path)
    with page.expect_download() as jwt_download:
        page.get_by_role("link", name=f"Credential (.jwt) of {serial}").click()
    assert jwt_download.value.suggested_filename == f"{serial}.jwt"
    jwt_path = tmp_path / "credential.jwt"
    jwt_download.value.save_as(jwt_path)
    token = jwt_path.read_text()
    with page.expect_download() as json_download:
        page.get_by_role("link", name=f"Credential as JSON of {serial}").click()
    assert json_download.value.suggested_filename.endswith(".json")

    # The LinkedIn link, and the same fields as text.
    link = page.get_by_role("link", name=re.compile(f"^Add to LinkedIn profile.*{serial}"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(link.get_attribute("href")).query).items()}
    assert query["startTask"] == "CERTIFICATION_NAME"
    assert query["name"] == "ECHO hub training completed"
    assert query["organizationName"] == "National Hospice ECHO Superhub"
    assert query["certId"] == serial
    assert query["certUrl"] == f"{live_app.live_url}/verify/{code}"
    assert query["issueYear"].isdigit() and query["expirationYear"].isdigit()
    page.get_by_text(f"LinkedIn fields for {serial}").click()
    expect(page.locator('[data-linkedin="certId"]')).to_have_text(serial)
    expect(page.locator('[data-linkedin="certUrl"]')).to_have_text(query["certUrl"])
    assert_accessible(page)

    # Independent verifiers accept both: the PDF (signing certificate as trust anchor), the
    # JWT (published JWKS and status list); and the PDF carries that same JWT.
    data = pdf_path.read_bytes()
    assert _pdf_signature_ok(live_app, data)
    assert PdfReader(io.BytesIO(data)).attachments["credential.jwt"] == [token.encode()]
    assert verify(token, http_fetch, jwks_url) == "valid"

    # Anyone can check the JWT on the verify pages, by upload.
    visitor = browser.new_context(base_url=live_app.live_url)
    public = visitor.new_page()
    public.goto("/verify")
    public.get_by_role("link", name="Check a credential").click()
    expect(public.get_by_role("heading", level=1, name="Check an Open Badges credential"))
    assert_accessible(public)
    public.get_by_label("Or upload the credential file").set_input_files(str(jwt_path))
    public.get_by_role("button", name="Check the credential").click()
    expect(public.locator(".credential-result")).to_contain_text("Valid")
    assert_accessible(public)
    narrow(public, assert_accessible)
    page.get_by_role("button", name="Log out").click()

    # A lead trainer revokes the certificate.
    open_login(page, assert_accessible)
    log_in(page, lead_trainer[0], lead_trainer[2], assert_accessible)
    nav_link(page, "Organisations").click()
    page.get_by_role("link", name=org_name).click()
    org_tab(page, org_name, "Certificates").click()
    page.get_by_text(f"Revoke {serial}").click()
    page.get_by_label("Reason for revoking").fill(REASON)
    page.get_by_role("button", name="Revoke the certificate").click()
    expect(page.get_by_role("status").filter(has_text=f"{serial} is revoked")).to_be_visible()
    assert_accessible(page)

    # Both now report revoked: the independent verifier from the status list, the portal's
    # credential check (pasted) and its PDF check (the PDF and the credential inside it).
    assert verify(token, http_fetch, jwks_url) == "revoked"
    public.goto("/verify/credential")
    public.get_by_label("Credential (JWT)").fill(token)
    public.get_by_role("button", name="Check the credential").click()
    expect(public.locator(".credential-result")).to_contain_text("Revoked")
    expect(public.locator(".credential-result")).to_contain_text(REASON)
    assert_accessible(public)
    public.goto("/verify/pdf")
    public.get_by_label("Certificate PDF").set_input_files(str(pdf_path))
    public.get_by_role("button", name="Check the PDF").click()
    expect(public.locator(".pdf-result")).to_contain_text("Revoked")
    expect(public.locator(".pdf-credential")).to_contain_text("Revoked")
    assert_accessible(public)
    visitor.close()
