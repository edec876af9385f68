"""Training pages: My training, modules, lessons, knowledge checks and progress views."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.boundary import refuse, refused
from app.core.csv import csv_response
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm
from app.core.policy import AUTHENTICATED, access
from app.core.programme import programme
from app.organisations import services as org_services
from app.organisations.context import organisation_page
from app.organisations.policies import ORG_LEAD_OR_STAFF
from app.training import services
from app.training.policies import LEARNER, PROGRAMME_READERS, TRAINEE
from app.training.services import ProgressStatus

bp = Blueprint("training", __name__)


def _progress():
    return services.progress_for([current_user.id])[(current_user.id, g.module.slug)]


@bp.route("/training")
@access(AUTHENTICATED)
def my_training():
    user = current_user._get_current_object()
    standing = services.training_standing(user)
    my_roles = standing[1]
    progress = services.progress_of(user)
    required = [p for p in progress if p.module.required_by(my_roles)]
    optional = [p for p in progress if not p.module.required_by(my_roles)]
    done = sum(p.status == ProgressStatus.COMPLETE for p in required)
    return render_template(
        "training/my_training.html",
        can_train=services.can_train(user, standing),
        my_roles=my_roles,
        required=required,
        optional=optional,
        done=done,
        percent=round(100 * done / len(required)) if required else 0,
    )


@bp.route("/training/modules/<slug>")
@access(TRAINEE)
def show_module(slug: str):
    return render_template("training/module.html", module=g.module, progress=_progress())


@bp.route("/training/modules/<slug>/lessons/<lesson>")
@access(TRAINEE)
def show_lesson(slug: str, lesson: str):
    module = g.module
    current = module.lesson(lesson)
    index = current.position - 1
    return render_template(
        "training/lesson.html",
        module=module,
        lesson=current,
        previous=module.lessons[index - 1] if index > 0 else None,
        next=module.lessons[index + 1] if index + 1 < len(module.lessons) else None,
        progress=_progress(),
        form=ConfirmForm(),
        opened=services.lesson_opened_token(current_user, module, current.slug),
    )


@bp.route("/training/modules/<slug>/lessons/<lesson>/read", methods=["POST"])
@access(LEARNER)
def mark_lesson_read(slug: str, lesson: str):
    module = g.module
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    completed = services.mark_read(current_user, module, lesson, request.form.get("opened"))
    if completed:
        flash(f"Module complete: {module.title}.", "success")
        return redirect(url_for("training.show_module", slug=module.slug))
    current = module.lesson(lesson)
    if current.position < len(module.lessons):
        following = module.lessons[current.position]
        return redirect(url_for("training.show_lesson", slug=module.slug, lesson=following.slug))
    flash("All lessons read. Now take the knowledge check.", "info")
    return redirect(url_for("training.show_check", slug=module.slug))


def _check_page(module, form, error=None, chosen=None, status=200):
    """The knowledge-check page as stored now: the attempt under way, the start button, or
    the time a cooldown ends; with the lessons the last attempt says to re-read."""
    user = current_user._get_current_object()
    attempts = services.attempts_of(user, module)
    until = services.cooldown_until(user, module, attempts)
    draw = None if until else services.open_draw(user, module)
    last = attempts[0] if attempts else None
    problems = (getattr(error, "problems", None) or [(None, error.message)]) if error else []
    return render_template(
        "training/check.html",
        module=module,
        form=form,
        progress=_progress(),
        attempts=attempts,
        until=until,
        draw=draw,
        questions=services.shown_questions(module, draw) if draw else [],
        revisit=services.topics_to_revisit(module, last) if last and not last.passed else [],
        chosen=chosen or {},
        # (id to link to, message) for the error summary; a question's own problem also
        # shows beside it.
        errors=[(f"{name}-0" if name else None, message) for name, message in problems],
        question_errors={name[2:]: message for name, message in problems if name},
        cooldown_minutes=programme().check_cooldown_minutes,
        # Auditors read the check but record nothing (training.policies.LEARNER).
        can_record=not (user.has_role("auditor") and not services.training_roles(user)),
    ), status


@bp.route("/training/modules/<slug>/check")
@access(TRAINEE)
def show_check(slug: str):
    return _check_page(g.module, ConfirmForm())


@bp.route("/training/modules/<slug>/check/start", methods=["POST"])
@access(LEARNER)
def start_check(slug: str):
    module = g.module
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.start_check(current_user, module)
    except ServiceError as error:
        refused(error)
    return redirect(url_for("training.show_check", slug=module.slug, _anchor="check"))


@bp.route("/training/modules/<slug>/check", methods=["POST"])
@access(LEARNER)
def submit_check(slug: str):
    module = g.module
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    posted = {key: request.form.getlist(key) for key in request.form}
    try:
        draw = services.draw_of(current_user, module, request.form.get("attempt"))
        answers = services.parse_answers(module, posted, draw)
        result = services.submit_check(current_user, module, answers, draw)
    except ServiceError as error:
        refuse()
        # The same attempt, still open, keeps what was ticked; anything else is dropped.
        chosen = {k[2:]: set(v) for k, v in posted.items() if k.startswith("q-")}
        return _check_page(module, form, error, chosen, 400)
    # The result page says so when this completed the module.
    return redirect(
        url_for("training.show_attempt", slug=module.slug, attempt_id=result.attempt.id)
    )


@bp.route("/training/modules/<slug>/check/attempts/<int:attempt_id>")
@access(TRAINEE)
def show_attempt(slug: str, attempt_id: int):
    module = g.module
    user = current_user._get_current_object()
    attempt = services.attempt_of(user, module, attempt_id)
    passed = attempt.passed
    return render_template(
        "training/check_result.html",
        module=module,
        attempt=attempt,
        form=ConfirmForm(),
        progress=_progress(),
        # Which answers were right is shown only once the check is passed; before that,
        # the lessons to re-read.
        results=services.attempt_results(module, attempt) if passed else [],
        revisit=[] if passed else services.topics_to_revisit(module, attempt),
        until=services.cooldown_until(user, module),
        cooldown_minutes=programme().check_cooldown_minutes,
    )


@bp.route("/organisations/<int:org_id>/training")
@access(ORG_LEAD_OR_STAFF)
def team_progress(org_id: int):
    org = g.organisation
    rows = services.team_progress(org_services.team_members(org))
    done, total = services.required_completion_rate(rows)
    return render_template(
        "training/team.html",
        rows=rows,
        modules=services.curriculum().modules,
        done=done,
        total=total,
        training_open=org.stage in services.TRAINING_STAGES,
        **organisation_page(org),
    )


@bp.route("/training/overview")
@access(PROGRAMME_READERS)
def programme_overview():
    rows, per_module, per_org = services.programme_overview()
    return render_template(
        "training/overview.html",
        modules=services.curriculum().modules,
        per_module=per_module,
        per_org=per_org,
        people=len(rows),
    )


@bp.route("/training/overview.csv")
@access(PROGRAMME_READERS)
def export_progress():
    rows, _per_module, _per_org = services.programme_overview()

    def lines():
        yield [
            "organisation",
            "stage",
            "member",
            "email",
            "hub roles",
            "module",
            "module version",
            "required",
            "status",
            "lessons read",
            "lessons",
            "best score",
            "attempts",
            "completed version",
            "minutes reading",
        ]
        for row in rows:
            m = row.membership
            for progress, required in row.cells:
                yield [
                    m.organisation.name,
                    m.organisation.stage,
                    m.user.name,
                    m.user.email,
                    " ".join(sorted(m.roles)),
                    progress.module.slug,
                    progress.module.version,
                    "yes" if required else "no",
                    progress.status,
                    len(progress.lessons_read),
                    len(progress.module.lessons),
                    "" if progress.best_score is None else progress.best_score,
                    progress.attempts,
                    progress.completed_version or "",
                    "" if progress.minutes_reading is None else progress.minutes_reading,
                ]

    return csv_response(lines(), "training-progress.csv")
