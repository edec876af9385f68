"""Guidance and the directory, in Chromium.

A hub lead in training follows the overview's "What happens next": it asks for the two
agreements, moves on to the checklist once they are uploaded, and when a trainer rejects
one it says so with the reason and the button to upload a new copy. The lead of an approved
hub is told it can publish a directory listing, writes one (by keyboard, at 375 px, with a
mistake first), publishes it and a visitor finds it in "Join a network"; unpublished, it
disappears. Every page is checked with axe and for sideways scrolling at 375 px.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import error_summary, flash
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import (
    agreement_card,
    make_pdf,
    review_agreement,
    team_in_training,
    upload_agreement,
)

pytestmark = pytest.mark.e2e

ORG = "Redshank Estuary Hospice"
HUB = "Godwit Marsh Hospice"
NETWORK = "Estuary Dementia Care ECHO"
REASON = "The signature page is missing."
CONTACT = "echo@godwit.example.org"


def next_step(page: Page):
    return page.get_by_role("region", name="What happens next")


def fits_375(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url


def test_the_overview_follows_the_readiness_requirements(
    page: Page, browser, live_app, create_account, assert_accessible, tmp_path
):
    org_id, lead, _members = team_in_training(live_app, create_account, ORG)
    trainer = create_account(roles=("trainer",), name="Tess Trainer")
    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}")

    # State 1: nothing uploaded yet.
    expect(next_step(page)).to_contain_text("Upload the two signed partnership agreements.")
    expect(next_step(page)).to_contain_text("2 of 5 readiness requirements met")
    assert_accessible(page)
    # By keyboard: the step's button is a link that Enter follows.
    button = next_step(page).get_by_role("link", name="Upload the agreements")
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/organisations/{org_id}/readiness#agreements$"))

    signed = date.today() - timedelta(days=3)
    for label, kind in (
        ("IP Terms of Use Agreement", "ip"),
        ("Statement of Collaboration", "collab"),
    ):
        upload_agreement(
            page, label, make_pdf(tmp_path / f"{kind}.pdf", label), "Dr Rhian Hughes", "CEO", signed
        )

    # State 2: agreements waiting for a trainer; the team is trained, so the checklist is next.
    page.goto(f"/organisations/{org_id}")
    expect(next_step(page)).to_contain_text("Answer the readiness checklist:")
    expect(next_step(page)).not_to_contain_text("Upload the two signed")
    expect(next_step(page).get_by_role("list")).to_contain_text(
        "Partnership agreements verified: 0 of 2 verified."
    )
    assert_accessible(page)

    # A trainer rejects the Statement of Collaboration, with a reason.
    staff = browser.new_context(base_url=live_app.live_url).new_page()
    open_login(staff, assert_accessible)
    log_in(staff, trainer[0], trainer[2], assert_accessible)
    staff.goto(f"/organisations/{org_id}/readiness")
    review_agreement(staff, "Statement of Collaboration", "Reject", REASON)
    expect(flash(staff, "Statement of Collaboration: rejected.")).to_be_visible()
    # The trainer's overview reads it about the organisation, with no button for them.
    staff.goto(f"/organisations/{org_id}")
    expect(next_step(staff)).to_contain_text(f"{ORG}'s Statement of Collaboration was rejected")
    expect(next_step(staff).get_by_role("link", name="Upload a new signed copy")).to_have_count(0)
    staff.context.close()

    # State 3: the rejection comes first, with its reason and the way to fix it.
    page.goto(f"/organisations/{org_id}")
    expect(next_step(page)).to_contain_text(
        "Your Statement of Collaboration was rejected: The signature page is missing — "
        "upload a new signed copy."
    )
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 800})
    fits_375(page)
    assert_accessible(page)
    next_step(page).get_by_role("link", name="Upload a new signed copy").click()
    expect(page).to_have_url(re.compile(r"/readiness#agreements$"))
    expect(agreement_card(page, "Statement of Collaboration")).to_contain_text(REASON)
    fits_375(page)


def _approved_hub(live_app, create_account):
    """An approved hub with a valid certificate and no listing, made through the services."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations import services as org_services
    from tests.factories.certificates import approve, write
    from tests.factories.organisations import COMPLETE_APPLICATION

    lead = create_account(name="Gwen Lead")
    author = create_account(roles=("trainer",))
    approver = create_account(roles=("trainer",))
    with live_app.test_request_context():
        lead_user = get_user_by_email(lead[0])
        org = org_services.create_organisation(
            lead_user,
            org_services.OrganisationDetails(name=HUB, org_type="hospice", nation="england"),
        )
        org_services.save_application(
            org,
            by=lead_user,
            data={**COMPLETE_APPLICATION, "network_name": NETWORK, "theme": "Dementia care"},
        )
        org.stage = "readiness_review"
        db.session.commit()
        approve(write(org, get_user_by_email(author[0])), get_user_by_email(approver[0]))
        org_id = org.id
        db.session.remove()
    return org_id, lead


def test_a_hub_lead_publishes_and_unpublishes_a_listing(
    page: Page, browser, live_app, create_account, assert_accessible
):
    org_id, lead = _approved_hub(live_app, create_account)
    visitor = browser.new_context(base_url=live_app.live_url).new_page()
    visitor.goto("/hubs")
    expect(visitor.get_by_role("link", name=NETWORK)).to_have_count(0)  # approval lists nothing

    page.set_viewport_size({"width": 375, "height": 800})
    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}")
    expect(next_step(page)).to_contain_text("you can now publish its listing")
    fits_375(page)
    assert_accessible(page)
    next_step(page).get_by_role("link", name="Write the directory listing").click()
    expect(page.get_by_role("heading", level=2, name="Directory listing")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Not in the directory yet")).to_be_visible()
    fits_375(page)
    assert_accessible(page)

    # By keyboard: the fields in order, then "Save and publish". The audience starts from
    # the application; the lead clears it by mistake, so publishing is refused.
    summary = page.get_by_label("About the network")
    summary.focus()
    page.keyboard.type("Monthly case discussions for teams caring for people with dementia.")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Who it is for")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Session schedule (optional)")).to_be_focused()
    page.keyboard.type("Monthly, first Monday, 12:30–13:30")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Contact email for people who want to join")).to_be_focused()
    page.keyboard.type(CONTACT)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Joining link")).to_be_focused()
    page.keyboard.press("Tab")
    publish = page.get_by_role("button", name="Save and publish")
    expect(publish).to_be_focused()
    page.keyboard.press("Enter")
    expect(error_summary(page)).to_contain_text("Say who the network is for before publishing.")
    expect(page.get_by_label("Who it is for")).to_have_accessible_description(
        re.compile("Say who the network is for")
    )
    fits_375(page)
    assert_accessible(page)

    page.get_by_label("Who it is for").fill("Memory nurses, GPs and care home teams.")
    page.get_by_role("button", name="Save and publish").click()
    expect(flash(page, "Listing published")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Published.")).to_be_visible()
    fits_375(page)
    assert_accessible(page)

    # A visitor finds it in "Join a network".
    visitor.set_viewport_size({"width": 375, "height": 800})
    visitor.goto("/hubs")
    visitor.get_by_role("link", name=NETWORK).click()
    expect(visitor.get_by_role("heading", level=1, name=NETWORK)).to_be_visible()
    expect(visitor.get_by_role("main")).to_contain_text("Memory nurses, GPs and care home teams.")
    expect(visitor.get_by_role("main")).to_contain_text("Monthly, first Monday, 12:30–13:30")
    fits_375(visitor)
    assert_accessible(visitor)

    # The overview's next step moves on to the first session.
    page.goto(f"/organisations/{org_id}")
    expect(next_step(page)).to_contain_text("The next step is your network's first ECHO session.")
    expect(next_step(page)).to_contain_text("Listed in the “Join a network” directory.")

    # Unpublished, it disappears.
    page.goto(f"/organisations/{org_id}/listing")
    page.get_by_role("button", name="Unpublish the listing").click()
    expect(flash(page, "Listing unpublished")).to_be_visible()
    assert_accessible(page)
    visitor.goto("/hubs")
    expect(visitor.get_by_role("link", name=NETWORK)).to_have_count(0)
    response = visitor.goto(f"/hubs/{org_id}")
    assert response is not None and response.status == 404
    visitor.context.close()
