"""The portal by keyboard alone (issue 19: "a keyboard-only Playwright run completes the
application, a knowledge check and a trainer's evidence review"; the knowledge check is
test_knowledge_check_journey.py).

An applicant logs in, registers an organisation (making one mistake, whose error summary
takes the focus and leads to the field) and completes and submits the application; a
trainer logs in, opens the Evidence review queue from the header's Programme menu, and
records a decision with a comment on a checklist answer. After page.goto nothing is
clicked, filled, checked or selected: every control is reached with Tab (which proves it
is in the tab order) and used with typing, Space, arrow keys and Enter. The main pages
pass assert_accessible (axe, control contrast, no sideways scroll, the header on one row).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import error_summary, flash, main_nav
from tests.e2e.test_readiness_journey import team_in_training

pytestmark = pytest.mark.e2e

APPLICANT_ORG = "Dunlin Shore Hospice"
TRAINER_ORG = "Sandpiper Point Hospice"
ITEM_KEY = "spoke-recruitment"
ITEM_TITLE = "Spoke recruitment plan"
COMMENT = "Please say how many spokes you expect at launch."

# What a control is called, and where the focus is: for a failure message.
_DESCRIBE = """el => {
  if (!el || el === document.body) return "the page itself";
  const label = (el.labels && el.labels[0] && el.labels[0].textContent)
    || el.getAttribute("aria-label") || el.textContent || el.getAttribute("name") || "";
  return `<${el.tagName.toLowerCase()}> "${label.replace(/\\s+/g, " ").trim().slice(0, 60)}"`;
}"""


def tab_to(page: Page, locator: Locator, limit: int = 80) -> None:
    """Press Tab until `locator` has the focus (keyboard only: no click, no .focus()).
    Fails naming the control, and where the focus was left, if `limit` presses never
    reach it: it is not reachable by keyboard from where the focus was."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            return
    control = locator.evaluate(_DESCRIBE)
    focused = page.evaluate(f"({_DESCRIBE})(document.activeElement)")
    raise AssertionError(
        f"{control} on {page.url} was not reached with {limit} presses of Tab "
        f"(the focus ended on {focused})"
    )


def type_into(page: Page, locator: Locator, text: str, limit: int = 80) -> None:
    """Tab to a text field and type `text` (a newline in a textarea is a line break)."""
    tab_to(page, locator, limit)
    page.keyboard.type(text)


def log_in_by_keyboard(page: Page, email: str, password: str, assert_accessible) -> None:
    page.goto("/account/login")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    assert_accessible(page)
    type_into(page, page.get_by_label("Email address"), email)
    type_into(page, page.get_by_label("Password", exact=True), password, limit=3)
    page.keyboard.press("Enter")  # implicit submission from the password field
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1, name=re.compile("^Welcome"))).to_be_visible()
    assert_accessible(page)


def test_an_applicant_registers_and_submits_the_application_by_keyboard(
    page: Page, create_account, assert_accessible
):
    email, _name, password = create_account(roles=("applicant",))
    log_in_by_keyboard(page, email, password, assert_accessible)

    # --- Register the organisation, with one mistake first -----------------------------
    tab_to(page, page.get_by_role("link", name="Register an organisation"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/organisations/new$"))
    expect(page.get_by_role("heading", level=1, name="Register your organisation")).to_be_visible()
    assert_accessible(page)
    type_into(page, page.get_by_label("Organisation name"), APPLICANT_ORG)
    org_type = page.get_by_label("Type of organisation")
    tab_to(page, org_type, limit=3)
    page.keyboard.type("Hosp")  # a closed select picks the option typed
    expect(org_type).to_have_value("hospice")
    number = page.get_by_label("Registered charity or company number (optional)")
    type_into(page, number, "not-a-number", limit=3)
    nation = page.get_by_label("Nation or country")
    tab_to(page, nation, limit=3)
    page.keyboard.press("ArrowDown")  # "Choose…" -> "England"
    expect(nation).to_have_value("england")
    type_into(page, page.get_by_label("Address"), "1 Shore Road\nSilloth\nCA7 4ZZ", limit=4)
    type_into(page, page.get_by_label("Website"), "www.dunlinshore.example.org.uk", limit=3)
    type_into(page, page.get_by_label("Main contact phone"), "016973 496 000", limit=3)
    page.keyboard.press("Enter")  # implicit submission: "Save organisation"

    # The error summary takes the focus; its link takes the focus to the field.
    summary = error_summary(page)
    expect(summary).to_contain_text("Enter a charity number")
    expect(summary).to_be_focused()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Organisation name")).to_have_value(APPLICANT_ORG)
    expect(page.get_by_label("Address")).to_have_value("1 Shore Road\nSilloth\nCA7 4ZZ")
    assert_accessible(page)
    link = summary.get_by_role("link", name=re.compile("Enter a charity number"))
    tab_to(page, link, limit=2)
    page.keyboard.press("Enter")
    expect(number).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("1 123 456")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(flash(page, f"{APPLICANT_ORG} is registered and you are its hub lead.")).to_be_visible()
    expect(page.get_by_role("region", name="Organisation details")).to_contain_text("1123456")
    assert_accessible(page)

    # --- Complete the application and submit it -----------------------------------------
    tab_to(page, page.get_by_role("link", name="Start the application"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/organisations/\d+/application$"))
    expect(page.get_by_text("0 of 5 parts complete")).to_be_visible()
    assert_accessible(page)
    for label, text in (
        ("Proposed network name", "Solway Coast Care Homes ECHO"),
        ("Network theme", "Care home education"),
        ("Target audience", "Nurses and carers in care homes\nalong the Solway coast."),
        ("Expected number of spokes", "9"),
        ("Why does your organisation want to run ECHO?", "Our partners asked for support."),
        ("Executive sponsor's name", "Dr Morag Irving"),
        ("Executive sponsor's role", "Chief Executive"),
        ("Executive sponsor's email", "morag.irving@example.org"),
    ):
        type_into(page, page.get_by_label(label), text)
    licence = page.get_by_role("radio", name="Yes, we have a licence")
    tab_to(page, licence, limit=3)
    page.keyboard.press("Space")
    expect(licence).to_be_checked()
    type_into(page, page.get_by_label("How did you hear about ECHO?"), "A hospice network day.")
    submit = page.get_by_role("button", name="Submit application")
    tab_to(page, submit, limit=20)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(flash(page, "Application submitted.")).to_be_visible()
    expect(page.locator(".stage-badge")).to_have_text("Submitted for screening")
    assert_accessible(page)


def organisation_with_an_answer_to_review(live_app, create_account) -> None:
    """An organisation in training whose hub lead has answered the spoke recruitment plan
    (through the services): it waits in the Evidence review queue."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations.models import Organisation
    from tests.factories.readiness import answer

    org_id, lead, _members = team_in_training(live_app, create_account, TRAINER_ORG, train=False)
    with live_app.test_request_context():
        answer(db.session.get(Organisation, org_id), get_user_by_email(lead[0]), ITEM_KEY)
        db.session.remove()


def test_a_trainer_reviews_evidence_by_keyboard(
    page: Page, live_app, create_account, assert_accessible
):
    organisation_with_an_answer_to_review(live_app, create_account)
    email, _name, password = create_account(roles=("trainer",))
    log_in_by_keyboard(page, email, password, assert_accessible)

    # The header's Programme menu is a disclosure button: Enter opens it.
    programme = main_nav(page).get_by_role("button", name=re.compile("^Programme"))
    tab_to(page, programme, limit=20)
    page.keyboard.press("Enter")
    expect(programme).to_have_attribute("aria-expanded", "true")
    tab_to(page, main_nav(page).get_by_role("link", name="Evidence review"), limit=10)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Evidence review")).to_be_visible()
    assert_accessible(page)

    # The queue is oldest first and shared with other journeys: ours may be far down.
    review = page.get_by_role("link", name=f"Review {ITEM_TITLE} for {TRAINER_ORG}")
    tab_to(page, review, limit=200)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/organisations/\d+/checklist/{ITEM_KEY}$"))
    expect(page.get_by_role("heading", level=3, name="Review version 1")).to_be_visible()
    assert_accessible(page)

    # Tab reaches the group's first radio; the arrow key moves to, and checks, the next.
    decision = page.get_by_role("group", name="Decision")
    tab_to(page, decision.get_by_role("radio", name="Accept"))
    page.keyboard.press("ArrowDown")
    expect(decision.get_by_role("radio", name="Request changes")).to_be_checked()
    type_into(page, page.get_by_label("Comment (required when requesting changes)"), COMMENT, 3)
    tab_to(page, page.get_by_role("button", name="Record decision"), limit=3)
    page.keyboard.press("Space")

    expect(flash(page, f"“{ITEM_TITLE}”: changes requested.")).to_be_visible()
    current = page.get_by_role("region", name="Current answer")
    expect(current).to_contain_text("Changes requested")
    thread = page.get_by_role("region", name="Comments and decisions")
    expect(thread).to_contain_text(COMMENT)
    expect(thread).to_contain_text("requested changes")
    expect(page.get_by_role("heading", name="Review version 1")).to_have_count(0)
    assert_accessible(page)
