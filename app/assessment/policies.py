"""Access to an assessment named in the URL: superhub staff read it, trainers decide it."""

from __future__ import annotations

from app.core.policy import object_policy
from app.core.roles import STAFF, TRAINER
from app.extensions import db

from .models import Assessment


def _assessment(key) -> Assessment | None:
    return db.session.get(Assessment, key) if isinstance(key, int) else None


ASSESSMENT_STAFF = object_policy(
    "assessment:staff", arg="assessment_id", load=_assessment, store="assessment", roles=STAFF
)
ASSESSMENT_TRAINER = object_policy(
    "assessment:trainer",
    arg="assessment_id",
    load=_assessment,
    store="assessment",
    roles=frozenset({TRAINER}),
)
