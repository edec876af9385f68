"""The public face in Chromium.

A visitor reads the landing page, finds a hub by theme in the "Join a network" directory,
opens its certificate verification from the listing, and sends an expression of interest
that arrives by email at the hub's published contact. A lead trainer then revokes the
hub's certificate, and the listing disappears. Every public page is checked with axe.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import nav_link, org_tab
from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_readiness_journey import main_nav

pytestmark = pytest.mark.e2e

ORG = "Whinchat Valley Hospice"
NETWORK = "Moorland Motor Neurone Disease ECHO"
THEME = "Motor neurone disease"
CONTACT = "echo@whinchat.example.org"


def _listed_hub(live_app, create_account):
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations import services as org_services
    from app.public import services as public_services
    from tests.factories.certificates import approve, write
    from tests.factories.organisations import COMPLETE_APPLICATION

    lead = create_account(name="Wyn Lead")
    author = create_account(roles=("trainer",))
    approver = create_account(roles=("trainer",))
    with live_app.test_request_context():
        lead_user = get_user_by_email(lead[0])
        org = org_services.create_organisation(
            lead_user,
            org_services.OrganisationDetails(name=ORG, org_type="hospice", nation="england"),
        )
        org_services.save_application(
            org,
            by=lead_user,
            data={**COMPLETE_APPLICATION, "network_name": NETWORK, "theme": THEME},
        )
        org.stage = "readiness_review"
        db.session.commit()
        approve(write(org, get_user_by_email(author[0])), get_user_by_email(approver[0]))
        public_services.save_listing(
            org,
            by=lead_user,
            text=public_services.ListingText(
                summary="Community teams bring cases about people living with MND.",
                audience="District nurses, therapists and GPs across the moors.",
                session_rhythm="Monthly, first Wednesday, 12:30",
                contact_email=CONTACT,
            ),
            publish=True,
        )
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return org_id, lead


def test_a_visitor_finds_a_network_and_asks_to_join(
    page: Page, browser, live_app, create_account, assert_accessible, emails_to
):
    org_id, lead = _listed_hub(live_app, create_account)
    lead_trainer = create_account(roles=("trainer", "lead_trainer"), name="Lee Lead-Trainer")

    page.goto("/")
    expect(page.get_by_role("heading", level=2, name="What Project ECHO is")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Becoming a hub with us")).to_be_visible()
    expect(page.get_by_role("link", name="Register and start an application").first).to_be_visible()
    assert_accessible(page)

    main_nav(page).get_by_role("link", name="Join a network").click()
    expect(page.get_by_role("heading", level=1, name="Join an ECHO network")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Theme").select_option(THEME)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status").filter(has_text="1 network match")).to_be_visible()
    page.get_by_role("link", name=NETWORK).click()
    expect(page.get_by_role("heading", level=1, name=NETWORK)).to_be_visible()
    assert_accessible(page)

    # The listing links to the hub's certificate verification.
    page.get_by_role("link", name="Verify this hub's certificate").click()
    expect(page.locator(".verify-status")).to_contain_text("Valid")
    assert_accessible(page)
    page.go_back()

    # An expression of interest, with a mistake first.
    page.get_by_label("Your name").fill("Dawn Pritchard")
    page.get_by_label("Your email address").fill("dawn@")
    page.get_by_label("Message").fill("Could two of our community nurses join?")
    page.get_by_role("button", name="Send to the hub").click()
    expect(page.get_by_role("alert").filter(has_text="Enter a valid email address")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your email address").fill("dawn.pritchard@example.org")
    page.get_by_role("button", name="Send to the hub").click()
    expect(page.get_by_role("status").filter(has_text="your message was sent")).to_be_visible()
    assert_accessible(page)
    (mail,) = emails_to(CONTACT)
    assert "Dawn Pritchard" in mail.body and "community nurses" in mail.body
    listing_url = page.url.split("?")[0]

    # The hub lead sees the message on the organisation's Directory listing tab.
    lead_page = browser.new_context(base_url=live_app.live_url).new_page()
    open_login(lead_page, assert_accessible)
    log_in(lead_page, lead[0], lead[2], assert_accessible)
    lead_page.goto(f"/organisations/{org_id}/listing")
    expect(lead_page.get_by_role("cell", name="Dawn Pritchard")).to_be_visible()
    expect(lead_page.get_by_label("Contact email for people who want to join")).to_have_value(
        CONTACT
    )
    assert_accessible(lead_page)
    lead_page.context.close()

    # A lead trainer revokes the hub's certificate: the listing disappears.
    staff = browser.new_context(base_url=live_app.live_url).new_page()
    open_login(staff, assert_accessible)
    log_in(staff, lead_trainer[0], lead_trainer[2], assert_accessible)
    nav_link(staff, "Organisations").click()
    staff.get_by_role("link", name=ORG).click()
    org_tab(staff, ORG, "Certificates").click()
    staff.get_by_text(re.compile(r"^Revoke HUB-")).click()
    staff.get_by_label("Reason for revoking").fill("The network has stopped meeting.")
    staff.get_by_role("button", name="Revoke the certificate").click()
    expect(staff.get_by_role("status").filter(has_text="is revoked")).to_be_visible()
    staff.context.close()

    response = page.goto(listing_url)
    assert response.status == 404
    page.goto("/hubs")
    expect(page.get_by_role("link", name=NETWORK)).to_have_count(0)
    assert_accessible(page)
