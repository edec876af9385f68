"""The organisation's journey: stages and the one function that moves between them.

    draft ─submit─▶ submitted ─accept─▶ in_training ─▶ readiness_review ─approve─▶ approved
      ▲                │ request changes / decline  ▲               │                 │ launch
      └────────────────┘                            └─ changes ─────┤ reject            ▼
                                                                     ▼                launched
                                                                  rejected
                                    withdrawn: by the organisation, from any open stage

Each move is a compare-and-set on the organisation's stage, so two trainers deciding
at the same moment cannot both succeed: the second is refused with a clear message.
Preconditions specific to a move (required fields, team rules) are checked by the
service that calls `move`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.extensions import db
from app.organisations.models import Organisation, StageChange

STAGES: dict[str, str] = {
    "draft": "Draft application",
    "submitted": "Submitted for screening",
    "in_training": "In training",
    "readiness_review": "Readiness review",
    "approved": "Approved hub",
    "launched": "Launched",
    "rejected": "Not accepted",
    "withdrawn": "Withdrawn",
}
OPEN_STAGES = frozenset({"draft", "submitted", "in_training", "readiness_review"})
CLOSED_STAGES = frozenset({"rejected", "withdrawn"})


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    verb: str  # past tense, for messages: "submitted", "accepted into the programme"


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("submit", frozenset({"draft"}), "submitted", "submitted"),
        Transition(
            "accept", frozenset({"submitted"}), "in_training", "accepted into the programme"
        ),
        Transition("request_changes", frozenset({"submitted"}), "draft", "sent back for changes"),
        Transition("decline", frozenset({"submitted"}), "rejected", "declined"),
        Transition(
            "submit_for_review",
            frozenset({"in_training"}),
            "readiness_review",
            "submitted for readiness review",
        ),
        Transition(
            "request_readiness_changes",
            frozenset({"readiness_review"}),
            "in_training",
            "sent back to training with changes to make",
        ),
        Transition("approve", frozenset({"readiness_review"}), "approved", "approved"),
        Transition("reject", frozenset({"readiness_review"}), "rejected", "rejected"),
        Transition("launch", frozenset({"approved"}), "launched", "marked as launched"),
        Transition("withdraw", OPEN_STAGES, "withdrawn", "withdrawn"),
    )
}


def stage_label(stage: str) -> str:
    return STAGES.get(stage, stage)


def move(org: Organisation, transition: str, *, by, reason: str = "") -> StageChange:
    """Move `org` along `transition`, or raise ServiceError explaining why not."""
    spec = TRANSITIONS[transition]
    current = org.stage
    if current not in spec.sources:
        raise ServiceError(
            f"This cannot be {spec.verb} now: the organisation is at “{stage_label(current)}”."
        )
    now = utcnow()
    result = db.session.execute(
        update(Organisation)
        .where(Organisation.id == org.id, Organisation.stage == current)
        .values(stage=spec.target, stage_changed_at=now, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(org)
        raise ServiceError(
            f"Someone else changed this organisation a moment ago: it is now at "
            f"“{stage_label(org.stage)}”, so nothing was changed. Reload to see the latest."
        )
    org.stage = spec.target
    org.stage_changed_at = now
    org.last_activity_at = now
    change = StageChange(
        organisation_id=org.id,
        from_stage=current,
        to_stage=spec.target,
        actor_id=getattr(by, "id", None),
        reason=reason,
        changed_at=now,
    )
    db.session.add(change)
    audit.record(
        f"organisation.{transition}",
        actor=by,
        subject=org,
        organisation_id=org.id,
        details={"from": current, "to": spec.target, **({"reason": reason} if reason else {})},
    )
    return change


STEPS = ("Learn", "Apply", "Agree", "Train", "Ready", "Approved", "Launched")
# The step each stage is working on (index into STEPS).
_CURRENT_STEP = {
    "draft": 1,
    "submitted": 1,
    "in_training": 2,
    "readiness_review": 4,
    "approved": 5,
    "launched": 6,
}


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "done", "current" or "upcoming"


def steps(stage: str) -> list[Step]:
    """The public path Learn → … → Launched with this stage's position marked."""
    current = _CURRENT_STEP.get(stage)
    result = []
    for index, label in enumerate(STEPS):
        if current is None:
            state = "upcoming"
        elif index < current or (stage == "launched" and index == current):
            state = "done"
        elif index == current:
            state = "current"
        else:
            state = "upcoming"
        result.append(Step(label, state))
    return result
