"""What a hub publishes in the "Join a network" directory, and the expressions of interest
visitors send to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import UTCDateTime, utcnow
from app.extensions import db


class HubListing(db.Model):
    """What the hub lead wrote for the "Join a network" directory and whether they chose to
    publish it. An approved hub is listed only with a published listing that superhub staff
    have not hidden (app/public/services.py); approval alone lists nothing."""

    cache_groups = ("directory",)

    __tablename__ = "hub_listing"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), unique=True
    )
    summary: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(Text, default="")
    session_rhythm: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    join_url: Mapped[str] = mapped_column(String(300), default="")
    # The lead's choice: shown in the directory (while the hub is approved and certified).
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Moderation: staff hid it (with a reason the lead sees); the lead cannot undo it.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id], lazy="joined")

    @property
    def hidden_by_staff(self) -> bool:
        return self.hidden_at is not None


class ExpressionOfInterest(db.Model):
    """A visitor's request to join a listed network, kept for the hub lead."""

    __tablename__ = "expression_of_interest"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(120), default="")
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    sent_to: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
