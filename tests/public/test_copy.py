"""Copy read from the settings, and the copy slips of issue 19 item 7 kept fixed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.programme import programme, role_in_prose, roles_in_prose
from app.public.content import load_public
from app.readiness.checklist import load_checklist
from app.training.content import ContentError
from tests.helpers import page_text
from tests.paths import ROOT

CONTENT_DIRS = (ROOT / "modules", ROOT / "tests" / "fixtures" / "content")


def test_the_landing_page_names_the_roles_the_programme_requires(app, client):
    text = page_text(client.get("/"))
    with app.app_context():
        required = programme().required_roles
    assert len(required) == 4
    assert (
        "Your team needs someone in each of these roles: "
        "hub lead, coordinator, facilitator and specialist (one person may hold several)."
    ) in text
    assert roles_in_prose(required) in text
    assert "{required_roles}" not in text
    assert "at least a specialist and a coordinator" not in text
    assert "How long: A few weeks" in text and "Usually: Usually" not in text


@pytest.mark.parametrize("content", CONTENT_DIRS, ids=lambda p: p.name)
def test_the_public_pages_follow_the_programme_settings(content):
    sections = load_public(content, required_roles=("coordinator", "it_support"))
    (train,) = [s for s in sections["becoming-a-hub"].steps if s.name == "Train"]
    assert "these roles: coordinator and IT support (one person" in train.asks
    durations = [s.duration for s in sections["becoming-a-hub"].steps]
    assert not any(d.lower().startswith("usually") for d in durations)


def test_an_unknown_placeholder_in_a_public_page_is_refused(tmp_path):
    shutil.copytree(CONTENT_DIRS[1] / "_public", tmp_path / "_public")
    page = tmp_path / "_public" / "intro.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n{required_rolls}\n", encoding="utf-8")
    with pytest.raises(ContentError, match="unknown placeholder"):
        load_public(tmp_path, required_roles=("coordinator",))


@pytest.mark.parametrize("content", CONTENT_DIRS, ids=lambda p: p.name)
def test_no_checklist_title_says_optional_itself(content: Path):
    """The portal adds "(optional)" to items that are not required; a title that says it
    too printed "Launch communications (optional) (optional)"."""
    checklist = load_checklist(content / "readiness-checklist.yaml")
    assert [i.title for i in checklist.items if "optional" in i.title.lower()] == []


def test_roles_in_a_sentence_keep_acronyms():
    assert role_in_prose("it_support") == "IT support"
    assert role_in_prose("hub_lead") == "hub lead"
    assert roles_in_prose(["hub_lead", "it_support"]) == "hub lead and IT support"
    assert roles_in_prose(["coordinator"]) == "coordinator"
    templates = (ROOT / "app" / "templates").rglob("*.html")
    assert not [p for p in templates if "hub_role|lower" in p.read_text(encoding="utf-8")]
