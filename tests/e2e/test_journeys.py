"""Real journeys through the portal in Chromium, with an axe-core check on every page shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import error_summary, main_nav, nav_link

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "lantern-orchard-pebble-violin"


def log_in(page: Page, email: str, password: str, assert_accessible) -> None:
    """Fill and submit the login form on the page currently shown."""
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert_accessible(page)


def open_login(page: Page, assert_accessible) -> None:
    page.goto("/account/login")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    assert_accessible(page)


def fill_registration(page: Page, *, name: str, email: str, password: str, confirm: str):
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(confirm)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


def test_register_log_out_and_log_back_in(
    page: Page, assert_accessible, unique_email, confirmation_link
):
    email = unique_email("newcomer")
    name = "Ada Newcomer"
    password = "quiet-meadow-copper-kettle"

    page.goto("/")
    assert_accessible(page)
    main_nav(page).get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    assert_accessible(page)

    fill_registration(page, name=name, email=email, password=password, confirm=password)
    # Nobody is signed in until the address is confirmed from the emailed link.
    expect(page).to_have_url(re.compile(r"/account/check-email$"))
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(email)
    expect(main_nav(page).get_by_role("button", name="Log out")).to_have_count(0)
    assert_accessible(page)
    page.goto(confirmation_link(email))
    expect(page.get_by_role("heading", level=1, name="Confirm your email address")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(
        page.get_by_role("status").filter(has_text="your email address is confirmed")
    ).to_be_visible()
    log_in(page, email, password, assert_accessible)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1, name=f"Welcome, {name}")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name=re.compile(name))).to_be_visible()
    assert_accessible(page)

    main_nav(page).get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(page.get_by_role("status").filter(has_text="logged out")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name=re.compile(name))).to_have_count(0)
    expect(main_nav(page).get_by_role("link", name="Log in")).to_be_visible()
    assert_accessible(page)

    log_in(page, email, password, assert_accessible)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status").filter(has_text=f"Signed in as {name}.")).to_be_visible()
    profile_link = main_nav(page).get_by_role("link", name=re.compile(name))
    expect(profile_link).to_be_visible()
    expect(profile_link).to_contain_text("Applicant")


def test_registration_errors_are_shown_and_nothing_is_created(
    page: Page, assert_accessible, unique_email, users_with_email, create_account, emails_to
):
    email = unique_email("mistaken")
    page.goto("/account/register")
    assert_accessible(page)

    # Passwords that do not match.
    fill_registration(
        page,
        name="Mo Mistaken",
        email=email,
        password="quiet-meadow-copper-kettle",
        confirm="quiet-meadow-copper-kettel",
    )
    expect(page.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    expect(error_summary(page)).to_contain_text("The two passwords do not match.")
    confirm = page.get_by_label("Confirm password")
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_have_accessible_description(re.compile("The two passwords do not match."))
    # The summary links to the field at fault.
    expect(
        error_summary(page).get_by_role("link", name="The two passwords do not match.")
    ).to_have_attribute("href", "#confirm")
    # What the person typed (except passwords) is kept.
    expect(page.get_by_label("Full name")).to_have_value("Mo Mistaken")
    expect(page.get_by_label("Email address")).to_have_value(email)
    assert_accessible(page)

    # Too short.
    fill_registration(
        page, name="Mo Mistaken", email=email, password="short-pw", confirm="short-pw"
    )
    password = page.get_by_label("Password", exact=True)
    expect(error_summary(page)).to_contain_text("Use at least 12 characters")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile("Use at least 12 characters"))
    assert_accessible(page)

    # Long enough but common.
    fill_registration(
        page, name="Mo Mistaken", email=email, password="Password2024!!", confirm="Password2024!!"
    )
    expect(error_summary(page)).to_contain_text("too common or easy to guess")
    expect(password).to_have_accessible_description(re.compile("too common or easy to guess"))
    assert_accessible(page)

    assert users_with_email(email) == []

    # An address that already has an account.
    taken, taken_name, _ = create_account()
    fill_registration(
        page,
        name="Someone Else",
        email=taken,
        password="quiet-meadow-copper-kettle",
        confirm="quiet-meadow-copper-kettle",
    )
    # The same page as for a new address (nobody learns the address has an account); the
    # owner is emailed instead, and the account is unchanged.
    expect(page).to_have_url(re.compile(r"/account/check-email$"))
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    expect(main_nav(page).get_by_role("button", name="Log out")).to_have_count(0)
    assert_accessible(page)

    assert users_with_email(taken) == [(taken, taken_name)]
    [note] = emails_to(taken)
    assert note.subject.endswith("Someone tried to register with your email address")


def test_wrong_password_is_refused(page: Page, assert_accessible, create_account):
    email, name, _ = create_account()
    open_login(page, assert_accessible)
    log_in(page, email, "not-the-right-password-at-all", assert_accessible)

    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(error_summary(page)).to_contain_text("Email or password is incorrect.")
    expect(main_nav(page).get_by_role("link", name=re.compile(name))).to_have_count(0)
    # The email is kept, the password is not.
    expect(page.get_by_label("Email address")).to_have_value(email)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")


def test_forgotten_password_reset_by_emailed_link(
    page: Page, assert_accessible, create_account, emails_to
):
    email, name, old_password = create_account()
    open_login(page, assert_accessible)
    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page).to_have_url(re.compile(r"/account/forgot-password$"))
    expect(page.get_by_role("heading", level=1, name="Reset your password")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(
        page.get_by_role("status").filter(has_text=f"If an account exists for {email}")
    ).to_be_visible()
    assert_accessible(page)

    messages = emails_to(email)
    assert len(messages) == 1
    assert "Reset your password" in messages[0].subject
    match = re.search(r"(http://\S+/account/reset-password/\S+)", messages[0].body)
    assert match, messages[0].body
    link = match.group(1)
    assert link.startswith(page.url.split("/account/")[0])

    page.goto(link)
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(email)
    assert_accessible(page)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Confirm password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(
        page.get_by_role("status").filter(has_text="Your password has been changed.")
    ).to_be_visible()
    assert_accessible(page)

    # The old password no longer works.
    log_in(page, email, old_password, assert_accessible)
    expect(error_summary(page)).to_contain_text("Email or password is incorrect.")

    # The new one does.
    log_in(page, email, NEW_PASSWORD, assert_accessible)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(main_nav(page).get_by_role("link", name=re.compile(name))).to_be_visible()

    # The link works once.
    response = page.goto(link)
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1, name="Reset link not valid")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "This reset link has already been used. Request a new one."
    )
    expect(page.get_by_label("New password")).to_have_count(0)
    assert_accessible(page)


def test_admin_grants_trainer_role(page: Page, assert_accessible, create_account, new_context):
    admin_email, _, admin_password = create_account(roles=("admin",))
    email, name, password = create_account(name="Tariq Trainee")

    open_login(page, assert_accessible)
    log_in(page, admin_email, admin_password, assert_accessible)
    nav_link(page, "Users", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_role("heading", level=1, name="Users")).to_be_visible()
    assert_accessible(page)

    search = page.get_by_role("search", name="Filter users")
    search.get_by_label("Search name or email").fill(email)
    search.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 user found.")).to_be_visible()
    assert_accessible(page)
    table = page.get_by_role("table", name="Users matching the filter")
    expect(table.get_by_role("row").filter(has_text=email)).to_contain_text("Applicant")

    table.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    assert_accessible(page)
    roles = page.get_by_role("group", name="Site roles")
    expect(roles.get_by_label("Trainer", exact=True)).not_to_be_checked()
    roles.get_by_label("Trainer", exact=True).check()
    page.get_by_role("button", name="Save roles").click()

    expect(page.get_by_role("status").filter(has_text=f"Roles for {name} saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    expect(roles.get_by_label("Trainer", exact=True)).to_be_checked()
    expect(roles.get_by_label("Applicant")).to_be_checked()
    assert_accessible(page)

    page.get_by_role("link", name="All users").click()
    # Other journeys create many accounts: find this one by email rather than by page.
    search = page.get_by_role("search", name="Filter users")
    search.get_by_label("Search name or email").fill(email)
    search.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row").filter(has_text=email)).to_contain_text("Applicant, Trainer")
    assert_accessible(page)

    # The promoted person logs in from their own browser.
    trainer_page = new_context().new_page()
    open_login(trainer_page, assert_accessible)
    log_in(trainer_page, email, password, assert_accessible)
    profile_link = main_nav(trainer_page).get_by_role("link", name=re.compile(name))
    expect(profile_link).to_be_visible()
    # The roles are heard with the link's name (not shown: the header keeps to one row).
    expect(profile_link).to_contain_text("Trainer")


def test_applicant_is_refused_admin_pages(page: Page, assert_accessible, create_account):
    email, name, password = create_account()
    open_login(page, assert_accessible)
    log_in(page, email, password, assert_accessible)
    expect(main_nav(page).get_by_role("link", name=re.compile(name))).to_be_visible()

    response = page.goto("/admin/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1, name="Access denied")).to_be_visible()
    nav = main_nav(page)
    for hidden in ("Users", "Audit log"):  # not even inside a closed menu
        link = nav.get_by_role("link", name=hidden, exact=True, include_hidden=True)
        expect(link).to_have_count(0)
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_visible()
    assert_accessible(page)


def test_anonymous_visitor_is_sent_to_log_in_and_back(
    page: Page, assert_accessible, create_account
):
    admin_email, admin_name, admin_password = create_account(roles=("admin",))

    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/account/login\?next=%2Fadmin%2Fusers$"))
    expect(
        page.get_by_role("status").filter(has_text="Please log in to open that page.")
    ).to_be_visible()
    assert_accessible(page)

    log_in(page, admin_email, admin_password, assert_accessible)
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_role("heading", level=1, name="Users")).to_be_visible()
    nav = main_nav(page)
    expect(nav_link(page, "Users", exact=True)).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name=re.compile(admin_name))).to_contain_text("Administrator")


def test_keyboard_skip_link_and_login(page: Page, assert_accessible, create_account):
    email, name, password = create_account()
    open_login(page, assert_accessible)

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()  # visually hidden until focused
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    # From main, the next stop is the email field: fill and submit with the keyboard only.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email address")).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(main_nav(page).get_by_role("link", name=re.compile(name))).to_be_visible()
    assert_accessible(page)


def test_two_step_verification_set_up_and_sign_in(page: Page, assert_accessible, create_account):
    """A trainer turns on two-step verification, then signs in with a code from the app."""
    import pyotp

    email, name, password = create_account(roles=("trainer",))
    open_login(page, assert_accessible)
    log_in(page, email, password, assert_accessible)

    page.get_by_role("link", name=re.compile(name)).click()
    page.get_by_role("link", name="Two-step verification").click()
    expect(page.get_by_role("heading", level=1, name="Two-step verification")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page)

    secret = page.locator(".setup-key").inner_text().strip()
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading", level=1, name="Two-step verification is on")).to_be_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    assert_accessible(page)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    log_in(page, email, password, assert_accessible)
    expect(page).to_have_url(re.compile(r"/account/login/verify$"))
    page.get_by_label("Verification code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(error_summary(page)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Verification code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert").filter(has_text="recovery code")).to_be_visible()
    expect(main_nav(page)).to_contain_text(name)
    assert_accessible(page)
