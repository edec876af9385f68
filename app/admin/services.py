"""What administrators do beyond accounts: see the outbox's delivery, and resend."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.core import audit, mail
from app.core.db import contains_pattern
from app.core.errors import ServiceError
from app.core.outbox import MessageStatus, OutboxMessage
from app.core.pagination import clamp_page
from app.extensions import db


def search_messages(*, q: str = "", status: str = "", page: int = 1, per_page: int = 25):
    """Outbox messages, newest first, by recipient (part of the address) and status."""
    stmt = select(OutboxMessage)
    if q:
        stmt = stmt.where(
            func.lower(OutboxMessage.recipient).like(contains_pattern(q), escape="\\")
        )
    if status in set(MessageStatus):
        stmt = stmt.where(OutboxMessage.status == status)
    stmt = stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    return db.paginate(stmt, page=clamp_page(page), per_page=per_page, error_out=False)


def message_account(message: OutboxMessage) -> User | None:
    """The account a message was written for, when it names one (and it still exists)."""
    return db.session.get(User, message.user_id) if message.user_id else None


def resend_message(message: OutboxMessage, *, by: User) -> None:
    """Send a failed or sent message again, once, now; a waiting one is already on its way."""
    if message.status == MessageStatus.WAITING:
        raise ServiceError(
            "This message is still waiting to be sent (its next try is due "
            "automatically), so there is nothing to resend."
        )
    previous = message.status
    mail.redeliver(message)
    audit.record(
        "admin.message_resent",
        actor=by,
        subject_type="outbox_message",
        subject_id=str(message.id),
        details={"recipient": message.recipient, "kind": message.kind, "was": str(previous)},
    )
