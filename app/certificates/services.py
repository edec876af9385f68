"""Issuing, finding, verifying and managing certificates.

Issuing is one step of a larger transaction (an approval, a re-issue, a renewal): the
serial comes from a counter row that is locked until the transaction ends, so serials
are sequential per year with no gaps or duplicates; the PDF is rendered once, signed,
stored, and its SHA-256 recorded. If anything fails, the caller's transaction rolls back
and the stored file is removed (see `storage.discard_on_rollback`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.core import audit, cache, clock
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.filters import long_date
from app.core.programme import HUB_ROLES, programme
from app.core.roles import AUDITOR, CERTIFICATE_MANAGERS, STAFF
from app.core.storage import read_limited, store_bytes
from app.extensions import db
from app.notifications.services import notify
from app.organisations import services as org_services
from app.organisations.models import Membership, Organisation
from app.training.services import ProgressStatus

from . import credentials, keys, render, signing
from .models import (
    SERIAL_PREFIXES,
    STATUS_LABELS,
    Certificate,
    CertificateCredential,
    SerialCounter,
)

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
CODE_BYTES = 24  # 192 bits, 32 URL-safe characters
REASON_MAX = 1000
MANAGER_ROLES = CERTIFICATE_MANAGERS


class CertificateError(ServiceError):
    """Rendering, signing or storing a certificate failed; nothing was issued."""


def status_of(cert: Certificate) -> str:
    return cert.status_on(clock.today())


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def verify_url(code: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{code}"


def is_well_formed(code: str) -> bool:
    return bool(CODE_PATTERN.fullmatch(code or ""))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _long_date(day: date) -> str:
    return long_date(day)


def next_serial(prefix: str, year: int) -> str:
    """The next serial for `prefix` and `year`; the counter row stays locked until commit."""
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(SerialCounter)
        .values(prefix=prefix, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["prefix", "year"])
    )
    session.execute(
        update(SerialCounter)
        .where(SerialCounter.prefix == prefix, SerialCounter.year == year)
        .values(last=SerialCounter.last + 1)
        .execution_options(synchronize_session=False)
    )
    number = session.scalar(
        select(SerialCounter.last).where(SerialCounter.prefix == prefix, SerialCounter.year == year)
    )
    return f"{prefix}-{year}-{number:04d}"


@dataclass
class IssueRequest:
    """Everything a certificate says; the service adds serial, code, dates and the file."""

    kind: str
    organisation: Organisation
    approved_on: date
    expires_on: date
    reason: str  # approval, completion, reissue, renewal
    organisation_name: str
    network_name: str = ""
    theme: str = ""
    approvers: list[str] = field(default_factory=list)
    single_person: bool = False
    user: User | None = None
    person_name: str = ""
    details: dict = field(default_factory=dict)
    assessment_id: int | None = None
    supersedes: Certificate | None = None


def _context(request: IssueRequest, serial: str, code: str, issued: date) -> dict:
    details = request.details
    return {
        "superhub_name": current_app.config["SUPERHUB_NAME"],
        "serial": serial,
        "code": code,
        "verify_url": verify_url(code),
        "qr_svg": render.qr_svg(verify_url(code)),
        "issued_on": _long_date(issued),
        "approved_on": _long_date(request.approved_on),
        "expires_on": _long_date(request.expires_on),
        "organisation_name": request.organisation_name,
        "network_name": request.network_name,
        "theme": request.theme,
        "approvers": list(request.approvers),
        "single_person": request.single_person,
        "replaces": request.supersedes.serial if request.supersedes else "",
        "person_name": request.person_name,
        "roles": list(details.get("roles", [])),
        "modules": list(details.get("modules", [])),
        "attendance_percent": details.get("attendance_percent"),
    }


def issue(request: IssueRequest, *, by: User | None) -> Certificate:
    """Render, sign and store one certificate and add it to the register (flushes only)."""
    template = render.template_for(request.kind)
    issued = clock.today()
    prefix = SERIAL_PREFIXES[request.kind]
    serial = next_serial(prefix, issued.year)
    code = secrets.token_urlsafe(CODE_BYTES)
    reason_text = {
        "approval": "Approval as a Project ECHO hub",
        "completion": "Completion of ECHO hub training",
        "reissue": f"Re-issue of {request.supersedes.serial if request.supersedes else ''}",
        "renewal": f"Renewal of {request.supersedes.serial if request.supersedes else ''}",
    }[request.reason]
    issued_at = utcnow()
    try:
        # The Open Badges credential first: the PDF carries it, attached before signing.
        credential = credentials.prepare(
            kind=request.kind,
            serial=serial,
            code=code,
            verify_url=verify_url(code),
            organisation_id=request.organisation.id,
            organisation_name=request.organisation_name,
            person_name=request.person_name,
            email=request.user.email if request.user else None,
            issued_at=issued_at,
            expires_on=request.expires_on,
        )
        pdf = render.render_pdf(template, _context(request, serial, code, issued))
        pdf = credentials.embed_in_pdf(pdf, credential.jwt)
        signing_key = keys.current()
        signed = signing.sign_pdf(pdf, reason=f"{reason_text} ({serial})", key=signing_key)
        stored = store_bytes(
            signed,
            area="certificates",
            original_name=f"{serial}.pdf",
            content_type="application/pdf",
        )
    except (
        render.TemplateError,
        signing.SigningError,
        credentials.CredentialError,
        OSError,
        ValueError,
    ) as error:
        current_app.logger.exception("Certificate %s could not be issued", serial)
        raise CertificateError(
            f"The certificate could not be produced ({type(error).__name__}: {error}). "
            "Nothing was approved or issued; please tell the portal's administrator."
        ) from error
    cert = Certificate(
        kind=request.kind,
        serial=serial,
        code=code,
        organisation_id=request.organisation.id,
        user_id=request.user.id if request.user else None,
        assessment_id=request.assessment_id,
        issue_reason=request.reason,
        organisation_name=request.organisation_name,
        network_name=request.network_name,
        theme=request.theme,
        person_name=request.person_name,
        approvers=list(request.approvers),
        single_person=request.single_person,
        details=dict(request.details),
        template=template.name,
        template_version=template.version,
        template_hash=template.digest,
        signing_key_id=signing_key.id,
        issued_at=issued_at,
        approved_on=request.approved_on,
        expires_on=request.expires_on,
        issued_by_id=by.id if by else None,
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        supersedes_id=request.supersedes.id if request.supersedes else None,
    )
    db.session.add(cert)
    db.session.flush()
    credentials.record(cert, credential)
    audit.record(
        "certificate.issued",
        actor=by,
        subject=cert,
        organisation_id=request.organisation.id,
        details={
            "serial": serial,
            "kind": request.kind,
            "reason": request.reason,
            "sha256": stored.sha256,
            "credential": credential.credential_id,
            "expires_on": request.expires_on.isoformat(),
            **({"single_person": True} if request.single_person else {}),
            **({"supersedes": request.supersedes.serial} if request.supersedes else {}),
        },
    )
    return cert


# --- hub certificates ---------------------------------------------------------------------


def hub_request(
    org: Organisation,
    *,
    approvers: list[str],
    single_person: bool,
    approved_on: date,
    expires_on: date,
    reason: str,
    assessment_id: int | None = None,
    supersedes: Certificate | None = None,
) -> IssueRequest:
    application = org.application
    return IssueRequest(
        kind="hub",
        organisation=org,
        approved_on=approved_on,
        expires_on=expires_on,
        reason=reason,
        organisation_name=org.name,
        network_name=application.network_name if application else "",
        theme=application.theme if application else "",
        approvers=approvers,
        single_person=single_person,
        assessment_id=assessment_id,
        supersedes=supersedes,
    )


def issue_for_approval(org: Organisation, *, assessment, by: User) -> Certificate:
    """The hub certificate issued in the approval's own transaction."""
    approvers = [assessment.author.name if assessment.author else "A superhub trainer"]
    if by.id != assessment.author_id:
        approvers.append(by.name)
    approved_on = clock.today()
    request = hub_request(
        org,
        approvers=approvers,
        single_person=assessment.single_person,
        approved_on=approved_on,
        expires_on=add_years(approved_on, programme().certificate_valid_years),
        reason="approval",
        assessment_id=assessment.id,
    )
    # The team as it stood at approval, for the approval dossier (teams change later).
    request.details = {
        "team": [
            {
                "name": m.user.name,
                "email": m.user.email,
                "roles": [r for r in HUB_ROLES if r in m.roles],
            }
            for m in org_services.team_members(org)
        ],
        "training": training_snapshot(org),
    }
    return issue(request, by=by)


def training_snapshot(org: Organisation) -> list[dict]:
    """Each member's required-module completion as it stands now, in plain values, to keep
    with the certificate (the dossier shows it beside the completion of later days)."""
    from app.training.services import team_progress

    rows = []
    for row in team_progress(org_services.team_members(org)):
        required = [progress for progress, needed in row.cells if needed]
        rows.append(
            {
                "user_id": row.membership.user_id,
                "name": row.membership.user.name,
                "completed": sum(p.status == "complete" for p in required),
                "required": len(required),
                "missing": [module.title for module in row.missing],
            }
        )
    return rows


# --- lookups ------------------------------------------------------------------------------


def by_code(code: str) -> Certificate | None:
    """The certificate with this code and its successor, in one query."""
    if not is_well_formed(code):
        return None
    return db.session.scalar(
        select(Certificate)
        .where(Certificate.code == code)
        .options(joinedload(Certificate.superseded_by))
    )


def for_organisation(org: Organisation) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.organisation_id == org.id)
            .options(joinedload(Certificate.revoked_by), joinedload(Certificate.user))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def for_user(user: User) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def can_download(user: User, cert: Certificate) -> bool:
    """Staff and auditors; the organisation's hub lead (hub); the person named (trainee)."""
    if user.roles & STAFF:
        return True
    if cert.kind == "trainee":
        return cert.user_id == user.id
    org = db.session.get(Organisation, cert.organisation_id)
    return org is not None and org_services.is_hub_lead(user, org)


def can_manage(user: User) -> bool:
    return bool(user.roles & MANAGER_ROLES)


# --- lifecycle ----------------------------------------------------------------------------


def _require_manager(user: User) -> None:
    if not can_manage(user):
        raise ServiceError("Only an administrator or a lead trainer can change certificates.")


def _require_current(cert: Certificate, what: str) -> None:
    status = status_of(cert)
    if status == "revoked":
        raise ServiceError(f"{cert.serial} is revoked, so it cannot be {what}.")
    if status == "superseded":
        raise ServiceError(
            f"{cert.serial} has already been replaced by a newer certificate, so it cannot be "
            f"{what}; act on the newer one instead."
        )


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(f"Give the reason for the {what}.", field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(
            f"Keep the reason under {REASON_MAX} characters (it has {len(reason)}).",
            field="reason",
        )
    return reason


def _email_holders(cert: Certificate, subject: str, template: str, **context) -> None:
    if cert.kind == "trainee" and cert.user is not None:
        recipients = [cert.user]
    else:
        org = db.session.get(Organisation, cert.organisation_id)
        recipients = org_services.hub_leads(org)
    notify(recipients, subject=subject, template=template, cert=cert, **context)


def revoke(cert: Certificate, *, by: User, reason: str) -> None:
    """A status change with actor and reason; the certificate itself is kept."""
    _require_manager(by)
    reason = _reason(reason, "revocation")
    if cert.revoked_at is not None:
        raise ServiceError(f"{cert.serial} was already revoked.")
    now = utcnow()
    result = db.session.execute(
        update(Certificate)
        .where(Certificate.id == cert.id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=by.id, revocation_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError(f"Someone revoked {cert.serial} a moment ago; nothing was changed.")
    cache.changed(*Certificate.cache_groups)
    db.session.refresh(cert)
    audit.record(
        "certificate.revoked",
        actor=by,
        subject=cert,
        organisation_id=cert.organisation_id,
        details={"serial": cert.serial, "reason": reason},
    )
    _email_holders(
        cert,
        f"Certificate {cert.serial} has been revoked",
        "certificate_revoked",
        reason=reason,
        link=verify_url(cert.code),
    )


def _supersede(old: Certificate, new: Certificate) -> None:
    result = db.session.execute(
        update(Certificate)
        .where(
            Certificate.id == old.id,
            Certificate.superseded_by_id.is_(None),
            Certificate.revoked_at.is_(None),
        )
        .values(superseded_by_id=new.id, superseded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError(
            f"{old.serial} was revoked or replaced a moment ago; nothing was issued."
        )
    cache.changed(*Certificate.cache_groups)
    db.session.refresh(old)


def _successor_request(old: Certificate, *, reason: str, expires_on: date) -> IssueRequest:
    org = db.session.get(Organisation, old.organisation_id)
    if old.kind == "hub":
        request = hub_request(
            org,
            approvers=list(old.approvers),
            single_person=old.single_person,
            approved_on=old.approved_on,
            expires_on=expires_on,
            reason=reason,
            assessment_id=old.assessment_id,
            supersedes=old,
        )
        request.details = dict(old.details)  # the team at the original approval
        return request
    person = old.user
    return IssueRequest(
        kind="trainee",
        organisation=org,
        approved_on=old.approved_on,
        expires_on=expires_on,
        reason=reason,
        organisation_name=org.name,
        user=person,
        person_name=person.name if person else old.person_name,
        details=dict(old.details),
        supersedes=old,
    )


def reissue(cert: Certificate, *, by: User, reason: str) -> Certificate:
    """A new certificate with today's names that replaces `cert`; same approval and expiry."""
    _require_manager(by)
    reason = _reason(reason, "re-issue")
    _require_current(cert, "re-issued")
    if status_of(cert) == "expired":
        raise ServiceError(f"{cert.serial} has expired; renew it instead of re-issuing it.")
    new = issue(_successor_request(cert, reason="reissue", expires_on=cert.expires_on), by=by)
    _supersede(cert, new)
    audit.record(
        "certificate.reissued",
        actor=by,
        subject=cert,
        organisation_id=cert.organisation_id,
        details={"serial": cert.serial, "new_serial": new.serial, "reason": reason},
    )
    _email_holders(
        new, f"Certificate {new.serial} replaces {cert.serial}", "certificate_replaced", old=cert
    )
    return new


def renew(cert: Certificate, *, by: User, still_active: bool, note: str = "") -> Certificate:
    """Before expiry, after a trainer confirms the hub still runs: a new expiry date."""
    _require_manager(by)
    _require_current(cert, "renewed")
    if status_of(cert) == "expired":
        raise ServiceError(
            f"{cert.serial} expired on {_long_date(cert.expires_on)}. An expired certificate "
            "cannot be renewed: the organisation needs a new readiness assessment."
        )
    if not still_active:
        raise ServiceError(
            "Confirm that the hub is still active before renewing its certificate.",
            field="still_active",
        )
    years = (
        programme().certificate_valid_years
        if cert.kind == "hub"
        else programme().trainee_certificate_valid_years
    )
    new = issue(
        _successor_request(cert, reason="renewal", expires_on=add_years(clock.today(), years)),
        by=by,
    )
    _supersede(cert, new)
    audit.record(
        "certificate.renewed",
        actor=by,
        subject=cert,
        organisation_id=cert.organisation_id,
        details={
            "serial": cert.serial,
            "new_serial": new.serial,
            "expires_on": new.expires_on.isoformat(),
            **({"note": note.strip()[:REASON_MAX]} if note and note.strip() else {}),
        },
    )
    _email_holders(
        new, f"Certificate {new.serial} renews {cert.serial}", "certificate_replaced", old=cert
    )
    return new


# --- trainee certificates -----------------------------------------------------------------


@dataclass
class TraineeEligibility:
    membership: Membership
    eligible: bool
    reasons: list[str]
    modules: list[str]
    attendance_percent: int | None
    current: Certificate | None = None


def trainee_eligibility(membership: Membership) -> TraineeEligibility:
    """Completed every module their roles require and met the Immersion threshold."""
    from app.immersion.services import organisation_attendance
    from app.training.services import team_progress

    org = membership.organisation
    (row,) = team_progress([membership])
    reasons = []
    if row.missing:
        reasons.append("Modules still to complete: " + ", ".join(m.title for m in row.missing))
    completed = [p.module.title for p, _ in row.cells if p.status == ProgressStatus.COMPLETE]
    if not completed:
        reasons.append("No training module completed yet.")
    best = None
    met = False
    for _booking, summaries in organisation_attendance(org):
        summary = summaries.get(membership.user_id)
        if summary is not None and summary.sessions:
            if best is None or summary.percent > best:
                best = summary.percent
            met = met or summary.met
    if not met:
        threshold = programme().attendance_threshold_percent
        reasons.append(
            f"Immersion attendance of at least {threshold}% is not recorded yet"
            + (f" (best so far {best}%)." if best is not None else ".")
        )
    current = db.session.scalar(
        select(Certificate)
        .where(
            Certificate.kind == "trainee",
            Certificate.user_id == membership.user_id,
            Certificate.organisation_id == org.id,
            Certificate.revoked_at.is_(None),
            Certificate.superseded_by_id.is_(None),
        )
        .order_by(Certificate.id.desc())
        .limit(1)
    )
    return TraineeEligibility(membership, not reasons, reasons, completed, best, current)


def issue_trainee_certificate(membership: Membership, *, by: User) -> Certificate:
    """The member's own certificate of completion (one current certificate per team)."""
    if by.id != membership.user_id:
        raise ServiceError("You can only ask for your own certificate of completion.")
    eligibility = trainee_eligibility(membership)
    if eligibility.current is not None and status_of(eligibility.current) == "valid":
        raise ServiceError(
            f"You already have certificate {eligibility.current.serial}; download it below."
        )
    if not eligibility.eligible:
        raise ServiceError("Not yet: " + " ".join(eligibility.reasons))
    db.session.execute(  # one request at a time per member: lock the membership row
        update(Membership)
        .where(Membership.id == membership.id)
        .values(joined_at=Membership.joined_at)
        .execution_options(synchronize_session=False)
    )
    again = trainee_eligibility(membership)
    if again.current is not None and status_of(again.current) == "valid":
        raise ServiceError(f"You already have certificate {again.current.serial}.")
    issued = clock.today()
    org = membership.organisation
    return issue(
        IssueRequest(
            kind="trainee",
            organisation=org,
            approved_on=issued,
            expires_on=add_years(issued, programme().trainee_certificate_valid_years),
            reason="completion",
            organisation_name=org.name,
            user=membership.user,
            person_name=membership.user.name,
            details={
                "roles": [HUB_ROLES[r] for r in HUB_ROLES if r in membership.roles],
                "modules": eligibility.modules,
                "attendance_percent": eligibility.attendance_percent,
            },
            supersedes=None,
        ),
        by=by,
    )


# --- checking a PDF -----------------------------------------------------------------------


@dataclass(frozen=True)
class PdfCheck:
    """valid, expired, revoked, superseded, tampered, unknown or not_pdf, with a message."""

    result: str
    message: str
    certificate: Certificate | None = None


PDF_MAX_BYTES = 5 * 1024 * 1024


def check_pdf(data: bytes) -> PdfCheck:
    """Is this the PDF we issued, unchanged? Signature first, then the register by hash."""
    if not data.startswith(b"%PDF-"):
        return PdfCheck(
            "not_pdf", "This file is not a PDF, so it cannot be one of our certificates."
        )
    signature = signing.check_signature(data)
    if signature.state != "ok":
        result = {"unsigned": "unknown", "untrusted": "unknown"}.get(signature.state, "tampered")
        return PdfCheck(result, signature.message)
    digest = hashlib.sha256(data).hexdigest()
    cert = db.session.scalar(
        select(Certificate)
        .where(Certificate.sha256 == digest)
        .options(joinedload(Certificate.superseded_by))
    )
    if cert is None:
        return PdfCheck(
            "unknown",
            "The signature is ours, but this file is not in the certificate register.",
        )
    status = status_of(cert)
    messages = {
        "valid": f"This is certificate {cert.serial}, unchanged, and it is valid.",
        "expired": f"This is certificate {cert.serial}, unchanged, but it expired on "
        f"{_long_date(cert.expires_on)}.",
        "revoked": f"This is certificate {cert.serial}, unchanged, but it was revoked.",
        "superseded": f"This is certificate {cert.serial}, unchanged, but a newer certificate "
        "replaced it.",
    }
    return PdfCheck(status, messages[status], cert)


# --- what others see ---------------------------------------------------------------------


def public_record(cert: Certificate) -> dict:
    """What anyone may know about a certificate (the JSON body and the page's facts)."""
    status = status_of(cert)
    data = {
        "serial": cert.serial,
        "type": cert.kind,
        "status": status,
        "status_label": status_label(status),
        "organisation": cert.organisation_name,
        "network": cert.network_name or None,
        "theme": cert.theme or None,
        "person": cert.person_name or None,
        "approved_on": cert.approved_on.isoformat(),
        "issued_on": cert.issued_at.date().isoformat(),
        "expires_on": cert.expires_on.isoformat(),
        "approved_by": list(cert.approvers) if cert.kind == "hub" else None,
        "single_person_approval": cert.single_person if cert.kind == "hub" else None,
        "sha256": cert.sha256,
        "verify_url": verify_url(cert.code),
    }
    if cert.revoked_at is not None:
        data["revoked_on"] = cert.revoked_at.date().isoformat()
        data["revocation_reason"] = cert.revocation_reason
    if cert.superseded_by is not None:
        data["superseded_by"] = {
            "serial": cert.superseded_by.serial,
            "verify_url": verify_url(cert.superseded_by.code),
        }
    return data


def note_download(cert: Certificate, *, by: User) -> None:
    """An auditor's download is recorded (what auditors read is itself audited); the hub's
    own people and staff download without a trace."""
    if by.has_role(AUDITOR):
        audit.record(
            "certificate.downloaded",
            actor=by,
            subject=cert,
            organisation_id=cert.organisation_id,
            details={"serial": cert.serial},
        )


def certificates_without_credential() -> list[Certificate]:
    """Certificates issued before Open Badges credentials were (their register row has no
    credential), oldest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .outerjoin(
                CertificateCredential, CertificateCredential.certificate_id == Certificate.id
            )
            .where(CertificateCredential.id.is_(None))
            .options(joinedload(Certificate.user))
            .order_by(Certificate.id)
        )
    )


def add_missing_credentials() -> list[Certificate]:
    """Give each certificate issued before credentials existed its Open Badges credential,
    dated as the certificate. Its signed PDF stays as it is (a new signature would change
    the file people hold, and its SHA-256 on the register): the credential is downloaded
    beside it, from the verify page and the holder's Certificates tab. A revoked or replaced
    certificate gets one too, its status bit set at once, so that an outside verifier is told
    the same as the verify page. Running it again adds nothing. Flushes; the caller commits."""
    added = []
    for cert in certificates_without_credential():
        prepared = credentials.prepare(
            kind=cert.kind,
            serial=cert.serial,
            code=cert.code,
            verify_url=verify_url(cert.code),
            organisation_id=cert.organisation_id,
            organisation_name=cert.organisation_name,
            person_name=cert.person_name,
            email=cert.user.email if cert.user else None,
            issued_at=cert.issued_at,
            expires_on=cert.expires_on,
        )
        credentials.record(cert, prepared)
        audit.record(
            "certificate.credential_added",
            actor=None,
            subject=cert,
            organisation_id=cert.organisation_id,
            details={"serial": cert.serial},
        )
        added.append(cert)
    if added:
        # The status list and verify answers now name these credentials: fresh at commit.
        cache.changed("verify")
    return added


def pdf_to_check(upload) -> bytes:
    """The bytes of a PDF uploaded to be checked (a page's form or the JSON API), or a
    ServiceError saying why it cannot be: none chosen, over 5 MB, empty."""
    if upload is None or not getattr(upload, "filename", None):
        raise ServiceError("Choose the certificate PDF to check.", field="file")
    data = read_limited(upload, PDF_MAX_BYTES)
    if data is None:
        raise ServiceError(
            "That file is larger than 5 MB; our certificates are far smaller.", field="file"
        )
    if not data:
        raise ServiceError("That file is empty.", field="file")
    return data
