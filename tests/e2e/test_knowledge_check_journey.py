"""A trainee fails a knowledge check twice, sees the topics to revisit but never the answers,
waits out the pause, and passes a check drawn differently, the last attempt by keyboard
alone. Pages are checked with axe, and at 375 px for sideways scrolling."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_journeys import log_in, open_login
from tests.e2e.test_training_journey import _team_in_training, answer, open_draw, wanted_choices

# "You can try again from 2 December 2026, 14:05 GMT" (the one date style).
WAIT_MESSAGE = re.compile(r"You can try again from \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d")


def _at_375(page: Page, assert_accessible) -> None:
    """The page fits a 375 px phone without sideways scrolling, and passes axe there."""
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url
    assert_accessible(page)
    page.set_viewport_size(size)


def _tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until `target` has the focus (and show that it is visibly focused)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            expect(target).to_be_focused()
            return
    raise AssertionError(f"Tab never reached {target}")


def _answer_by_keyboard(page: Page, module, drawn: list[dict]) -> None:
    """Answer every drawn question rightly with Tab, arrows and Space only."""
    for n, entry in enumerate(drawn):
        question = module.check.question(entry["id"])
        group = page.get_by_role("group", name=question.prompt)
        inputs = group.locator("input")
        wanted = [entry["order"].index(i) for i in wanted_choices(question, correct=True)]
        if question.kind == "single":
            _tab_to(page, inputs.nth(0), limit=80 if n == 0 else 3)
            for _ in range(wanted[0]):
                page.keyboard.press("ArrowDown")  # moves to, and checks, the next choice
            page.keyboard.press("Space")
            expect(inputs.nth(wanted[0])).to_be_checked()
        else:
            for position in range(len(question.choices)):
                _tab_to(page, inputs.nth(position), limit=80 if n == 0 and not position else 3)
                if position in wanted:
                    page.keyboard.press("Space")
            for position in range(len(question.choices)):
                checked = expect(inputs.nth(position))
                (checked.to_be_checked if position in wanted else checked.not_to_be_checked)()


def _move_attempts_back(live_app, email: str, minutes: int) -> None:
    """Let time pass for the cooldown: the person's attempts become `minutes` older."""
    from sqlalchemy import select

    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.training.models import CheckAttempt

    with live_app.app_context():
        user = get_user_by_email(email)
        for attempt in db.session.scalars(
            select(CheckAttempt).where(CheckAttempt.user_id == user.id)
        ):
            attempt.submitted_at -= timedelta(minutes=minutes)
        db.session.commit()
        db.session.remove()


def test_two_failures_pause_the_check_then_a_differently_drawn_check_is_passed(
    page: Page, live_app, create_account, assert_accessible
):
    _org_id, _lead, trainee = _team_in_training(live_app, create_account)
    with live_app.app_context():
        from app.core.programme import programme
        from app.training.services import curriculum

        module = curriculum().get("echo-model")
        minutes = programme().check_cooldown_minutes
    assert module.check.draw == 8 and len(module.check.questions) >= 12
    explanations = [q.explanation.strip()[:50] for q in module.check.questions]

    open_login(page, assert_accessible)
    log_in(page, trainee[0], trainee[2], assert_accessible)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="My training"
    ).click()
    page.get_by_role("link", name=module.title).click()
    page.get_by_role("link", name="Open the knowledge check").click()
    expect(page.get_by_text("Each attempt asks 8 questions, drawn from a bank of")).to_be_visible()
    page.get_by_role("button", name="Start the knowledge check").click()

    # First attempt: every answer wrong.
    first = open_draw(live_app, trainee[0], module.slug)
    assert len(first) == 8
    page.reload()  # a reload shows the same attempt
    assert open_draw(live_app, trainee[0], module.slug) == first
    answer(page, module, first, correct=False)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", level=1, name="Your result: 0%")).to_be_visible()
    expect(page.get_by_text("Not passed yet.")).to_be_visible()
    topics = page.get_by_role("region", name="Topics to revisit")
    lessons = {module.lesson(module.check.question(e["id"]).lesson).title for e in first}
    for title in lessons:
        expect(topics.get_by_role("link", name=title)).to_be_visible()
    body = page.locator("main").inner_text()
    assert not any(text in body for text in explanations), "an explanation was shown"
    assert "not right" not in body and "Your answer" not in body
    assert not any(module.check.question(e["id"]).prompt in body for e in first)
    assert_accessible(page)
    _at_375(page, assert_accessible)

    # "Try again": a new draw, nothing ticked, the lessons to re-read named.
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("region", name="Topics to revisit")).to_contain_text(
        "Re-read these lessons"
    )
    expect(page.locator("form#check input:checked")).to_have_count(0)
    second = open_draw(live_app, trainee[0], module.slug)
    assert {e["id"] for e in second} != {e["id"] for e in first}
    answer(page, module, second, correct=False)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("Not passed yet.")).to_be_visible()
    expect(page.get_by_text(WAIT_MESSAGE)).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    assert not any(text in page.locator("main").inner_text() for text in explanations)
    assert_accessible(page)

    page.get_by_role("link", name=f"← Knowledge check: {module.title}").click()
    expect(page.get_by_text(WAIT_MESSAGE)).to_be_visible()
    expect(page.get_by_text(f"pauses for {minutes} minutes")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Start"))).to_have_count(0)
    expect(page.get_by_role("row")).to_have_count(3)  # the two attempts, and the header
    assert_accessible(page)
    _at_375(page, assert_accessible)

    # The pause is over (the attempts are moved back in time, not waited for).
    _move_attempts_back(live_app, trainee[0], minutes + 1)
    page.reload()
    start = page.get_by_role("button", name="Start a new attempt")
    _tab_to(page, start)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Submit answers")).to_be_visible()
    third = open_draw(live_app, trainee[0], module.slug)
    assert {e["id"] for e in third} != {e["id"] for e in second}
    _at_375(page, assert_accessible)

    _answer_by_keyboard(page, module, third)
    _tab_to(page, page.get_by_role("button", name="Submit answers"), limit=3)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Your result: 100%")).to_be_visible()
    expect(page.get_by_text("Passed.")).to_be_visible()
    for entry in third:
        question = module.check.question(entry["id"])
        expect(page.get_by_text(question.explanation.strip()[:50])).to_be_visible()
    expect(page.locator(".result-correct")).to_have_count(8)
    assert_accessible(page)
    _at_375(page, assert_accessible)
