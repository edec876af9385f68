"""Readiness rules: agreements, checklist answers and evidence, trainer review, requirements.

Every decision names the exact version it decides on (the form carries the id of the
agreement or answer the trainer saw), so a decision can never land on a newer upload
the trainer has not opened.
"""

from __future__ import annotations

import functools
from dataclasses import InitVar, dataclass, field
from datetime import date

from flask import current_app, url_for
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.auth.models import User, UserRole
from app.core import audit, clock
from app.core.db import utcnow
from app.core.errors import FieldErrors, NotFound, ServiceError
from app.core.programme import HUB_ROLES, programme, role_in_prose
from app.core.roles import TRAINER
from app.core.storage import store_upload, upload_problem
from app.extensions import db
from app.notifications.services import notify
from app.organisations import journey
from app.organisations import services as org_services
from app.organisations.models import Organisation
from app.readiness.checklist import Checklist, ChecklistItem
from app.readiness.facts import current_agreements, current_templates
from app.readiness.models import (
    AGREEMENT_KINDS,
    Agreement,
    ChecklistAnswer,
    ChecklistComment,
    EvidenceFile,
    ReviewStatus,
)

# Agreements and checklist answers are worked on while the organisation is in training.
EDITABLE_STAGES = frozenset({"in_training"})


def checklist() -> Checklist:
    return current_app.extensions["checklist"]


def _require_stage(org: Organisation) -> None:
    if org.stage not in EDITABLE_STAGES:
        raise ServiceError(
            "Agreements and checklist answers can be changed only while the organisation is "
            f"in training; it is at “{journey.stage_label(org.stage)}”."
        )


def _require_trainer(user: User) -> None:
    if not user.has_role(TRAINER):
        raise ServiceError("Only superhub trainers can review readiness evidence.")


def _stale(what: str) -> ServiceError:
    return ServiceError(
        f"This {what} changed since you opened the page (a newer version was submitted or it "
        "was already decided), so nothing was recorded. Reload the page to see the latest."
    )


def _lock(org: Organisation) -> None:
    """Serialise changes to one organisation's evidence: the UPDATE takes the row lock on
    PostgreSQL and the write lock on SQLite, so two submissions at the same moment are
    checked one after the other (the second then sees it is stale)."""
    db.session.execute(
        update(Organisation).where(Organisation.id == org.id).values(last_activity_at=utcnow())
    )


def _decide(model, record_id: int, **values) -> bool:
    """Compare-and-set a decision on a record still `submitted`; False if someone was first."""
    result = db.session.execute(
        update(model)
        .where(model.id == record_id, model.status == ReviewStatus.SUBMITTED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _store(org: Organisation, upload, by: User) -> EvidenceFile:
    stored = store_upload(upload, area=f"org-{org.id}")
    record = EvidenceFile(
        organisation_id=org.id,
        storage_key=stored.key,
        original_name=stored.original_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=by.id,
    )
    db.session.add(record)
    db.session.flush()
    return record


def trainers() -> list[User]:
    """Active superhub trainers (for notifications)."""
    return list(
        db.session.scalars(
            select(User).where(
                User.is_active_account.is_(True), User.role_links.any(UserRole.role == TRAINER)
            )
        )
    )


# --- agreements ------------------------------------------------------------------------


def agreement_history(org: Organisation) -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.organisation_id == org.id)
            .options(
                selectinload(Agreement.file),
                selectinload(Agreement.submitted_by),
                selectinload(Agreement.reviewed_by),
                selectinload(Agreement.template),
            )
            .order_by(Agreement.id.desc())
        )
    )


def upload_agreement(
    org: Organisation,
    *,
    by: User,
    kind: str,
    upload,
    signatory_name: str,
    signatory_role: str,
    signed_on: date | None,
    based_on: int | None,
) -> Agreement:
    """Upload a signed agreement; it replaces the current one, which stays in the history."""
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can upload the agreements.")
    _require_stage(org)
    if kind not in AGREEMENT_KINDS:
        raise NotFound(kind)
    signatory_name = (signatory_name or "").strip()
    signatory_role = (signatory_role or "").strip()
    # Every problem with what was typed at once, so the form lists them all.
    problems: list[tuple[str | None, str]] = []
    if (file_problem := upload_problem(upload)) is not None:
        problems.append(("file", file_problem))
    if not signatory_name:
        problems.append(("signatory_name", "Enter the name of the person who signed."))
    if not signatory_role:
        problems.append(("signatory_role", "Enter the signatory's role."))
    if signed_on is None:
        problems.append(("signed_on", "Enter the date it was signed."))
    elif signed_on > clock.today():
        problems.append(("signed_on", "The date signed cannot be in the future."))
    if problems:
        raise FieldErrors(problems)
    _lock(org)
    current = current_agreements(org)[kind]
    if (current.id if current else None) != based_on:
        raise _stale("agreement")
    if current is not None and current.status == ReviewStatus.ACCEPTED:
        raise ServiceError(
            f"The {AGREEMENT_KINDS[kind]} is already verified. Ask a trainer if it needs replacing."
        )
    # The signed copy is taken to be of the version the lead was offered: the current one.
    template = current_templates()[kind]
    evidence = _store(org, upload, by)
    replaced_status = str(current.status) if current is not None else None
    if current is not None:
        current.status = "superseded"
    agreement = Agreement(
        organisation_id=org.id,
        kind=kind,
        file_id=evidence.id,
        template_id=template.id if template else None,
        signatory_name=signatory_name,
        signatory_role=signatory_role,
        signed_on=signed_on,
        status="submitted",
        submitted_by_id=by.id,
    )
    db.session.add(agreement)
    db.session.flush()
    org.last_activity_at = utcnow()
    audit.record(
        "agreement.uploaded",
        actor=by,
        subject=agreement,
        organisation_id=org.id,
        details={
            "kind": kind,
            "signatory": signatory_name,
            "file_sha256": evidence.sha256,
            "replaces": current.id if current else None,
            **({"template_version": template.version_label} if template else {}),
            **({"replaced_status": replaced_status} if replaced_status else {}),
        },
    )
    return agreement


def review_agreement(
    org: Organisation,
    *,
    by: User,
    agreement_id: int,
    decision: str,
    reason: str = "",
    kind: str | None = None,
) -> Agreement:
    """A trainer verifies an agreement (accept) or rejects it with a reason the lead sees."""
    _require_trainer(by)
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or agreement.organisation_id != org.id:
        raise NotFound(agreement_id)
    if kind is not None and agreement.kind != kind:
        raise NotFound(agreement_id)  # the form belongs to the other agreement
    if agreement.status != ReviewStatus.SUBMITTED:
        raise _stale("agreement")
    reason = (reason or "").strip()
    if decision == "reject" and not reason:
        raise ServiceError(
            "Give the reason for rejecting, so the organisation can fix it.", field="reason"
        )
    if decision not in ("accept", "reject"):
        raise ServiceError("Choose accept or reject.", field="decision")
    status = "accepted" if decision == "accept" else "rejected"
    now = utcnow()
    if not _decide(
        Agreement,
        agreement.id,
        status=status,
        reviewed_by_id=by.id,
        reviewed_at=now,
        review_reason=reason,
    ):
        raise _stale("agreement")  # another trainer decided a moment ago
    agreement.status, agreement.reviewed_by_id = status, by.id
    agreement.reviewed_at, agreement.review_reason = now, reason
    org.last_activity_at = utcnow()
    audit.record(
        f"agreement.{'accepted' if decision == 'accept' else 'rejected'}",
        actor=by,
        subject=agreement,
        organisation_id=org.id,
        details={"kind": agreement.kind, **({"reason": reason} if reason else {})},
    )
    _email_leads(
        org,
        f"{agreement.kind_label} {'verified' if decision == 'accept' else 'needs attention'}",
        "agreement_reviewed",
        agreement=agreement,
    )
    return agreement


def _email_leads(org: Organisation, subject: str, template: str, **context) -> None:
    org_services.notify_leads(
        org,
        subject,
        template,
        link=url_for("readiness.show_readiness", org_id=org.id, _external=True),
        **context,
    )


# --- checklist answers -----------------------------------------------------------------


def current_answers(org: Organisation) -> dict[str, ChecklistAnswer]:
    """The latest answer to each item that has one (one query)."""
    answers: dict[str, ChecklistAnswer] = {}
    for answer in db.session.scalars(
        select(ChecklistAnswer)
        .where(ChecklistAnswer.organisation_id == org.id)
        .options(selectinload(ChecklistAnswer.file))
        .order_by(ChecklistAnswer.id)
    ):
        answers[answer.item_key] = answer
    return answers


def checklist_item(key: str) -> ChecklistItem | None:
    """The current checklist's item `key`, or None."""
    return checklist().get(key) if isinstance(key, str) else None


def _item(key: str) -> ChecklistItem:
    item = checklist_item(key)
    if item is None:
        raise NotFound(key)
    return item


def can_answer(user: User, org: Organisation, item: ChecklistItem) -> bool:
    """The hub lead answers any item; other members answer items for a role they hold."""
    membership = org_services.membership_of(user, org.id)
    if membership is None:
        return False
    return membership.has_role("hub_lead") or membership.has_role(item.responsible)


@dataclass
class AnswerInput:
    text: str = ""
    date_value: date | None = None
    attested_by_name: str = ""
    attested_by_role: str = ""
    confirmed: bool = False
    upload: object | None = None


def submit_answer(
    org: Organisation, *, by: User, item_key: str, based_on: int | None, given: AnswerInput
) -> ChecklistAnswer:
    """Answer (or re-answer) an item and send it for review; the earlier answer is kept."""
    item = _item(item_key)
    if not can_answer(by, org, item):
        raise ServiceError(
            f"Only the hub lead or a team member with the {HUB_ROLES[item.responsible]} role "
            "can answer this item."
        )
    _require_stage(org)
    _lock(org)
    current = current_answers(org).get(item.key)
    if (current.id if current else None) != based_on:
        raise _stale("item")
    answer = ChecklistAnswer(
        organisation_id=org.id,
        item_key=item.key,
        version=(current.version + 1) if current else 1,
        status="submitted",
        submitted_by_id=by.id,
    )
    if item.kind == "text":
        text = (given.text or "").strip()
        if not text:
            raise ServiceError("Write your answer.", field="text")
        if len(text) > 10_000:
            raise ServiceError("Use at most 10,000 characters.", field="text")
        answer.text_value = text
    elif item.kind == "date":
        if given.date_value is None:
            raise ServiceError("Enter the date.", field="date_value")
        if item.past_only and given.date_value > clock.today():
            raise ServiceError("This date cannot be in the future.", field="date_value")
        answer.date_value = given.date_value
        answer.text_value = (given.text or "").strip()[:2000]
    elif item.kind == "attestation":
        name = (given.attested_by_name or "").strip()
        role = (given.attested_by_role or "").strip()
        if not name:
            raise ServiceError("Enter the name of the person confirming.", field="attested_by_name")
        if not role:
            raise ServiceError("Enter their role.", field="attested_by_role")
        if not given.confirmed:
            raise ServiceError("Tick the box to confirm the statement.", field="confirmed")
        answer.attested_by_name, answer.attested_by_role = name, role
        answer.text_value = (given.text or "").strip()[:2000]
    elif item.kind == "file":
        evidence = _store(org, given.upload, by)
        answer.file_id = evidence.id
        answer.text_value = (given.text or "").strip()[:2000]
    if current is not None:
        current.status = (
            "superseded" if current.status == ReviewStatus.SUBMITTED else current.status
        )
    db.session.add(answer)
    db.session.flush()
    org.last_activity_at = utcnow()
    audit.record(
        "checklist.submitted",
        actor=by,
        subject=answer,
        organisation_id=org.id,
        details={
            "item": item.key,
            "version": answer.version,
            **({"file_sha256": answer.file.sha256} if answer.file_id else {}),
        },
    )
    return answer


def review_answer(
    org: Organisation, *, by: User, item_key: str, answer_id: int, decision: str, comment: str
) -> ChecklistAnswer:
    """Accept an answer, or request changes with a comment; the responsible people are emailed."""
    _require_trainer(by)
    item = _item(item_key)
    current = current_answers(org).get(item.key)
    if current is None or current.id != answer_id or current.status != ReviewStatus.SUBMITTED:
        raise _stale("item")
    comment = (comment or "").strip()
    if decision == "changes" and not comment:
        raise ServiceError("Say what needs to change.", field="comment")
    if decision not in ("accept", "changes"):
        raise ServiceError("Choose accept or request changes.", field="decision")
    status = "accepted" if decision == "accept" else "changes_requested"
    now = utcnow()
    if not _decide(
        ChecklistAnswer, current.id, status=status, reviewed_by_id=by.id, reviewed_at=now
    ):
        raise _stale("item")  # another trainer decided a moment ago
    current.status, current.reviewed_by_id, current.reviewed_at = status, by.id, now
    db.session.add(
        ChecklistComment(
            organisation_id=org.id,
            item_key=item.key,
            answer_id=current.id,
            author_id=by.id,
            kind="accepted" if decision == "accept" else "changes",
            body=comment,
        )
    )
    org.last_activity_at = utcnow()
    audit.record(
        "checklist.accepted" if decision == "accept" else "checklist.changes_requested",
        actor=by,
        subject=current,
        organisation_id=org.id,
        details={
            "item": item.key,
            "version": current.version,
            **({"reason": comment} if comment else {}),
        },
    )
    recipients = [
        m.user
        for m in org.memberships
        if m.user.is_active
        and (m.has_role(item.responsible) or m.user_id == current.submitted_by_id)
    ]
    if recipients:
        notify(
            recipients,
            subject=f"{item.title}: {'accepted' if decision == 'accept' else 'changes requested'}",
            template="checklist_reviewed",
            org=org,
            item=item,
            answer=current,
            comment=comment,
            link=url_for("readiness.show_item", org_id=org.id, item_key=item.key, _external=True),
        )
    return current


def add_comment(org: Organisation, *, by: User, item_key: str, body: str) -> ChecklistComment:
    item = _item(item_key)
    body = (body or "").strip()
    if not body:
        raise ServiceError("Write a comment.", field="body")
    if len(body) > 5000:
        raise ServiceError("Use at most 5,000 characters.", field="body")
    if org.stage in journey.CLOSED_STAGES:
        raise ServiceError("This organisation is closed; comments can no longer be added.")
    comment = ChecklistComment(
        organisation_id=org.id, item_key=item.key, author_id=by.id, kind="comment", body=body
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def item_history(org: Organisation, item_key: str):
    answers = list(
        db.session.scalars(
            select(ChecklistAnswer)
            .where(ChecklistAnswer.organisation_id == org.id, ChecklistAnswer.item_key == item_key)
            .options(selectinload(ChecklistAnswer.file), selectinload(ChecklistAnswer.submitted_by))
            .order_by(ChecklistAnswer.id.desc())
        )
    )
    comments = list(
        db.session.scalars(
            select(ChecklistComment)
            .where(
                ChecklistComment.organisation_id == org.id, ChecklistComment.item_key == item_key
            )
            .options(selectinload(ChecklistComment.author))
            .order_by(ChecklistComment.id)
        )
    )
    return answers, comments


# --- the review queue ------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    org: Organisation
    kind: str  # "agreement" or "item"
    title: str
    submitted_at: object
    agreement: Agreement | None = None
    answer: ChecklistAnswer | None = None
    item: ChecklistItem | None = None


@functools.cache
def _queue_statements():
    """The queue's two SELECTs, built once (building them cost more than running them)."""
    return (
        select(Agreement)
        .join(Organisation, Organisation.id == Agreement.organisation_id)
        .where(Agreement.status == ReviewStatus.SUBMITTED, Organisation.stage.in_(EDITABLE_STAGES))
        .options(selectinload(Agreement.file)),
        select(ChecklistAnswer)
        .join(Organisation, Organisation.id == ChecklistAnswer.organisation_id)
        .where(
            ChecklistAnswer.status == ReviewStatus.SUBMITTED,
            Organisation.stage.in_(EDITABLE_STAGES),
        ),
    )


def review_queue() -> list[QueueEntry]:
    """Everything waiting for a trainer across organisations, oldest first (two queries)."""
    entries: list[QueueEntry] = []
    waiting_agreements, waiting_answers = _queue_statements()
    for agreement in db.session.scalars(waiting_agreements):
        entries.append(
            QueueEntry(
                None, "agreement", agreement.kind_label, agreement.submitted_at, agreement=agreement
            )
        )
    for answer in db.session.scalars(waiting_answers):
        item = checklist().get(answer.item_key)
        entries.append(
            QueueEntry(
                None,
                "item",
                item.title if item else answer.item_key,
                answer.submitted_at,
                answer=answer,
                item=item,
            )
        )
    org_ids = {
        e.agreement.organisation_id if e.agreement else e.answer.organisation_id for e in entries
    }
    orgs = (
        {
            o.id: o
            for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))
        }
        if org_ids
        else {}
    )
    result = []
    for e in entries:
        org_id = e.agreement.organisation_id if e.agreement else e.answer.organisation_id
        result.append(
            QueueEntry(orgs[org_id], e.kind, e.title, e.submitted_at, e.agreement, e.answer, e.item)
        )
    result.sort(key=lambda e: e.submitted_at)
    return result


# --- the requirements engine -----------------------------------------------------------


class GapState:
    """Whose move an outstanding thing is."""

    TODO = "todo"  # the organisation has something to do
    FIX = "fix"  # a trainer sent it back (rejected, changes requested): redo it
    WAITING = "waiting"  # done by the organisation; a trainer has still to review it


@dataclass(frozen=True)
class Gap:
    """One thing a requirement still lacks: its words, whose move it is, and what it is about
    (an agreement kind, a checklist item key, a hub role, a member's user id)."""

    text: str
    state: str
    subject: str = ""
    reason: str = ""


@dataclass
class Requirement:
    key: str
    title: str
    met: bool
    summary: str
    details: list[str] = field(default_factory=list)
    done: int = 0
    total: int = 0
    # What is outstanding, structured for guidance ("What happens next"). Not a field: an
    # assessment stores asdict(requirement) as its snapshot, which keeps its shape.
    gaps: InitVar[list[Gap] | None] = None

    def __post_init__(self, gaps: list[Gap] | None) -> None:
        self.gaps = list(gaps or [])
        if self.gaps and not self.details:
            self.details = [gap.text for gap in self.gaps]


def immersion_requirement(org: Organisation, members=None) -> Requirement:
    """Each required hub role has a holder who met the Immersion attendance threshold (from
    the attendance standing the Immersion area reports)."""
    from app.immersion.services import attendance_standing

    standing = attendance_standing(org)
    if not standing.recorded:
        return Requirement(
            "immersion",
            "Immersion attendance",
            False,
            "No Immersion attendance recorded yet.",
            gaps=[
                Gap(
                    "Book the team onto an Immersion cohort; the superhub records attendance.",
                    GapState.TODO,
                    "booking",
                )
            ],
        )
    required = programme().required_roles
    members = org_services.team_members(org) if members is None else members
    missing = [
        role
        for role in required
        if not any(m.user_id in standing.met_user_ids and m.has_role(role) for m in members)
    ]
    covered = len(required) - len(missing)
    return Requirement(
        "immersion",
        "Immersion attendance",
        not missing,
        "Every required role has someone who met the attendance threshold."
        if not missing
        else f"{covered} of {len(required)} required roles have met the attendance threshold.",
        done=covered,
        total=len(required),
        gaps=[
            Gap(f"No {role_in_prose(r)} has met the attendance threshold yet", GapState.TODO, r)
            for r in missing
        ],
    )


def requirements(org: Organisation) -> list[Requirement]:
    """The five readiness requirements (DESIGN.md §3), each with exactly what is missing."""
    from app.training import services as training_services

    result = []
    # Load the team once, with accounts and roles: the composition, training and Immersion
    # checks below all read it (team_members fills org.memberships for them).
    members = org_services.team_members(org)
    agreements = current_agreements(org)
    verified = [
        a for a in agreements.values() if a is not None and a.status == ReviewStatus.ACCEPTED
    ]
    missing = []
    for kind, label in AGREEMENT_KINDS.items():
        a = agreements[kind]
        if a is None:
            missing.append(Gap(f"{label}: not uploaded", GapState.TODO, kind))
        elif a.status == ReviewStatus.SUBMITTED:
            missing.append(
                Gap(f"{label}: waiting for a trainer to verify it", GapState.WAITING, kind)
            )
        elif a.status == ReviewStatus.REJECTED:
            missing.append(
                Gap(f"{label}: rejected — {a.review_reason}", GapState.FIX, kind, a.review_reason)
            )
    result.append(
        Requirement(
            "agreements",
            "Partnership agreements verified",
            not missing,
            "Both agreements are verified."
            if not missing
            else f"{len(verified)} of {len(AGREEMENT_KINDS)} verified.",
            done=len(verified),
            total=len(AGREEMENT_KINDS),
            gaps=missing,
        )
    )

    composition = org_services.team_composition(org)
    result.append(
        Requirement(
            "team",
            "Team composition",
            composition.complete,
            "The team has every role the programme requires."
            if composition.complete
            else "Roles still needed: "
            + ", ".join(HUB_ROLES[r] for r in composition.missing)
            + ".",
            done=len(composition.required) - len(composition.missing),
            total=len(composition.required),
            gaps=[
                Gap(f"No {role_in_prose(r)} on the team", GapState.TODO, r)
                for r in composition.missing
            ],
        )
    )

    rows = training_services.team_progress(members)
    done, total = training_services.required_completion_rate(rows)
    lacking = [
        Gap(
            f"{row.membership.user.name}: " + "; ".join(m.title for m in row.missing),
            GapState.TODO,
            str(row.membership.user_id),
        )
        for row in rows
        if row.missing
    ]
    result.append(
        Requirement(
            "training",
            "Required training modules completed",
            not lacking,
            "Every member has completed the modules their roles require."
            if not lacking
            else f"{done} of {total} required module completions done.",
            done=done,
            total=total,
            gaps=lacking,
        )
    )

    result.append(immersion_requirement(org, members))

    answers = current_answers(org)
    required_items = checklist().required_items
    accepted = [
        i
        for i in required_items
        if answers.get(i.key) is not None and answers[i.key].status == ReviewStatus.ACCEPTED
    ]
    pending = []
    for item in required_items:
        answer = answers.get(item.key)
        if answer is None:
            pending.append(Gap(f"{item.title}: not answered", GapState.TODO, item.key))
        elif answer.status == ReviewStatus.SUBMITTED:
            pending.append(Gap(f"{item.title}: waiting for review", GapState.WAITING, item.key))
        elif answer.status == ReviewStatus.CHANGES_REQUESTED:
            pending.append(Gap(f"{item.title}: changes requested", GapState.FIX, item.key))
    result.append(
        Requirement(
            "checklist",
            "Readiness checklist accepted",
            not pending,
            "Every required item is accepted."
            if not pending
            else f"{len(accepted)} of {len(required_items)} required items accepted.",
            done=len(accepted),
            total=len(required_items),
            gaps=pending,
        )
    )
    return result


def submit_for_review(org: Organisation, *, by: User) -> None:
    """in_training → readiness_review, once every requirement is met; trainers are told."""
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can submit for readiness review.")
    unmet = [r for r in requirements(org) if not r.met]
    if unmet:
        raise ServiceError(
            "Not yet: " + "; ".join(f"{r.title} ({r.summary.rstrip('.')})" for r in unmet) + "."
        )
    journey.move(org, "submit_for_review", by=by)
    org.changes_requested = ""
    people = trainers()
    if people:
        notify(
            people,
            subject=f"Ready for assessment: {org.name}",
            template="readiness_submitted",
            org=org,
            link=url_for("readiness.show_readiness", org_id=org.id, _external=True),
        )
