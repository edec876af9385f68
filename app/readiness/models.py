"""Agreements, checklist answers and their evidence files, reviews and comments.

Nothing is overwritten: a new upload or answer is a new row; the previous one is marked
superseded and stays in the history.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
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
from app.core.filters import long_date
from app.extensions import db

AGREEMENT_KINDS: dict[str, str] = {
    "ip_terms": "IP Terms of Use Agreement",
    "collaboration": "Statement of Collaboration",
}


class ReviewStatus(StrEnum):
    """An agreement's or a checklist answer's review: submitted, then accepted, rejected
    or sent back for changes; replaced (superseded) by a newer version."""

    NOT_STARTED = "not_started"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


REVIEW_STATUSES: dict[str, str] = {
    "not_started": "Not started",
    "submitted": "Submitted for review",
    "accepted": "Accepted",
    "changes_requested": "Changes requested",
    "rejected": "Rejected",
    "superseded": "Replaced",
}


class EvidenceFile(db.Model):
    """A stored upload: server-made key, SHA-256, size and the uploader's file name."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()


class AgreementTemplate(db.Model):
    """A blank agreement the superhub publishes for hubs to sign: one row per version, the
    newest of each kind is the current one; older versions stay for the signed copies that
    name them."""

    __tablename__ = "agreement_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    version_label: Mapped[str] = mapped_column(String(40))
    issued_on: Mapped[date] = mapped_column(Date)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return AGREEMENT_KINDS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """ "version 2026.1 of 4 Dec 2026", for pages and the dossier."""
        return f"version {self.version_label} of {long_date(self.issued_on)}"


class Agreement(db.Model):
    """One uploaded, signed partnership agreement and its verification."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[int] = mapped_column(ForeignKey("evidence_file.id"))
    # The template version the lead signed (None: uploaded before templates were published).
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement_template.id", ondelete="SET NULL"), index=True
    )
    signatory_name: Mapped[str] = mapped_column(String(120))
    signatory_role: Mapped[str] = mapped_column(String(120))
    signed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReviewStatus] = mapped_column(
        EnumText(ReviewStatus), default=ReviewStatus.SUBMITTED, index=True
    )
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_reason: Mapped[str] = mapped_column(Text, default="")

    file: Mapped[EvidenceFile] = relationship()
    template: Mapped[AgreementTemplate | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def kind_label(self) -> str:
        return AGREEMENT_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return REVIEW_STATUSES.get(self.status, self.status)


class ChecklistAnswer(db.Model):
    """One submitted answer to a checklist item (a new row for every resubmission)."""

    __tablename__ = "checklist_answer"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id",
            "item_key",
            "version",
            name="uq_checklist_answer_organisation_id_item_key_version",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    item_key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    text_value: Mapped[str] = mapped_column(Text, default="")
    date_value: Mapped[date | None] = mapped_column(Date)
    attested_by_name: Mapped[str] = mapped_column(String(120), default="")
    attested_by_role: Mapped[str] = mapped_column(String(120), default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_file.id"))
    status: Mapped[ReviewStatus] = mapped_column(
        EnumText(ReviewStatus), default=ReviewStatus.SUBMITTED, index=True
    )
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    file: Mapped[EvidenceFile | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def status_label(self) -> str:
        return REVIEW_STATUSES.get(self.status, self.status)


class ChecklistComment(db.Model):
    """The thread on a checklist item: trainer decisions and anyone's comments."""

    __tablename__ = "checklist_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    item_key: Mapped[str] = mapped_column(String(80))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_answer.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="comment")  # comment, accepted, changes
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
