"""Access to training pages: the module (and lesson) a URL names, for people in training.

Anyone training (applicants on a team, staff) may read a module; auditors read but record
nothing (no lesson marked read, no check submitted). Programme staff and auditors read the
programme's progress.
"""

from __future__ import annotations

from flask import g

from app.core.policy import Policy, roles
from app.core.roles import PROGRAMME_VIEWERS
from app.training import services


def _trainee(user, view_args) -> int | None:
    slug = view_args.get("slug")
    module = services.curriculum().get(slug) if slug else None
    if module is None:
        return 404
    lesson_slug = view_args.get("lesson")
    if lesson_slug is not None and module.lesson(lesson_slug) is None:
        return 404
    if not services.can_train(user):
        return 403
    g.module = module
    return None


def _learner(user, view_args) -> int | None:
    refusal = _trainee(user, view_args)
    if refusal is None and user.has_role("auditor") and not services.training_roles(user):
        return 403  # auditors may read modules but record nothing
    return refusal


TRAINEE = Policy("training:trainee", requires_login=True, object_check=_trainee)
LEARNER = Policy("training:learner", requires_login=True, object_check=_learner)
PROGRAMME_READERS = roles(PROGRAMME_VIEWERS)
