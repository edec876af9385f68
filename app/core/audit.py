"""Append-only, hash-chained audit log.

Every event's hash covers its own content and the previous event's hash, so editing,
inserting or deleting a past event breaks the chain. Writers serialise on a single
`audit_chain_head` row (an UPDATE takes the row lock on PostgreSQL and the write lock
on SQLite), so concurrent requests can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, utcnow
from app.core.programme import HUB_ROLES
from app.extensions import db

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(60))
    subject_id: Mapped[str | None] = mapped_column(String(60))
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"


class AuditChainHead(db.Model):
    """The single row holding the chain's latest sequence number and hash."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


def event_hash(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    subject_type: str | None,
    subject_id: str | None,
    organisation_id: int | None,
    details: dict,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON form of the event and the previous hash."""
    payload = json.dumps(
        {
            "seq": seq,
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "organisation_id": organisation_id,
            "details": details,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _normalise(details: dict | None) -> dict:
    # Round-trip through JSON so the hash covers exactly what the database will return.
    return json.loads(json.dumps(details or {}, default=str, sort_keys=True))


def record(
    action: str,
    *,
    actor=None,
    subject=None,
    subject_type: str | None = None,
    subject_id: Any = None,
    organisation_id: int | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain in the current transaction (flushes, never commits).

    `actor` defaults to the signed-in user; `subject` may be a model instance, whose
    table name and id are recorded.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    if subject is not None:
        subject_type = subject_type or subject.__tablename__
        subject_id = subject.id if subject_id is None else subject_id
    details = _normalise(details)
    if has_request_context() and "ip" not in details:
        details["ip"] = request.remote_addr

    session = db.session
    # Take the chain lock first: the UPDATE blocks concurrent writers until we commit.
    result = session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=AuditChainHead.seq + 1)
    )
    if result.rowcount == 0:
        session.add(AuditChainHead(id=1, seq=1, last_hash=GENESIS_HASH))
        session.flush()
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).one()

    event = AuditEvent(
        seq=head.seq,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", "") or "",
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        organisation_id=organisation_id,
        details=details,
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        organisation_id=event.organisation_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )
    session.add(event)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=event.hash)
    )
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of verifying the chain: intact, or the first event that breaks it."""

    intact: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def _walk_chain(rows) -> ChainCheck | tuple[int, str]:
    """Check links and hashes in order; a ChainCheck at the first break, else (count, last)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for row in rows:
        if row.seq != expected_seq:
            return ChainCheck(
                False,
                checked,
                row.seq,
                row.id,
                f"event {expected_seq} is missing (found {row.seq} next)",
            )
        if row.prev_hash != expected_prev:
            return ChainCheck(
                False,
                checked,
                row.seq,
                row.id,
                "its link to the previous event does not match",
            )
        recomputed = event_hash(
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            organisation_id=row.organisation_id,
            details=row.details,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            return ChainCheck(
                False, checked, row.seq, row.id, "its content was changed after it was written"
            )
        expected_prev = row.hash
        expected_seq += 1
        checked += 1
    return checked, expected_prev


def verify_chain(batch_size: int = 5000) -> ChainCheck:
    """Recompute every hash in sequence order and compare links and the chain head."""
    columns = (
        AuditEvent.id,
        AuditEvent.seq,
        AuditEvent.occurred_at,
        AuditEvent.actor_id,
        AuditEvent.actor_label,
        AuditEvent.action,
        AuditEvent.subject_type,
        AuditEvent.subject_id,
        AuditEvent.organisation_id,
        AuditEvent.details,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    stmt = select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    result = db.session.execute(stmt)
    try:
        outcome = _walk_chain(result)
    finally:
        result.close()  # a streamed (server-side) cursor must be closed on early exit
    if isinstance(outcome, ChainCheck):
        return outcome
    checked, expected_prev = outcome

    head = db.session.get(AuditChainHead, 1)
    head_seq, head_hash = (head.seq, head.last_hash) if head else (0, GENESIS_HASH)
    if head_seq != checked or head_hash != expected_prev:
        return ChainCheck(
            False,
            checked,
            checked + 1,
            None,
            f"the chain head records {head_seq} events but {checked} are present "
            + (
                "(events at the end were deleted)"
                if head_seq > checked
                else "(events were added without going through the log)"
            ),
        )
    return ChainCheck(True, checked)


def events_for_subject(subject_type: str, subject_id, limit: int = 50) -> list[AuditEvent]:
    """The most recent events about one subject, newest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


ACTION_LABELS = {
    "auth.login": "signed in",
    "auth.login_failed": "failed to sign in",
    "auth.logout": "signed out everywhere",
    "auth.password_changed": "changed their password",
    "auth.password_reset_requested": "asked for a password reset",
    "auth.password_reset": "reset their password by emailed link",
    "auth.password_verified": "entered a correct password (code still to come)",
    "auth.mfa_enabled": "turned on two-step verification",
    "auth.mfa_disabled": "turned off two-step verification",
    "auth.mfa_failed": "entered a wrong two-step verification code",
    "auth.mfa_recovery_code_used": "used a recovery code",
    "auth.mfa_recovery_codes_regenerated": "made new recovery codes",
    "auth.mfa_reset": "reset two-step verification",
    "organisation.created": "registered the organisation",
    "organisation.details_updated": "updated the organisation's details",
    "organisation.submit": "submitted the application",
    "organisation.accept": "accepted the application into the programme",
    "organisation.request_changes": "asked for changes to the application",
    "organisation.decline": "declined the application",
    "organisation.withdraw": "withdrew the organisation",
    "application.saved": "saved the application draft",
    "organisation.submit_for_review": "submitted the organisation for readiness review",
    "agreement.uploaded": "uploaded a partnership agreement",
    "agreement.accepted": "verified a partnership agreement",
    "agreement.rejected": "rejected a partnership agreement",
    "checklist.submitted": "submitted a readiness checklist item",
    "checklist.accepted": "accepted a readiness checklist item",
    "checklist.changes_requested": "asked for changes to a readiness checklist item",
    "team.invited": "invited someone to the team",
    "team.invitation_resent": "resent an invitation",
    "team.invitation_cancelled": "cancelled an invitation",
    "team.joined": "joined the team from an invitation",
    "team.member_added": "added a team member",
    "team.roles_changed": "changed a team member's roles",
    "team.member_removed": "removed a team member",
    "user.registered": "registered an account",
    "user.created": "created an account",
    "user.profile_updated": "updated a profile",
    "user.roles_changed": "changed site roles",
    "user.deactivated": "deactivated an account",
    "user.reactivated": "reactivated an account",
    "organisation.request_readiness_changes": "sent the organisation back to training",
    "organisation.approve": "approved the organisation as a hub",
    "organisation.reject": "rejected the organisation after assessment",
    "organisation.launch": "recorded the network's first ECHO session",
    "assessment.written": "wrote a readiness assessment",
    "assessment.approved": "approved a readiness assessment (second trainer)",
    "assessment.sent_back": "sent a readiness assessment back",
    "certificate.issued": "issued a certificate",
    "certificate.revoked": "revoked a certificate",
    "certificate.reissued": "re-issued a certificate",
    "certificate.renewed": "renewed a certificate",
    "certificate.downloaded": "downloaded a certificate",
    "audit.register_exported": "exported the certificate register",
    "audit.log_exported": "exported the audit log",
    "audit.dossier_downloaded": "downloaded an approval dossier",
    "evidence.downloaded": "downloaded an evidence file",
    "listing.updated": "updated the hub's directory listing",
    "listing.interest_received": "received an expression of interest from the directory",
}


def json_details(event: AuditEvent) -> str:
    """The event's details as compact JSON (for exports)."""
    return json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True, default=str)


def describe(event: AuditEvent) -> str:
    """The event in plain words, e.g. 'trainer@x changed site roles: added trainer'."""
    who = event.actor_label or "someone (not signed in)"
    what = ACTION_LABELS.get(event.action, event.action.replace("_", " ").replace(".", ": "))
    details = event.details or {}
    extra = []
    for key in ("member", "email"):
        if details.get(key) and event.action.startswith("team."):
            extra.append(details[key])
            break
    if details.get("roles") and event.action.startswith("team."):
        extra.append("as " + ", ".join(HUB_ROLES.get(r, r) for r in details["roles"]))
    if details.get("kind") and event.action.startswith("agreement."):
        extra.append(
            {
                "ip_terms": "IP Terms of Use Agreement",
                "collaboration": "Statement of Collaboration",
            }.get(details["kind"], "")
        )
    if details.get("item") and event.action.startswith("checklist."):
        extra.append(f"{details['item']}, version {details.get('version', '?')}")
    if details.get("serial") and event.action.startswith("certificate."):
        extra.append(details["serial"])
        if details.get("new_serial"):
            extra.append(f"replaced by {details['new_serial']}")
    if details.get("recommendation") and event.action == "assessment.written":
        extra.append(f"recommending {details['recommendation'].replace('_', ' ')}")
    if details.get("single_person"):
        extra.append("single-person decision")
    if details.get("fields"):
        extra.append("changed " + ", ".join(f.replace("_", " ") for f in details["fields"]))
    if details.get("added"):
        extra.append("added " + ", ".join(details["added"]))
    if details.get("removed"):
        extra.append("removed " + ", ".join(details["removed"]))
    if details.get("reason") and event.action != "auth.login_failed":
        label = "message" if event.action == "organisation.request_changes" else "reason"
        extra.append(f"{label}: {details['reason']}")
    if event.action == "auth.login_failed":
        extra.append(details.get("reason", ""))
        if details.get("email"):
            who = details["email"]
    text = f"{who} {what}"
    extra = [e for e in extra if e]
    return text + (f" ({'; '.join(extra)})" if extra else "")
