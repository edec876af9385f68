"""What each person has been told, and how they want to be told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import EnumText, UTCDateTime, utcnow
from app.extensions import db
from app.notifications.kinds import Delivery


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    group: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For the daily digest: set when the notification waits for it, cleared once sent.
    digest_pending: Mapped[bool] = mapped_column(default=False, index=True)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class NotificationPreference(db.Model):
    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    group: Mapped[str] = mapped_column(String(30))
    delivery: Mapped[Delivery] = mapped_column(EnumText(Delivery))
