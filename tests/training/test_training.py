"""Training: content loading, lessons, knowledge checks, completion, versions, progress."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.organisations.models import Organisation
from app.training import services
from app.training.content import ContentError, load_curriculum, minimum_bank
from app.training.models import CheckAttempt, ModuleCompletion
from tests.conftest import TEST_CONTENT_DIR
from tests.factories.organisations import join_team
from tests.helpers import events
from tests.paths import ROOT
from tests.training.checks import answer_form


def module(slug="basics"):
    return services.curriculum().get(slug)


def all_right(m=None):
    """Right answers to the whole bank (the service marks only the questions it draws)."""
    return {q.id: q.answers for q in (m or module()).check.questions}


def all_wrong(m=None):
    return {
        q.id: frozenset({next(i for i in range(len(q.choices)) if i not in q.answers)})
        for q in (m or module()).check.questions
    }


# --- content ---------------------------------------------------------------------------


def test_the_shipped_curriculum_is_valid():
    curriculum = load_curriculum(ROOT / "modules")
    assert len(curriculum.modules) >= 8
    for m in curriculum.modules:
        assert 3 <= len(m.lessons) <= 6, m.slug
        assert 5 <= m.check.asked <= 10, m.slug
        assert len(m.check.questions) >= minimum_bank(m.check.asked), m.slug
        assert m.required_for, m.slug


def test_markdown_is_rendered_and_sanitised(app):
    lesson = module().lessons[0]
    assert "<strong>teaches</strong>" in lesson.html
    assert "<script>" not in lesson.html
    second = module().lessons[1].html
    assert 'href="https://example.org/echo"' in second
    assert 'href="javascript:' not in second


def _edit(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def _broken_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(TEST_CONTENT_DIR, target)
    return target


@pytest.mark.parametrize(
    "edit,expected",
    [
        (
            lambda d: (d / "basics/module.yaml").write_text(
                (d / "basics/module.yaml").read_text().replace("title: Basics of the model\n", "")
            ),
            "basics/module.yaml: title: missing",
        ),
        (
            lambda d: (d / "basics/check.yaml").write_text(
                (d / "basics/check.yaml").read_text().replace("pass_mark: 60", "pass_mark: 120")
            ),
            "basics/check.yaml: pass_mark: must be between 1 and 100, got 120",
        ),
        (
            lambda d: (d / "basics/check.yaml").write_text(
                (d / "basics/check.yaml").read_text().replace("answers: [1]", "answers: [7]")
            ),
            "questions[0].answers: answer index 7 is out of range (choices are 0–2)",
        ),
        (
            lambda d: shutil.copytree(d / "basics", d / "basics-copy"),
            "basics-copy/module.yaml: slug: duplicate slug 'basics'",
        ),
        (
            lambda d: (d / "facilitation/module.yaml").write_text(
                (d / "facilitation/module.yaml").read_text().replace("order: 2", "order: 1")
            ),
            "order: 1 is also used by 'basics'",
        ),
        (
            lambda d: (d / "basics/lessons/01-welcome.md").write_text("No front matter"),
            "basics/lessons/01-welcome.md: front matter: missing",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "    lesson: 02-principles\n", "", count=1),
            "basics/check.yaml: questions[1].lesson: missing: name the lesson the question tests",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "lesson: 02-principles", "lesson: 03-nope", 1),
            "questions[1].lesson: '03-nope' is not a lesson of this module; its lessons are "
            "01-welcome, 02-principles",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "lesson: 02-principles", "lesson: principles"),
            "questions[1].lesson: 'principles' is not a lesson of this module: write its file "
            "name, '02-principles'",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "draw: 3", "draw: 4"),
            "basics/check.yaml: questions: the bank holds 5 questions, but a check that asks 4 "
            "(draw: 4) needs at least 6",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "draw: 3", "draw: 0"),
            "basics/check.yaml: draw: must be between 1 and 100, got 0",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "Also wrong]", "All of the above]"),
            "questions[0].choices[2]: 'All of the above' points at other choices by position",
        ),
        (
            lambda d: _edit(d / "basics/check.yaml", "Right, Also wrong]", "Right, wrong]"),
            "questions[0].choices: two choices have the same text",
        ),
    ],
    ids=[
        "missing-field",
        "pass-mark",
        "answer-index",
        "duplicate-slug",
        "order",
        "front-matter",
        "lesson-missing",
        "lesson-unknown",
        "lesson-slug-not-stem",
        "bank-too-small",
        "draw-zero",
        "positional-choice",
        "same-choice-twice",
    ],
)
def test_broken_content_is_refused_with_a_precise_message(tmp_path, edit, expected):
    content = _broken_copy(tmp_path)
    edit(content)
    with pytest.raises(ContentError) as refused:
        load_curriculum(content)
    assert expected in str(refused.value)


def test_a_check_must_say_how_many_questions_it_draws(tmp_path):
    content = _broken_copy(tmp_path)
    _edit(content / "basics/check.yaml", "draw: 3\n", "")
    with pytest.raises(ContentError, match="basics/check.yaml: draw: missing"):
        load_curriculum(content)


def test_programme_cooldown_defaults_to_30_minutes_and_is_validated(tmp_path):
    from app.core.programme import ProgrammeError, load_programme_settings

    source = (Path(TEST_CONTENT_DIR) / "programme.yaml").read_text()
    path = tmp_path / "programme.yaml"
    path.write_text(source.replace("  check_cooldown_minutes: 30\n", ""))
    assert load_programme_settings(path).check_cooldown_minutes == 30
    path.write_text(source.replace("check_cooldown_minutes: 30", "check_cooldown_minutes: 5"))
    assert load_programme_settings(path).check_cooldown_minutes == 5
    for bad in ("-1", "yes", "'30'", "20000"):
        path.write_text(source.replace("minutes: 30", f"minutes: {bad}"))
        with pytest.raises(ProgrammeError, match="training.check_cooldown_minutes: must be"):
            load_programme_settings(path)


def test_the_app_refuses_to_start_on_broken_content(tmp_path, database_url):
    from tests.conftest import build_app

    content = _broken_copy(tmp_path)
    (content / "basics/check.yaml").write_text("pass_mark: 101\nquestions: []\n")
    with pytest.raises(ContentError) as refused:
        build_app(database_url, CONTENT_DIR=str(content))
    assert "basics/check.yaml: pass_mark" in str(refused.value)


def test_content_validate_command_exits_non_zero_on_broken_content(tmp_path):
    import os
    import subprocess
    import sys

    content = _broken_copy(tmp_path)
    (content / "basics/check.yaml").write_text(
        (content / "basics/check.yaml").read_text().replace("answers: [1]", "answers: [9]")
    )
    env = {
        **os.environ,
        "CONTENT_DIR": str(content),
        "APP_ENV": "development",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "content", "validate"]
    broken = subprocess.run(flask, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert broken.returncode != 0
    assert "questions[0].answers: answer index 9 is out of range" in broken.stderr
    env["CONTENT_DIR"] = str(ROOT / "modules")
    ok = subprocess.run(flask, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "is valid" in ok.stdout


# --- learning --------------------------------------------------------------------------


def test_reading_every_lesson_and_passing_completes_the_module(team):
    _org, _lead, coordinator = team
    m = module()
    assert services.mark_read(coordinator, m, "welcome") is False
    result = services.submit_check(coordinator, m, all_right())
    assert result.attempt.passed and result.attempt.score == 100
    assert result.completed is False  # one lesson still unread
    assert services.mark_read(coordinator, m, "principles") is True
    db.session.commit()
    completion = db.session.scalar(select(ModuleCompletion))
    assert (completion.module_slug, completion.module_version, completion.score) == (
        "basics",
        1,
        100,
    )
    assert events("training.module_completed")


def test_a_failed_check_is_kept_and_can_be_retried(team):
    _org, _lead, coordinator = team
    m = module()
    failed = services.submit_check(coordinator, m, all_wrong())
    assert not failed.attempt.passed and failed.attempt.score == 0
    assert len(failed.results) == m.check.draw == 3
    passed = services.submit_check(coordinator, m, all_right())
    assert passed.attempt.passed
    db.session.commit()
    assert len(db.session.scalars(select(CheckAttempt)).all()) == 2
    progress = services.progress_of(coordinator)[0]
    assert progress.attempts == 2 and progress.best_score == 100 and progress.passed


def test_version_change_keeps_completions_unless_recompletion_is_required(app, team):
    from dataclasses import replace

    _org, _lead, coordinator = team
    m = module()
    for lesson in m.lessons:
        services.mark_read(coordinator, m, lesson.slug)
    services.submit_check(coordinator, m, all_right())
    db.session.commit()

    curriculum = app.extensions["curriculum"]
    v2 = replace(m, version=2)
    app.extensions["curriculum"] = replace(
        curriculum,
        modules=(v2, *curriculum.modules[1:]),
        by_slug={**curriculum.by_slug, "basics": v2},
    )
    assert services.progress_of(coordinator)[0].status == "complete"

    v3 = replace(m, version=3, requires_recompletion=True)
    app.extensions["curriculum"] = replace(
        curriculum,
        modules=(v3, *curriculum.modules[1:]),
        by_slug={**curriculum.by_slug, "basics": v3},
    )
    progress = services.progress_of(coordinator)[0]
    assert progress.status == "needs_review"
    assert progress.completed_version == 1
    assert progress.lessons_read == frozenset()


def test_team_progress_and_missing_required_modules(team):
    org, lead, coordinator = team
    m = module()
    for lesson in m.lessons:
        services.mark_read(coordinator, m, lesson.slug)
    services.submit_check(coordinator, m, all_right())
    db.session.commit()
    missing = {
        ms.user_id: [x.slug for x in mods]
        for ms, mods in services.missing_required_modules(org).items()
    }
    assert missing == {lead.id: ["basics", "facilitation"]}


def test_content_sync_records_versions(app, runner):
    result = runner.invoke(args=["content", "sync"])
    assert result.exit_code == 0
    assert "new module basics (version 1)" in result.output
    again = runner.invoke(args=["content", "sync"])
    assert "new module" not in again.output


# --- pages -----------------------------------------------------------------------------


def test_a_coordinator_learns_through_the_pages(client, auth, team):
    _org, _lead, coordinator = team
    auth.login(coordinator.email)
    page = client.get("/training")
    assert b"Basics of the model" in page.data and b"Required for your roles" in page.data
    lesson = client.get("/training/modules/basics/lessons/welcome")
    assert lesson.status_code == 200 and b"<strong>teaches</strong>" in lesson.data
    read = client.post("/training/modules/basics/lessons/welcome/read")
    assert read.headers["Location"].endswith("/training/modules/basics/lessons/principles")
    client.post("/training/modules/basics/lessons/principles/read")
    client.post("/training/modules/basics/check/start")
    draw = services.open_draw(coordinator, module())
    incomplete = client.post(
        "/training/modules/basics/check",
        data={"attempt": draw.id, "q-" + draw.question_ids[0]: "0"},
    )
    assert incomplete.status_code == 400 and b"no answer yet" in incomplete.data
    passed = client.post("/training/modules/basics/check", data=answer_form(draw, right=True))
    assert passed.status_code == 302
    result = client.get(passed.headers["Location"])
    assert b"Module complete" in result.data and b"Your result: 100%" in result.data


def test_unknown_module_or_lesson_is_404(client, auth, team):
    auth.login(team[2].email)
    assert client.get("/training/modules/nope").status_code == 404
    assert client.get("/training/modules/basics/lessons/nope").status_code == 404
    assert client.post("/training/modules/nope/check").status_code == 404
    assert client.get("/training/modules/basics/check/attempts/1").status_code == 404
    assert client.get("/training/modules/basics/check/attempts/99999999999").status_code == 404


def test_people_not_in_training_cannot_open_modules(client, auth, make_user):
    auth.login(make_user().email)
    assert b"Training opens when" in client.get("/training").data
    assert client.get("/training/modules/basics").status_code == 403


def test_team_matrix_is_for_the_lead_and_staff_only(app, client, auth, team, make_user):
    org, lead, coordinator = team
    auth.login(lead.email)
    matrix = client.get(f"/organisations/{org.id}/training")
    assert matrix.status_code == 200 and coordinator.name.encode() in matrix.data
    auth.logout()
    auth.login(coordinator.email)
    assert client.get(f"/organisations/{org.id}/training").status_code == 403
    auth.logout()
    auth.login(make_user().email)
    assert client.get(f"/organisations/{org.id}/training").status_code == 404


def test_programme_overview_and_csv(client, auth, team, make_user):
    org, _lead, coordinator = team
    coordinator.name = "=HYPERLINK(1)"
    db.session.commit()
    auth.login(make_user(roles=("trainer",)).email)
    overview = client.get("/training/overview")
    assert overview.status_code == 200 and b"Oak Hospice" in overview.data
    csv = client.get("/training/overview.csv")
    text = csv.get_data(as_text=True)
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK(1)" in text
    assert "Oak Hospice" in text


def test_my_training_and_matrix_query_counts_do_not_grow(app, client, auth, team, make_user):
    from tests.querycount import count_queries

    org, lead, _coordinator = team

    def measure(url):
        client.get(url)
        with count_queries(db.engine) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    auth.login(lead.email)
    few = measure(f"/organisations/{org.id}/training")
    with app.test_request_context():
        for _ in range(27):
            join_team(org, lead, make_user(), ["specialist"])
        db.session.commit()
    many = measure(f"/organisations/{org.id}/training")
    assert many == few
    assert measure("/training") <= 12
    assert db.session.get(Organisation, org.id).stage == "in_training"
