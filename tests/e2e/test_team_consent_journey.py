"""Consent on teams, in Chromium: a hub lead adds an existing account and the page only says
"invitation sent"; the person is not on the team until they accept from their home page,
then they are. A trainer invited by mistake sees why they cannot accept and declines, and
the lead is told. A newcomer must confirm their address before the invitation waiting for
it appears. Keyboard only for the answers; axe on every page; no sideways scroll at 375 px.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import flash, main_nav, org_tab

pytestmark = pytest.mark.e2e

ORG = "Merlin's Bridge Hospice"
PASSWORD = "harbour-lantern-thistle-quay"


def organisation_for(live_app, lead_email) -> int:
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations import services

    with live_app.test_request_context():
        org = services.create_organisation(
            get_user_by_email(lead_email),
            services.OrganisationDetails(name=ORG, org_type="hospice", nation="wales"),
        )
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return org_id


def log_in(page: Page, email: str, password: str, assert_accessible) -> None:
    page.goto("/account/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    assert_accessible(page)


def press(page: Page, button) -> None:
    """Reach a button by keyboard focus and press it with Enter."""
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")


def no_sideways_scroll(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 376)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)
             + ' ' + (e.textContent || '').slice(0, 60))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide
    page.set_viewport_size({"width": 1280, "height": 800})


def invite(page: Page, email: str, role: str) -> None:
    form = page.get_by_role("region", name="Add someone to the team")
    form.get_by_label("Email address").fill(email)
    form.get_by_role("checkbox", name=role).check()
    press(page, form.get_by_role("button", name="Add to team"))


def test_an_existing_account_joins_only_by_accepting(
    page: Page,
    new_context,
    live_app,
    assert_accessible,
    create_account,
    unique_email,
    emails_to,
    confirmation_link,
):
    lead_email, _, lead_password = create_account(name="Llinos Lead")
    member_email, member_name, member_password = create_account(name="Gethin Evans")
    trainer_email, _, trainer_password = create_account(roles=("trainer",), name="Tess Trainer")
    org_id = organisation_for(live_app, lead_email)

    # --- The lead adds an existing account: the page says only "invitation sent" -------
    log_in(page, lead_email, lead_password, assert_accessible)
    page.get_by_role("link", name=ORG).click()
    org_tab(page, ORG, "Team").click()
    expect(page).to_have_url(re.compile(rf"/organisations/{org_id}/team$"))
    assert_accessible(page)
    invite(page, member_email, "Coordinator")
    expect(
        flash(page, f"Invitation sent to {member_email}. They join the team once they accept it.")
    ).to_be_visible()
    team = page.get_by_role("table", name=f"Members of {ORG}'s hub team")
    expect(team).not_to_contain_text(member_name)  # no name until they accept
    expect(page.locator(".invitations")).to_contain_text(member_email)
    assert_accessible(page)
    # A trainer's address: exactly the same words.
    invite(page, trainer_email, "Specialist")
    expect(
        flash(page, f"Invitation sent to {trainer_email}. They join the team once they accept it.")
    ).to_be_visible()
    expect(team).not_to_contain_text("Tess Trainer")
    no_sideways_scroll(page)

    # --- The member is not on the team until they accept from their home page ----------
    member = new_context().new_page()
    log_in(member, member_email, member_password, assert_accessible)
    waiting = member.get_by_role("region", name="Invitations waiting for you")
    expect(waiting).to_contain_text(ORG)
    expect(waiting).to_contain_text("Llinos Lead invites you to join the hub team as Coordinator")
    expect(member.get_by_role("region", name="Your organisations")).not_to_contain_text(ORG)
    no_sideways_scroll(member)
    response = member.goto(f"/organisations/{org_id}")
    assert response is not None and response.status == 404
    member.goto("/")
    press(member, waiting.get_by_role("button", name=f"Accept the invitation to {ORG}"))
    expect(member).to_have_url(re.compile(rf"/organisations/{org_id}$"))
    expect(flash(member, f"Welcome to {ORG}'s hub team.")).to_be_visible()
    expect(member.get_by_text("Your roles: Coordinator")).to_be_visible()
    assert_accessible(member)

    page.reload()
    expect(team.get_by_role("row").filter(has_text=member_name)).to_contain_text(member_email)
    expect(
        main_nav(page).get_by_role("link", name=re.compile(r"Notifications\s*1 unread"))
    ).to_be_visible()

    # --- The trainer sees why they cannot accept, and declines ---------------------------
    trainer = new_context().new_page()
    log_in(trainer, trainer_email, trainer_password, assert_accessible)
    offer = trainer.get_by_role("region", name="Invitations waiting for you")
    expect(offer).to_contain_text("conflict of interest")
    expect(offer.get_by_role("button", name=re.compile("^Accept"))).to_have_count(0)
    press(trainer, offer.get_by_role("button", name=f"Decline the invitation to {ORG}"))
    expect(flash(trainer, f"You declined the invitation to {ORG}'s hub team.")).to_be_visible()
    expect(trainer.get_by_role("region", name="Invitations waiting for you")).to_have_count(0)
    assert_accessible(trainer)

    page.goto("/notifications")
    expect(page.get_by_role("main")).to_contain_text(
        f"The invitation to {trainer_email} was declined"
    )
    expect(page.get_by_role("main")).not_to_contain_text("Tess Trainer")
    assert_accessible(page)

    # --- A newcomer confirms their address before the invitation appears ---------------
    newcomer_email = unique_email("newcomer")
    page.goto(f"/organisations/{org_id}/team")
    invite(page, newcomer_email, "Facilitator")
    expect(flash(page, f"Invitation sent to {newcomer_email}.")).to_be_visible()

    newcomer = new_context().new_page()
    newcomer.goto("/account/register")  # registered from the portal, not from the link
    newcomer.get_by_label("Full name").fill("Nia Newcomer")
    newcomer.get_by_label("Email address").fill(newcomer_email)
    newcomer.get_by_label("Password", exact=True).fill(PASSWORD)
    newcomer.get_by_label("Confirm password").fill(PASSWORD)
    newcomer.get_by_label("Confirm password").press("Enter")
    expect(newcomer).to_have_url(re.compile(r"/account/check-email$"))
    expect(newcomer.get_by_role("main")).to_contain_text(newcomer_email)
    assert_accessible(newcomer)
    no_sideways_scroll(newcomer)

    # Signed in before confirming: only "check your email", no invitation, no organisation.
    log_in(newcomer, newcomer_email, PASSWORD, assert_accessible)
    expect(newcomer.get_by_role("region", name="Confirm your email address")).to_be_visible()
    expect(newcomer.get_by_role("region", name="Invitations waiting for you")).to_have_count(0)
    newcomer.goto(f"/organisations/{org_id}")
    expect(newcomer).to_have_url(re.compile(r"/account/check-email$"))
    expect(newcomer.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    assert_accessible(newcomer)

    link = confirmation_link(newcomer_email)
    newcomer.goto(link)
    press(newcomer, newcomer.get_by_role("button", name="Confirm my email address"))
    expect(newcomer).to_have_url(re.compile(r"/$"))
    expect(flash(newcomer, "your email address is confirmed")).to_be_visible()
    offer = newcomer.get_by_role("region", name="Invitations waiting for you")
    expect(offer).to_contain_text(ORG)
    assert_accessible(newcomer)
    press(newcomer, offer.get_by_role("button", name=f"Accept the invitation to {ORG}"))
    expect(newcomer.get_by_text("Your roles: Facilitator")).to_be_visible()
    assert len(emails_to(newcomer_email)) == 2  # the invitation and the confirmation link
