"""A coordinator learns a real module in Chromium: reads, fails the check, retries, completes;
the hub lead sees it, and the time spent reading, in the team matrix. Every page is checked
with axe."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_journeys import log_in, open_login
from tests.factories.organisations import join_team


def _team_in_training(live_app, create_account):
    """An organisation in training with a hub lead and a coordinator (e-mail, name, password)."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations import services

    lead = create_account()
    coordinator = create_account()
    with live_app.test_request_context():
        lead_user = get_user_by_email(lead[0])
        org = services.create_organisation(
            lead_user,
            services.OrganisationDetails(
                name="Rowan Tree Hospice", org_type="hospice", nation="england"
            ),
        )
        join_team(org, lead_user, get_user_by_email(coordinator[0]), ["coordinator"])
        org.stage = "in_training"
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return org_id, lead, coordinator


def open_draw(live_app, email: str, slug: str) -> list[dict]:
    """The questions of the attempt `email` has open at module `slug`: [{"id", "order"}]."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.training import services

    with live_app.app_context():
        draw = services.open_draw(get_user_by_email(email), services.curriculum().get(slug))
        questions = [dict(q) for q in draw.questions]
        db.session.remove()
    return questions


def wanted_choices(question, correct: bool) -> list[int]:
    """Bank indexes of the choices to tick: the right ones, or one wrong one."""
    if correct:
        return sorted(question.answers)
    return [next(i for i in range(len(question.choices)) if i not in question.answers)]


def answer(page: Page, module, drawn: list[dict], correct: bool) -> None:
    """Tick the answers of the drawn questions with the mouse, finding choices by their text
    (their order on the page is the attempt's own)."""
    for entry in drawn:
        question = module.check.question(entry["id"])
        group = page.get_by_role("group", name=question.prompt)
        for index in wanted_choices(question, correct):
            group.get_by_label(question.choices[index], exact=True).check()


def test_coordinator_completes_a_module_and_the_lead_sees_it(
    page: Page, browser, live_app, create_account, assert_accessible, base_url
):
    org_id, lead, coordinator = _team_in_training(live_app, create_account)
    with live_app.app_context():
        from app.training.services import curriculum

        module = curriculum().get("echo-model")

    open_login(page, assert_accessible)
    log_in(page, coordinator[0], coordinator[2], assert_accessible)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="My training"
    ).click()
    expect(page.get_by_role("heading", level=1, name="My training")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name=module.title).click()
    expect(page.get_by_role("heading", level=1, name=module.title)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Start the first lesson").click()
    for lesson in module.lessons:
        expect(page.get_by_role("heading", level=1, name=lesson.title)).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name=re.compile("^Mark as read")).click()

    expect(page.get_by_role("heading", level=1, name=re.compile("Knowledge check"))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Start the knowledge check").click()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("alert").filter(has_text="Answer every question")).to_be_visible()
    assert_accessible(page)

    answer(page, module, open_draw(live_app, coordinator[0], module.slug), correct=False)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("Not passed yet.")).to_be_visible()
    expect(page.get_by_role("heading", name="Topics to revisit")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Try again").click()
    answer(page, module, open_draw(live_app, coordinator[0], module.slug), correct=True)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", level=1, name="Your result: 100%")).to_be_visible()
    expect(page.get_by_text(f"Module complete: {module.title}.")).to_be_visible()
    assert_accessible(page)

    lead_context = browser.new_context(base_url=base_url)
    lead_page = lead_context.new_page()
    open_login(lead_page, assert_accessible)
    log_in(lead_page, lead[0], lead[2], assert_accessible)
    lead_page.goto(f"/organisations/{org_id}/training")
    matrix = lead_page.get_by_role("table")
    row = matrix.get_by_role("row").filter(has_text=coordinator[1])
    expect(row.get_by_role("cell").first).to_contain_text("Complete")
    expect(row).to_contain_text("100%")
    expect(row).to_contain_text("min reading")
    assert_accessible(lead_page)
    lead_context.close()
