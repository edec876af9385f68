"""Append-only, hash-chained audit log.

Every event's hash covers its own content and the previous event's hash, so editing,
inserting or deleting a past event breaks the chain. Writers serialise on a single
`audit_chain_head` row (an UPDATE takes the row lock on PostgreSQL and the write lock
on SQLite), so concurrent requests can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Integer, String, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import UTCDateTime, utcnow
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
    if action not in _LABELS:
        message = f"audit action {action!r} has no plain words: register it in its area's events.py"
        if current_app.testing:
            raise UnlabelledAction(message)
        logging.getLogger(__name__).error(message)
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    if subject is not None:
        subject_type = subject_type or subject.__tablename__
        subject_id = subject.id if subject_id is None else subject_id
    details = _normalise(details)
    if has_request_context() and "ip" not in details:
        details["ip"] = request.remote_addr

    session = db.session
    # Take the chain lock first: the UPDATE blocks concurrent writers until we commit, and
    # hands back the new sequence number and the hash to chain to in the same round trip.
    head = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if head is None:
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


def record_many(entries: list[dict]) -> int:
    """Append several events at once, in order: one chain lock, one INSERT and one head
    update whatever their number (a whole session's attendance, say). Each entry holds the
    keyword arguments of `record`; the events are exactly those `record` would append.
    Returns how many were appended."""
    if not entries:
        return 0
    session = db.session
    head = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + len(entries))
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if head is None:  # an empty chain: the first event creates the head
        record(**entries[0])
        return 1 + record_many(entries[1:])
    default_actor = None
    if has_request_context() and current_user.is_authenticated:
        default_actor = current_user._get_current_object()
    seq, prev_hash = head.seq - len(entries), head.last_hash
    events = []
    for entry in entries:
        action = entry["action"]
        if action not in _LABELS:
            message = (
                f"audit action {action!r} has no plain words: register it in its area's events.py"
            )
            if current_app.testing:
                raise UnlabelledAction(message)
            logging.getLogger(__name__).error(message)
        actor = entry.get("actor") or default_actor
        subject = entry.get("subject")
        subject_type, subject_id = entry.get("subject_type"), entry.get("subject_id")
        if subject is not None:
            subject_type = subject_type or subject.__tablename__
            subject_id = subject.id if subject_id is None else subject_id
        details = _normalise(entry.get("details"))
        if has_request_context() and "ip" not in details:
            details["ip"] = request.remote_addr
        seq += 1
        event = {
            "seq": seq,
            "occurred_at": utcnow(),
            "actor_id": getattr(actor, "id", None),
            "actor_label": getattr(actor, "email", "") or "",
            "action": action,
            "subject_type": subject_type,
            "subject_id": None if subject_id is None else str(subject_id),
            "organisation_id": entry.get("organisation_id"),
            "details": details,
            "prev_hash": prev_hash,
        }
        event["hash"] = prev_hash = event_hash(**event)
        events.append(event)
    # One INSERT for them all (an ORM flush would send one per event to read back ids).
    session.execute(insert(AuditEvent), events)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=prev_hash)
    )
    return len(events)


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
    events = list(db.session.scalars(stmt))
    preload_people(events)
    return events


class UnlabelledAction(ValueError):
    """An action recorded without plain words registered for it."""


_LABELS: dict[str, str] = {}
_DETAILS: dict[str, Callable[[dict], list[str]]] = {}
_SENTENCES: dict[str, Callable[[str, dict], str | None]] = {}


def register_actions(
    labels: Mapping[str, str],
    details: Callable[[dict], list[str]] | None = None,
    sentence: Callable[[str, dict], str | None] | None = None,
) -> None:
    """Register an area's audit actions with their plain words (see `<area>/events.py`).

    `details(event_details)` returns the extra words the area adds to `describe` for its
    own actions (e.g. the agreement's name), popping the keys it has shown; the generic
    ones (fields changed, reason, roles added or removed) are added here from the rest.
    `sentence(who, event_details)`, where given, writes the whole sentence instead (for
    what reads better said of the thing than of the person: "Statement of Collaboration
    rejected by Tess Trainer (…)"); returning None falls back to the usual form.
    """
    for action, label in labels.items():
        if _LABELS.get(action, label) != label:
            raise ValueError(f"audit action {action!r} is registered twice with different words")
        _LABELS[action] = label
        if details is not None:
            _DETAILS[action] = details
        if sentence is not None:
            _SENTENCES[action] = sentence


# --- people by name ----------------------------------------------------------------------
# Events keep the actor's id and address as recorded; what people read names them. The
# accounts area registers how ids and addresses become names (core imports no area).

PeopleResolver = Callable[[set[int], set[str]], tuple[dict[int, str], dict[str, str]]]
_PEOPLE: list[PeopleResolver] = []
# Keys of the details under which areas record a person's address.
PERSON_KEYS = ("member", "email")


def register_people(resolver: PeopleResolver) -> None:
    """`resolver(ids, emails)` -> ({id: name}, {lowercased email: name}) for accounts that exist."""
    _PEOPLE[:] = [resolver]


def _people_cache() -> tuple[dict, dict]:
    # Kept for one transaction of the session: names read then are the names at that moment.
    if not has_app_context():
        return {}, {}
    return db.session().info.setdefault(_PEOPLE_KEY, ({}, {}))


_PEOPLE_KEY = "audit_people_names"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_people(session) -> None:
    session.info.pop(_PEOPLE_KEY, None)


def _addresses(event: AuditEvent) -> set[str]:
    details = event.details or {}
    return {
        value.lower()
        for key in PERSON_KEYS
        if isinstance(value := details.get(key), str) and "@" in value
    }


def preload_people(events) -> None:
    """Look up, in one query, the names of everyone `events` mention (actors, and team
    members by address), so describing them reads nothing more."""
    by_id, by_email = _people_cache()
    events = list(events)
    ids = {e.actor_id for e in events if e.actor_id is not None} - set(by_id)
    emails = set().union(*(_addresses(e) for e in events)) - set(by_email) if events else set()
    if not (ids or emails) or not _PEOPLE:
        return
    names_by_id, names_by_email = _PEOPLE[0](ids, emails)
    by_id.update({i: names_by_id.get(i) for i in ids})
    by_email.update({m: names_by_email.get(m) for m in emails})


def actor_name(event: AuditEvent) -> str:
    """The name of who did it ("" when nobody signed in, or the account is gone)."""
    if event.actor_id is None:
        return ""
    by_id, _ = _people_cache()
    if event.actor_id not in by_id:
        preload_people([event])
    return by_id.get(event.actor_id) or ""


def person(email: str, unknown: str = "someone without an account yet") -> str:
    """The name behind an address recorded in an event, never the address itself."""
    if not isinstance(email, str) or "@" not in email:
        return email or unknown
    _, by_email = _people_cache()
    key = email.lower()
    if key not in by_email and _PEOPLE:
        by_email.update({key: _PEOPLE[0](set(), {key})[1].get(key)})
    return by_email.get(key) or unknown


def action_labels() -> dict[str, str]:
    """Every registered action and its plain words."""
    return dict(_LABELS)


def json_details(event: AuditEvent) -> str:
    """The event's details as compact JSON (for exports)."""
    return json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True, default=str)


def describe(event: AuditEvent) -> str:
    """The event in plain words, naming people by name: 'Tess Trainer changed site roles:
    added trainer'."""
    details = dict(event.details or {})
    who = actor_name(event)
    if not who and event.actor_label:
        who = "a former account holder"
    if not who and details.get("email"):
        who = person(details["email"], "someone (not signed in)")
    who = who or "someone (not signed in)"
    if (sentence := _SENTENCES.get(event.action)) is not None:
        said = sentence(who, details)
        if said:
            return said
    what = _LABELS.get(event.action, event.action.replace("_", " ").replace(".", ": "))
    area_words = _DETAILS.get(event.action)
    # The area's words take (pop) the details they show; the generic ones show the rest.
    extra = list(area_words(details)) if area_words else []
    if details.get("single_person"):
        extra.append("single-person decision")
    if details.get("fields"):
        extra.append("changed " + ", ".join(f.replace("_", " ") for f in details["fields"]))
    if details.get("added"):
        extra.append("added " + ", ".join(details["added"]))
    if details.get("removed"):
        extra.append("removed " + ", ".join(details["removed"]))
    if details.get("reason"):
        extra.append(f"reason: {details['reason']}")
    # "Cora joined the team (Cora; as coordinator)": the person already named is not repeated.
    extra = [e for e in extra if e and e != who]
    return f"{who} {what}" + (f" ({'; '.join(extra)})" if extra else "")
