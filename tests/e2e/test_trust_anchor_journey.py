"""The published trust anchor in Chromium: a hub lead downloads their certificate PDF; a
visitor follows the footer to "How to verify our certificates", checks the fingerprint and
downloads the signing certificate (PEM); an independent verifier (pyHanko's validator,
given only that file as trust root) accepts the downloaded PDF. The page is checked with
axe-core at 1280 and 375 px, and the JSON answer carries the API version and CORS header.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_certificate_journey import _to_review
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import team_in_training

pytestmark = pytest.mark.e2e


def _approve(live_app, create_account, org_name: str):
    """An approved hub (two trainers, through the services): (lead, serial, code)."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations.models import Organisation
    from tests.factories.certificates import approve, write

    org_id, lead, _members = team_in_training(live_app, create_account, org_name)
    _to_review(live_app, org_id)
    author = create_account(roles=("trainer",), name="Ida Assessor")
    approver = create_account(roles=("trainer",), name="Jon Approver")
    with live_app.test_request_context():
        org = db.session.get(Organisation, org_id)
        assessment = write(org, get_user_by_email(author[0]))
        cert = approve(assessment, get_user_by_email(approver[0]))
        serial, code = cert.serial, cert.code
        db.session.remove()
    return org_id, lead, serial, code


def _validate(pdf: bytes, trust_pem: bytes) -> bool:
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from app.certificates.signing import _outside_event_loop

    roots = [x509.Certificate.load(der) for _t, _h, der in pem.unarmor(trust_pem, True)]
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    return _outside_event_loop(validate_pdf_signature, signature, context).bottom_line


def _at_375(page: Page, assert_accessible) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_visitor_downloads_the_signing_certificate_and_a_verifier_trusts_the_pdf(
    page: Page, browser, live_app, create_account, assert_accessible, tmp_path
):
    org_id, lead, serial, code = _approve(live_app, create_account, "Tern Estuary Hospice")

    # The hub lead downloads the certificate PDF from the Certificates tab.
    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}/certificates")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download PDF of {serial}").click()
    pdf = tmp_path / "certificate.pdf"
    download_info.value.save_as(pdf)

    # A visitor, not logged in, finds the how-to page from the footer.
    visitor = browser.new_context(base_url=live_app.live_url, accept_downloads=True)
    public = visitor.new_page()
    public.set_viewport_size({"width": 1280, "height": 900})
    public.goto(f"/verify/{code}")
    expect(public.locator(".verify-status")).to_contain_text("Valid")
    public.get_by_role("contentinfo").get_by_role(
        "link", name="How to verify our certificates"
    ).click()
    expect(
        public.get_by_role("heading", level=1, name="How to verify our certificates")
    ).to_be_visible()
    assert_accessible(public)
    _at_375(public, assert_accessible)

    current = public.locator(".signing-key").filter(has_text="current").first
    shown = current.locator(".fingerprint").inner_text().replace(":", "").lower()
    with public.expect_download() as pem_info:
        current.get_by_role("link", name="(PEM)").click()
    pem_path = tmp_path / "superhub.pem"
    pem_info.value.save_as(pem_path)
    with public.expect_download() as der_info:
        current.get_by_role("link", name="(DER, .cer)").click()
    der_path = tmp_path / "superhub.cer"
    der_info.value.save_as(der_path)
    assert hashlib.sha256(der_path.read_bytes()).hexdigest() == shown

    # The independent verifier, trusting only the downloaded certificate, accepts the PDF.
    assert _validate(pdf.read_bytes(), pem_path.read_bytes()) is True

    # The machine-readable answer: versioned, names the issuer, readable from any origin.
    answer = public.request.get(f"/verify/{code}.json")
    assert answer.headers["access-control-allow-origin"] == "*"
    body = answer.json()
    assert body["version"] and body["issuer"]["url"].startswith(live_app.live_url)
    assert body["serial"] == serial and body["status"] == "valid"
    public.get_by_role("link", name="The OpenAPI 3.1 description").click()
    assert '"openapi": "3.1.0"' in public.content() or '"openapi":"3.1.0"' in public.content()
    visitor.close()
