"""Agreement templates and the exact record, in Chromium.

An administrator publishes the Statement of Collaboration template in the browser. The hub
lead downloads it from the readiness panel, beside the upload slot, and uploads a signed
copy; a trainer rejects it with a reason; the lead replaces it, and the trainer verifies
the new copy. Each card says which template version was signed. Once the hub is approved
(through the services), an auditor opens the approval dossier: it names the template
version, says "rejected by" the trainer with the reason and "replaced by" the lead, by
name, with no email address, and shows module completion at approval beside now. Every
page shown is checked with axe-core at 1280 and 375 pixels wide.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.core import clock
from tests.e2e.helpers import flash, nav_link
from tests.e2e.test_auditor_journey import _auditor_with_totp
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import (
    agreement_card,
    make_pdf,
    review_agreement,
    team_in_training,
    upload_agreement,
)

pytestmark = pytest.mark.e2e

ORG = "Greylag Fen Hospice"
SOC = "Statement of Collaboration"
REASON = "The signature page is missing."
TEMPLATE_VERSION = "2026.2"


def both_widths(page: Page, assert_accessible) -> None:
    """axe-core at a desktop and at a phone width, then back to the desktop."""
    for width, height in ((1280, 900), (375, 800)):
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def publish_template(page: Page, create_account, assert_accessible, pdf: Path) -> None:
    """An administrator publishes the Statement of Collaboration template in the browser."""
    email, _name, password = create_account(roles=("admin",), name="Ada Admin")
    open_login(page, assert_accessible)
    log_in(page, email, password, assert_accessible)
    nav_link(page, "Agreement templates").click()
    expect(page.get_by_role("heading", level=1, name="Agreement templates")).to_be_visible()
    both_widths(page, assert_accessible)
    page.get_by_label("Agreement", exact=True).select_option(label=SOC)
    page.get_by_label("Version", exact=True).fill(TEMPLATE_VERSION)
    page.get_by_label("Date of this version").fill((clock.today() - timedelta(days=20)).isoformat())
    page.get_by_label("Template", exact=True).set_input_files(pdf)
    page.get_by_role("button", name="Publish this version").click()
    expect(flash(page, f"{SOC}, version {TEMPLATE_VERSION}")).to_be_visible()
    expect(page.locator(".current-templates")).to_contain_text(f"{SOC}: version {TEMPLATE_VERSION}")
    both_widths(page, assert_accessible)
    page.context.clear_cookies()


def approve_hub(live_app, create_account, org_id: int, lead_email: str) -> str:
    """The IP terms verified and the hub approved by two trainers (through the services)."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations.models import Organisation
    from tests.factories.certificates import approve, write
    from tests.factories.readiness import verify_agreements

    author = create_account(roles=("trainer",), name="Ada Assessor")
    approver = create_account(roles=("trainer",), name="Ben Approver")
    with live_app.test_request_context():
        org = db.session.get(Organisation, org_id)
        verify_agreements(org, get_user_by_email(lead_email), kinds=["ip_terms"])
        org.stage = "readiness_review"
        db.session.commit()
        cert = approve(write(org, get_user_by_email(author[0])), get_user_by_email(approver[0]))
        serial = cert.serial
        db.session.remove()
    return serial


def test_lead_downloads_the_template_and_the_dossier_tells_the_agreement_story(
    page: Page, browser, live_app, create_account, assert_accessible, base_url, tmp_path
):
    template_pdf = make_pdf(
        tmp_path / "statement-of-collaboration-2026-2.pdf", "Statement of Collaboration - template"
    )
    publish_template(page, create_account, assert_accessible, template_pdf)
    org_id, lead, _members = team_in_training(live_app, create_account, ORG)
    trainer = create_account(roles=("trainer",), name="Tess Trainer")

    # --- the hub lead downloads the current template beside the upload slot -------------
    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}/readiness")
    card = agreement_card(page, SOC)
    link = card.get_by_role(
        "link", name=re.compile(f"download the {SOC}, version {TEMPLATE_VERSION}")
    )
    expect(link).to_be_visible()
    expect(agreement_card(page, "IP Terms of Use Agreement")).to_contain_text(
        "has not published a template"
    )
    both_widths(page, assert_accessible)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "statement-of-collaboration-2026-2.pdf"
    assert Path(download.value.path()).read_bytes() == template_pdf.read_bytes()

    first = make_pdf(tmp_path / "soc-unsigned.pdf", "Statement of Collaboration - page 1")
    second = make_pdf(tmp_path / "soc-signed.pdf", "Statement of Collaboration - signed")
    signed = clock.today() - timedelta(days=5)
    upload_agreement(page, SOC, first, "Morwen Hale", "Chief Executive", signed)
    expect(agreement_card(page, SOC).locator(".template-signed")).to_contain_text(
        f"version {TEMPLATE_VERSION}"
    )
    both_widths(page, assert_accessible)

    # --- a trainer rejects it with a reason -----------------------------------------------
    trainer_context = browser.new_context(base_url=base_url)
    trainer_page = trainer_context.new_page()
    open_login(trainer_page, assert_accessible)
    log_in(trainer_page, trainer[0], trainer[2], assert_accessible)
    trainer_page.goto(f"/organisations/{org_id}/readiness")
    expect(agreement_card(trainer_page, SOC).locator(".template-signed")).to_contain_text(
        f"version {TEMPLATE_VERSION}"
    )
    review_agreement(trainer_page, SOC, "Reject", REASON)
    expect(flash(trainer_page, f"{SOC}: rejected.")).to_be_visible()
    both_widths(trainer_page, assert_accessible)

    # --- the lead replaces it; the trainer verifies the new copy -----------------------
    page.reload()
    expect(agreement_card(page, SOC)).to_contain_text(f"Rejected: {REASON}")
    upload_agreement(page, SOC, second, "Morwen Hale", "Chief Executive", signed)
    trainer_page.reload()
    review_agreement(trainer_page, SOC, "Verify (accept)")
    expect(flash(trainer_page, f"{SOC}: accepted.")).to_be_visible()

    # The organisation's history says it in plain words, by name.
    page.goto(f"/organisations/{org_id}/history")
    history = page.locator("ol.history")
    expect(history).to_contain_text(f"{SOC} rejected by Tess Trainer ({REASON})")
    expect(history).to_contain_text(f"{SOC} replaced by {lead[1]}")
    expect(history).not_to_contain_text("@")
    both_widths(page, assert_accessible)
    trainer_context.close()

    # --- approved; an auditor reads the dossier ----------------------------------------
    serial = approve_hub(live_app, create_account, org_id, lead[0])
    email, password, totp = _auditor_with_totp(live_app, create_account)
    auditor_context = browser.new_context(base_url=base_url)
    auditor = auditor_context.new_page()
    open_login(auditor, assert_accessible)
    log_in(auditor, email, password, assert_accessible)
    auditor.get_by_label("Verification code").fill(totp.now())
    auditor.get_by_role("button", name="Verify").click()
    expect(nav_link(auditor, "Certificates")).to_be_visible()
    nav_link(auditor, "Certificates").click()
    auditor.get_by_role("row").filter(has_text=serial).get_by_role(
        "link", name=serial, exact=True
    ).click()
    expect(
        auditor.get_by_role("heading", level=1, name=f"Approval dossier: {serial}")
    ).to_be_visible()

    rows = auditor.locator("tr.agreement-row").filter(has_text=SOC)
    expect(rows).to_have_count(2)
    older = rows.filter(has_text=first.name)
    expect(older).to_contain_text("Rejected by Tess Trainer")
    expect(older).to_contain_text(f"({REASON}); then replaced by {lead[1]}")
    expect(older).to_contain_text(f"version {TEMPLATE_VERSION}")
    expect(rows.filter(has_text=second.name)).to_contain_text("Verified by Tess Trainer")

    record = auditor.locator("ol.dossier-history")
    expect(record).to_contain_text(f"{SOC} rejected by Tess Trainer ({REASON})")
    expect(record).to_contain_text(f"{SOC} replaced by {lead[1]}")
    completion = auditor.locator("table.completion")
    expect(completion.get_by_role("columnheader", name=re.compile("^At approval"))).to_be_visible()
    expect(completion.get_by_role("columnheader", name=re.compile("^Now"))).to_be_visible()
    main = auditor.get_by_role("main")
    expect(main).not_to_contain_text(lead[0])
    expect(main).not_to_contain_text(trainer[0])
    assert not re.search(r"item_key=|\"kind\":|\{\"", main.inner_text())
    both_widths(auditor, assert_accessible)
    auditor_context.close()
