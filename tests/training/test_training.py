"""Training: content loading, lessons, knowledge checks, completion, versions, progress."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.errors import ServiceError
from app.extensions import db
from app.organisations import services as org_services
from app.organisations.models import Organisation
from app.training import services
from app.training.content import ContentError, load_curriculum
from app.training.models import CheckAttempt, ModuleCompletion
from tests.conftest import TEST_CONTENT_DIR
from tests.factories.organisations import join_team
from tests.helpers import events
from tests.paths import ROOT


@pytest.fixture
def team(app, make_user):
    """An organisation in training with a lead and a coordinator; returns (org, lead, coord)."""
    lead = make_user()
    coordinator = make_user()
    with app.test_request_context():
        org = org_services.create_organisation(
            lead,
            org_services.OrganisationDetails(
                name="Oak Hospice", org_type="hospice", nation="england"
            ),
        )
        join_team(org, lead, coordinator, ["coordinator"])
        org.stage = "in_training"
        db.session.commit()
    return org, lead, coordinator


def module(slug="basics"):
    return services.curriculum().get(slug)


ALL_RIGHT = {"first": frozenset({1}), "second": frozenset({0, 2}), "third": frozenset({0})}


# --- content ---------------------------------------------------------------------------


def test_the_shipped_curriculum_is_valid():
    curriculum = load_curriculum(ROOT / "modules")
    assert len(curriculum.modules) >= 8
    for m in curriculum.modules:
        assert 3 <= len(m.lessons) <= 6, m.slug
        assert 5 <= len(m.check.questions) <= 10, m.slug
        assert m.required_for, m.slug


def test_markdown_is_rendered_and_sanitised(app):
    lesson = module().lessons[0]
    assert "<strong>teaches</strong>" in lesson.html
    assert "<script>" not in lesson.html
    second = module().lessons[1].html
    assert 'href="https://example.org/echo"' in second
    assert 'href="javascript:' not in second


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
    ],
    ids=["missing-field", "pass-mark", "answer-index", "duplicate-slug", "order", "front-matter"],
)
def test_broken_content_is_refused_with_a_precise_message(tmp_path, edit, expected):
    content = _broken_copy(tmp_path)
    edit(content)
    with pytest.raises(ContentError) as refused:
        load_curriculum(content)
    assert expected in str(refused.value)


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
    result = services.submit_check(coordinator, m, ALL_RIGHT)
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
    wrong = {"first": frozenset({0}), "second": frozenset({0}), "third": frozenset({0})}
    failed = services.submit_check(coordinator, m, wrong)
    assert not failed.attempt.passed and failed.attempt.score == 33
    assert {r.question.id for r in failed.wrong} == {"first", "second"}
    passed = services.submit_check(coordinator, m, ALL_RIGHT)
    assert passed.attempt.passed
    db.session.commit()
    assert len(db.session.scalars(select(CheckAttempt)).all()) == 2
    progress = services.progress_of(coordinator)[0]
    assert progress.attempts == 2 and progress.best_score == 100 and progress.passed


def test_unanswered_questions_are_listed_and_nothing_recorded(team):
    _org, _lead, coordinator = team
    with pytest.raises(ServiceError, match="questions 2, 3 have no answer"):
        services.submit_check(coordinator, module(), {"first": frozenset({1})})
    assert db.session.scalars(select(CheckAttempt)).all() == []


@pytest.mark.parametrize(
    "posted",
    [
        {"q-nope": ["0"]},
        {"q-voices": ["1"]},
        {"q-first": ["9"]},
        {"q-first": ["x"]},
        {"q-first": ["0", "1"]},
    ],
    ids=["unknown", "other-module", "out-of-range", "not-a-number", "two-for-single"],
)
def test_foreign_answers_are_rejected(team, posted):
    with pytest.raises(ServiceError):
        services.parse_answers(module(), posted)


def test_cooldown_between_attempts(app, team):
    from dataclasses import replace

    _org, _lead, coordinator = team
    app.extensions["programme"] = replace(app.extensions["programme"], check_cooldown_minutes=30)
    wrong = {"first": frozenset({0}), "second": frozenset({0}), "third": frozenset({1})}
    services.submit_check(coordinator, module(), wrong)
    with pytest.raises(ServiceError, match="try the knowledge check again in 30 minutes"):
        services.submit_check(coordinator, module(), ALL_RIGHT)


def test_version_change_keeps_completions_unless_recompletion_is_required(app, team):
    from dataclasses import replace

    _org, _lead, coordinator = team
    m = module()
    for lesson in m.lessons:
        services.mark_read(coordinator, m, lesson.slug)
    services.submit_check(coordinator, m, ALL_RIGHT)
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
    services.submit_check(coordinator, m, ALL_RIGHT)
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
    incomplete = client.post("/training/modules/basics/check", data={"q-first": "1"})
    assert incomplete.status_code == 400 and b"no answer yet" in incomplete.data
    failed = client.post(
        "/training/modules/basics/check", data={"q-first": "0", "q-second": ["0"], "q-third": "0"}
    )
    assert b"Not passed yet" in failed.data and b"Right is right." in failed.data
    passed = client.post(
        "/training/modules/basics/check",
        data={"q-first": "1", "q-second": ["0", "2"], "q-third": "0"},
    )
    assert b"Module complete" in passed.data


def test_unknown_module_or_lesson_is_404(client, auth, team):
    auth.login(team[2].email)
    assert client.get("/training/modules/nope").status_code == 404
    assert client.get("/training/modules/basics/lessons/nope").status_code == 404
    assert client.post("/training/modules/nope/check").status_code == 404


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
