"""Load and validate the curriculum in `modules/` into immutable objects.

Every problem is reported with its file, field and what is wrong, all at once, so an
author can fix a broken module in one go. The app loads content once per process at
start-up and refuses to start on invalid content; `flask content validate` prints the
same messages.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import nh3
import yaml
from markdown_it import MarkdownIt

from app.core.programme import HUB_ROLES

STAGES = {"pre-work": "Pre-work", "immersion": "Immersion", "post-work": "Post-work"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)

# Sanitising after rendering: only the tags Markdown produces, no attributes but links.
ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote",
    "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "br",
}  # fmt: skip
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML (raw HTML in the source is escaped, then nh3 cleans)."""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.field}: {self.message}"
            if self.field
            else (f"{self.file}: {self.message}")
        )


class ContentError(ValueError):
    """Invalid content; `problems` lists every file, field and problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    minutes: int
    html: str
    position: int  # 1-based
    stem: str = ""  # the file name without `.md` (e.g. "01-welcome"), as check questions name it


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "single" or "multiple"
    prompt: str
    choices: tuple[str, ...]
    answers: frozenset[int]
    explanation: str
    lesson: str | None = None  # slug of the lesson the question tests

    def is_correct(self, selected: frozenset[int]) -> bool:
        return selected == self.answers


def minimum_bank(draw: int) -> int:
    """The fewest questions a bank may hold for a check that asks `draw`: one and a half
    times as many, rounded up, so two attempts in a row cannot ask the same questions."""
    return (3 * draw + 1) // 2


# Choices are shown in a new order in every attempt, so a choice may not point at others by
# their position.
POSITIONAL_CHOICE = re.compile(
    r"\b(?:all|none|both|neither) of (?:the )?(?:above|below)\b|\b(?:all|none) of these\b",
    re.I,
)


@dataclass(frozen=True)
class KnowledgeCheck:
    pass_mark: int
    questions: tuple[Question, ...]  # the bank
    draw: int = 0  # questions asked per attempt; 0 (an older check.yaml): the whole bank

    @property
    def asked(self) -> int:
        """How many questions one attempt asks."""
        return self.draw or len(self.questions)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class Module:
    slug: str
    title: str
    version: int
    requires_recompletion: bool
    summary: str
    estimated_minutes: int
    stage: str
    order: int
    required_for: frozenset[str]
    learning_outcomes: tuple[str, ...]
    lessons: tuple[Lesson, ...]
    check: KnowledgeCheck
    content_hash: str

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]

    def lesson(self, slug: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.slug == slug), None)

    def required_by(self, roles) -> bool:
        return bool(self.required_for & set(roles))


@dataclass(frozen=True)
class Curriculum:
    modules: tuple[Module, ...]
    by_slug: dict[str, Module] = field(hash=False, compare=False)

    def get(self, slug: str) -> Module | None:
        return self.by_slug.get(slug)

    def required_for_roles(self, roles) -> list[Module]:
        return [m for m in self.modules if m.required_by(roles)]


class _Collector:
    """Gathers problems for one file; typed getters record a problem and return None."""

    def __init__(self, problems: list[Problem], file: str):
        self.problems = problems
        self.file = file

    def add(self, field_name: str, message: str) -> None:
        self.problems.append(Problem(self.file, field_name, message))

    def text(self, data: dict, key: str, where: str = "", required: bool = True) -> str | None:
        name = f"{where}{key}"
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(name, "missing")
            return None
        if not isinstance(value, str):
            self.add(name, f"must be text, got {type(value).__name__}")
            return None
        return value.strip()

    def integer(self, data: dict, key: str, low: int, high: int, where: str = "") -> int | None:
        name = f"{where}{key}"
        value = data.get(key)
        if value is None:
            self.add(name, "missing")
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(name, f"must be a whole number, got {value!r}")
            return None
        if not low <= value <= high:
            self.add(name, f"must be between {low} and {high}, got {value}")
            return None
        return value


def _read_yaml(path: Path, root: Path, problems: list[Problem]):
    rel = str(path.relative_to(root.parent))
    if not path.is_file():
        problems.append(Problem(rel, "", "file is missing"))
        return None, rel
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, "", f"not valid YAML: {exc}"))
        return None, rel
    if not isinstance(data, dict):
        problems.append(Problem(rel, "", "must be a mapping of fields"))
        return None, rel
    return data, rel


def _load_lessons(folder: Path, root: Path, problems: list[Problem]) -> list[Lesson]:
    lessons_dir = folder / "lessons"
    files = sorted(lessons_dir.glob("*.md")) if lessons_dir.is_dir() else []
    if not files:
        rel = str(lessons_dir.relative_to(root.parent))
        problems.append(Problem(rel, "", "no lessons: add lessons/01-….md files"))
        return []
    lessons = []
    seen: set[str] = set()
    for position, path in enumerate(files, start=1):
        rel = str(path.relative_to(root.parent))
        c = _Collector(problems, rel)
        slug = re.sub(r"^\d+[-_]", "", path.stem)
        if not SLUG.match(slug):
            c.add("file name", "use lower-case letters, digits and hyphens, e.g. 01-welcome.md")
            continue
        if slug in seen:
            c.add("file name", f"two lessons are named {slug!r}")
            continue
        seen.add(slug)
        match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
        if not match:
            c.add("front matter", "missing: start the file with --- title: … minutes: … ---")
            continue
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            c.add("front matter", f"not valid YAML: {exc}")
            continue
        if not isinstance(meta, dict):
            c.add("front matter", "must be a mapping")
            continue
        title = c.text(meta, "title")
        minutes = c.integer(meta, "minutes", 1, 240)
        body = match.group(2).strip()
        if not body:
            c.add("body", "the lesson has no text")
        if title and minutes and body:
            lessons.append(Lesson(slug, title, minutes, render_markdown(body), position, path.stem))
    return lessons


# `draw` and each question's `lesson` are required. (False would let an older check.yaml
# without them load, asking its whole bank; attempts stored before draws still display.)
DRAW_REQUIRED = True


def _lesson_stems(folder: Path) -> dict[str, str]:
    """Lesson file stem ("01-welcome") → lesson slug ("welcome"), from the file names alone,
    so a question naming a lesson whose file has another problem is not reported twice."""
    lessons_dir = folder / "lessons"
    paths = sorted(lessons_dir.glob("*.md")) if lessons_dir.is_dir() else []
    return {p.stem: re.sub(r"^\d+[-_]", "", p.stem) for p in paths}


def _load_check(folder: Path, root: Path, problems: list[Problem]) -> KnowledgeCheck | None:
    data, rel = _read_yaml(folder / "check.yaml", root, problems)
    if data is None:
        return None
    c = _Collector(problems, rel)
    before = len(problems)
    pass_mark = c.integer(data, "pass_mark", 1, 100)
    strict = DRAW_REQUIRED or "draw" in data
    draw = c.integer(data, "draw", 1, 100) if strict else 0
    stems = _lesson_stems(folder)
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        c.add("questions", "must be a non-empty list")
        return None
    questions = []
    ids: set[str] = set()
    for index, raw in enumerate(raw_questions):
        where = f"questions[{index}]."
        if not isinstance(raw, dict):
            c.add(f"questions[{index}]", "must be a mapping")
            continue
        qid = c.text(raw, "id", where)
        if qid and not SLUG.match(qid):
            c.add(f"{where}id", f"{qid!r}: use lower-case letters, digits and hyphens")
        elif qid in ids:
            c.add(f"{where}id", f"duplicate question id {qid!r}")
        ids.add(qid)
        kind = raw.get("kind")
        if kind not in ("single", "multiple"):
            c.add(f"{where}kind", f"must be single or multiple, got {kind!r}")
        prompt = c.text(raw, "prompt", where)
        explanation = c.text(raw, "explanation", where)
        lesson = _question_lesson(c, raw, where, stems, strict)
        choices = raw.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            c.add(f"{where}choices", "must be a list of at least two pieces of text")
            choices = None
        else:
            for i, choice in enumerate(choices):
                if not isinstance(choice, str) or not choice.strip():
                    c.add(
                        f"{where}choices[{i}]",
                        f"must be text, but YAML read {choice!r}: put the choice in quotes",
                    )
                    choices = None
                elif POSITIONAL_CHOICE.search(choice):
                    c.add(
                        f"{where}choices[{i}]",
                        f"{choice.strip()!r} points at other choices by position, but choices "
                        "are shuffled in every attempt: name the choices it means instead",
                    )
            texts = [x.strip().casefold() for x in choices or [] if isinstance(x, str)]
            if choices is not None and len(set(texts)) != len(texts):
                c.add(f"{where}choices", "two choices have the same text")
        answers = raw.get("answers")
        if (
            not isinstance(answers, list)
            or not answers
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in answers)
        ):
            c.add(f"{where}answers", "must be a non-empty list of choice indexes (0-based)")
            answers = None
        elif choices is not None:
            for a in answers:
                if not 0 <= a < len(choices):
                    c.add(
                        f"{where}answers",
                        f"answer index {a} is out of range (choices are 0–{len(choices) - 1})",
                    )
            if len(set(answers)) != len(answers):
                c.add(f"{where}answers", "lists the same choice twice")
            if kind == "single" and len(answers) != 1:
                c.add(f"{where}answers", "a single-answer question needs exactly one answer")
        if len(problems) == before and None not in (qid, prompt, explanation):
            questions.append(
                Question(
                    qid,
                    kind,
                    prompt,
                    tuple(x.strip() for x in choices),
                    frozenset(answers),
                    explanation,
                    lesson,
                )
            )
    if draw and len(raw_questions) < minimum_bank(draw):
        c.add(
            "questions",
            f"the bank holds {len(raw_questions)} question{'s' if len(raw_questions) != 1 else ''}"
            f", but a check that asks {draw} (draw: {draw}) needs at least {minimum_bank(draw)} "
            "(one and a half times as many, rounded up): add questions or lower draw",
        )
    if len(problems) != before:
        return None
    return KnowledgeCheck(pass_mark, tuple(questions), draw)


def _question_lesson(c: _Collector, raw: dict, where: str, stems: dict[str, str], strict: bool):
    """The slug of the lesson a question names by its file stem, or None (with a problem
    when it is required or wrong)."""
    value = raw.get("lesson")
    if value is None and not strict:
        return None
    if not isinstance(value, str) or not value.strip():
        c.add(
            f"{where}lesson",
            "missing: name the lesson the question tests by its file name without .md"
            + (f", e.g. {next(iter(stems))}" if stems else ""),
        )
        return None
    value = value.strip().removesuffix(".md")
    if value in stems:
        return stems[value]
    known = ", ".join(stems) or "none"
    hint = next((stem for stem, slug in stems.items() if slug == value), None)
    c.add(
        f"{where}lesson",
        f"{value!r} is not a lesson of this module"
        + (f": write its file name, {hint!r}" if hint else f"; its lessons are {known}"),
    )
    return None


def _hash_folder(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _load_module(
    folder: Path, root: Path, problems: list[Problem], seen_slugs: dict[str, str]
) -> Module | None:
    data, rel = _read_yaml(folder / "module.yaml", root, problems)
    lessons = _load_lessons(folder, root, problems)
    check = _load_check(folder, root, problems)
    if data is None:
        return None
    before = len(problems)
    c = _Collector(problems, rel)
    slug = c.text(data, "slug")
    if slug is not None and slug in seen_slugs:
        c.add("slug", f"duplicate slug {slug!r}: the folder {seen_slugs[slug]!r} uses it too")
    elif slug is not None and not SLUG.match(slug):
        c.add("slug", f"{slug!r}: use lower-case letters, digits and hyphens")
    elif slug is not None and slug != folder.name:
        c.add("slug", f"{slug!r} must equal the folder name {folder.name!r}")
    if slug is not None:
        seen_slugs.setdefault(slug, folder.name)
    title = c.text(data, "title")
    summary = c.text(data, "summary")
    version = c.integer(data, "version", 1, 10_000)
    minutes = c.integer(data, "estimated_minutes", 1, 1_000)
    order = c.integer(data, "order", 1, 10_000)
    stage = data.get("stage")
    if stage not in STAGES:
        c.add("stage", f"must be one of {', '.join(STAGES)}, got {stage!r}")
    recompletion = data.get("requires_recompletion", False)
    if not isinstance(recompletion, bool):
        c.add("requires_recompletion", f"must be true or false, got {recompletion!r}")
    required_for = data.get("required_for")
    if not isinstance(required_for, list):
        c.add("required_for", "must be a list of hub roles (may be empty: [])")
        required_for = []
    unknown = [r for r in required_for if r not in HUB_ROLES]
    if unknown:
        c.add("required_for", f"unknown hub role(s) {unknown}; known: {', '.join(HUB_ROLES)}")
    outcomes = data.get("learning_outcomes")
    if (
        not isinstance(outcomes, list)
        or not outcomes
        or not all(isinstance(o, str) and o.strip() for o in outcomes)
    ):
        c.add("learning_outcomes", "must be a non-empty list of text")
        outcomes = []
    if len(problems) != before or not lessons or check is None:
        return None
    return Module(
        slug=slug,
        title=title,
        version=version,
        requires_recompletion=recompletion,
        summary=summary,
        estimated_minutes=minutes,
        stage=stage,
        order=order,
        required_for=frozenset(required_for),
        learning_outcomes=tuple(o.strip() for o in outcomes),
        lessons=tuple(lessons),
        check=check,
        content_hash=_hash_folder(folder),
    )


def load_curriculum(root: Path) -> Curriculum:
    """Every module folder under `root`, validated; ContentError lists all problems."""
    problems: list[Problem] = []
    modules: list[Module] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    seen_slugs: dict[str, str] = {}
    for folder in folders:
        module = _load_module(folder, root, problems, seen_slugs)
        if module is not None:
            modules.append(module)
    seen_orders: dict[int, str] = {}
    for module in modules:
        if module.order in seen_orders:
            problems.append(
                Problem(
                    f"{root.name}/{module.slug}/module.yaml",
                    "order",
                    f"{module.order} is also used by {seen_orders[module.order]!r}",
                )
            )
        seen_orders[module.order] = module.slug
    if problems:
        raise ContentError(problems)
    modules.sort(key=lambda m: m.order)
    return Curriculum(tuple(modules), {m.slug: m for m in modules})
