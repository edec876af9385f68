"""Issued certificates and the per-year serial counters.

A certificate is never edited after issue except for its lifecycle fields: revocation
(status, time, actor, reason) and supersession (a link to the certificate that replaced
it). Whether it has expired is computed from `expires_on`, never stored, so no job has
to run for a certificate to expire.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import UTCDateTime, utcnow
from app.extensions import db

KINDS: dict[str, str] = {"hub": "Hub approval", "trainee": "Trainee completion"}
SERIAL_PREFIXES: dict[str, str] = {"hub": "HUB", "trainee": "TRN"}
ISSUE_REASONS: dict[str, str] = {
    "approval": "Approval",
    "completion": "Completion",
    "reissue": "Re-issue",
    "renewal": "Renewal",
}


class CertificateStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


STATUS_LABELS: dict[str, str] = {
    "valid": "Valid",
    "expired": "Expired",
    "revoked": "Revoked",
    "superseded": "Superseded",
}


class SerialCounter(db.Model):
    """The last serial number used per prefix and year; its row is the issuing lock."""

    __tablename__ = "serial_counter"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SigningKey(db.Model):
    """A key that signs (or once signed) certificate PDFs: its public certificate, its
    fingerprint and validity, where its private key file is, and when it stopped signing.
    Rows are never deleted, so every certificate's signer stays a trust root."""

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER
    subject: Mapped[str] = mapped_column(String(300))
    issuer: Mapped[str] = mapped_column(String(300))
    cert_pem: Mapped[str] = mapped_column(Text)
    # Relative to SIGNING_DIR, or an absolute path for a configured key; never the key itself.
    key_file: Mapped[str] = mapped_column(String(500))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Certificate(db.Model):
    cache_groups = ("directory", "verify")  # app/core/cache.py
    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    serial: Mapped[str] = mapped_column(String(20), unique=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="SET NULL")
    )
    issue_reason: Mapped[str] = mapped_column(String(20), default="approval")
    # What the certificate says, as it was printed (names can change later).
    organisation_name: Mapped[str] = mapped_column(String(200))
    network_name: Mapped[str] = mapped_column(String(200), default="")
    theme: Mapped[str] = mapped_column(String(200), default="")
    person_name: Mapped[str] = mapped_column(String(120), default="")
    approvers: Mapped[list] = mapped_column(JSON, default=list)
    single_person: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    template: Mapped[str] = mapped_column(String(60))
    template_version: Mapped[int] = mapped_column(Integer, default=1)
    # SHA-256 over the template folder's files as rendered (app/certificates/render.py);
    # None for certificates issued before it was recorded.
    template_hash: Mapped[str | None] = mapped_column(String(64))
    signing_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("signing_key.id", ondelete="RESTRICT"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    approved_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The stored, signed PDF.
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # Lifecycle.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate.id", ondelete="SET NULL")
    )
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate.id", ondelete="SET NULL")
    )
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    signing_key: Mapped[SigningKey | None] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    superseded_by: Mapped[Certificate | None] = relationship(
        foreign_keys=[superseded_by_id], remote_side=[id]
    )
    supersedes: Mapped[Certificate | None] = relationship(
        foreign_keys=[supersedes_id], remote_side=[id]
    )

    def status_on(self, today: date) -> CertificateStatus:
        """valid, expired, revoked or superseded; revocation wins over everything."""
        if self.revoked_at is not None:
            return CertificateStatus.REVOKED
        if self.superseded_by_id is not None:
            return CertificateStatus.SUPERSEDED
        if self.expires_on < today:
            return CertificateStatus.EXPIRED
        return CertificateStatus.VALID

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def download_name(self) -> str:
        return f"{self.serial}.pdf"


class CertificateCredential(db.Model):
    """The Open Badges 3.0 credential issued with a certificate (app/certificates/credentials.py):
    the signed VC-JWT as issued, the key that signed it and its bit in the status list."""

    __tablename__ = "certificate_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificate.id", ondelete="CASCADE"), unique=True
    )
    credential_id: Mapped[str] = mapped_column(String(80), unique=True)  # urn:uuid:…
    status_list: Mapped[int] = mapped_column(Integer, default=1)
    status_index: Mapped[int] = mapped_column(Integer)
    kid: Mapped[str] = mapped_column(String(64))
    jwt: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    certificate: Mapped[Certificate] = relationship(foreign_keys=[certificate_id])

    __table_args__ = (
        db.UniqueConstraint("status_list", "status_index", name="uq_certificate_credential_status"),
    )
