"""The transactional outbox: every outgoing message is a row written in the same transaction
as the change it announces.

A rolled-back change leaves no row, so nothing is announced that did not happen; a committed
row is the record of what must be sent, whatever happens to the queue (Redis keeps nothing
on disk here). Delivery (`app.core.mail.deliver`) claims a row for a few minutes, sends it,
and marks it sent; a temporary failure waits for the next try on the back-off below, a
permanent one (the mail server refuses the address) or the tenth failure marks it failed
for an admin to see and resend. A claim that expires (a worker killed mid-delivery) makes
the row due again, so delivery is at-least-once; the idempotency key, sent as the
Message-ID, makes a second copy recognisable as the same message.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, and_, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core import clock
from app.core.db import EnumText, UTCDateTime, utcnow
from app.extensions import db

# Seconds to wait after the 1st, 2nd, ... failed try: 30 s, 1, 2, 5, 10, 30 min, 1, 2, 4 h.
# The tenth failure marks the message failed (Indico's ten tries, 30 s to 2 h and beyond).
BACKOFF_SECONDS = (30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
# How long one delivery may hold a message before another worker may take it over.
CLAIM_SECONDS = 300


class MessageStatus(StrEnum):
    WAITING = "waiting"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    kind: Mapped[str] = mapped_column(String(60), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(400))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # (filename, text, mimetype) triples, e.g. an Immersion calendar entry.
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    # Extra headers sent with the message, e.g. List-Unsubscribe for notification mail.
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[MessageStatus] = mapped_column(
        EnumText(MessageStatus), default=MessageStatus.WAITING, index=True
    )
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Which delivery holds the claim (one UPDATE claims a whole batch for one worker).
    claim_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def message_id(self) -> str:
        """The Message-ID header: the same for every delivery of this message."""
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:32]
        return f"<{digest}@outbox.echo-hub>"

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"


def single_line(text: str) -> str:
    """Header text on one line: line breaks and other control characters become spaces (an
    organisation name with a line break must not break, or inject, a header)."""
    cleaned = "".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in text or "")
    return " ".join(cleaned.split())


def add(
    session: Session,
    *,
    kind: str,
    key: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    user_id: int | None = None,
    not_before: datetime | None = None,
    attachments: list | None = None,
    headers: dict | None = None,
) -> OutboxMessage | None:
    """Write one message into the open transaction, or nothing if a message with this
    idempotency key exists already (a reminder raised twice is sent once)."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
        return None
    message = OutboxMessage(
        kind=kind,
        idempotency_key=key,
        recipient=single_line(recipient),
        subject=single_line(subject),
        body_text=body_text,
        body_html=body_html,
        user_id=user_id,
        not_before=not_before or clock.now(),
        attachments=attachments or [],
        headers={name: single_line(value) for name, value in (headers or {}).items()},
    )
    session.add(message)
    return message


def _due(now: datetime):
    return and_(
        OutboxMessage.status == MessageStatus.WAITING,
        OutboxMessage.not_before <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def due_ids(session: Session, limit: int = 500) -> list[int]:
    """Messages waiting whose time has come and that no delivery holds, oldest first."""
    now = clock.now()
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(_due(now))
            .order_by(OutboxMessage.not_before, OutboxMessage.id)
            .limit(limit)
        )
    )


def claim(session: Session, message_ids: list[int]) -> list[OutboxMessage]:
    """Take the messages for one delivery, atomically across processes: one UPDATE marks
    those still due and unheld with this delivery's token, and only they are returned
    (sent, failed, not yet due or held by another worker: left alone)."""
    now = clock.now()
    token = uuid.uuid4().hex
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), _due(now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claim_token=token)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claim_token == token)
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def mark_sent(message: OutboxMessage) -> None:
    """Record a delivery (the caller commits: a batch commits every few messages)."""
    message.status = MessageStatus.SENT
    message.sent_at = clock.now()
    message.attempts += 1
    message.claimed_until = None
    message.last_error = ""


def mark_failed_try(message: OutboxMessage, error: str, *, permanent: bool = False) -> None:
    """Record a failed try: wait for the next one on the back-off, or give up (a permanent
    refusal, or the last try) and mark the message failed (the caller commits)."""
    now = clock.now()
    message.attempts += 1
    message.last_error = error[:2000]
    message.claimed_until = None
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.status = MessageStatus.FAILED
        message.failed_at = now
    else:
        message.not_before = now + timedelta(seconds=BACKOFF_SECONDS[message.attempts - 1])


def resend(message: OutboxMessage) -> None:
    """Make a failed (or sent) message due again now, with a fresh count of tries."""
    message.status = MessageStatus.WAITING
    message.attempts = 0
    message.not_before = clock.now()
    message.claimed_until = None
    message.failed_at = None
    message.sent_at = None


def waiting_summary(session: Session) -> dict:
    """How many messages wait, and how long the oldest due one has waited (seconds)."""
    now = clock.now()
    count, oldest = session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.not_before)).where(
            OutboxMessage.status == MessageStatus.WAITING
        )
    ).one()
    age = max(0, int((now - oldest).total_seconds())) if oldest and oldest <= now else 0
    return {"waiting": count, "oldest_waiting_seconds": age}
