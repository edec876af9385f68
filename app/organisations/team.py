"""The team: invitations (sent, resent, cancelled, accepted, declined), members and their
hub roles, and the team's composition against the roles the programme requires.

Nobody is put on a team without saying yes: every address a hub lead adds gets an
invitation, whether or not it has an account, and the lead is told the same ("invitation
sent") either way, so the page never reveals who has an account. An invitation is
accepted from its emailed link or from the invitee's home page, by an account whose
confirmed address is the one invited; superhub staff cannot accept (a conflict of
interest), and anyone may decline.

Public: invite_member, resend_invitation, cancel_invitation, invitation_for_token,
accept_invitation, decline_invitation, accept_invitation_for, decline_invitation_for,
invitations_waiting_for, staff_conflict, change_member_roles, remove_member,
team_composition, team_members, on_a_team."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import url_for
from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.auth import services as auth_services
from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import FieldErrors, NotFound, ServiceError
from app.core.mail import send_email
from app.core.programme import HUB_ROLES, programme
from app.core.roles import ROLE_LABELS, STAFF
from app.extensions import db
from app.notifications.services import notify
from app.organisations import journey
from app.organisations.access import (
    _require_lead,
    _require_open,
    _touch,
    hub_leads,
    membership_of,
)
from app.organisations.models import (
    Invitation,
    Membership,
    Organisation,
    TeamRole,
)


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
    invitation: Invitation


def invite_member(org: Organisation, *, by: User, email: str, roles) -> InviteResult:
    """Email an invitation to join the team, whoever the address belongs to.

    What the lead sees does not depend on whether the address has an account (active,
    deactivated, staff or none): the same invitation is made and the same answer given.
    Only someone already on the team, or an invitation already waiting, is refused, and
    the team page shows both of those to the lead anyway."""
    _require_lead(by, org)
    _require_open(org)
    email = auth_services.normalise_email(email)
    # The address and the roles are checked together, so the form lists both problems.
    problems: list[tuple[str | None, str]] = []
    if not email:
        problems.append(("email", "Enter the person's email address."))
    elif not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 254:
        problems.append(("email", "Enter a valid email address."))
    try:
        roles = _clean_roles(roles)
    except ServiceError as error:
        problems.append((error.field, error.message))
    if problems:
        raise FieldErrors(problems)
    if _member_by_email(org, email) is not None:
        raise ServiceError(f"{email} is already on the team.", field="email")
    if _open_invitation(org, email) is not None:
        raise ServiceError(
            f"{email} already has an invitation waiting. Resend it from the list below.",
            field="email",
        )
    _touch(org)
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


def _member_by_email(org: Organisation, email: str) -> Membership | None:
    return db.session.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == org.id, User.email == email)
    )


def _open_invitation(org: Organisation, email: str) -> Invitation | None:
    return db.session.scalar(
        select(Invitation).where(
            Invitation.organisation_id == org.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.cancelled_at.is_(None),
            Invitation.declined_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )


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
        raise ServiceError("This invitation was already accepted, declined or cancelled.")
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
        raise ServiceError("This invitation was already accepted, declined or cancelled.")
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
    """The open invitation behind a link; ServiceError when unknown, used, cancelled,
    declined or expired."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None:
        raise ServiceError(
            "This invitation link is not valid. It may have been replaced by a newer one: "
            "check your latest email, or ask your hub lead to resend it."
        )
    _check_open(invitation)
    return invitation


def _check_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise ServiceError("This invitation has already been used. Log in to see your team.")
    if invitation.declined_at is not None:
        raise ServiceError("This invitation was declined, so it can no longer be used.")
    if invitation.cancelled_at is not None:
        raise ServiceError("This invitation was cancelled by the hub lead.")
    if invitation.expires_at <= utcnow():
        raise ServiceError("This invitation has expired. Ask your hub lead to send a new one.")
    if invitation.organisation.stage in journey.CLOSED_STAGES:
        raise ServiceError("This organisation is no longer in the programme.")


def staff_conflict(user: User) -> str | None:
    """Why `user` may not join an applicant's team (they hold a superhub staff role), or
    None. Staff screen, review and approve these teams' work: being on one would be a
    conflict of interest."""
    held = sorted(user.roles & STAFF)
    if not held:
        return None
    labels = ", ".join(ROLE_LABELS[r].lower() for r in held)
    return (
        f"You hold a superhub staff role ({labels}), so you cannot join an applicant "
        "organisation's hub team: staff screen, review and approve these teams' work, and "
        "being on one would be a conflict of interest. You can decline the invitation. If "
        "you should no longer be staff, ask an administrator to remove the role first."
    )


def _check_can_accept(invitation: Invitation, user: User) -> None:
    if not user.email_verified:
        raise ServiceError(
            "Confirm your email address first: open the link we emailed you when you "
            "registered (you can ask for a new one from your home page)."
        )
    if auth_services.normalise_email(user.email) != invitation.email:
        raise ServiceError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Log out, then register or log in with {invitation.email}."
        )
    conflict = staff_conflict(user)
    if conflict:
        raise ServiceError(conflict)


def accept_invitation(token: str, *, user: User) -> Membership:
    """Join the team from an invitation link, signed in with the invited, confirmed address."""
    return _accept(invitation_for_token(token), user)


def accept_invitation_for(invitation_id: int, *, user: User) -> Membership:
    """Join the team from the home page: an invitation sent to the user's confirmed address."""
    return _accept(_invitation_for_user(invitation_id, user), user)


def _invitation_for_user(invitation_id: int, user: User) -> Invitation:
    invitation = (
        db.session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    )
    if (
        invitation is None
        or not user.email_verified
        or invitation.email != auth_services.normalise_email(user.email)
    ):
        raise NotFound(invitation_id)  # not theirs: its existence is not confirmed
    _check_open(invitation)
    return invitation


def _accept(invitation: Invitation, user: User) -> Membership:
    _check_can_accept(invitation, user)
    org = invitation.organisation
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    membership = membership_of(user, org.id)
    if membership is None:
        try:
            # Two accepts at once (two tabs, or this invitation and another): the unique
            # membership lets one in, and the other merges its roles below.
            with db.session.begin_nested():
                membership = _add_member(org, user, invitation.roles, by=user, via_invitation=True)
        except IntegrityError:
            membership = db.session.scalar(
                select(Membership).where(
                    Membership.organisation_id == org.id, Membership.user_id == user.id
                )
            )
            if membership is None:
                raise
            _merge_roles(membership, invitation, user)
    else:  # added another way in the meantime: no second membership, merge the roles
        _merge_roles(membership, invitation, user)
    _touch(org)
    notify(
        [lead for lead in hub_leads(org) if lead.id != user.id],
        subject=f"{user.name} joined {org.name}'s hub team",
        template="team_member_joined",
        org=org,
        member=user,
        roles=[HUB_ROLES[r] for r in invitation.roles],
        link=url_for("organisations.show_team", org_id=org.id, _external=True),
    )
    return membership


def _merge_roles(membership: Membership, invitation: Invitation, user: User) -> None:
    added = [role for role in invitation.roles if not membership.has_role(role)]
    for role in added:
        membership.role_links.append(TeamRole(role=role))
    audit.record(
        "team.roles_changed",
        actor=user,
        subject=membership,
        organisation_id=membership.organisation_id,
        details={"member": user.email, "added": added, "removed": [], "via": "invitation"},
    )


def decline_invitation(token: str, *, user: User | None = None) -> Invitation:
    """Say no from the emailed link. Anyone holding the link may decline, signed in or not,
    so declining says nothing about whether the address has an account."""
    return _decline(invitation_for_token(token), user)


def decline_invitation_for(invitation_id: int, *, user: User) -> Invitation:
    """Say no from the home page."""
    return _decline(_invitation_for_user(invitation_id, user), user)


def _decline(invitation: Invitation, user: User | None) -> Invitation:
    org = invitation.organisation
    invitation.declined_at = utcnow()
    _touch(org)
    # The history the lead reads names the invited address either way; an account is
    # named as the actor only when it is the invited one (so the lead learns nothing new).
    invitee = (
        user
        if user is not None
        and user.is_authenticated
        and auth_services.normalise_email(user.email) == invitation.email
        else None
    )
    audit.record(
        "team.invitation_declined",
        actor=invitee,
        subject=invitation,
        organisation_id=org.id,
        details={"email": invitation.email},
    )
    # The leads learn the address they typed was declined, never whose account it is.
    notify(
        hub_leads(org),
        subject=f"The invitation to {invitation.email} was declined",
        template="team_invitation_declined",
        org=org,
        invitation=invitation,
        roles=[HUB_ROLES[r] for r in invitation.roles],
        link=url_for("organisations.show_team", org_id=org.id, _external=True),
    )
    return invitation


@dataclass(frozen=True)
class WaitingInvitation:
    invitation: Invitation
    conflict: str | None


def invitations_waiting_for(user: User) -> list[WaitingInvitation]:
    """Open invitations sent to `user`'s confirmed address, however they registered, with
    why they cannot accept (staff), newest first; none before the address is confirmed."""
    if not user.is_authenticated or not user.email_verified:
        return []
    rows = db.session.scalars(
        select(Invitation)
        .join(Organisation, Organisation.id == Invitation.organisation_id)
        .where(
            Invitation.email == auth_services.normalise_email(user.email),
            Invitation.accepted_at.is_(None),
            Invitation.cancelled_at.is_(None),
            Invitation.declined_at.is_(None),
            Invitation.expires_at > utcnow(),
            Organisation.stage.not_in(list(journey.CLOSED_STAGES)),
        )
        .options(joinedload(Invitation.organisation), joinedload(Invitation.invited_by))
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
    ).all()
    conflict = staff_conflict(user)
    return [WaitingInvitation(invitation, conflict) for invitation in rows]


def _add_member(
    org: Organisation, user: User, roles: list[str], *, by: User, via_invitation: bool = False
) -> Membership:
    # Through the relationship, so an `org.memberships` already loaded in this request
    # (the leads told of the last join) includes the new member.
    membership = Membership(organisation=org, user=user, added_by_id=by.id)
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


def on_a_team(user) -> bool:
    """Whether `user` is a member of any organisation's team: superhub staff never are
    (they cannot join one), anyone else is asked in one query."""
    from sqlalchemy import exists

    if STAFF & set(user.roles):
        return False
    return bool(db.session.execute(select(exists().where(Membership.user_id == user.id))).scalar())
