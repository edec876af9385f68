"""What administrators do beyond the account rules of `auth`: grant site roles with the
staff conflict check, see the outbox's delivery, and resend.

Public: team_memberships, change_roles, search_messages, resend_message."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.auth import services as auth_services
from app.auth.models import User
from app.core import audit, clock, mail
from app.core.db import contains_pattern
from app.core.errors import ServiceError
from app.core.outbox import MessageStatus, OutboxMessage
from app.core.pagination import clamp_page
from app.core.roles import ROLE_LABELS, STAFF
from app.core.storage import display_name, store_upload
from app.extensions import db
from app.organisations import access
from app.readiness.models import AGREEMENT_KINDS, AgreementTemplate

# A template is a document to print and sign: a PDF, or a Word file for those who fill it in.
TEMPLATE_TYPES = ("pdf", "docx")


def team_memberships(user: User) -> list:
    """The organisations whose hub team `user` is on, with the membership, by name."""
    return access.organisations_of(user)


def change_roles(user: User, roles: set[str], *, by: User, confirm_conflict: bool = False) -> None:
    """Replace `user`'s site roles. Granting a superhub staff role to someone on an
    applicant's hub team is a conflict of interest (staff screen, review and approve those
    teams): it needs the admin's explicit confirmation, and the confirmation is audited."""
    added_staff = sorted((set(roles) - user.roles) & STAFF)
    teams = team_memberships(user) if added_staff else []
    if teams and not confirm_conflict:
        names = ", ".join(org.name for org, _ in teams)
        labels = ", ".join(ROLE_LABELS[r].lower() for r in added_staff)
        raise ServiceError(
            f"{user.name} is on the hub team of {names}. A superhub {labels} on an "
            "applicant's team is a conflict of interest. Tick the box to confirm you have "
            "checked this, or remove them from the team first.",
            field="confirm_conflict",
        )
    auth_services.set_roles(user, set(roles), by=by)
    if teams:
        audit.record(
            "admin.staff_conflict_confirmed",
            actor=by,
            subject=user,
            details={
                "granted": added_staff,
                "organisations": [org.name for org, _ in teams],
            },
        )


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


def publish_template(
    kind: str,
    *,
    by: User,
    upload,
    version_label: str,
    issued_on: date | None,
    sample: bool = False,
) -> AgreementTemplate:
    """Publish a new version of an agreement template; the newest by date becomes the one
    hub leads download, and earlier versions stay for the signed copies that name them.
    The file goes through the upload checks of `core.storage` (type by content, size,
    active PDF content refused)."""
    if not by.has_role("admin"):
        raise ServiceError("Only administrators can publish agreement templates.")
    if kind not in AGREEMENT_KINDS:
        raise ServiceError("Choose which agreement this is.", field="kind")
    version_label = (version_label or "").strip()
    if not version_label:
        raise ServiceError("Enter the version, for example 2027.1.", field="version_label")
    if issued_on is None:
        raise ServiceError("Enter the date of this version.", field="issued_on")
    if issued_on > clock.today():
        raise ServiceError(
            "The date cannot be in the future: publish a version once it applies.",
            field="issued_on",
        )
    filename = getattr(upload, "filename", "") or ""
    if filename and display_name(filename).rsplit(".", 1)[-1].lower() not in TEMPLATE_TYPES:
        raise ServiceError(
            f"“{display_name(filename)}” is not a PDF or Word (.docx) file.", field="file"
        )
    taken = db.session.scalar(
        select(AgreementTemplate.id).where(
            AgreementTemplate.kind == kind,
            func.lower(AgreementTemplate.version_label) == version_label.lower(),
        )
    )
    if taken is not None:
        raise ServiceError(
            f"The {AGREEMENT_KINDS[kind]} already has a version “{version_label}”. "
            "Give this one a new version.",
            field="version_label",
        )
    stored = store_upload(upload, area="agreement-templates")
    template = AgreementTemplate(
        kind=kind,
        version_label=version_label,
        issued_on=issued_on,
        storage_key=stored.key,
        original_name=stored.original_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        sample=sample,
        uploaded_by_id=by.id,
    )
    db.session.add(template)
    db.session.flush()
    audit.record(
        "agreement_template.published",
        actor=by,
        subject=template,
        details={
            "kind": kind,
            "version": version_label,
            "issued_on": issued_on.isoformat(),
            "file_sha256": stored.sha256,
            **({"sample": True} if sample else {}),
        },
    )
    return template
