"""The readiness checklist template from `modules/readiness-checklist.yaml`, validated.

Problems are reported like the curriculum's: file, field, what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from app.core.programme import HUB_ROLES
from app.training.content import SLUG, ContentError, Problem

KINDS = {
    "file": "Upload evidence",
    "text": "Written answer",
    "date": "Date",
    "attestation": "Attestation by a named person",
}


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    kind: str
    required: bool
    responsible: str
    guidance: str
    position: int
    past_only: bool = False  # date items: the date must not be in the future

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Checklist:
    version: int
    items: tuple[ChecklistItem, ...]

    def get(self, key: str) -> ChecklistItem | None:
        return next((item for item in self.items if item.key == key), None)

    @property
    def required_items(self) -> tuple[ChecklistItem, ...]:
        return tuple(item for item in self.items if item.required)


def load_checklist(path: Path) -> Checklist:
    """Parse and validate the template; ContentError lists every problem."""
    rel = f"{path.parent.name}/{path.name}"
    problems: list[Problem] = []

    def problem(field: str, message: str) -> None:
        problems.append(Problem(rel, field, message))

    if not path.is_file():
        raise ContentError([Problem(rel, "", "file is missing")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError([Problem(rel, "", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ContentError([Problem(rel, "", "must be a mapping with version and items")])
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problem("version", f"must be a whole number ≥ 1, got {version!r}")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problem("items", "must be a non-empty list")
        raw_items = []
    items = []
    keys: set[str] = set()
    for index, raw in enumerate(raw_items):
        where = f"items[{index}]"
        if not isinstance(raw, dict):
            problem(where, "must be a mapping")
            continue
        key = raw.get("key")
        if not isinstance(key, str) or not SLUG.match(key):
            problem(f"{where}.key", f"must be lower-case letters, digits and hyphens, got {key!r}")
        elif key in keys:
            problem(f"{where}.key", f"duplicate key {key!r}")
        keys.add(key)
        for name in ("title", "guidance"):
            value = raw.get(name)
            if not isinstance(value, str) or not value.strip():
                problem(f"{where}.{name}", "missing")
        kind = raw.get("kind")
        if kind not in KINDS:
            problem(f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        required = raw.get("required")
        if not isinstance(required, bool):
            problem(f"{where}.required", f"must be true or false, got {required!r}")
        responsible = raw.get("responsible")
        if responsible not in HUB_ROLES:
            problem(
                f"{where}.responsible",
                f"must be a hub role ({', '.join(HUB_ROLES)}), got {responsible!r}",
            )
        past_only = raw.get("past_only", False)
        if not isinstance(past_only, bool):
            problem(f"{where}.past_only", f"must be true or false, got {past_only!r}")
        if not problems:
            items.append(
                ChecklistItem(
                    key=key,
                    title=raw["title"].strip(),
                    kind=kind,
                    required=required,
                    responsible=responsible,
                    guidance=raw["guidance"].strip(),
                    position=index + 1,
                    past_only=past_only,
                )
            )
    if problems:
        raise ContentError(problems)
    return Checklist(version=version, items=tuple(items))
