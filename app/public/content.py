"""Public pages' text from `modules/_public/*.md`: Markdown with YAML front matter.

Each file has `key`, `title`, `description` (the page's meta description, at most 160
characters) and `order`; `becoming-a-hub` also has `steps` (name, asks, duration). The
files are validated at start-up and by `flask content validate`, like the curriculum.

Facts that belong to the programme settings are not copied into the text: `{required_roles}`
in a page or a step is replaced by the roles `modules/programme.yaml` requires ("hub lead,
coordinator, facilitator and specialist"), so the two cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from markupsafe import Markup

from app.training.content import ContentError, Problem, render_markdown

FOLDER = "_public"
REQUIRED_KEYS = (
    "intro",
    "what-is-echo",
    "principles",
    "session-format",
    "becoming-a-hub",
    # The pages a public service owes, each a page of its own (linked from the footer).
    "privacy",
    "accessibility",
    "contact",
    "help",
)
# key -> the endpoint of the page it is shown on by itself.
STANDALONE_PAGES = {
    "privacy": "public.privacy",
    "accessibility": "public.accessibility",
    "contact": "public.contact",
    "help": "public.help_page",
}
STEP_NAMES = ("Learn", "Apply", "Agree", "Train", "Ready", "Approved", "Launched")


@dataclass(frozen=True)
class Step:
    name: str
    asks: str
    duration: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    description: str
    order: int
    html: Markup
    steps: tuple[Step, ...] = ()


PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _fill(text: str, values: dict[str, str], name: str, problems: list[Problem]) -> str:
    def replace(match: re.Match) -> str:
        if match[1] in values:
            return values[match[1]]
        problems.append(
            Problem(name, match[0], f"unknown placeholder (known: {', '.join(values)})")
        )
        return match[0]

    return PLACEHOLDER.sub(replace, text)


def _heading_ids(html: str) -> str:
    """Give each second-level heading an id from its words, so a page's parts can be linked
    to (/help#introduction-sessions); nh3 has already removed any id the source had."""

    def with_id(match: re.Match) -> str:
        words = re.sub(r"<[^>]+>", "", match.group(1))
        slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
        return f'<h2 id="{slug}">{match.group(1)}</h2>'

    return re.sub(r"<h2>(.*?)</h2>", with_id, html)


def _split(text: str) -> tuple[str, str] | None:
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        return None
    front, body = text[4:].split("\n---\n", 1)
    return front, body


def load_public(content_dir: Path, *, required_roles: tuple[str, ...] = ()) -> dict[str, Section]:
    """Every public page, keyed by `key`; `required_roles` fills `{required_roles}`."""
    from app.core.programme import roles_in_prose

    values = {"required_roles": roles_in_prose(required_roles)}
    folder = content_dir / FOLDER
    problems: list[Problem] = []
    sections: dict[str, Section] = {}
    if not folder.is_dir():
        raise ContentError([Problem(f"{content_dir.name}/{FOLDER}", "", "folder not found")])
    for path in sorted(folder.glob("*.md")):
        name = f"{content_dir.name}/{FOLDER}/{path.name}"
        parts = _split(path.read_text(encoding="utf-8"))
        if parts is None:
            problems.append(
                Problem(name, "", "must start with YAML front matter between --- lines")
            )
            continue
        try:
            meta = yaml.safe_load(parts[0]) or {}
        except yaml.YAMLError as exc:
            problems.append(Problem(name, "front matter", f"not valid YAML: {exc}"))
            continue
        missing = [k for k in ("key", "title", "description", "order") if k not in meta]
        if missing:
            problems.append(Problem(name, ", ".join(missing), "missing"))
            continue
        if len(str(meta["description"])) > 160:
            problems.append(Problem(name, "description", "keep it to 160 characters at most"))
        if not isinstance(meta["order"], int):
            problems.append(Problem(name, "order", "must be a whole number"))
            continue
        steps = []
        for index, raw in enumerate(meta.get("steps") or []):
            if not isinstance(raw, dict) or not all(raw.get(k) for k in ("name", "asks")):
                problems.append(Problem(name, f"steps[{index}]", "needs a name and what it asks"))
                continue
            asks = _fill(str(raw["asks"]), values, name, problems)
            steps.append(Step(str(raw["name"]), asks, str(raw.get("duration", ""))))
        if meta["key"] == "becoming-a-hub" and tuple(s.name for s in steps) != STEP_NAMES:
            problems.append(
                Problem(name, "steps", "must be the seven steps " + " → ".join(STEP_NAMES))
            )
        sections[str(meta["key"])] = Section(
            key=str(meta["key"]),
            title=str(meta["title"]),
            description=str(meta["description"]),
            order=meta["order"],
            html=Markup(_heading_ids(render_markdown(_fill(parts[1], values, name, problems)))),  # noqa: S704 - sanitised by nh3
            steps=tuple(steps),
        )
    for key in REQUIRED_KEYS:
        if key not in sections:
            problems.append(Problem(f"{content_dir.name}/{FOLDER}", key, "page missing"))
    if problems:
        raise ContentError(problems)
    return dict(sorted(sections.items(), key=lambda item: item[1].order))
