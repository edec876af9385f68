"""Approval and certificates in Chromium: four-eyes, the signed PDF, verification, revocation.

Trainer A writes a readiness assessment recommending approval and is not offered the
decision; trainer B approves. The certificate PDF downloads: its text names the
organisation and serial, its signature validates with `certificates verify`, and its QR
code decodes to the verification URL, whose page shows it valid. An admin revokes it with
a reason and the page shows it revoked. A one-byte-modified copy uploaded on the public
check page is reported as tampered. Every page shown is checked with axe-core.
"""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from app.certificates import render
from app.core import clock
from tests.e2e.helpers import nav_link, org_tab
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import team_in_training
from tests.factories.certificates import flip_byte, pdf_text, qr_payloads

pytestmark = pytest.mark.e2e

REVOKE_REASON = "The hub closed its ECHO network in March and asked us to withdraw approval."


def _to_review(live_app, org_id: int) -> None:
    from app.extensions import db
    from app.organisations.models import Organisation

    with live_app.app_context():
        db.session.get(Organisation, org_id).stage = "readiness_review"
        db.session.commit()
        db.session.remove()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def _open_assessment_queue(page: Page, assert_accessible) -> None:
    nav_link(page, "Assessments").click()
    expect(page.get_by_role("heading", level=1, name="Assessments")).to_be_visible()
    assert_accessible(page)


def test_four_eyes_approval_signed_certificate_verification_and_revocation(
    page: Page, browser, live_app, create_account, assert_accessible, tmp_path
):
    org_name = "Whinfell Hospice"
    org_id, lead, _members = team_in_training(live_app, create_account, org_name)
    _to_review(live_app, org_id)
    trainer_a = create_account(roles=("trainer",), name="Alex Assessor")
    trainer_b = create_account(roles=("trainer",), name="Bea Approver")
    admin = create_account(roles=("admin",), name="Cal Admin")

    # Trainer A assesses and recommends approval.
    open_login(page, assert_accessible)
    log_in(page, trainer_a[0], trainer_a[2], assert_accessible)
    _open_assessment_queue(page, assert_accessible)
    page.get_by_role("link", name=f"Assess {org_name}").click()
    expect(page.get_by_role("heading", name="Write the readiness assessment")).to_be_visible()
    assert_accessible(page)
    for criterion in page.locator("fieldset.criterion").all():
        criterion.get_by_label("3 — In place").check()
    page.get_by_label("Comment on team and roles").fill("Every role is filled by a named person.")
    page.get_by_label("Overall notes").fill("Strong team; first network planned for spring.")
    page.get_by_label("Approve as a hub").check()
    page.get_by_role("button", name="Save the assessment").click()
    expect(
        page.get_by_role("status").filter(has_text="A second trainer must now decide")
    ).to_be_visible()
    expect(page.get_by_text("a second trainer must make the decision")).to_be_visible()
    expect(page.get_by_role("button", name="Record the decision")).to_have_count(0)
    assert_accessible(page)
    _log_out(page)

    # Trainer B approves.
    open_login(page, assert_accessible)
    log_in(page, trainer_b[0], trainer_b[2], assert_accessible)
    _open_assessment_queue(page, assert_accessible)
    page.get_by_role("link", name=f"Open the assessment of {org_name}").click()
    assert_accessible(page)
    page.get_by_label(re.compile("^Approve: ")).check()
    page.get_by_role("button", name="Record the decision").click()
    approved = page.get_by_role("status").filter(has_text="Certificate HUB-")
    expect(approved).to_be_visible(timeout=20_000)
    serial = re.search(r"HUB-\d{4}-\d{4}", approved.inner_text()).group(0)
    assert_accessible(page)

    # The PDF: text, signature, QR code.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download PDF of {serial}").click()
    pdf_path = tmp_path / "certificate.pdf"
    download_info.value.save_as(pdf_path)
    data = pdf_path.read_bytes()
    text = pdf_text(data)
    assert org_name in text and serial in text
    runner = live_app.test_cli_runner()
    checked = runner.invoke(args=["certificates", "verify", str(pdf_path)])
    assert checked.exit_code == 0 and checked.output.startswith("VALID"), checked.output
    (verify_url,) = qr_payloads(data)
    assert verify_url.startswith(f"{live_app.live_url}/verify/")
    # The printed address (one line, short) is a link to the same URL, and works when typed.
    annots = PdfReader(io.BytesIO(data)).pages[0]["/Annots"]
    assert [a.get_object()["/A"]["/URI"] for a in annots if "/A" in a.get_object()] == [verify_url]
    printed = render.printed_verify_url(verify_url)
    assert printed in text.splitlines()

    # Anyone can verify it, without logging in.
    visitor = browser.new_context(base_url=live_app.live_url)
    public = visitor.new_page()
    public.goto("http://" + printed)
    assert public.url == verify_url
    expect(public.get_by_role("heading", level=1, name=f"Certificate {serial}")).to_be_visible()
    expect(public.locator(".verify-status")).to_contain_text("Valid")
    expect(public.get_by_text(org_name)).to_be_visible()
    assert_accessible(public)
    public.goto("/verify/" + "A" * 32)
    expect(
        public.get_by_role("heading", level=1, name="No certificate has this code")
    ).to_be_visible()
    assert_accessible(public)
    public.goto(verify_url)
    _log_out(page)

    # The hub lead records the network's first session: the journey is complete.
    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}/certificates")
    expect(page.get_by_role("heading", name="Record your launch")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Date of the network's first ECHO session").fill(clock.today().isoformat())
    page.get_by_role("button", name="Record the launch").click()
    expect(page.get_by_role("status").filter(has_text="network is launched")).to_be_visible()
    expect(page.locator(".stage-badge")).to_have_text("Launched")
    assert_accessible(page)
    _log_out(page)

    # An admin revokes it with a reason.
    open_login(page, assert_accessible)
    log_in(page, admin[0], admin[2], assert_accessible)
    nav_link(page, "Organisations").click()
    page.get_by_role("link", name=org_name).click()
    org_tab(page, org_name, "Certificates").click()
    assert_accessible(page)
    page.get_by_text(f"Revoke {serial}").click()
    page.get_by_label("Reason for revoking").fill(REVOKE_REASON)
    page.get_by_role("button", name="Revoke the certificate").click()
    expect(page.get_by_role("status").filter(has_text=f"{serial} is revoked")).to_be_visible()
    assert_accessible(page)

    public.reload()
    expect(public.locator(".verify-status")).to_contain_text("Revoked")
    expect(public.locator(".revocation-reason")).to_have_text(REVOKE_REASON)
    assert_accessible(public)

    # A one-byte-modified copy is reported as tampered, on the page and by the CLI.
    tampered_path = tmp_path / "tampered.pdf"
    tampered_path.write_bytes(flip_byte(data))
    public.goto("/verify")
    assert_accessible(public)
    public.get_by_role("link", name="Check a PDF").click()
    public.get_by_label("Certificate PDF").set_input_files(str(tampered_path))
    public.get_by_role("button", name="Check the PDF").click()
    expect(public.locator(".pdf-result")).to_contain_text("Tampered or damaged")
    assert_accessible(public)
    tampered = runner.invoke(args=["certificates", "verify", str(tampered_path)])
    assert tampered.exit_code == 1 and tampered.output.startswith("TAMPERED")
    visitor.close()
