"""Every audit action the code can record has plain words registered by its own area."""

from __future__ import annotations

import ast

import pytest

from app.core import audit
from tests.paths import APP


def _spellings(node: ast.expr) -> list[str]:
    """Every string an action argument can be: a literal, `"a" if c else "b"`, or an
    f-string over those (`f"organisation.{transition}"` expands to every transition)."""
    from app.organisations.journey import TRANSITIONS

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _spellings(node.body) + _spellings(node.orelse)
    if isinstance(node, ast.FormattedValue):
        if isinstance(node.value, ast.Name) and node.value.id == "transition":
            return list(TRANSITIONS)
        return _spellings(node.value)
    if isinstance(node, ast.JoinedStr):
        texts = [""]
        for part in node.values:
            options = _spellings(part)
            if not options:
                raise AssertionError(f"cannot tell which actions {ast.unparse(node)} records")
            texts = [t + o for t in texts for o in options]
        return texts
    return []


def _recorded_actions() -> dict[str, str]:
    """Each action `audit.record(...)` can be called with in app/, with where it is."""
    found: dict[str, str] = {}
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("record", "_record"):
                continue
            for action in _spellings(node.args[0]):
                if "." in action:
                    found[action] = f"{path.relative_to(APP.parent)}:{node.lineno}"
    return found


def test_the_scan_finds_the_actions_of_every_area(app):
    found = _recorded_actions()
    prefixes = {action.split(".")[0] for action in found}
    assert {"auth", "organisation", "team", "immersion", "training", "certificate"} <= prefixes
    assert "agreement.accepted" in found and "agreement.rejected" in found


def test_every_recorded_action_has_plain_words(app):
    labels = audit.action_labels()
    missing = {
        action: where for action, where in _recorded_actions().items() if action not in labels
    }
    assert not missing, (
        f"audit actions recorded without plain words (add them to the area's events.py): {missing}"
    )


def test_recording_an_unlabelled_action_fails_in_tests(app):
    with pytest.raises(audit.UnlabelledAction, match="made.up_action"):
        audit.record("made.up_action")


def test_an_area_adds_its_own_words_to_the_description(app, make_user):
    trainer = make_user(name="Tess Trainer", email="t@example.org")
    event = audit.AuditEvent(
        action="agreement.accepted",
        actor_id=trainer.id,
        actor_label="t@example.org",
        details={"kind": "ip_terms"},
    )
    assert audit.describe(event) == "IP Terms of Use Agreement verified by Tess Trainer"
    event = audit.AuditEvent(
        action="checklist.accepted",
        actor_id=trainer.id,
        actor_label="t@example.org",
        details={"item": "sponsor-letter", "version": 2},
    )
    assert audit.describe(event) == (
        "Tess Trainer accepted a readiness checklist item (“Executive sponsor letter”, version 2)"
    )
    event = audit.AuditEvent(
        action="immersion.attendance_changed",
        actor_id=trainer.id,
        actor_label="t@example.org",
        details={
            "session": 7,
            "session_title": "Day 1",
            "user": 3,
            "person": "Cora Coordinator",
            "from": ["absent", 0],
            "to": ["present", 90],
            "reason": "Zoom report late",
        },
    )
    assert audit.describe(event) == (
        "Tess Trainer corrected Immersion attendance (Cora Coordinator at “Day 1”; "
        "absent, 0 min → present, 90 min; reason: Zoom report late)"
    )
    # An account since removed is not shown by its address.
    gone = audit.AuditEvent(action="user.created", actor_label="gone@example.org", details={})
    assert audit.describe(gone) == "a former account holder created an account"
