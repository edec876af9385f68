"""Navigation that fits, pages that fit a phone, and errors listed together (issue 19), in
Chromium, by keyboard: the header's menus for a trainer and an administrator at 1280 and
375 px; the public pages reached from the footer; and a team invitation sent with two
mistakes, whose error summary lists both and leads to each field. Every page passes
assert_accessible (axe, control contrast, no sideways scroll, the header on one row).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import error_summary, main_nav

pytestmark = pytest.mark.e2e

ORG = "Linnet Lane Hospice"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 800}


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/account/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))


def tab_to(page: Page, locator, limit: int = 60) -> None:
    """Press Tab until `locator` has focus (keyboard only: no click, no .focus())."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{locator} was not reached by Tab")


def menu(page: Page, name: str):
    return main_nav(page).get_by_role("button", name=re.compile(rf"^{name}"))


def check_menu_by_keyboard(page: Page, name: str, link: str, assert_accessible) -> None:
    button = menu(page, name)
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(main_nav(page).get_by_role("link", name=link, exact=True)).to_be_hidden()
    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    target = main_nav(page).get_by_role("link", name=link, exact=True)
    expect(target).to_be_visible()
    assert_accessible(page)  # axe with the menu open, and still no sideways scroll
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("class", re.compile("nav-menu-link"))
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(target).to_be_hidden()
    page.keyboard.press(" ")  # Space opens it too
    expect(button).to_have_attribute("aria-expanded", "true")
    tab_to(page, target, limit=10)
    page.keyboard.press("Enter")
    expect(page.locator("h1").first).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/$"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
@pytest.mark.parametrize(
    ("roles", "menus"),
    [
        (("trainer", "lead_trainer"), {"Programme": "Screening queue"}),
        (("admin", "trainer", "auditor"), {"Programme": "Organisations", "Admin": "Users"}),
    ],
    ids=["trainer", "admin"],
)
def test_the_header_menus_work_by_keyboard(
    page: Page, create_account, assert_accessible, viewport, roles, menus
):
    page.set_viewport_size(viewport)
    email, name, password = create_account(roles=roles)
    log_in(page, email, password)
    assert_accessible(page)  # one row at 1280 px, nothing sideways at 375 px
    # Staff are on no team: their own training pages are not offered.
    for own in ("My training", "My Immersion"):  # not even inside a closed menu
        expect(main_nav(page).get_by_role("link", name=own, include_hidden=True)).to_have_count(0)
    for name_, link in menus.items():
        page.goto("/")
        if viewport is PHONE:
            toggler = page.get_by_role("button", name="Show or hide navigation")
            tab_to(page, toggler)
            page.keyboard.press("Enter")
            expect(toggler).to_have_attribute("aria-expanded", "true")
            expect(menu(page, name_)).to_be_visible()
        check_menu_by_keyboard(page, name_, link, assert_accessible)
        assert_accessible(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_without_javascript_every_header_link_is_shown_and_works(
    browser, base_url, create_account, viewport
):
    """With JavaScript off, Bootstrap cannot open the collapsed navigation and app.js opens
    no menu: the header shows every link instead, with no button that does nothing."""
    email, _name, password = create_account(roles=("admin", "trainer", "auditor"))
    context = browser.new_context(base_url=base_url, java_script_enabled=False, viewport=viewport)
    page = context.new_page()
    try:
        log_in(page, email, password)
        nav = main_nav(page)
        expect(page.get_by_role("button", name="Show or hide navigation")).to_be_hidden()
        toggles = nav.locator("button[aria-expanded]").all()  # the menus' buttons, and
        assert len(toggles) >= 3  # Bootstrap's: in the page, and neither shown nor announced
        for toggle in toggles:
            expect(toggle).to_be_hidden()
        for link in ("Screening queue", "Evidence review", "Users", "Audit log"):
            expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
        box = nav.get_by_role("link", name="Users", exact=True).bounding_box()
        assert box["x"] + box["width"] <= viewport["width"]
        nav.get_by_role("link", name="Users", exact=True).click()
        expect(page.get_by_role("heading", level=1, name="Users")).to_be_visible()
    finally:
        context.close()


def test_the_public_pages_are_linked_from_the_footer(page: Page, assert_accessible):
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for link, heading in [
            ("Help", "Help"),
            ("Contact", "Contact us"),
            ("Accessibility statement", "Accessibility statement"),
            ("Privacy notice", "Privacy notice"),
        ]:
            page.goto("/")
            footer = page.get_by_role("contentinfo")
            footer.get_by_role("link", name=link, exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            assert_accessible(page)
    # The help page tells a newcomer how to join an introduction session.
    page.goto("/help")
    expect(page.get_by_role("heading", name="Introduction sessions")).to_be_visible()
    expect(page.locator("#introduction-sessions")).to_be_visible()
    # The favicon is there (no 404 on every page).
    icon = page.request.get(page.locator("link[rel=icon]").get_attribute("href"))
    assert icon.status == 200


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


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_an_invitation_with_two_mistakes_lists_both_by_keyboard(
    page: Page, live_app, create_account, assert_accessible, viewport
):
    page.set_viewport_size(viewport)
    email, _, password = create_account(roles=("applicant",))
    org_id = organisation_for(live_app, email)
    log_in(page, email, password)
    # A hub lead is on a team: "My training" is offered.
    if viewport is DESKTOP:
        expect(main_nav(page).get_by_role("link", name="My training")).to_be_visible()
    page.goto(f"/organisations/{org_id}/team")
    assert_accessible(page)
    # An address that is not one, and no role ticked: both problems, in one summary.
    address = page.get_by_label("Email address")
    tab_to(page, address, limit=120)
    page.keyboard.type("not-an-address")
    submit = page.get_by_role("button", name="Add to team")
    tab_to(page, submit)
    page.keyboard.press("Enter")
    summary = error_summary(page)
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # read first, by a screen reader too
    expect(summary.get_by_role("link")).to_have_count(2)
    expect(summary.get_by_role("link", name="Enter a valid email address.")).to_be_visible()
    expect(summary.get_by_role("link", name="Choose at least one hub role.")).to_be_visible()
    assert_accessible(page)
    # Each message is also beside its field, and the summary's links lead to the fields.
    expect(page.locator("#email-error")).to_contain_text("Enter a valid email address.")
    expect(page.locator("#roles-error")).to_contain_text("Choose at least one hub role.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Email address")).to_be_focused()
    # Shift+Tab from the field goes back to the summary's last link: the roles.
    page.keyboard.press("Shift+Tab")
    expect(summary.get_by_role("link", name="Choose at least one hub role.")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#roles-0")).to_be_focused()
