"""The audit actions of training modules and knowledge checks, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "training.check_passed": "passed a knowledge check",
    "training.check_failed": "did not pass a knowledge check",
    "training.module_completed": "completed a training module",
}
CONTENT = {"content.synced": "brought the stored curriculum in line with the module files"}


def _module(details: dict) -> list[str]:
    module = details.pop("module", "")
    version = details.pop("version", "")
    score = details.pop("score", None)
    words = [f"{module}, version {version}"] if module else []
    if score is not None:
        words.append(f"score {score}%")
    return words


def _synced(details: dict) -> list[str]:
    return [", ".join(details.pop("changes", None) or [])]


audit.register_actions(ACTIONS, _module)
audit.register_actions(CONTENT, _synced)
