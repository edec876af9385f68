"""Organisation rules: registration, the application, the team, invitations, screening.

Services take plain values, check who may act and in which stage, write audit events
and flush; the request commits once.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from flask import g, has_request_context, url_for
from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.auth import services as auth_services
from app.auth.models import User, UserRole
from app.core import audit, clock
from app.core.db import utcnow
from app.core.errors import NotFound, ServiceError
from app.core.mail import send_email
from app.core.pagination import Page, clamp_page
from app.core.programme import HUB_ROLES, programme
from app.core.roles import ADMIN, AUDITOR, LEAD_TRAINER, TRAINER
from app.extensions import db
from app.organisations import journey
from app.organisations.models import (
    NATIONS,
    ORGANISATION_TYPES,
    VC_LICENCE,
    HubApplication,
    Invitation,
    Membership,
    Organisation,
    TeamRole,
)

STAFF_ROLES = frozenset({TRAINER, LEAD_TRAINER, AUDITOR, ADMIN})

# --- access ----------------------------------------------------------------------------


def membership_of(user: User, organisation_id: int) -> Membership | None:
    """`user`'s membership of the organisation, or None.

    A membership found is remembered for the rest of the request (the access check, the
    page and its header all ask), as long as it is still a live row of this session."""
    if not user.is_authenticated:
        return None
    memo = g.setdefault("memberships", {}) if has_request_context() else {}
    found = memo.get((user.id, organisation_id))
    if found is not None:
        state = inspect(found)
        if state.persistent and found not in db.session.deleted:
            return found
    found = (
        db.session.execute(
            _membership_statement(), {"organisation_id": organisation_id, "user_id": user.id}
        )
        .unique()
        .scalar_one_or_none()
    )
    if found is not None:
        memo[(user.id, organisation_id)] = found
    return found


@functools.cache
def _membership_statement():
    """Built once: every organisation page asks, and building costs more than running."""
    return (
        select(Membership)
        .where(
            Membership.organisation_id == bindparam("organisation_id"),
            Membership.user_id == bindparam("user_id"),
        )
        .options(joinedload(Membership.role_links))
    )


def can_view(user: User, org: Organisation) -> bool:
    """Members, trainers, auditors and admins see an organisation; nobody else knows it exists."""
    if not user.is_authenticated:
        return False
    return bool(user.roles & STAFF_ROLES) or membership_of(user, org.id) is not None


def is_hub_lead(user: User, org: Organisation) -> bool:
    membership = membership_of(user, org.id)
    return membership is not None and membership.has_role("hub_lead")


def organisations_of(user: User) -> list[tuple[Organisation, Membership]]:
    """The organisations `user` belongs to, with their membership, by name."""
    rows = db.session.execute(
        select(Organisation, Membership)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name)
    ).all()
    return [(org, membership) for org, membership in rows]


def organisation_names_of(user: User) -> list:
    """(id, name) rows of the organisations `user` belongs to, by name: one light query."""
    return db.session.execute(
        select(Organisation.id, Organisation.name)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name)
    ).all()


def _require_lead(user: User, org: Organisation) -> None:
    if not is_hub_lead(user, org):
        raise ServiceError("Only the organisation's hub lead can do this.")


def _require_open(org: Organisation, what: str = "changed") -> None:
    if org.stage in journey.CLOSED_STAGES:
        raise ServiceError(
            f"This organisation is {journey.stage_label(org.stage).lower()}, so it can no "
            f"longer be {what}."
        )


def _touch(org: Organisation) -> None:
    org.last_activity_at = utcnow()


# --- organisation details --------------------------------------------------------------

_REGISTRATION_PATTERNS = (
    re.compile(r"^\d{6,7}$"),  # charity in England and Wales
    re.compile(r"^SC\d{6}$"),  # Scottish charity (and Scottish company)
    re.compile(r"^NIC?\d{6}$"),  # Northern Ireland charity or company
    re.compile(r"^\d{8}$"),  # company in England and Wales
    re.compile(r"^(OC|SO|NC|LP|SL|NL|RC|IP|SP|NP)\d{6}$"),  # other Companies House prefixes
)


def normalise_registration_number(value: str) -> str:
    """Upper-case, spaces removed; '' allowed; ServiceError when no UK format matches."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not compact:
        return ""
    if not any(p.match(compact) for p in _REGISTRATION_PATTERNS):
        raise ServiceError(
            "Enter a charity number (e.g. 1234567, SC012345, NIC100001) or a company "
            "number (e.g. 01234567 or SC123456), or leave it blank.",
            field="registration_number",
        )
    return compact


def normalise_website(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if re.match(r"^[a-z][a-z0-9+.\-]*:(?!//)", value, re.I) and not re.match(r"^[^:/]+:\d+", value):
        # "mailto:…", "javascript:…": a scheme that is not a web address
        raise ServiceError(
            "Enter a website address like https://www.example.org.uk.", field="website"
        )
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        scheme, hostname = parts.scheme, parts.hostname or ""
    except ValueError:  # e.g. an unclosed "[" is taken for an IPv6 address
        scheme, hostname = "", ""
    if scheme not in {"http", "https"} or "." not in hostname or re.search(r"\s", value):
        raise ServiceError(
            "Enter a website address like https://www.example.org.uk.", field="website"
        )
    return value


def normalise_phone(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if not re.fullmatch(r"[+(\d][\d ()\-]*", value) or not 9 <= len(digits) <= 15:
        raise ServiceError(
            "Enter a phone number like 0161 496 0000 or +44 161 496 0000.", field="phone"
        )
    return value


@dataclass
class OrganisationDetails:
    name: str
    org_type: str
    nation: str
    registration_number: str = ""
    other_country: str = ""
    address: str = ""
    website: str = ""
    phone: str = ""


def _clean_details(details: OrganisationDetails) -> dict:
    name = (details.name or "").strip()
    if not name:
        raise ServiceError("Enter the organisation's name.", field="name")
    if details.org_type not in ORGANISATION_TYPES:
        raise ServiceError("Choose the type of organisation.", field="org_type")
    if details.nation not in NATIONS:
        raise ServiceError("Choose the nation or country.", field="nation")
    other_country = (details.other_country or "").strip()
    if details.nation == "other" and not other_country:
        raise ServiceError("Enter the country.", field="other_country")
    return {
        "name": name,
        "org_type": details.org_type,
        "nation": details.nation,
        "other_country": other_country if details.nation == "other" else "",
        "registration_number": normalise_registration_number(details.registration_number),
        "address": (details.address or "").strip(),
        "website": normalise_website(details.website),
        "phone": normalise_phone(details.phone),
    }


def create_organisation(user: User, details: OrganisationDetails) -> Organisation:
    """Register an organisation; its creator becomes the hub lead."""
    values = _clean_details(details)
    org = Organisation(**values, stage="draft", created_by_id=user.id)
    org.application = HubApplication()
    db.session.add(org)
    db.session.flush()
    membership = Membership(organisation_id=org.id, user_id=user.id, added_by_id=user.id)
    membership.role_links = [TeamRole(role="hub_lead")]
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "organisation.created",
        actor=user,
        subject=org,
        organisation_id=org.id,
        details={"name": org.name},
    )
    return org


def update_organisation(org: Organisation, *, by: User, details: OrganisationDetails) -> None:
    _require_lead(by, org)
    _require_open(org, "edited")
    values = _clean_details(details)
    changes = {k: [getattr(org, k), v] for k, v in values.items() if getattr(org, k) != v}
    if not changes:
        return
    for key, (_old, new) in changes.items():
        setattr(org, key, new)
    _touch(org)
    audit.record(
        "organisation.details_updated",
        actor=by,
        subject=org,
        organisation_id=org.id,
        details={"fields": sorted(changes)},
    )


# --- the application -------------------------------------------------------------------

# (field, label) in the order the form shows them; all required on submit.
REQUIRED_ON_SUBMIT: tuple[tuple[str, str], ...] = (
    ("network_name", "Proposed network name"),
    ("theme", "Network theme"),
    ("target_audience", "Target audience"),
    ("expected_spokes", "Expected number of spokes"),
    ("motivation", "Why your organisation wants to run ECHO"),
    ("sponsor_name", "Executive sponsor's name"),
    ("sponsor_role", "Executive sponsor's role"),
    ("sponsor_email", "Executive sponsor's email"),
    ("vc_licence", "Videoconferencing licence"),
    ("heard_about", "How you heard about ECHO"),
)

APPLICATION_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Your network", ("network_name", "theme", "target_audience", "expected_spokes")),
    ("Why ECHO", ("motivation",)),
    ("Executive sponsor", ("sponsor_name", "sponsor_role", "sponsor_email")),
    ("Delivering sessions", ("vc_licence",)),
    ("How you heard about ECHO", ("heard_about",)),
)

TEXT_FIELDS = (
    "network_name",
    "theme",
    "target_audience",
    "motivation",
    "sponsor_name",
    "sponsor_role",
    "sponsor_email",
    "delivery_notes",
    "heard_about",
)


def missing_fields(application: HubApplication) -> list[tuple[str, str]]:
    """Required fields still empty, as (field, label)."""
    return [
        (name, label)
        for name, label in REQUIRED_ON_SUBMIT
        if getattr(application, name) in (None, "")
    ]


def parts_complete(application: HubApplication) -> list[tuple[str, bool]]:
    missing = {name for name, _ in missing_fields(application)}
    return [(title, not (set(fields) & missing)) for title, fields in APPLICATION_PARTS]


def save_application(org: Organisation, *, by: User, data: dict) -> list[str]:
    """Save the application as a draft (nothing is required yet); returns changed fields."""
    _require_lead(by, org)
    _require_open(org, "edited")
    if org.stage != "draft":
        raise ServiceError(
            "The application has been submitted and is locked while the superhub reviews it."
        )
    application = org.application
    changed: list[str] = []
    for name in TEXT_FIELDS:
        if name in data:
            value = (data[name] or "").strip()
            if name == "sponsor_email":
                value = value.lower()
            if getattr(application, name) != value:
                setattr(application, name, value)
                changed.append(name)
    if "expected_spokes" in data:
        spokes = data["expected_spokes"]
        settings = programme()
        if spokes is not None and not settings.min_spokes <= spokes <= settings.max_spokes:
            raise ServiceError(
                f"Enter a number of spokes from {settings.min_spokes} to {settings.max_spokes}.",
                field="expected_spokes",
            )
        if application.expected_spokes != spokes:
            application.expected_spokes = spokes
            changed.append("expected_spokes")
    if "vc_licence" in data:
        licence = data["vc_licence"] or ""
        if licence and licence not in VC_LICENCE:
            raise ServiceError("Choose yes, planned or no.", field="vc_licence")
        if application.vc_licence != licence:
            application.vc_licence = licence
            changed.append("vc_licence")
    if "intro_session_date" in data:
        when: date | None = data["intro_session_date"]
        if when is not None and when > clock.today():
            raise ServiceError(
                "The introduction session date cannot be in the future.",
                field="intro_session_date",
            )
        if application.intro_session_date != when:
            application.intro_session_date = when
            changed.append("intro_session_date")
    if changed:
        application.updated_at = utcnow()
        _touch(org)
        audit.record(
            "application.saved",
            actor=by,
            subject=application,
            organisation_id=org.id,
            details={"fields": changed},
        )
    return changed


def submit_application(org: Organisation, *, by: User) -> None:
    """Submit for screening: every required field filled; the trainers are emailed."""
    _require_lead(by, org)
    missing = missing_fields(org.application)
    if missing and org.stage == "draft":
        raise ServiceError(
            "Complete these before submitting: " + "; ".join(label for _, label in missing) + "."
        )
    journey.move(org, "submit", by=by)
    application = org.application
    application.submitted_at = utcnow()
    application.submission_count = (application.submission_count or 0) + 1
    org.changes_requested = ""
    trainers = db.session.scalars(
        select(User.email).where(
            User.is_active_account.is_(True), User.role_links.any(UserRole.role == TRAINER)
        )
    ).all()
    if trainers:
        send_email(
            list(trainers),
            f"Application to review: {org.name}",
            "application_submitted",
            org=org,
            application=application,
            link=url_for("organisations.screen_application", org_id=org.id, _external=True),
        )


# --- screening (trainers) --------------------------------------------------------------


def hub_lead_emails(org: Organisation) -> list[str]:
    return [m.user.email for m in org.memberships if m.has_role("hub_lead") and m.user.is_active]


def notify_leads(
    org: Organisation, subject: str, template: str, *, link: str | None = None, **context
) -> None:
    """Email the organisation's active hub leads; `link` defaults to the organisation page."""
    leads = hub_lead_emails(org)
    if leads:
        send_email(
            leads,
            subject,
            template,
            org=org,
            link=link or url_for("organisations.show_organisation", org_id=org.id, _external=True),
            **context,
        )


def _require_trainer(user: User) -> None:
    if not user.has_role(TRAINER):
        raise ServiceError("Only superhub trainers can decide applications.")


def accept_application(org: Organisation, *, by: User, note: str = "") -> None:
    """Accept into the training programme (submitted → in_training)."""
    _require_trainer(by)
    journey.move(org, "accept", by=by, reason=(note or "").strip())
    notify_leads(
        org,
        f"{org.name} is accepted into the programme",
        "application_accepted",
        note=(note or "").strip(),
    )


def request_changes(org: Organisation, *, by: User, message: str) -> None:
    """Send the application back to draft with a message the hub lead sees."""
    _require_trainer(by)
    message = (message or "").strip()
    if not message:
        raise ServiceError("Tell the applicant what to change.", field="message")
    journey.move(org, "request_changes", by=by, reason=message)
    org.changes_requested = message
    notify_leads(
        org,
        f"Changes requested to {org.name}'s application",
        "application_changes_requested",
        message=message,
    )


def decline_application(org: Organisation, *, by: User, reason: str) -> None:
    """Decline the application (submitted → rejected); a reason is required."""
    _require_trainer(by)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give the reason for declining.", field="message")
    journey.move(org, "decline", by=by, reason=reason)
    org.closed_reason = reason
    notify_leads(
        org, f"{org.name}'s application was not accepted", "application_declined", reason=reason
    )


def withdraw(org: Organisation, *, by: User, reason: str) -> None:
    """The hub lead withdraws the organisation from any open stage."""
    _require_lead(by, org)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Tell us why you are withdrawing.", field="reason")
    journey.move(org, "withdraw", by=by, reason=reason)
    org.closed_reason = reason


# --- team and invitations --------------------------------------------------------------


def _clean_roles(roles) -> list[str]:
    roles = [r for r in dict.fromkeys(roles or []) if r]
    unknown = [r for r in roles if r not in HUB_ROLES]
    if unknown:
        raise ServiceError(f"Unknown hub role: {', '.join(unknown)}.", field="roles")
    if not roles:
        raise ServiceError("Choose at least one hub role.", field="roles")
    return sorted(roles, key=list(HUB_ROLES).index)


def _token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


@dataclass(frozen=True)
class InviteResult:
    membership: Membership | None = None
    invitation: Invitation | None = None


def invite_member(org: Organisation, *, by: User, email: str, roles) -> InviteResult:
    """Add an existing user at once, or email an invitation to register and join."""
    _require_lead(by, org)
    _require_open(org)
    email = auth_services.normalise_email(email)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 254:
        raise ServiceError("Enter a valid email address.", field="email")
    roles = _clean_roles(roles)
    user = auth_services.get_user_by_email(email)
    if user is not None and membership_of(user, org.id) is not None:
        raise ServiceError(f"{email} is already on the team.", field="email")
    open_invite = db.session.scalar(
        select(Invitation).where(
            Invitation.organisation_id == org.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.cancelled_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )
    if open_invite is not None:
        raise ServiceError(
            f"{email} already has an invitation waiting. Resend it from the list below.",
            field="email",
        )
    _touch(org)
    if user is not None and user.is_active:
        membership = _add_member(org, user, roles, by=by)
        send_email(
            user.email,
            f"You have been added to {org.name}'s hub team",
            "team_added",
            org=org,
            roles=[HUB_ROLES[r] for r in roles],
            by=by,
            link=url_for("organisations.show_organisation", org_id=org.id, _external=True),
        )
        return InviteResult(membership=membership)
    if user is not None:
        raise ServiceError(
            f"{email} has a deactivated account. Ask the superhub administrator about it.",
            field="email",
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organisation_id=org.id,
        email=email,
        roles=roles,
        token_hash=_token_hash(token),
        invited_by_id=by.id,
        expires_at=utcnow() + timedelta(days=programme().invitation_expiry_days),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        "team.invited",
        actor=by,
        subject=invitation,
        organisation_id=org.id,
        details={"email": email, "roles": roles},
    )
    _send_invitation(invitation, token, by)
    return InviteResult(invitation=invitation)


def _send_invitation(invitation: Invitation, token: str, by: User) -> None:
    org = invitation.organisation
    send_email(
        invitation.email,
        f"Join {org.name}'s ECHO hub team",
        "team_invitation",
        org=org,
        roles=[HUB_ROLES[r] for r in invitation.roles],
        by=by,
        expires_at=invitation.expires_at,
        link=url_for("organisations.show_invitation", token=token, _external=True),
    )


def _invitation_in(org: Organisation, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.organisation_id != org.id:
        raise NotFound(invitation_id)
    return invitation


def resend_invitation(org: Organisation, *, by: User, invitation_id: int) -> Invitation:
    """Send a fresh link (the old one stops working) and restart the expiry clock."""
    _require_lead(by, org)
    _require_open(org)
    invitation = _invitation_in(org, invitation_id)
    if not invitation.is_open:
        raise ServiceError("This invitation was already accepted or cancelled.")
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _token_hash(token)
    invitation.sent_at = utcnow()
    invitation.send_count += 1
    invitation.expires_at = utcnow() + timedelta(days=programme().invitation_expiry_days)
    audit.record(
        "team.invitation_resent",
        actor=by,
        subject=invitation,
        organisation_id=org.id,
        details={"email": invitation.email},
    )
    _send_invitation(invitation, token, by)
    return invitation


def cancel_invitation(org: Organisation, *, by: User, invitation_id: int) -> Invitation:
    _require_lead(by, org)
    _require_open(org)
    invitation = _invitation_in(org, invitation_id)
    if not invitation.is_open:
        raise ServiceError("This invitation was already accepted or cancelled.")
    invitation.cancelled_at = utcnow()
    _touch(org)
    audit.record(
        "team.invitation_cancelled",
        actor=by,
        subject=invitation,
        organisation_id=org.id,
        details={"email": invitation.email},
    )
    return invitation


def invitation_for_token(token: str) -> Invitation:
    """The open invitation behind a link; ServiceError when unknown, used, cancelled or expired."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None:
        raise ServiceError(
            "This invitation link is not valid. It may have been replaced by a newer one: "
            "check your latest email, or ask your hub lead to resend it."
        )
    if invitation.accepted_at is not None:
        raise ServiceError("This invitation has already been used. Log in to see your team.")
    if invitation.cancelled_at is not None:
        raise ServiceError("This invitation was cancelled by the hub lead.")
    if invitation.expires_at <= utcnow():
        raise ServiceError("This invitation has expired. Ask your hub lead to send a new one.")
    if invitation.organisation.stage in journey.CLOSED_STAGES:
        raise ServiceError("This organisation is no longer in the programme.")
    return invitation


def accept_invitation(token: str, *, user: User) -> Membership:
    """Join the team from an invitation link, signed in with the invited email address."""
    invitation = invitation_for_token(token)
    if auth_services.normalise_email(user.email) != invitation.email:
        raise ServiceError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Log out, then register or log in with {invitation.email}."
        )
    org = invitation.organisation
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    membership = membership_of(user, org.id)
    if membership is None:
        membership = _add_member(org, user, invitation.roles, by=user, via_invitation=True)
    else:  # added directly in the meantime: merge the roles
        added = [role for role in invitation.roles if not membership.has_role(role)]
        for role in added:
            membership.role_links.append(TeamRole(role=role))
        audit.record(
            "team.roles_changed",
            actor=user,
            subject=membership,
            organisation_id=org.id,
            details={"member": user.email, "added": added, "removed": [], "via": "invitation"},
        )
    _touch(org)
    return membership


def _add_member(
    org: Organisation, user: User, roles: list[str], *, by: User, via_invitation: bool = False
) -> Membership:
    membership = Membership(organisation_id=org.id, user_id=user.id, added_by_id=by.id)
    membership.role_links = [TeamRole(role=r) for r in roles]
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "team.joined" if via_invitation else "team.member_added",
        actor=by,
        subject=membership,
        organisation_id=org.id,
        details={"member": user.email, "roles": list(roles)},
    )
    return membership


def _membership_in(org: Organisation, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organisation_id != org.id:
        raise NotFound(membership_id)
    return membership


def _lead_count(org: Organisation) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(TeamRole)
        .join(Membership, Membership.id == TeamRole.membership_id)
        .where(Membership.organisation_id == org.id, TeamRole.role == "hub_lead")
    )


def change_member_roles(org: Organisation, *, by: User, membership_id: int, roles) -> Membership:
    _require_lead(by, org)
    _require_open(org)
    membership = _membership_in(org, membership_id)
    roles = _clean_roles(roles)
    current = membership.roles
    if current == set(roles):
        return membership
    if "hub_lead" in current and "hub_lead" not in roles and _lead_count(org) <= 1:
        raise ServiceError(
            "The team needs a hub lead. Make someone else hub lead first.", field="roles"
        )
    membership.role_links = [link for link in membership.role_links if link.role in roles] + [
        TeamRole(role=r) for r in roles if r not in current
    ]
    _touch(org)
    audit.record(
        "team.roles_changed",
        actor=by,
        subject=membership,
        organisation_id=org.id,
        details={
            "member": membership.user.email,
            "added": sorted(set(roles) - current),
            "removed": sorted(current - set(roles)),
        },
    )
    return membership


def remove_member(org: Organisation, *, by: User, membership_id: int) -> None:
    _require_lead(by, org)
    _require_open(org)
    membership = _membership_in(org, membership_id)
    if membership.has_role("hub_lead") and _lead_count(org) <= 1:
        raise ServiceError(
            "You cannot remove the only hub lead. Make someone else hub lead first, or "
            "withdraw the organisation."
        )
    email = membership.user.email
    db.session.delete(membership)
    _touch(org)
    audit.record(
        "team.member_removed",
        actor=by,
        subject_type="membership",
        subject_id=membership_id,
        organisation_id=org.id,
        details={"member": email},
    )


@dataclass(frozen=True)
class Composition:
    """How the team measures up to the programme's rule."""

    counts: dict[str, int]
    required: tuple[str, ...]

    @property
    def missing(self) -> list[str]:
        return [role for role in self.required if not self.counts.get(role)]

    @property
    def complete(self) -> bool:
        return not self.missing


def team_composition(org: Organisation) -> Composition:
    counts: dict[str, int] = dict.fromkeys(HUB_ROLES, 0)
    for membership in org.memberships:
        for role in membership.roles:
            counts[role] = counts.get(role, 0) + 1
    return Composition(counts=counts, required=programme().required_roles)


@functools.cache
def _team_statement():
    return (
        select(Membership)
        .where(Membership.organisation_id == bindparam("organisation_id"))
        .options(
            joinedload(Membership.user).lazyload(User.role_links),
            selectinload(Membership.role_links),
        )
        .order_by(Membership.id)
    )


def team_members(org: Organisation) -> list[Membership]:
    """The team with each member's account and hub roles (two queries, whatever its size).

    Members' site roles are not loaded; the list also fills `org.memberships` so that
    later uses of the relationship in the same request do not query again."""
    if "memberships" in inspect(org).dict:
        members = org.memberships  # already loaded in this request
        if all("user" in inspect(m).dict and "role_links" in inspect(m).dict for m in members):
            return list(members)
    members = list(db.session.scalars(_team_statement(), {"organisation_id": org.id}))
    if "memberships" not in inspect(org).dict and org not in db.session.dirty:
        set_committed_value(org, "memberships", members)
    return members


# --- lists for trainers ----------------------------------------------------------------

ORGANISATION_SORTS = {
    "activity": Organisation.last_activity_at.desc(),
    "name": Organisation.name.asc(),
    "created": Organisation.created_at.desc(),
}


def _team_size():
    return (
        select(func.count(Membership.id))
        .where(Membership.organisation_id == Organisation.id)
        .correlate(Organisation)
        .scalar_subquery()
    )


def search_organisations(
    *,
    q: str = "",
    stage: str = "",
    nation: str = "",
    sort: str = "activity",
    page: int = 1,
    per_page: int = 25,
):
    """Filtered, sorted, paginated organisations with team size, in a fixed number of queries."""
    stmt = select(Organisation, _team_size().label("team_size"))
    if q:
        stmt = stmt.where(
            func.lower(Organisation.name).contains(q.strip().lower(), autoescape=True)
        )
    if stage in journey.STAGES:
        stmt = stmt.where(Organisation.stage == stage)
    if nation in NATIONS:
        stmt = stmt.where(Organisation.nation == nation)
    stmt = stmt.order_by(
        ORGANISATION_SORTS.get(sort, ORGANISATION_SORTS["activity"]), Organisation.id
    )
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = clamp_page(page)
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    leads = _hub_leads([org.id for org, _ in rows])
    return Page(
        items=[(org, size, leads.get(org.id, [])) for org, size in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def _hub_leads(org_ids: list[int]) -> dict[int, list]:
    """Each organisation's hub leads as (id, name, email) rows, for lists."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        select(Membership.organisation_id, User.id, User.name, User.email)
        .join(User, User.id == Membership.user_id)
        .join(TeamRole, TeamRole.membership_id == Membership.id)
        .where(Membership.organisation_id.in_(org_ids), TeamRole.role == "hub_lead")
        .order_by(User.name)
    ).all()
    leads: dict[int, list] = {}
    for row in rows:
        leads.setdefault(row.organisation_id, []).append(row)
    return leads


def stage_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Organisation.stage, func.count()).group_by(Organisation.stage)
    ).all()
    counts = dict.fromkeys(journey.STAGES, 0)
    counts.update({stage: n for stage, n in rows})
    return counts


def screening_queue() -> list[tuple[Organisation, int, list[User]]]:
    """Submitted applications, oldest first, with team size and hub leads."""
    rows = db.session.execute(
        select(Organisation, _team_size().label("team_size"))
        .join(HubApplication, HubApplication.organisation_id == Organisation.id)
        .where(Organisation.stage == "submitted")
        .options(selectinload(Organisation.application))
        .order_by(HubApplication.submitted_at.asc(), Organisation.id)
    ).all()
    leads = _hub_leads([org.id for org, _ in rows])
    return [(org, size, leads.get(org.id, [])) for org, size in rows]


def history(org: Organisation, limit: int = 200) -> list[audit.AuditEvent]:
    """The organisation's audit events, newest first."""
    return list(
        db.session.scalars(
            select(audit.AuditEvent)
            .where(audit.AuditEvent.organisation_id == org.id)
            .order_by(audit.AuditEvent.seq.desc())
            .limit(limit)
        )
    )


def age_in_days(when: datetime | None) -> int:
    return (utcnow() - when).days if when else 0
