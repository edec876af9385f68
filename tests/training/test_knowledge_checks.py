"""Knowledge checks that measure learning: drawn from a bank, choices shuffled, marked
against the stored draw, topics before answers, a pause after two failures in a row, and
attempts from before draws still shown."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.core import clock
from app.core.errors import ServiceError
from app.extensions import db
from app.training import services
from app.training.content import KnowledgeCheck, Question, minimum_bank
from app.training.models import CheckAttempt, CheckDraw
from tests.helpers import page_text
from tests.training.checks import answer_form, positions


def basics():
    return services.curriculum().get("basics")


def wrong(m=None):
    return {
        q.id: frozenset({next(i for i in range(len(q.choices)) if i not in q.answers)})
        for q in (m or basics()).check.questions
    }


def right(m=None):
    return {q.id: q.answers for q in (m or basics()).check.questions}


def only(draw, answers):
    return {qid: chosen for qid, chosen in answers.items() if qid in draw.question_ids}


def attempts_count() -> int:
    return db.session.scalar(select(func.count(CheckAttempt.id)))


@pytest.fixture
def cooldown(app):
    """Set `training.check_cooldown_minutes` for this test."""

    def set_minutes(minutes: int):
        app.extensions["programme"] = replace(
            app.extensions["programme"], check_cooldown_minutes=minutes
        )

    return set_minutes


# --- drawing ---------------------------------------------------------------------------


def test_a_draw_asks_draw_questions_and_is_stored(team):
    coordinator = team[2]
    draw = services.start_check(coordinator, basics())
    db.session.commit()
    assert len(draw.questions) == 3
    bank = [q.id for q in basics().check.questions]
    assert draw.question_ids == sorted(draw.question_ids, key=bank.index)
    for entry in draw.questions:
        choices = basics().check.question(entry["id"]).choices
        assert sorted(entry["order"]) == list(range(len(choices)))
    # A reload (or a second start) shows the same attempt.
    assert services.open_draw(coordinator, basics()).id == draw.id
    assert services.start_check(coordinator, basics()).id == draw.id
    assert db.session.scalar(select(func.count(CheckDraw.id))) == 1


def test_a_retry_is_drawn_from_the_questions_not_asked_last_time(team):
    coordinator = team[2]
    first = services.start_check(coordinator, basics())
    services.submit_check(coordinator, basics(), only(first, wrong()), first)
    second = services.start_check(coordinator, basics())
    unseen = {q.id for q in basics().check.questions} - set(first.question_ids)
    assert len(unseen) == 2
    assert unseen <= set(second.question_ids)
    assert set(second.question_ids) != set(first.question_ids)


def test_the_page_and_the_marking_agree_on_the_shuffled_order(client, auth, team):
    coordinator = team[2]
    auth.login(coordinator.email)
    client.post("/training/modules/basics/check/start")
    draw = services.open_draw(coordinator, basics())
    client.get("/training/modules/basics/check")  # shows the flashed messages
    page = page_text(client.get("/training/modules/basics/check"))
    assert page == page_text(client.get("/training/modules/basics/check"))  # a reload
    for entry in draw.questions:
        question = basics().check.question(entry["id"])
        assert question.prompt in page
        # The choices appear in the drawn order, each with its shown position as its value.
        shown = [question.choices[i] for i in entry["order"]]
        spots = [page.index(f">{text}</label>") for text in shown]
        assert spots == sorted(spots)
        for position, text in enumerate(shown):
            assert f'value="{position}"' in page.split(f">{text}</label>")[0].rsplit("<input", 1)[1]
    done = client.post("/training/modules/basics/check", data=answer_form(draw))
    assert done.status_code == 302
    assert db.session.scalar(select(CheckAttempt)).score == 100


def test_a_changed_module_version_closes_the_open_attempt(app, team):
    coordinator = team[2]
    draw = services.start_check(coordinator, basics())
    curriculum = app.extensions["curriculum"]
    v2 = replace(basics(), version=2)
    app.extensions["curriculum"] = replace(
        curriculum,
        modules=(v2, *curriculum.modules[1:]),
        by_slug={**curriculum.by_slug, "basics": v2},
    )
    with pytest.raises(ServiceError, match="not open any more"):
        services.draw_of(coordinator, v2, str(draw.id))
    with pytest.raises(ServiceError, match="not open any more"):
        services.submit_check(coordinator, v2, right(v2), draw)
    assert services.open_draw(coordinator, v2) is None
    assert attempts_count() == 0


# --- refusals: nothing recorded --------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        "undrawn-question",
        "other-module",
        "unknown-question",
        "position-out-of-range",
        "negative-position",
        "not-a-number",
        "unicode-digit",
        "huge-number",
        "two-for-single",
    ],
)
def test_a_post_that_does_not_fit_the_attempt_is_refused_and_records_nothing(
    client, auth, team, tamper
):
    coordinator = team[2]
    auth.login(coordinator.email)
    client.post("/training/modules/basics/check/start")
    draw = services.open_draw(coordinator, basics())
    data = answer_form(draw)
    undrawn = next(q for q in basics().check.questions if q.id not in draw.question_ids)
    single = next(
        (q for q in basics().check.questions if q.kind == "single" and q.id in draw.question_ids),
        None,
    )
    first = f"q-{draw.question_ids[0]}"
    if tamper == "undrawn-question":
        data[f"q-{undrawn.id}"] = ["0"]
    elif tamper == "other-module":
        data["q-voices"] = ["1"]
    elif tamper == "unknown-question":
        data["q-nope"] = ["0"]
    elif tamper == "position-out-of-range":
        data[first] = ["9"]
    elif tamper == "negative-position":
        data[first] = ["-1"]
    elif tamper == "not-a-number":
        data[first] = ["x"]
    elif tamper == "unicode-digit":
        data[first] = ["²"]
    elif tamper == "huge-number":
        data[first] = ["9" * 5000]
    elif tamper == "two-for-single":
        if single is None:
            pytest.skip("no single-answer question drawn")
        data[f"q-{single.id}"] = ["0", "1"]
    response = client.post("/training/modules/basics/check", data=data)
    assert response.status_code == 400
    text = page_text(response)
    assert "There is a problem" in text
    assert "nothing was recorded" in text or "Choose only one answer" in text
    assert attempts_count() == 0
    # The attempt is still open, with the same questions.
    assert services.open_draw(coordinator, basics()).id == draw.id


def test_someone_elses_attempt_or_a_submitted_one_is_refused(client, auth, team, make_user):
    org, lead, coordinator = team
    lead_draw = services.start_check(lead, basics())
    db.session.commit()
    auth.login(coordinator.email)
    foreign = client.post("/training/modules/basics/check", data=answer_form(lead_draw))
    assert foreign.status_code == 400 and "not open any more" in page_text(foreign)
    for bogus in ("", "abc", "0", "-4", "99999999999999999999", "0" * 11 + "1" + "0" * 5000, "١"):
        data = {**answer_form(lead_draw), "attempt": bogus}
        assert client.post("/training/modules/basics/check", data=data).status_code == 400
    assert attempts_count() == 0

    client.post("/training/modules/basics/check/start")
    draw = services.open_draw(coordinator, basics())
    form = answer_form(draw)
    assert client.post("/training/modules/basics/check", data=form).status_code == 302
    again = client.post("/training/modules/basics/check", data=form)
    assert again.status_code == 400 and "not open any more" in page_text(again)
    assert attempts_count() == 1

    attempt = db.session.scalar(select(CheckAttempt))
    auth.logout()
    auth.login(lead.email)
    assert client.get(f"/training/modules/basics/check/attempts/{attempt.id}").status_code == 404
    assert (
        client.get(f"/training/modules/facilitation/check/attempts/{attempt.id}").status_code == 404
    )


def test_unanswered_questions_are_numbered_and_nothing_recorded(team):
    coordinator = team[2]
    draw = services.start_check(coordinator, basics())
    answers = {draw.question_ids[0]: basics().check.question(draw.question_ids[0]).answers}
    with pytest.raises(ServiceError, match="Answer every question") as refused:
        services.submit_check(coordinator, basics(), answers, draw)
    # One problem per unanswered question, each naming the question it belongs to.
    unanswered = draw.question_ids[1:3]
    assert refused.value.problems[1:] == [
        (f"q-{unanswered[0]}", "Question 2 has no answer yet."),
        (f"q-{unanswered[1]}", "Question 3 has no answer yet."),
    ]
    assert attempts_count() == 0


def test_the_service_refuses_answers_to_undrawn_questions(team):
    coordinator = team[2]
    draw = services.start_check(coordinator, basics())
    with pytest.raises(ServiceError, match="do not match the questions of this attempt"):
        services.submit_check(coordinator, basics(), right(), draw)  # the whole bank
    assert attempts_count() == 0


# --- results ---------------------------------------------------------------------------


def test_before_a_pass_the_result_names_lessons_not_answers(client, auth, team):
    coordinator = team[2]
    auth.login(coordinator.email)
    client.post("/training/modules/basics/check/start")
    draw = services.open_draw(coordinator, basics())
    wrong_id = draw.question_ids[0]
    done = client.post(
        "/training/modules/basics/check", data=answer_form(draw, wrong_ids=draw.question_ids)
    )
    result = client.get(done.headers["Location"])
    text = page_text(result)
    assert "Your result: 0%" in text and "Not passed yet." in text
    assert "Topics to revisit" in text
    for qid in draw.question_ids:
        question = basics().check.question(qid)
        lesson = basics().lesson(question.lesson)
        assert f'href="/training/modules/basics/lessons/{lesson.slug}">{lesson.title}' in text
        assert question.explanation not in text
        assert question.prompt not in text
    assert "not right" not in text and "Your answer" not in text
    assert basics().check.question(wrong_id).explanation not in text

    # "Try again": a new attempt, nothing ticked, the lessons to re-read named.
    client.post("/training/modules/basics/check/start")
    retry = page_text(client.get("/training/modules/basics/check"))
    assert "Topics to revisit" in retry and "Re-read these lessons" in retry
    assert " checked" not in retry
    assert services.open_draw(coordinator, basics()).id != draw.id


def test_a_passed_result_shows_each_question_and_its_explanation(client, auth, team):
    coordinator = team[2]
    auth.login(coordinator.email)
    client.post("/training/modules/basics/check/start")
    draw = services.open_draw(coordinator, basics())
    done = client.post(
        "/training/modules/basics/check", data=answer_form(draw, wrong_ids=draw.question_ids[:1])
    )
    text = page_text(client.get(done.headers["Location"]))
    assert "Your result: 67%" in text and "Passed." in text
    assert "Topics to revisit" not in text
    for qid in draw.question_ids:
        question = basics().check.question(qid)
        assert question.prompt in text and question.explanation in text
    assert text.count("not right") == 1


def test_attempts_from_before_draws_still_display(client, auth, team):
    """Attempts recorded before this change asked the whole bank and stored only answers."""
    coordinator = team[2]
    old_pass = CheckAttempt(
        user_id=coordinator.id,
        module_slug="basics",
        module_version=1,
        score=100,
        passed=True,
        answers={"first": [1], "second": [0, 2], "third": [0]},
    )
    old_fail = CheckAttempt(
        user_id=coordinator.id,
        module_slug="basics",
        module_version=1,
        score=33,
        passed=False,
        answers={"first": [0], "second": [0], "third": [0]},
        submitted_at=clock.now() - timedelta(days=3),
    )
    older_version = CheckAttempt(
        user_id=coordinator.id,
        module_slug="basics",
        module_version=0,
        score=100,
        passed=True,
        answers={"gone": [1]},
        submitted_at=clock.now() - timedelta(days=30),
    )
    db.session.add_all([old_pass, old_fail, older_version])
    db.session.commit()
    auth.login(coordinator.email)
    check = page_text(client.get("/training/modules/basics/check"))
    assert "Your attempts" in check and "(version 0)" in check
    passed = page_text(client.get(f"/training/modules/basics/check/attempts/{old_pass.id}"))
    assert "Your result: 100%" in passed and "Right is right." in passed
    failed = client.get(f"/training/modules/basics/check/attempts/{old_fail.id}")
    assert failed.status_code == 200
    text = page_text(failed)
    assert "Topics to revisit" in text and ">Welcome</a>" in text and ">Principles</a>" in text
    assert "Right is right." not in text
    gone = page_text(client.get(f"/training/modules/basics/check/attempts/{older_version.id}"))
    assert "are no longer shown" in gone
    progress = services.progress_of(coordinator)[0]
    assert progress.attempts == 2 and progress.best_score == 100  # version 0 does not count


# --- the pause after two failures ------------------------------------------------------


def test_two_failures_in_a_row_pause_the_check(team, cooldown):
    cooldown(30)
    coordinator = team[2]
    m = basics()
    services.submit_check(coordinator, m, wrong())
    assert services.cooldown_until(coordinator, m) is None  # one failure: try again at once
    second = services.submit_check(coordinator, m, wrong())
    until = services.cooldown_until(coordinator, m)
    assert until == second.attempt.submitted_at + timedelta(minutes=30)
    with pytest.raises(ServiceError, match="try the knowledge check again from"):
        services.start_check(coordinator, m)
    with pytest.raises(ServiceError, match="try the knowledge check again from"):
        services.submit_check(coordinator, m, right())
    assert attempts_count() == 2

    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        assert services.cooldown_until(coordinator, m) is None
        services.submit_check(coordinator, m, wrong())  # the third: no pause yet
        assert services.cooldown_until(coordinator, m) is None
        services.submit_check(coordinator, m, wrong())  # the fourth: paused again
        assert services.cooldown_until(coordinator, m) is not None
    with time_machine.travel(until + timedelta(minutes=31), tick=False):
        assert services.submit_check(coordinator, m, right()).attempt.passed
        services.submit_check(coordinator, m, wrong())
        services.submit_check(coordinator, m, wrong())
        assert services.cooldown_until(coordinator, m) is not None  # a pass resets the count


def test_a_pass_between_failures_means_no_pause(team, cooldown):
    cooldown(30)
    coordinator = team[2]
    for answers in (wrong(), right(), wrong()):
        services.submit_check(coordinator, basics(), answers)
    assert services.cooldown_until(coordinator, basics()) is None


def test_no_pause_when_the_setting_is_zero(team, cooldown):
    cooldown(0)
    coordinator = team[2]
    for _ in range(4):
        services.submit_check(coordinator, basics(), wrong())
    assert services.cooldown_until(coordinator, basics()) is None


def test_the_pages_show_when_the_trainee_may_try_again(client, auth, team, cooldown):
    cooldown(45)
    coordinator = team[2]
    services.submit_check(coordinator, basics(), wrong())
    services.submit_check(coordinator, basics(), wrong())
    db.session.commit()
    until = services.cooldown_until(coordinator, basics())
    auth.login(coordinator.email)
    from app.core.filters import format_datetime

    when = format_datetime(until)
    page = page_text(client.get("/training/modules/basics/check"))
    assert f"You can try again from {when}." in page and "45 minutes" in page
    assert "Start a new attempt" not in page and "Topics to revisit" in page
    latest = db.session.scalars(select(CheckAttempt).order_by(CheckAttempt.id.desc())).first()
    result = page_text(client.get(f"/training/modules/basics/check/attempts/{latest.id}"))
    assert f"You can try again from {when}." in result and "Try again</button>" not in result
    start = client.post("/training/modules/basics/check/start")
    assert start.status_code == 302
    assert "try the knowledge check again from" in page_text(client.get(start.headers["Location"]))
    assert db.session.scalar(select(func.count(CheckDraw.id))) == 2  # none drawn in the pause


# --- properties of the draw and of answer parsing ------------------------------------


def _check(sizes: list[int], draw: int) -> KnowledgeCheck:
    questions = tuple(
        Question(
            id=f"q{n}",
            kind="single",
            prompt=f"Question {n}",
            choices=tuple(f"choice {n}.{i}" for i in range(size)),
            answers=frozenset({0}),
            explanation="Because.",
            lesson="welcome",
        )
        for n, size in enumerate(sizes)
    )
    return KnowledgeCheck(60, questions, draw)


class _Module:
    def __init__(self, check):
        self.check = check


banks = st.integers(min_value=1, max_value=12).flatmap(
    lambda draw: st.tuples(
        st.just(draw),
        st.lists(st.integers(2, 6), min_size=minimum_bank(draw), max_size=minimum_bank(draw) + 8),
    )
)


@settings(max_examples=150, deadline=None)
@given(banks, st.data())
def test_a_draw_is_a_sample_of_the_bank_with_each_choice_order_a_permutation(bank, data):
    draw, sizes = bank
    module = _Module(_check(sizes, draw))
    ids = [q.id for q in module.check.questions]
    avoid = data.draw(st.sets(st.sampled_from(ids)))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    drawn = services.draw_questions(module, avoid, rng)
    got = [entry["id"] for entry in drawn]
    assert len(got) == draw == len(set(got))
    assert got == sorted(got, key=ids.index)
    fresh = [i for i in ids if i not in avoid]
    assert len(set(got) & set(fresh)) == min(draw, len(fresh))
    for entry in drawn:
        assert sorted(entry["order"]) == list(range(sizes[ids.index(entry["id"])]))


@settings(max_examples=150, deadline=None)
@given(banks, st.integers(0, 2**32))
def test_a_retry_never_asks_exactly_the_same_questions(bank, seed):
    """A bank of 1.5 × draw leaves at least one question the last attempt did not ask."""
    draw, sizes = bank
    module = _Module(_check(sizes, draw))
    rng = random.Random(seed)
    first = {e["id"] for e in services.draw_questions(module, (), rng)}
    second = {e["id"] for e in services.draw_questions(module, first, rng)}
    assert second != first
    assert len(second - first) >= min(draw, len(sizes) - draw) >= 1


def _transient_draw(module, rng) -> CheckDraw:
    return CheckDraw(
        id=1, user_id=1, module_slug="x", module_version=1,
        questions=services.draw_questions(module, (), rng),
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(banks, st.integers(0, 2**32), st.data())
def test_answers_posted_by_shown_position_come_back_as_the_banks_indexes(bank, seed, data):
    draw_size, sizes = bank
    module = _Module(_check(sizes, draw_size))
    draw = _transient_draw(module, random.Random(seed))
    form, expected = {}, {}
    for qid in draw.question_ids:
        question = module.check.question(qid)
        pick = data.draw(st.integers(0, len(question.choices) - 1))
        form[f"q-{qid}"] = positions(draw, question, {pick})
        expected[qid] = frozenset({pick})
    assert services.parse_answers(module, form, draw) == expected


form_values = st.one_of(
    st.text(max_size=8),
    st.integers(-5, 50).map(str),
    st.sampled_from(["", "0", "00", "٣", "²", " 1", "1 ", "1e3", "9" * 5000]),
)


@settings(max_examples=300, deadline=None)
@given(banks, st.integers(0, 2**32), st.data())
def test_any_posted_form_is_parsed_or_refused_never_crashes(bank, seed, data):
    draw_size, sizes = bank
    module = _Module(_check(sizes, draw_size))
    draw = _transient_draw(module, random.Random(seed))
    keys = st.one_of(
        st.sampled_from([f"q-{q.id}" for q in module.check.questions]),
        st.text(max_size=10).map(lambda t: "q-" + t),
        st.sampled_from(["attempt", "csrf_token", "q-", "q-q0 "]),
    )
    form = data.draw(st.dictionaries(keys, st.lists(form_values, max_size=4), max_size=6))
    try:
        answers = services.parse_answers(module, form, draw)
    except ServiceError:
        return
    for qid, chosen in answers.items():
        assert qid in draw.question_ids
        assert chosen and all(0 <= i < len(module.check.question(qid).choices) for i in chosen)


@given(st.integers(1, 10_000))
def test_the_minimum_bank_is_one_and_a_half_times_the_draw_rounded_up(draw):
    import math

    assert minimum_bank(draw) == math.ceil(1.5 * draw)


def test_an_auditor_reads_the_check_page_but_cannot_start_it(client, login_as):
    login_as("auditor")
    page = page_text(client.get("/training/modules/basics/check"))
    assert "do not take knowledge checks" in page and "Start the knowledge check" not in page
    assert client.post("/training/modules/basics/check/start").status_code == 403
    assert db.session.scalar(select(func.count(CheckDraw.id))) == 0
