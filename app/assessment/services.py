"""Readiness assessment and the four-eyes approval decision.

A trainer assesses an organisation in `readiness_review`: the live requirements are
snapshotted, every rubric criterion is scored 1–4 with a comment, and the trainer
recommends approve, request changes or reject. Requesting changes (back to
`in_training`) and rejecting take effect at once. Approval needs a second trainer who
did not write the assessment (unless the programme allows single-person approval); their
approval moves the organisation to `approved` and issues the hub certificate in the same
transaction, so either both happen or neither does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask import url_for
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.assessment.models import AssessmentStatus
from app.auth.models import User
from app.certificates import services as certificates
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.programme import programme
from app.extensions import db
from app.notifications.services import notify
from app.organisations import journey
from app.organisations import services as org_services
from app.organisations.models import Organisation, Stage
from app.readiness import services as readiness

from .models import RECOMMENDATIONS, Assessment

NOTES_MAX = 5000
COMMENT_MAX = 2000


def _require_trainer(user: User) -> None:
    if not user.has_role("trainer"):
        raise ServiceError("Only superhub trainers can assess readiness and decide approvals.")


def criteria() -> tuple[tuple[str, str, str], ...]:
    """(key, title, guidance) of each rubric criterion, from programme settings."""
    return programme().rubric


def open_assessment(org: Organisation) -> Assessment | None:
    """The assessment awaiting a second trainer's decision, if any."""
    return db.session.scalar(
        select(Assessment)
        .where(
            Assessment.organisation_id == org.id,
            Assessment.status == AssessmentStatus.AWAITING_DECISION,
        )
        .options(joinedload(Assessment.author))
    )


def assessments_for(org: Organisation) -> list[Assessment]:
    return list(
        db.session.scalars(
            select(Assessment)
            .where(Assessment.organisation_id == org.id)
            .options(joinedload(Assessment.author), joinedload(Assessment.decided_by))
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        )
    )


def awaiting_decision() -> list[Assessment]:
    """Every assessment waiting for a second trainer, oldest first (the decision queue)."""
    return list(
        db.session.scalars(
            select(Assessment)
            .where(Assessment.status == AssessmentStatus.AWAITING_DECISION)
            .options(joinedload(Assessment.author), joinedload(Assessment.organisation))
            .order_by(Assessment.created_at)
        )
    )


def awaiting_assessment() -> list[Organisation]:
    """Organisations in readiness review with no assessment waiting for a decision."""
    pending = select(Assessment.organisation_id).where(
        Assessment.status == AssessmentStatus.AWAITING_DECISION
    )
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.stage == Stage.READINESS_REVIEW, Organisation.id.not_in(pending))
            .order_by(Organisation.stage_changed_at)
        )
    )


def field_name(prefix: str, key: str) -> str:
    """The form field for a criterion: score_team_roles, comment_team_roles."""
    return f"{prefix}_{key.replace('-', '_')}"


@dataclass(frozen=True)
class Score:
    key: str
    score: int | None
    comment: str


def _lock_in_review(org: Organisation) -> None:
    """Serialise assessments of one organisation: take its row lock, check the stage."""
    result = db.session.execute(
        update(Organisation)
        .where(Organisation.id == org.id, Organisation.stage == Stage.READINESS_REVIEW)
        .values(last_activity_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(org)
        raise ServiceError(
            f"{org.name} is not waiting for a readiness assessment: it is at "
            f"“{journey.stage_label(org.stage)}”. Nothing was saved."
        )


def _rubric(scores: dict[str, Score]) -> list[dict]:
    missing = []
    rows = []
    for key, title, _guidance in criteria():
        entry = scores.get(key)
        score = entry.score if entry else None
        comment = (entry.comment if entry else "").strip()
        if score not in (1, 2, 3, 4):
            missing.append(title)
        if len(comment) > COMMENT_MAX:
            raise ServiceError(
                f"The comment on “{title}” is too long (keep it under {COMMENT_MAX} characters).",
                field=field_name("comment", key),
            )
        rows.append({"key": key, "title": title, "score": score, "comment": comment})
    if missing:
        raise ServiceError(
            "Score every criterion from 1 to 4. Missing: " + ", ".join(missing) + ".",
            field=field_name("score", next(k for k, t, _ in criteria() if t == missing[0])),
        )
    return rows


def write_assessment(
    org: Organisation,
    *,
    by: User,
    scores: dict[str, Score],
    overall_notes: str,
    recommendation: str,
    changes_list: str = "",
) -> Assessment:
    """Record an assessment; request changes and reject take effect at once."""
    _require_trainer(by)
    if org.stage != Stage.READINESS_REVIEW:
        raise ServiceError(
            f"Only an organisation in readiness review can be assessed; {org.name} is at "
            f"“{journey.stage_label(org.stage)}”."
        )
    if recommendation not in RECOMMENDATIONS:
        raise ServiceError("Choose a recommendation.", field="recommendation")
    rubric = _rubric(scores)
    overall_notes = (overall_notes or "").strip()
    changes_list = (changes_list or "").strip()
    if len(overall_notes) > NOTES_MAX or len(changes_list) > NOTES_MAX:
        raise ServiceError(f"Keep the notes under {NOTES_MAX} characters.", field="overall_notes")
    if recommendation == "request_changes" and not changes_list:
        raise ServiceError(
            "List what the organisation must fix before it can be assessed again.",
            field="changes_list",
        )
    if recommendation == "reject" and not overall_notes:
        raise ServiceError(
            "Explain in the overall notes why the organisation is rejected.",
            field="overall_notes",
        )
    _lock_in_review(org)
    existing = open_assessment(org)
    if existing is not None:
        author = existing.author.name if existing.author else "another trainer"
        raise ServiceError(
            f"{author} already wrote an assessment of {org.name} that is waiting for a "
            "decision. Decide on that one (or ask them to) before writing another."
        )
    snapshot = [asdict(r) for r in readiness.requirements(org)]
    status = {
        "approve": "awaiting_decision",
        "request_changes": "changes_requested",
        "reject": "rejected",
    }[recommendation]
    assessment = Assessment(
        organisation_id=org.id,
        author_id=by.id,
        requirements_snapshot=snapshot,
        rubric=rubric,
        overall_notes=overall_notes,
        recommendation=recommendation,
        changes_list=changes_list if recommendation == "request_changes" else "",
        status=status,
    )
    db.session.add(assessment)
    db.session.flush()
    audit.record(
        "assessment.written",
        actor=by,
        subject=assessment,
        organisation_id=org.id,
        details={
            "recommendation": recommendation,
            "score": f"{sum(r['score'] for r in rubric)} of {4 * len(rubric)}",
            "unmet_requirements": [r["title"] for r in snapshot if not r["met"]],
        },
    )
    if recommendation == "request_changes":
        journey.move(org, "request_readiness_changes", by=by, reason=changes_list)
        org.changes_requested = changes_list
        org_services.notify_leads(
            org,
            f"Changes needed before {org.name} can be approved",
            "readiness_changes",
            message=changes_list,
        )
    elif recommendation == "reject":
        journey.move(org, "reject", by=by, reason=overall_notes)
        org.closed_reason = overall_notes
        org_services.notify_leads(
            org, f"{org.name} was not approved as a hub", "readiness_rejected", reason=overall_notes
        )
    else:
        _notify_trainers(org, assessment, by)
    return assessment


def _notify_trainers(org: Organisation, assessment: Assessment, author: User) -> None:
    recipients = [u for u in readiness.trainers() if u.id != author.id or not programme().four_eyes]
    if recipients:
        notify(
            recipients,
            subject=f"Approval decision needed: {org.name}",
            template="assessment_awaiting_decision",
            org=org,
            author=author,
            link=url_for("assessment.show_assessment", assessment_id=assessment.id, _external=True),
        )


def may_decide(user: User, assessment: Assessment) -> tuple[bool, str]:
    """(allowed, reason if not) for showing or refusing the decision form."""
    if not user.has_role("trainer"):
        return False, "Only superhub trainers decide approvals."
    if assessment.status != AssessmentStatus.AWAITING_DECISION:
        return False, f"This assessment was already decided ({assessment.status_label.lower()})."
    if user.id == assessment.author_id and programme().four_eyes:
        return False, (
            "You wrote this assessment, so a second trainer must make the decision "
            "(four-eyes rule)."
        )
    return True, ""


def decide(assessment: Assessment, *, by: User, decision: str, notes: str = ""):
    """Approve (organisation approved + certificate issued) or send back. Returns the
    certificate on approval, None when sent back."""
    _require_trainer(by)
    allowed, why = may_decide(by, assessment)
    if not allowed:
        raise ServiceError(why)
    notes = (notes or "").strip()
    if decision not in ("approve", "send_back"):
        raise ServiceError("Choose approve or send back.", field="decision")
    if len(notes) > NOTES_MAX:
        raise ServiceError(f"Keep the notes under {NOTES_MAX} characters.", field="notes")
    if decision == "send_back" and not notes:
        raise ServiceError("Say why you are sending the assessment back.", field="notes")
    single_person = by.id == assessment.author_id
    now = utcnow()
    result = db.session.execute(
        update(Assessment)
        .where(
            Assessment.id == assessment.id, Assessment.status == AssessmentStatus.AWAITING_DECISION
        )
        .values(
            status="approved" if decision == "approve" else "sent_back",
            decided_by_id=by.id,
            decided_at=now,
            decision_notes=notes,
            single_person=single_person,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError(
            "Another trainer decided on this assessment a moment ago; nothing was changed. "
            "Reload to see their decision."
        )
    db.session.refresh(assessment)
    org = db.session.get(Organisation, assessment.organisation_id)
    if decision == "send_back":
        audit.record(
            "assessment.sent_back",
            actor=by,
            subject=assessment,
            organisation_id=org.id,
            details={"notes": notes},
        )
        return None
    journey.move(org, "approve", by=by, reason=notes)
    org.changes_requested = ""
    audit.record(
        "assessment.approved",
        actor=by,
        subject=assessment,
        organisation_id=org.id,
        details={
            "author": assessment.author.name if assessment.author else None,
            **({"single_person": True} if single_person else {}),
        },
    )
    cert = certificates.issue_for_approval(org, assessment=assessment, by=by)
    org_services.notify_leads(
        org,
        f"{org.name} is approved as a Project ECHO hub",
        "hub_approved",
        everyone=True,
        cert=cert,
        verify_link=certificates.verify_url(cert.code),
    )
    return cert
