"""Organisations applying to become ECHO hubs, their application, team and invitations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import EnumText, UTCDateTime, utcnow
from app.extensions import db

ORGANISATION_TYPES: dict[str, str] = {
    "hospice": "Hospice",
    "nhs_trust": "NHS trust or health board",
    "care_home_provider": "Care home provider",
    "charity": "Charity",
    "university": "University",
    "local_authority": "Local authority",
    "other": "Other",
}

NATIONS: dict[str, str] = {
    "england": "England",
    "scotland": "Scotland",
    "wales": "Wales",
    "northern_ireland": "Northern Ireland",
    "other": "Another country",
}

VC_LICENCE: dict[str, str] = {
    "yes": "Yes, we have a licence",
    "planned": "Planned",
    "no": "No",
}

NAME_MAX = 200


class Stage(StrEnum):
    """Where an organisation is on its journey (labels and moves in `journey.py`)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_TRAINING = "in_training"
    READINESS_REVIEW = "readiness_review"
    APPROVED = "approved"
    LAUNCHED = "launched"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    EXPIRED = "expired"


class Organisation(db.Model):
    cache_groups = ("directory", "immersion-grid")
    cache_columns = ("name", "nation", "org_type", "stage")
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), index=True)
    org_type: Mapped[str] = mapped_column(String(30))
    registration_number: Mapped[str] = mapped_column(String(20), default="")
    nation: Mapped[str] = mapped_column(String(20), index=True)
    other_country: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    stage: Mapped[Stage] = mapped_column(EnumText(Stage), index=True, default=Stage.DRAFT)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Trainer's message when changes were requested; cleared on resubmission.
    changes_requested: Mapped[str] = mapped_column(Text, default="")
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    # Recorded by the hub lead after approval: the date of the network's first ECHO session.
    first_session_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    application: Mapped[HubApplication] = relationship(
        back_populates="organisation", uselist=False, cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="Membership.id"
    )
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="Invitation.id"
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r} {self.stage}>"

    @property
    def type_label(self) -> str:
        return ORGANISATION_TYPES.get(self.org_type, self.org_type)

    @property
    def nation_label(self) -> str:
        if self.nation == "other" and self.other_country:
            return self.other_country
        return NATIONS.get(self.nation, self.nation)


class HubApplication(db.Model):
    """The organisation's application to join the programme (one per organisation)."""

    cache_groups = ("directory",)

    __tablename__ = "hub_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), unique=True
    )
    network_name: Mapped[str] = mapped_column(String(200), default="")
    theme: Mapped[str] = mapped_column(String(200), default="")
    target_audience: Mapped[str] = mapped_column(Text, default="")
    expected_spokes: Mapped[int | None] = mapped_column(Integer)
    motivation: Mapped[str] = mapped_column(Text, default="")
    sponsor_name: Mapped[str] = mapped_column(String(120), default="")
    sponsor_role: Mapped[str] = mapped_column(String(120), default="")
    sponsor_email: Mapped[str] = mapped_column(String(254), default="")
    vc_licence: Mapped[str] = mapped_column(String(10), default="")
    delivery_notes: Mapped[str] = mapped_column(Text, default="")
    heard_about: Mapped[str] = mapped_column(Text, default="")
    intro_session_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_count: Mapped[int] = mapped_column(Integer, default=0)

    organisation: Mapped[Organisation] = relationship(back_populates="application")

    @property
    def vc_licence_label(self) -> str:
        return VC_LICENCE.get(self.vc_licence, "")


class Membership(db.Model):
    """A person on an organisation's hub team, with one or more ECHO hub roles."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "user_id", name="uq_membership_organisation_id_user_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    role_links: Mapped[list[TeamRole]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {link.role for link in self.role_links}

    def has_role(self, role: str) -> bool:
        return role in self.roles


class TeamRole(db.Model):
    __tablename__ = "team_role"
    __table_args__ = (
        UniqueConstraint("membership_id", "role", name="uq_team_role_membership_id_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("membership.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), index=True)

    membership: Mapped[Membership] = relationship(back_populates="role_links")


class Invitation(db.Model):
    """An emailed, single-use, expiring invitation to join an organisation's team."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="invitations")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None and self.declined_at is None

    def status(self, now: datetime) -> InvitationStatus:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.cancelled_at:
            return InvitationStatus.CANCELLED
        if self.declined_at:
            return InvitationStatus.DECLINED
        if self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING


class StageChange(db.Model):
    """One move along the journey: who moved the organisation, from where to where, and why."""

    __tablename__ = "stage_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[Stage] = mapped_column(EnumText(Stage))
    to_stage: Mapped[Stage] = mapped_column(EnumText(Stage))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()
