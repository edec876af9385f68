"""Training rules: who must complete what, progress, lesson reads, knowledge checks.

Progress for many people is computed from a fixed number of queries (reads, attempts,
completions and the re-completion floors), whatever the number of people or modules.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import (
    Boolean,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import NotFound, ServiceError
from app.core.programme import programme
from app.core.roles import ADMIN, AUDITOR, TRAINER
from app.extensions import db
from app.organisations.models import Membership, Organisation, TeamRole
from app.training.content import Curriculum, Module, Question
from app.training.models import (
    CheckAttempt,
    LessonRead,
    ModuleCompletion,
    ModuleVersion,
    TrainingModule,
)

# Organisations whose members train: accepted into the programme, and later.
TRAINING_STAGES = frozenset({"in_training", "readiness_review", "approved", "launched"})
PREVIEW_ROLES = frozenset({TRAINER, AUDITOR, ADMIN})


def curriculum() -> Curriculum:
    return current_app.extensions["curriculum"]


# --- who trains, and for which roles ---------------------------------------------------


def training_standing(user: User) -> tuple[bool, set[str]]:
    """In one query: whether `user` belongs to an organisation in training or beyond, and
    the hub roles they hold in such organisations."""
    rows = db.session.execute(_standing_statement(), {"user_id": user.id}).all()
    return bool(rows), {role for _, role in rows if role is not None}


@functools.cache
def _standing_statement():
    """Built once (every signed-in trainee page asks; building costs more than running)."""
    return (
        select(Membership.id, TeamRole.role)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .outerjoin(TeamRole, TeamRole.membership_id == Membership.id)
        .where(
            Membership.user_id == bindparam("user_id"),
            Organisation.stage.in_(TRAINING_STAGES),
        )
    )


def training_roles(user: User) -> set[str]:
    """The hub roles `user` holds in organisations that are in training or beyond."""
    return training_standing(user)[1]


def can_train(user: User, standing: tuple[bool, set[str]] | None = None) -> bool:
    """Members of organisations in training learn; staff may open modules to preview them.
    `standing` is `training_standing(user)` when the caller has it already."""
    if not user.is_authenticated:
        return False
    if user.roles & PREVIEW_ROLES:
        return True
    return (standing or training_standing(user))[0]


# --- progress --------------------------------------------------------------------------


class ProgressStatus(StrEnum):
    """A person's standing on one module."""

    COMPLETE = "complete"
    NEEDS_REVIEW = "needs_review"  # completed an earlier version that no longer counts
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"


STATUS_LABELS = {
    "complete": "Complete",
    "needs_review": "Updated — please review",
    "in_progress": "In progress",
    "not_started": "Not started",
}


@dataclass(frozen=True)
class ModuleProgress:
    module: Module
    status: str
    lessons_read: frozenset[str]
    best_score: int | None
    attempts: int
    passed: bool
    completed_version: int | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def steps_done(self) -> int:
        return len(self.lessons_read) + (1 if self.passed else 0)

    @property
    def steps_total(self) -> int:
        return len(self.module.lessons) + 1

    @property
    def percent(self) -> int:
        if self.status == ProgressStatus.COMPLETE:
            return 100
        return round(100 * self.steps_done / self.steps_total)

    @property
    def next_lesson(self):
        """The first lesson not yet read, or None when all are read."""
        return next((x for x in self.module.lessons if x.slug not in self.lessons_read), None)


FLOORS_CACHE_SECONDS = 60


def _recorded_floors() -> dict[str, int]:
    """Recorded versions that demand re-completion, cached for a minute per process. They
    change only when `sync_content` records a version (which clears this process's cache);
    a version synced by another process is the running curriculum's own, which
    `recompletion_floors` merges in live, so no process counts stale records meanwhile."""
    cached = current_app.extensions.get("recompletion_floors")
    now = time.monotonic()
    if cached is not None and now - cached[0] < FLOORS_CACHE_SECONDS:
        return cached[1]
    rows = db.session.execute(
        select(ModuleVersion.module_slug, func.max(ModuleVersion.version))
        .where(ModuleVersion.requires_recompletion.is_(True))
        .group_by(ModuleVersion.module_slug)
    ).all()
    floors = {slug: version for slug, version in rows}
    current_app.extensions["recompletion_floors"] = (now, floors)
    return floors


def recompletion_floors() -> dict[str, int]:
    """Per module, the oldest version whose records still count (1 when any do)."""
    floors = dict(_recorded_floors())
    for module in curriculum().modules:
        if module.requires_recompletion:
            floors[module.slug] = max(floors.get(module.slug, 0), module.version)
    return floors


def _progress_records(user_ids: list[int]):
    """Lesson reads ("r"), check attempts ("a") and completions ("c") of `user_ids` as one
    UNION ALL of (kind, user, module, version, lesson, score, passed): one round trip."""
    return db.session.execute(_progress_statement(), {"user_ids": user_ids})


@functools.cache
def _progress_statement():
    """Built once: constructing the statement costs more than running it."""
    user_ids = bindparam("user_ids", expanding=True)
    no_text = cast(null(), String)
    no_int = cast(null(), Integer)
    no_bool = cast(null(), Boolean)

    def part(kind, model, lesson=no_text, score=no_int, passed=no_bool):
        return select(
            literal(kind).label("kind"),
            model.user_id,
            model.module_slug,
            model.module_version,
            lesson,
            score,
            passed,
        ).where(model.user_id.in_(user_ids))

    return union_all(
        part("r", LessonRead, lesson=LessonRead.lesson_slug),
        part("a", CheckAttempt, score=CheckAttempt.score, passed=CheckAttempt.passed),
        part("c", ModuleCompletion),
    )


def progress_for(user_ids: Iterable[int]) -> dict[tuple[int, str], ModuleProgress]:
    """Progress of each user on each module, from one query (the re-completion floors it
    also needs are cached for a minute)."""
    user_ids = sorted(set(user_ids))
    modules = curriculum().modules
    if not user_ids:
        return {}
    floors = recompletion_floors()
    reads: dict[tuple[int, str], set[str]] = defaultdict(set)
    attempts: dict[tuple[int, str], list[tuple[int, bool]]] = defaultdict(list)
    completions: dict[tuple[int, str], list[int]] = defaultdict(list)
    for kind, uid, slug, version, lesson, score, passed in _progress_records(user_ids):
        if kind == "c":
            completions[(uid, slug)].append(version)
        elif version < floors.get(slug, 1):
            continue  # an older version that must be done again
        elif kind == "r":
            reads[(uid, slug)].add(lesson)
        else:
            attempts[(uid, slug)].append((score, bool(passed)))

    result = {}
    for uid in user_ids:
        for module in modules:
            key = (uid, module.slug)
            lesson_slugs = {lesson.slug for lesson in module.lessons}
            read = frozenset(reads.get(key, set()) & lesson_slugs)
            tries = attempts.get(key, [])
            versions = completions.get(key, [])
            valid = [v for v in versions if v >= floors.get(module.slug, 1)]
            if valid:
                status = ProgressStatus.COMPLETE
            elif versions:
                status = ProgressStatus.NEEDS_REVIEW
            elif read or tries:
                status = ProgressStatus.IN_PROGRESS
            else:
                status = ProgressStatus.NOT_STARTED
            result[key] = ModuleProgress(
                module=module,
                status=status,
                lessons_read=read,
                best_score=max((s for s, _ in tries), default=None),
                attempts=len(tries),
                passed=any(p for _, p in tries),
                completed_version=max(valid) if valid else (max(versions) if versions else None),
            )
    return result


def progress_of(user: User) -> list[ModuleProgress]:
    data = progress_for([user.id])
    return [data[(user.id, m.slug)] for m in curriculum().modules]


# --- learning --------------------------------------------------------------------------


def _maybe_complete(user: User, module: Module) -> bool:
    """Record completion when every lesson is read and the check is passed; True if new."""
    progress = progress_for([user.id])[(user.id, module.slug)]
    if progress.status == ProgressStatus.COMPLETE:
        return False
    if progress.next_lesson is not None or not progress.passed:
        return False
    db.session.add(
        ModuleCompletion(
            user_id=user.id,
            module_slug=module.slug,
            module_version=module.version,
            score=progress.best_score or 0,
        )
    )
    db.session.flush()
    audit.record(
        "training.module_completed",
        actor=user,
        subject_type="module",
        subject_id=module.slug,
        details={"module": module.slug, "version": module.version, "score": progress.best_score},
    )
    return True


def mark_read(user: User, module: Module, lesson_slug: str) -> bool:
    """Record that `user` read a lesson (once per version); True if this completed the module."""
    if module.lesson(lesson_slug) is None:
        raise NotFound(lesson_slug)
    exists = db.session.scalar(
        select(LessonRead.id).where(
            LessonRead.user_id == user.id,
            LessonRead.module_slug == module.slug,
            LessonRead.module_version == module.version,
            LessonRead.lesson_slug == lesson_slug,
        )
    )
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    LessonRead(
                        user_id=user.id,
                        module_slug=module.slug,
                        module_version=module.version,
                        lesson_slug=lesson_slug,
                    )
                )
        except IntegrityError:
            pass  # the same lesson marked twice at once: one record is enough
    return _maybe_complete(user, module)


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    selected: frozenset[int]
    correct: bool


@dataclass(frozen=True)
class CheckResult:
    attempt: CheckAttempt
    results: list[QuestionResult]
    completed: bool

    @property
    def wrong(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.correct]


def parse_answers(module: Module, form: dict[str, list[str]]) -> dict[str, frozenset[int]]:
    """Answers from a posted form (`q-<id>` → choice indexes), refusing anything foreign."""
    check = module.check
    answers: dict[str, frozenset[int]] = {}
    for key, values in form.items():
        if not key.startswith("q-"):
            continue
        question = check.question(key[2:])
        if question is None:
            raise ServiceError(
                "The answers sent do not match this module's knowledge check, so nothing was "
                "recorded. Reload the page and try again."
            )
        chosen = set()
        for value in values:
            if not value.isdigit() or int(value) >= len(question.choices):
                raise ServiceError(
                    "One of the answers sent is not a choice of its question, so nothing was "
                    "recorded. Reload the page and try again."
                )
            chosen.add(int(value))
        if question.kind == "single" and len(chosen) > 1:
            raise ServiceError(f"Choose only one answer for question “{question.prompt}”.")
        if chosen:
            answers[question.id] = frozenset(chosen)
    return answers


def cooldown_remaining(user: User, module: Module) -> timedelta | None:
    minutes = programme().check_cooldown_minutes
    if not minutes:
        return None
    last = db.session.scalar(
        select(func.max(CheckAttempt.submitted_at)).where(
            CheckAttempt.user_id == user.id, CheckAttempt.module_slug == module.slug
        )
    )
    if last is None:
        return None
    remaining = last + timedelta(minutes=minutes) - utcnow()
    return remaining if remaining.total_seconds() > 0 else None


def submit_check(user: User, module: Module, answers: dict[str, frozenset[int]]) -> CheckResult:
    """Score an attempt: every question must be answered; the attempt is kept either way."""
    unanswered = [q for q in module.check.questions if q.id not in answers]
    if unanswered:
        numbers = ", ".join(str(module.check.questions.index(q) + 1) for q in unanswered)
        raise ServiceError(
            f"Answer every question before submitting: question{'s' if len(unanswered) > 1 else ''}"
            f" {numbers} {'have' if len(unanswered) > 1 else 'has'} no answer yet. "
            "Nothing was recorded."
        )
    wait = cooldown_remaining(user, module)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        raise ServiceError(
            f"You can try the knowledge check again in {minutes} minute"
            f"{'' if minutes == 1 else 's'}. Use the time to re-read the lessons."
        )
    results = [
        QuestionResult(q, answers[q.id], q.is_correct(answers[q.id]))
        for q in module.check.questions
    ]
    score = round(100 * sum(r.correct for r in results) / len(results))
    passed = score >= module.check.pass_mark
    attempt = CheckAttempt(
        user_id=user.id,
        module_slug=module.slug,
        module_version=module.version,
        score=score,
        passed=passed,
        answers={qid: sorted(chosen) for qid, chosen in answers.items()},
    )
    db.session.add(attempt)
    db.session.flush()
    audit.record(
        "training.check_passed" if passed else "training.check_failed",
        actor=user,
        subject=attempt,
        details={"module": module.slug, "version": module.version, "score": score},
    )
    completed = _maybe_complete(user, module) if passed else False
    return CheckResult(attempt, results, completed)


# --- teams and the programme -----------------------------------------------------------


@dataclass(frozen=True)
class MemberProgress:
    membership: Membership
    cells: list[tuple[ModuleProgress, bool]]  # (progress, required for this member)

    @property
    def missing(self) -> list[Module]:
        return [
            p.module
            for p, required in self.cells
            if required and p.status != ProgressStatus.COMPLETE
        ]


def team_progress(members: list[Membership]) -> list[MemberProgress]:
    """Each member × every module, marking which modules their roles require."""
    data = progress_for(m.user_id for m in members)
    rows = []
    for membership in members:
        roles = membership.roles
        rows.append(
            MemberProgress(
                membership,
                [
                    (data[(membership.user_id, module.slug)], module.required_by(roles))
                    for module in curriculum().modules
                ],
            )
        )
    return rows


def missing_required_modules(org: Organisation) -> dict[Membership, list[Module]]:
    """For the readiness requirement: which members still lack which required modules."""
    from app.organisations.services import team_members

    return {row.membership: row.missing for row in team_progress(team_members(org)) if row.missing}


def required_completion_rate(rows: list[MemberProgress]) -> tuple[int, int]:
    """(required module completions done, required in all) across a team."""
    done = total = 0
    for row in rows:
        for progress, required in row.cells:
            if required:
                total += 1
                done += progress.status == ProgressStatus.COMPLETE
    return done, total


def programme_overview():
    """Completion per module and per organisation across organisations in training."""
    from sqlalchemy.orm import selectinload

    memberships = list(
        db.session.scalars(
            select(Membership)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Organisation.stage.in_(TRAINING_STAGES))
            .options(
                selectinload(Membership.organisation),
                selectinload(Membership.user),
                selectinload(Membership.role_links),
            )
            .order_by(Organisation.name, Membership.id)
        )
    )
    rows = team_progress(memberships)
    per_module = {m.slug: [0, 0] for m in curriculum().modules}
    per_org: dict[int, list] = {}
    for row in rows:
        org = row.membership.organisation
        entry = per_org.setdefault(org.id, [org, 0, 0, 0])
        entry[3] += 1
        for progress, required in row.cells:
            if required:
                per_module[progress.module.slug][1] += 1
                entry[2] += 1
                if progress.status == ProgressStatus.COMPLETE:
                    per_module[progress.module.slug][0] += 1
                    entry[1] += 1
    return rows, per_module, list(per_org.values())


# --- content sync ----------------------------------------------------------------------


def sync_content(curriculum_: Curriculum) -> list[str]:
    """Record modules and their versions in the database; returns what changed."""
    changes = []
    existing = {m.slug: m for m in db.session.scalars(select(TrainingModule))}
    versions = {(v.module_slug, v.version): v for v in db.session.scalars(select(ModuleVersion))}
    for module in curriculum_.modules:
        record = existing.get(module.slug)
        if record is None:
            record = TrainingModule(slug=module.slug)
            db.session.add(record)
            changes.append(f"new module {module.slug} (version {module.version})")
        elif record.current_version != module.version:
            changes.append(f"{module.slug}: version {record.current_version} → {module.version}")
        record.title = module.title
        record.current_version = module.version
        record.stage = module.stage
        record.order = module.order
        record.synced_at = utcnow()
        known = versions.get((module.slug, module.version))
        if known is None:
            db.session.add(
                ModuleVersion(
                    module_slug=module.slug,
                    version=module.version,
                    title=module.title,
                    requires_recompletion=module.requires_recompletion,
                    content_hash=module.content_hash,
                )
            )
        elif known.content_hash != module.content_hash:
            changes.append(
                f"{module.slug}: the files of version {module.version} changed without a new "
                "version number (recorded; raise the version for substantive edits)"
            )
            known.content_hash = module.content_hash
    db.session.flush()
    current_app.extensions.pop("recompletion_floors", None)
    if changes:
        audit.record("content.synced", details={"changes": changes})
    return changes
