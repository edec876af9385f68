"""The organisation journey in Chromium, from registration to acceptance into the programme.

One applicant registers and becomes hub lead of a new organisation, saves a draft,
invites a coordinator (who registers from the emailed link in a browser of their own),
submits; one trainer asks for changes, the lead fixes and resubmits, a second trainer
accepts. Every page shown is checked with axe-core.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD
from tests.e2e.helpers import error_summary, flash, main_nav, nav_link

pytestmark = pytest.mark.e2e

ORG_NAME = "Kestrel Moor Hospice"
LEAD_NAME = "Hannah Lead"
COORDINATOR_NAME = "Callum Coordinator"
LEAD_PASSWORD = "amber-harbour-thistle-lantern"
COORDINATOR_PASSWORD = "copper-fjord-meadow-quartz"
CHANGES_MESSAGE = "Please say which care homes in Cumbria will join as spokes."


def org_nav(page: Page, name: str = ORG_NAME):
    return page.get_by_role("navigation", name=name)


def subject(message) -> str:
    """An email's subject without the site-name prefix."""
    return re.sub(r"^\[[^\]]*\]\s*", "", message.subject)


def stepper(page: Page):
    return page.get_by_role("list", name="The path to becoming a hub")


def register(page: Page, *, name: str, password: str, email: str | None = None) -> None:
    """Fill the registration form shown; the email is typed only when given."""
    page.get_by_label("Full name").fill(name)
    if email is not None:
        page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)
    page.get_by_role("button", name="Create account").click()


def confirm_address(page: Page, link: str, assert_accessible) -> None:
    """Open the emailed confirmation link and press its button (nothing changes on GET)."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name="Confirm your email address")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(flash(page, "your email address is confirmed")).to_be_visible()


def log_in(page: Page, email: str, password: str, assert_accessible) -> None:
    page.goto("/account/login")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    assert_accessible(page)


def open_tab(page: Page, label: str, url_end: str) -> None:
    org_nav(page).get_by_role("link", name=label, exact=True).click()
    expect(page).to_have_url(re.compile(url_end))
    page.wait_for_load_state("load")  # styles applied: tabs or the phone's list, not both
    expect(org_nav(page).get_by_role("link", name=label, exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def review_from_queue(page: Page, assert_accessible) -> None:
    """From any page: Screening queue in the nav, then the organisation's Review link."""
    nav_link(page, "Screening queue").click()
    expect(page).to_have_url(re.compile(r"/organisations/queue$"))
    expect(page.get_by_role("heading", level=1, name="Screening queue")).to_be_visible()
    assert_accessible(page)
    row = page.get_by_role("row").filter(has_text=ORG_NAME)
    expect(row).to_contain_text(LEAD_NAME)
    row.get_by_role("link", name=f"Review {ORG_NAME}").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+/screening$"))
    expect(page.get_by_role("heading", level=1, name=ORG_NAME)).to_be_visible()
    expect(page.get_by_role("heading", name="Decision")).to_be_visible()
    assert_accessible(page)


def decide(page: Page, decision: str, message: str) -> None:
    panel = page.get_by_role("region", name="Decision")
    panel.get_by_role("radio", name=decision).check()
    panel.get_by_label("Message to the applicant").fill(message)
    panel.get_by_role("button", name="Record decision").click()


def test_organisation_journey_from_registration_to_training(
    page: Page,
    new_context,
    assert_accessible,
    create_account,
    emails_to,
    unique_email,
    confirmation_link,
):
    lead_email = unique_email("lead")
    coordinator_email = unique_email("coordinator")
    trainer1_email, _, trainer_password = create_account(roles=("trainer",), name="Tess Trainer")
    trainer2_email, _, _ = create_account(roles=("trainer",), name="Owen Trainer")

    # --- The applicant registers from the Register link -------------------------------
    page.goto("/")
    assert_accessible(page)
    main_nav(page).get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    assert_accessible(page)
    register(page, name=LEAD_NAME, email=lead_email, password=LEAD_PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/check-email$"))
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    assert_accessible(page)
    confirm_address(page, confirmation_link(lead_email), assert_accessible)
    log_in(page, lead_email, LEAD_PASSWORD, assert_accessible)
    expect(page.get_by_role("heading", level=1, name=f"Welcome, {LEAD_NAME}")).to_be_visible()
    expect(page.get_by_text("You are not on an organisation's hub team yet.")).to_be_visible()
    assert_accessible(page)

    # --- ... and registers the organisation, becoming its hub lead --------------------
    page.get_by_role("link", name="Register an organisation").click()
    expect(page).to_have_url(re.compile(r"/organisations/new$"))
    expect(page.get_by_role("heading", level=1, name="Register your organisation")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Organisation name").fill(ORG_NAME)
    page.get_by_label("Type of organisation").select_option(label="Hospice")
    page.get_by_label("Registered charity or company number (optional)").fill("not-a-number")
    page.get_by_label("Nation or country").select_option(label="England")
    page.get_by_label("Address").fill("1 Fell Road\nKendal\nLA9 4ZZ")
    page.get_by_label("Website").fill("www.kestrelmoor.example.org.uk")
    page.get_by_label("Main contact phone").fill("01539 496 000")
    page.get_by_role("button", name="Save organisation").click()
    # A malformed charity number is refused, with everything else kept.
    expect(error_summary(page)).to_contain_text("Enter a charity number")
    number = page.get_by_label("Registered charity or company number (optional)")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Organisation name")).to_have_value(ORG_NAME)
    assert_accessible(page)
    number.fill("1 123 456")
    page.get_by_role("button", name="Save organisation").click()

    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(flash(page, f"{ORG_NAME} is registered and you are its hub lead.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=ORG_NAME)).to_be_visible()
    expect(page.get_by_text("Your roles: Hub lead")).to_be_visible()
    expect(page.locator(".stage-badge")).to_have_text("Draft application")
    expect(stepper(page).get_by_role("listitem").filter(has_text="Apply")).to_have_attribute(
        "aria-current", "step"
    )
    details = page.get_by_role("region", name="Organisation details")
    expect(details).to_contain_text("1123456")
    expect(details).to_contain_text("https://www.kestrelmoor.example.org.uk")
    assert_accessible(page)
    org_url = page.url

    # --- A partial draft is saved ------------------------------------------------------
    page.get_by_role("link", name="Start the application").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+/application$"))
    expect(page.get_by_role("heading", name="Hub application")).to_be_visible()
    expect(page.get_by_text("0 of 5 parts complete")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Proposed network name").fill("Cumbria Care Homes ECHO")
    page.get_by_label("Network theme").fill("Care home education")
    page.get_by_label("Target audience").fill("Nurses and carers in care homes across Cumbria.")
    page.get_by_label("Expected number of spokes").fill("12")
    page.get_by_role("button", name="Save draft").click()
    expect(flash(page, "Draft saved.")).to_be_visible()
    expect(page.get_by_text("1 of 5 parts complete")).to_be_visible()
    expect(page.get_by_label("Proposed network name")).to_have_value("Cumbria Care Homes ECHO")
    expect(page.get_by_label("Expected number of spokes")).to_have_value("12")
    expect(page.get_by_label("Executive sponsor's name")).to_have_value("")
    assert_accessible(page)

    # --- The lead invites a coordinator who has no account yet ------------------------
    open_tab(page, "Team", r"/organisations/\d+/team$")
    expect(page.get_by_role("heading", name="Hub team")).to_be_visible()
    composition = page.get_by_role("region", name="Team composition")
    expect(composition).to_contain_text("Coordinator: missing")
    assert_accessible(page)
    invite = page.get_by_role("region", name="Add someone to the team")
    invite.get_by_label("Email address").fill(coordinator_email)
    invite.get_by_role("checkbox", name="Coordinator").check()
    invite.get_by_role("button", name="Add to team").click()
    expect(flash(page, f"Invitation sent to {coordinator_email}.")).to_be_visible()
    expect(page.locator(".invitations")).to_contain_text(coordinator_email)
    expect(page.locator(".invitations")).to_contain_text("Coordinator")
    assert_accessible(page)

    messages = emails_to(coordinator_email)
    assert len(messages) == 1
    assert messages[0].subject.endswith(f"Join {ORG_NAME}'s ECHO hub team")
    assert LEAD_NAME in messages[0].body
    match = re.search(r"(http://\S+/organisations/invitations/\S+)", messages[0].body)
    assert match, messages[0].body
    invitation_link = match.group(1)

    # --- The coordinator, in a browser of their own, registers from the link ----------
    coordinator = new_context().new_page()
    coordinator.goto(invitation_link)
    expect(
        coordinator.get_by_role("heading", level=1, name=f"Join {ORG_NAME}'s hub team")
    ).to_be_visible()
    expect(coordinator.get_by_role("main")).to_contain_text("Coordinator")
    assert_accessible(coordinator)
    coordinator.get_by_role("link", name="Create an account").click()
    expect(coordinator).to_have_url(re.compile(r"/account/register\?"))
    expect(coordinator.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    expect(coordinator.get_by_label("Email address")).to_have_value(coordinator_email)
    assert_accessible(coordinator)
    register(coordinator, name=COORDINATOR_NAME, password=COORDINATOR_PASSWORD)
    # The address is confirmed from the emailed link, then the coordinator logs in and is
    # back on the invitation, signed in with the invited address.
    expect(coordinator).to_have_url(re.compile(r"/account/check-email$"))
    confirm_address(coordinator, confirmation_link(coordinator_email), assert_accessible)
    expect(coordinator).to_have_url(re.compile(r"/account/login\?next="))
    coordinator.get_by_label("Email address").fill(coordinator_email)
    coordinator.get_by_label("Password", exact=True).fill(COORDINATOR_PASSWORD)
    coordinator.get_by_role("button", name="Log in").click()
    expect(coordinator).to_have_url(invitation_link)
    expect(
        main_nav(coordinator).get_by_role("link", name=re.compile(COORDINATOR_NAME))
    ).to_be_visible()
    assert_accessible(coordinator)
    coordinator.get_by_role("button", name="Join the team").click()
    expect(coordinator).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(flash(coordinator, f"Welcome to {ORG_NAME}'s hub team.")).to_be_visible()
    expect(coordinator.get_by_text("Your roles: Coordinator")).to_be_visible()
    # A coordinator sees the organisation but does not edit it.
    expect(coordinator.get_by_role("link", name="Start the application")).to_have_count(0)
    expect(coordinator.get_by_role("region", name="Organisation details")).to_have_count(0)
    assert_accessible(coordinator)
    # The link works once.
    response = coordinator.goto(invitation_link)
    assert response is not None and response.status == 400
    expect(coordinator.get_by_role("alert")).to_contain_text("already been used")
    assert_accessible(coordinator)

    # --- The lead sees the coordinator on the team -------------------------------------
    page.reload()
    expect(page.get_by_role("heading", name="Hub team")).to_be_visible()
    team_table = page.get_by_role("table", name=f"Members of {ORG_NAME}'s hub team")
    coordinator_row = team_table.get_by_role("row").filter(has_text=COORDINATOR_NAME)
    expect(coordinator_row).to_contain_text(coordinator_email)
    expect(coordinator_row.get_by_role("checkbox", name="Coordinator")).to_be_checked()
    expect(page.locator(".invitations")).to_have_count(0)
    expect(page.get_by_role("region", name="Team composition")).not_to_contain_text(
        "Coordinator: missing"
    )
    assert_accessible(page)

    # --- Submitting too early lists each missing field; then the lead completes it ----
    open_tab(page, "Application", r"/organisations/\d+/application$")
    page.get_by_role("button", name="Submit application").click()
    expect(error_summary(page)).to_contain_text(
        "Your draft is saved, but it cannot be submitted until these are filled in."
    )
    for label in (
        "Why your organisation wants to run ECHO",
        "Executive sponsor's name",
        "Executive sponsor's role",
        "Executive sponsor's email",
        "Videoconferencing licence",
        "How you heard about ECHO",
    ):
        expect(
            error_summary(page).get_by_role("link", name=f"{label} is needed before you submit.")
        ).to_be_visible()
    expect(error_summary(page)).not_to_contain_text("Proposed network name is needed")
    sponsor = page.get_by_label("Executive sponsor's name")
    expect(sponsor).to_have_attribute("aria-invalid", "true")
    expect(sponsor).to_have_accessible_description(
        re.compile("Executive sponsor's name is needed before you submit.")
    )
    expect(page.get_by_label("Proposed network name")).to_have_value("Cumbria Care Homes ECHO")
    assert_accessible(page)
    assert emails_to(trainer1_email) == []

    page.get_by_label("Why does your organisation want to run ECHO?").fill(
        "Our care home partners asked for regular, case-based support from our specialists."
    )
    sponsor.fill("Dr Ruth Pennington")
    page.get_by_label("Executive sponsor's role").fill("Chief Executive")
    page.get_by_label("Executive sponsor's email").fill("ruth.pennington@example.org")
    page.get_by_role("radio", name="Yes, we have a licence").check()
    page.get_by_label("How did you hear about ECHO?").fill(
        "A regional palliative care network day."
    )
    page.get_by_role("button", name="Submit application").click()
    expect(page).to_have_url(org_url)
    expect(flash(page, "Application submitted.")).to_be_visible()
    expect(page.locator(".stage-badge")).to_have_text("Submitted for screening")
    assert_accessible(page)
    assert [subject(m) for m in emails_to(trainer1_email)] == [f"Application to review: {ORG_NAME}"]

    # --- Trainer one asks for changes ----------------------------------------------------
    trainer1 = new_context().new_page()
    log_in(trainer1, trainer1_email, trainer_password, assert_accessible)
    review_from_queue(trainer1, assert_accessible)
    screening_url = trainer1.url
    expect(trainer1.get_by_role("main")).to_contain_text("Cumbria Care Homes ECHO")
    expect(trainer1.get_by_role("main")).to_contain_text(
        f"{COORDINATOR_NAME} ({coordinator_email})"
    )
    # The message is required when asking for changes.
    decide(trainer1, "Request changes", "")
    expect(error_summary(trainer1)).to_contain_text("Tell the applicant what to change.")
    assert_accessible(trainer1)
    decide(trainer1, "Request changes", CHANGES_MESSAGE)
    expect(trainer1).to_have_url(re.compile(r"/organisations/queue$"))
    expect(flash(trainer1, f"Decision recorded for {ORG_NAME}: request changes.")).to_be_visible()
    # Off the queue (other journeys in this run may have left applications waiting there).
    expect(trainer1.get_by_role("link", name=f"Review {ORG_NAME}")).to_have_count(0)
    assert_accessible(trainer1)
    assert f"Changes requested to {ORG_NAME}'s application" in [
        subject(m) for m in emails_to(lead_email)
    ]

    # --- The lead sees the message, fixes and resubmits ---------------------------------
    page.reload()
    expect(page.locator(".stage-badge")).to_have_text("Draft application")
    changes = page.get_by_role("region", name="What happens next").locator(".changes-requested")
    expect(changes).to_contain_text("The superhub asked for changes:")
    expect(changes).to_contain_text(CHANGES_MESSAGE)
    assert_accessible(page)
    page.get_by_role("link", name="Continue the application").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+/application$"))
    expect(page.locator(".changes-requested").filter(has_text=CHANGES_MESSAGE)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Target audience").fill(
        "Nurses and carers in 12 care homes across South Lakeland and Barrow, Cumbria."
    )
    page.get_by_role("button", name="Submit application").click()
    expect(page).to_have_url(org_url)
    expect(flash(page, "Application submitted.")).to_be_visible()
    expect(page.locator(".stage-badge")).to_have_text("Submitted for screening")
    expect(page.get_by_text("The superhub asked for changes:")).to_have_count(0)
    assert_accessible(page)

    # Trainer one opens the resubmitted application again (and leaves it open).
    trainer1.goto(screening_url)
    expect(trainer1.get_by_role("radio", name="Decline")).to_be_visible()

    # --- A second trainer accepts it into the programme ---------------------------------
    trainer2 = new_context().new_page()
    log_in(trainer2, trainer2_email, trainer_password, assert_accessible)
    nav_link(trainer2, "Screening queue").click()
    expect(trainer2.get_by_role("row").filter(has_text=ORG_NAME)).to_contain_text("resubmitted")
    review_from_queue(trainer2, assert_accessible)
    expect(trainer2.get_by_role("main")).to_contain_text("South Lakeland and Barrow")
    decide(trainer2, "Accept into the programme", "Welcome aboard.")
    expect(trainer2).to_have_url(re.compile(r"/organisations/queue$"))
    expect(
        flash(trainer2, f"Decision recorded for {ORG_NAME}: accept into the programme.")
    ).to_be_visible()
    assert_accessible(trainer2)
    assert f"{ORG_NAME} is accepted into the programme" in [
        subject(m) for m in emails_to(lead_email)
    ]

    # Trainer one, still on the screening page opened before that, is refused cleanly.
    decide(trainer1, "Decline", "We cannot support this network.")
    expect(error_summary(trainer1)).to_contain_text("at “In training”")
    expect(trainer1.get_by_text("Nothing to decide")).to_be_visible()
    assert_accessible(trainer1)

    # --- The lead sees "In training", now on the Agree step, and the history ------------
    page.reload()
    expect(page.locator(".stage-badge")).to_have_text("In training")
    steps = stepper(page).get_by_role("listitem")
    expect(steps).to_have_count(7)
    expect(steps.filter(has_text="Agree")).to_have_attribute("aria-current", "step")
    expect(steps.filter(has_text="Agree")).to_contain_text("(current step)")
    expect(steps.filter(has_text="Apply")).to_contain_text("(done)")
    expect(steps.filter(has_text="Train")).to_contain_text("(to come)")
    expect(page.get_by_role("region", name="What happens next")).to_contain_text(
        "accepted into the hub training programme"
    )
    assert_accessible(page)

    open_tab(page, "History", r"/organisations/\d+/history$")
    expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
    history = (
        page.get_by_role("main").get_by_role("list").filter(has_text="registered the organisation")
    )
    events = history.get_by_role("listitem")
    # People by name in the record, never by email address.
    expect(events.first).to_contain_text("Owen Trainer accepted the application into the programme")
    expect(history).not_to_contain_text(trainer2_email)
    expect(events.first).to_contain_text("Welcome aboard.")
    expect(events.filter(has_text="asked for changes to the application")).to_contain_text(
        f"Tess Trainer asked for changes to the application (message: {CHANGES_MESSAGE})"
    )
    expect(events.filter(has_text="submitted the application")).to_have_count(2)
    expect(events.filter(has_text="declined")).to_have_count(0)
    expect(events.filter(has_text="joined the team from an invitation")).to_contain_text(
        COORDINATOR_NAME
    )
    expect(events.filter(has_text="invited someone to the team")).to_contain_text(COORDINATOR_NAME)
    expect(history).not_to_contain_text(coordinator_email)
    expect(events.last).to_contain_text("registered the organisation")
    assert_accessible(page)

    # The coordinator sees the same stage on their home page.
    coordinator.goto("/")
    card = coordinator.locator(".org-card").filter(has_text=ORG_NAME)
    expect(card).to_contain_text("In training")
    expect(card).to_contain_text("Your roles: Coordinator")
    assert_accessible(coordinator)


def test_lead_withdraws_and_trainer_finds_it_in_the_list(
    page: Page, new_context, assert_accessible, create_account
):
    org_name = "Saltmarsh Community Hospice"
    lead_email, lead_name, password = create_account(name="Wendy Withdrawer")
    trainer_email, _, _ = create_account(roles=("trainer",))

    log_in(page, lead_email, password, assert_accessible)
    page.get_by_role("link", name="Register an organisation").click()
    page.get_by_label("Organisation name").fill(org_name)
    page.get_by_label("Type of organisation").select_option(label="Charity")
    page.get_by_label("Nation or country").select_option(label="Another country")
    page.get_by_role("button", name="Save organisation").click()
    # "Another country" needs the country named.
    expect(error_summary(page)).to_contain_text("Enter the country.")
    assert_accessible(page)
    page.get_by_label("Country (if not in the UK)").fill("Ireland")
    page.get_by_role("button", name="Save organisation").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(page.get_by_role("main")).to_contain_text("Charity · Ireland")

    # A reason is required; the form stays open to show why.
    page.get_by_text(f"Withdraw {org_name} from the programme").click()
    page.get_by_role("button", name="Withdraw organisation").click()
    expect(error_summary(page)).to_contain_text("Tell us why you are withdrawing.")
    expect(page.get_by_label("Why are you withdrawing?")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Why are you withdrawing?").fill("Our board has paused new programmes.")
    page.get_by_role("button", name="Withdraw organisation").click()
    expect(flash(page, f"{org_name} has been withdrawn from the programme.")).to_be_visible()
    expect(page.locator(".stage-badge")).to_have_text("Withdrawn")
    status = page.get_by_role("region", name="Status")
    expect(status).to_contain_text("Our board has paused new programmes.")
    expect(page.get_by_role("button", name="Withdraw organisation")).to_have_count(0)
    expect(stepper(page).locator("[aria-current=step]")).to_have_count(0)
    assert_accessible(page)

    # Nothing can be edited any more.
    org_nav(page, org_name).get_by_role("link", name="Application", exact=True).click()
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    assert_accessible(page)
    org_nav(page, org_name).get_by_role("link", name="Team", exact=True).click()
    expect(page.get_by_role("button", name="Add to team")).to_have_count(0)
    assert_accessible(page)

    # A trainer finds it by stage and name in the organisation list.
    trainer = new_context().new_page()
    log_in(trainer, trainer_email, PASSWORD, assert_accessible)
    nav_link(trainer, "Organisations", exact=True).click()
    expect(trainer).to_have_url(re.compile(r"/organisations$"))
    expect(trainer.get_by_role("heading", level=1, name="Organisations")).to_be_visible()
    assert_accessible(trainer)
    search = trainer.get_by_role("search", name="Filter organisations")
    search.get_by_label("Search by name").fill("saltmarsh")
    search.get_by_label("Stage").select_option(label="Withdrawn")
    search.get_by_role("button", name="Filter").click()
    expect(trainer.get_by_text("1 organisation found.")).to_be_visible()
    table = trainer.get_by_role("table", name="Organisations matching the filter")
    row = table.get_by_role("row").filter(has_text=org_name)
    expect(row).to_contain_text("Withdrawn")
    expect(row).to_contain_text(lead_name)
    expect(row).to_contain_text("Ireland")
    assert_accessible(trainer)
    row.get_by_role("link", name=org_name).click()
    expect(trainer.get_by_role("heading", level=1, name=org_name)).to_be_visible()
    expect(trainer.get_by_role("region", name="Status")).to_contain_text("withdrew")
    assert_accessible(trainer)
