"""Training rules: who must complete what, progress, lesson reads, knowledge checks.

Progress for many people is computed from a fixed number of queries (reads, attempts,
completions and the re-completion floors), whatever the number of people or modules.
"""

from __future__ import annotations

import functools
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
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
    update,
)
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core import audit, clock
from app.core.db import utcnow
from app.core.errors import FieldErrors, NotFound, ServiceError
from app.core.filters import format_datetime
from app.core.inputs import MAX_ID, parse_id
from app.core.programme import programme
from app.core.roles import ADMIN, AUDITOR, TRAINER
from app.extensions import db
from app.organisations.models import Membership, Organisation, TeamRole
from app.training.content import Curriculum, Lesson, Module, Question
from app.training.models import (
    CheckAttempt,
    CheckDraw,
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
    # Seconds its lesson pages were open before being marked read (None: no read with a
    # recorded time, e.g. reads from before the time was kept).
    seconds_reading: int | None = None

    @property
    def minutes_reading(self) -> int | None:
        """Time spent reading, in whole minutes (rounded up, so a short read is not 0)."""
        if self.seconds_reading is None:
            return None
        return -(-self.seconds_reading // 60)

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
    """Lesson reads ("r", with the seconds open as score), check attempts ("a") and
    completions ("c") of `user_ids` as one UNION ALL of (kind, user, module, version,
    lesson, score, passed): one round trip."""
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
        part("r", LessonRead, lesson=LessonRead.lesson_slug, score=LessonRead.seconds_open),
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
    seconds: dict[tuple[int, str], int] = {}
    for kind, uid, slug, version, lesson, score, passed in _progress_records(user_ids):
        if kind == "c":
            completions[(uid, slug)].append(version)
        elif version < floors.get(slug, 1):
            continue  # an older version that must be done again
        elif kind == "r":
            reads[(uid, slug)].add(lesson)
            if score is not None:
                seconds[(uid, slug)] = seconds.get((uid, slug), 0) + score
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
                seconds_reading=seconds.get(key),
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


# --- time spent reading ----------------------------------------------------------------

# One visit to a lesson counts for at most this long: a page left open over lunch is not an
# hour and a half of reading.
LESSON_VISIT_CAP = timedelta(minutes=60)


def _opened_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="training-lesson-opened")


def lesson_opened_token(user: User, module: Module, lesson_slug: str) -> str:
    """A signed note of when the lesson page was served to `user`, sent back with "mark as
    read" so the time the page was open is measured on the server, not told by the browser."""
    return _opened_serializer().dumps(
        [user.id, module.slug, module.version, lesson_slug, clock.now().timestamp()]
    )


def _opened_at(token: str | None, user: User, module: Module, lesson_slug: str):
    """When the page was served, from a token for this very person, module version and
    lesson; None for a missing, forged or foreign token (the read is still recorded)."""
    if not token or len(token) > 500:
        return None
    try:
        user_id, slug, version, lesson, stamp = _opened_serializer().loads(token)
        opened = datetime.fromtimestamp(float(stamp), UTC)
    except (BadSignature, TypeError, ValueError, OverflowError, OSError):
        return None
    if (user_id, slug, version, lesson) != (user.id, module.slug, module.version, lesson_slug):
        return None
    return opened


def _visit_seconds(opened: datetime | None, counted_until: datetime | None, now: datetime):
    """Seconds one visit adds: from the page being served to now, capped; 0 for a page
    served before the lesson was last marked (that visit was counted then)."""
    if opened is None:
        return None
    if counted_until is not None and opened <= counted_until:
        return 0
    elapsed = min(max(now - opened, timedelta(0)), LESSON_VISIT_CAP)
    return int(elapsed.total_seconds())


def mark_read(
    user: User, module: Module, lesson_slug: str, opened_token: str | None = None
) -> bool:
    """Record that `user` read a lesson (once per version), adding the time the page was
    open when `opened_token` (from `lesson_opened_token`) says when it was served; True if
    this completed the module."""
    if module.lesson(lesson_slug) is None:
        raise NotFound(lesson_slug)
    now = clock.now()
    opened = _opened_at(opened_token, user, module, lesson_slug)
    record = db.session.scalar(
        select(LessonRead).where(
            LessonRead.user_id == user.id,
            LessonRead.module_slug == module.slug,
            LessonRead.module_version == module.version,
            LessonRead.lesson_slug == lesson_slug,
        )
    )
    if record is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    LessonRead(
                        user_id=user.id,
                        module_slug=module.slug,
                        module_version=module.version,
                        lesson_slug=lesson_slug,
                        read_at=now,
                        last_read_at=now,
                        seconds_open=_visit_seconds(opened, None, now),
                    )
                )
        except IntegrityError:
            pass  # the same lesson marked twice at once: one record is enough
    else:
        seconds = _visit_seconds(opened, record.last_read_at or record.read_at, now)
        if seconds:
            # Added in SQL, so two tabs marking at once both count.
            db.session.execute(
                update(LessonRead)
                .where(LessonRead.id == record.id)
                .values(seconds_open=func.coalesce(LessonRead.seconds_open, 0) + seconds)
            )
        db.session.execute(
            update(LessonRead).where(LessonRead.id == record.id).values(last_read_at=now)
        )
        db.session.expire(record)
    return _maybe_complete(user, module)


# --- knowledge checks ------------------------------------------------------------------
#
# An attempt asks `check.draw` questions drawn from the module's bank, each with its choices
# in a new order. The draw is stored (CheckDraw) when the trainee starts, so the page, a
# reload and the marking agree; the form posts the shown positions of the choices, which
# the draw turns back into the bank's. Two failures in a row start a pause
# (`training.check_cooldown_minutes`); before a pass, a result names only the lessons to
# re-read, never which answers were right.

MAX_ATTEMPT_ID = MAX_ID
_random = random.SystemRandom()


def draw_questions(module: Module, avoid: Iterable[str] = (), rng: random.Random | None = None):
    """The questions for one attempt, in bank order, each with its choices in a new order:
    [{"id", "order"}]. Questions not in `avoid` (those of the last attempt) come first, so
    a retry asks different questions wherever the bank allows."""
    rng = rng or _random
    bank = list(module.check.questions)
    wanted = min(module.check.asked, len(bank))
    avoid = set(avoid)
    fresh = [q for q in bank if q.id not in avoid]
    chosen = rng.sample(fresh, min(wanted, len(fresh)))
    if len(chosen) < wanted:
        seen = [q for q in bank if q.id in avoid]
        chosen += rng.sample(seen, wanted - len(chosen))
    chosen.sort(key=bank.index)
    return [
        {"id": q.id, "order": rng.sample(range(len(q.choices)), len(q.choices))} for q in chosen
    ]


def _attempts(user: User, module: Module) -> list[CheckAttempt]:
    """Every submitted attempt of `user` at `module` (any version), newest first."""
    return list(
        db.session.scalars(
            select(CheckAttempt)
            .where(CheckAttempt.user_id == user.id, CheckAttempt.module_slug == module.slug)
            .order_by(CheckAttempt.submitted_at.desc(), CheckAttempt.id.desc())
        )
    )


def attempts_of(user: User, module: Module) -> list[CheckAttempt]:
    """The attempts `user` has made at `module`, newest first (older versions included)."""
    return _attempts(user, module)


def _asked_ids(attempt: CheckAttempt) -> list[str]:
    if attempt.questions is not None:
        return [q["id"] for q in attempt.questions]
    return list(attempt.answers or {})  # attempts from before draws asked the whole bank


def cooldown_until(user: User, module: Module, attempts: list[CheckAttempt] | None = None):
    """When `user` may next start `module`'s check, if they must wait: after every second
    failure in a row, `training.check_cooldown_minutes` from the last one. None: no wait."""
    minutes = programme().check_cooldown_minutes
    if not minutes:
        return None
    attempts = _attempts(user, module) if attempts is None else attempts
    failures = 0
    for attempt in attempts:
        if attempt.passed:
            break
        failures += 1
    if failures < 2 or failures % 2:
        return None
    until = attempts[0].submitted_at + timedelta(minutes=minutes)
    return until if until > clock.now() else None


def _wait_message(until: datetime) -> str:
    return (
        f"You have not passed two attempts in a row, so you can try the knowledge check again "
        f"from {format_datetime(until)}. Re-reading the lessons named "
        "below is a good use of the time."
    )


def open_draw(user: User, module: Module) -> CheckDraw | None:
    """The attempt `user` has started at the current version of `module` and not yet
    submitted, if any."""
    return db.session.scalar(
        select(CheckDraw)
        .where(
            CheckDraw.user_id == user.id,
            CheckDraw.module_slug == module.slug,
            CheckDraw.module_version == module.version,
            ~select(CheckAttempt.id).where(CheckAttempt.draw_id == CheckDraw.id).exists(),
        )
        .order_by(CheckDraw.id.desc())
        .limit(1)
    )


def start_check(user: User, module: Module, rng: random.Random | None = None) -> CheckDraw:
    """Draw the questions for a new attempt (or return the one already started). Refused
    while a cooldown lasts."""
    attempts = _attempts(user, module)
    until = cooldown_until(user, module, attempts)
    if until is not None:
        raise ServiceError(_wait_message(until))
    current = open_draw(user, module)
    if current is not None:
        return current
    avoid = _asked_ids(attempts[0]) if attempts else []
    draw = CheckDraw(
        user_id=user.id,
        module_slug=module.slug,
        module_version=module.version,
        questions=draw_questions(module, avoid, rng),
        drawn_at=clock.now(),
    )
    db.session.add(draw)
    db.session.flush()
    return draw


_NOT_OPEN = (
    "This attempt is not open any more (it was submitted, or the check has changed), so "
    "nothing was recorded. Open the knowledge check again to start a new attempt."
)


def draw_of(user: User, module: Module, draw_id) -> CheckDraw:
    """The open attempt a posted form names, refused unless it is `user`'s, for the
    current version of `module`, and not yet submitted."""
    ident = parse_id(str(draw_id or ""))
    if ident is None:
        raise ServiceError(_NOT_OPEN)
    draw = db.session.get(CheckDraw, ident)
    if (
        draw is None
        or draw.user_id != user.id
        or draw.module_slug != module.slug
        or draw.module_version != module.version
        or db.session.scalar(select(CheckAttempt.id).where(CheckAttempt.draw_id == draw.id))
    ):
        raise ServiceError(_NOT_OPEN)
    return draw


@dataclass(frozen=True)
class ShownQuestion:
    """A drawn question as the trainee sees it: its choices in the attempt's order."""

    number: int
    question: Question
    choices: list[tuple[int, str]]  # (position shown, text)


def shown_questions(module: Module, draw: CheckDraw) -> list[ShownQuestion]:
    """The questions of `draw` with their choices in the drawn order."""
    shown = []
    for number, entry in enumerate(draw.questions, start=1):
        question = module.check.question(entry["id"])
        if question is None:
            continue  # not reachable for an open draw of the current version
        shown.append(
            ShownQuestion(
                number,
                question,
                [(pos, question.choices[i]) for pos, i in enumerate(entry["order"])],
            )
        )
    return shown


_FOREIGN = (
    "The answers sent do not match the questions of this attempt, so nothing was recorded. "
    "Reload the page and answer the questions shown."
)


def parse_answers(
    module: Module, form: dict[str, list[str]], draw: CheckDraw | None = None
) -> dict[str, frozenset[int]]:
    """Answers from a posted form (`q-<id>` → positions of the choices as shown in `draw`)
    as the bank's choice indexes, refusing questions not drawn and positions not shown.
    Without `draw`, positions are the bank's own (the order of the check file)."""
    answers: dict[str, frozenset[int]] = {}
    for key, values in form.items():
        if not key.startswith("q-"):
            continue
        question = module.check.question(key[2:])
        if draw is None:
            order = list(range(len(question.choices))) if question else None
        else:
            order = draw.order_of(key[2:])
        if question is None or order is None or len(order) != len(question.choices):
            raise ServiceError(_FOREIGN)
        chosen = set()
        for value in values:
            if not (value.isascii() and value.isdecimal() and len(value) <= 3):
                raise ServiceError(
                    "One of the answers sent is not a choice of its question, so nothing was "
                    "recorded. Reload the page and try again."
                )
            position = int(value)
            if position >= len(order):
                raise ServiceError(
                    "One of the answers sent is not a choice of its question, so nothing was "
                    "recorded. Reload the page and try again."
                )
            chosen.add(order[position])
        if question.kind == "single" and len(chosen) > 1:
            raise ServiceError(f"Choose only one answer for question “{question.prompt}”.")
        if chosen:
            answers[question.id] = frozenset(chosen)
    return answers


@dataclass(frozen=True)
class QuestionResult:
    question: Question | None  # None: no longer in the module's bank
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

    @property
    def right(self) -> int:
        return sum(r.correct for r in self.results)


def submit_check(
    user: User,
    module: Module,
    answers: dict[str, frozenset[int]],
    draw: CheckDraw | None = None,
) -> CheckResult:
    """Mark an attempt (answers are the bank's choice indexes): every drawn question must
    be answered and no other; the attempt is kept either way. Without `draw` (the CLI, the
    demo, tests) a new attempt is drawn now and only its questions are marked, so answers
    for the whole bank may be given."""
    if draw is None:
        draw = start_check(user, module)
        answers = {qid: chosen for qid, chosen in answers.items() if draw.order_of(qid)}
    elif (
        draw.user_id != user.id
        or draw.module_slug != module.slug
        or draw.module_version != module.version
    ):
        raise ServiceError(_NOT_OPEN)
    asked = [module.check.question(qid) for qid in draw.question_ids]
    if None in asked or any(qid not in draw.question_ids for qid in answers):
        raise ServiceError(_FOREIGN)
    for question in asked:
        chosen = answers.get(question.id, frozenset())
        if any(not 0 <= i < len(question.choices) for i in chosen):
            raise ServiceError(_FOREIGN)
        if question.kind == "single" and len(chosen) > 1:
            raise ServiceError(f"Choose only one answer for question “{question.prompt}”.")
    unanswered = [(n, q) for n, q in enumerate(asked, start=1) if not answers.get(q.id)]
    if unanswered:
        # One problem per question, each linked to it from the error summary.
        raise FieldErrors(
            [
                (
                    None,
                    "Answer every question before submitting. Nothing was recorded.",
                ),
            ]
            + [(f"q-{q.id}", f"Question {n} has no answer yet.") for n, q in unanswered]
        )
    until = cooldown_until(user, module)
    if until is not None:
        raise ServiceError(_wait_message(until))
    results = [QuestionResult(q, answers[q.id], q.is_correct(answers[q.id])) for q in asked]
    score = round(100 * sum(r.correct for r in results) / len(results))
    passed = score >= module.check.pass_mark
    attempt = CheckAttempt(
        user_id=user.id,
        module_slug=module.slug,
        module_version=module.version,
        score=score,
        passed=passed,
        answers={qid: sorted(chosen) for qid, chosen in answers.items()},
        submitted_at=clock.now(),
        draw_id=draw.id,
        questions=[
            {
                "id": r.question.id,
                "order": draw.order_of(r.question.id),
                "lesson": r.question.lesson,
                "correct": r.correct,
            }
            for r in results
        ],
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # The same attempt submitted twice at once (two tabs, a double click): the first
        # is marked, the second records nothing.
        raise ServiceError(_NOT_OPEN) from None
    audit.record(
        "training.check_passed" if passed else "training.check_failed",
        actor=user,
        subject=attempt,
        details={"module": module.slug, "version": module.version, "score": score},
    )
    completed = _maybe_complete(user, module) if passed else False
    return CheckResult(attempt, results, completed)


def attempt_of(user: User, module: Module, attempt_id: int) -> CheckAttempt:
    """One of `user`'s own attempts at `module`; NotFound for anyone else's."""
    attempt = db.session.get(CheckAttempt, attempt_id) if 0 < attempt_id <= MAX_ATTEMPT_ID else None
    if attempt is None or attempt.user_id != user.id or attempt.module_slug != module.slug:
        raise NotFound("attempt")
    return attempt


def _lessons_in_order(module: Module, slugs: Iterable[str | None]) -> list[Lesson]:
    wanted = set(slugs)
    return [lesson for lesson in module.lessons if lesson.slug in wanted]


def topics_to_revisit(module: Module, attempt: CheckAttempt) -> list[Lesson]:
    """The lessons behind the questions an attempt got wrong, in lesson order (named to the
    trainee instead of the questions themselves)."""
    if attempt.questions is not None:
        return _lessons_in_order(
            module, (q.get("lesson") for q in attempt.questions if not q.get("correct"))
        )
    if attempt.module_version != module.version:
        return []
    slugs = []
    for qid, chosen in (attempt.answers or {}).items():
        question = module.check.question(qid)
        if question is not None and not question.is_correct(frozenset(chosen)):
            slugs.append(question.lesson)
    return _lessons_in_order(module, slugs)


def attempt_results(module: Module, attempt: CheckAttempt) -> list[QuestionResult]:
    """Each question an attempt asked, what was chosen and whether it was right, as marked
    at the time. Attempts from before draws kept no marking: they are marked again against
    the bank when their version is the current one, else not shown."""
    chosen = {qid: frozenset(v) for qid, v in (attempt.answers or {}).items()}
    if attempt.questions is not None:
        return [
            QuestionResult(
                module.check.question(q["id"])
                if attempt.module_version == module.version
                else None,
                chosen.get(q["id"], frozenset()),
                bool(q.get("correct")),
            )
            for q in attempt.questions
        ]
    if attempt.module_version != module.version:
        return []
    results = []
    for question in module.check.questions:
        if question.id in chosen:
            results.append(
                QuestionResult(
                    question, chosen[question.id], question.is_correct(chosen[question.id])
                )
            )
    return results


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
