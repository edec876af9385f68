"""Access policies for organisation pages: who may see, and who may change, an organisation.

The object check loads the organisation named by `org_id` once and leaves it in
`g.organisation` for the view.
"""

from __future__ import annotations

import functools

from flask import g
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.core.policy import Policy, object_policy, roles
from app.core.roles import PROGRAMME_STAFF, PROGRAMME_VIEWERS, STAFF, TRAINER
from app.extensions import db
from app.organisations import services
from app.organisations.models import Invitation, Membership, Organisation


@functools.cache
def _organisation_statement():
    """The organisation with its application (most tabs show it), built once."""
    return (
        select(Organisation)
        .where(Organisation.id == bindparam("org_id"))
        .options(joinedload(Organisation.application))
    )


def _load(view_args) -> Organisation | None:
    org_id = view_args.get("org_id")
    org = (
        db.session.execute(_organisation_statement(), {"org_id": org_id}).scalar_one_or_none()
        if isinstance(org_id, int)
        else None
    )
    g.organisation = org
    return org


def _viewer(user, view_args) -> int | None:
    org = _load(view_args)
    if org is None or not services.can_view(user, org):
        return 404  # not yours: not even its existence is confirmed
    return None


def _hub_lead(user, view_args) -> int | None:
    org = _load(view_args)
    if org is None or not services.can_view(user, org):
        return 404
    if not services.is_hub_lead(user, org):
        return 403
    return None


ORG_VIEWER = Policy("organisation:viewer", requires_login=True, object_check=_viewer)
ORG_HUB_LEAD = Policy("organisation:hub_lead", requires_login=True, object_check=_hub_lead)


def _exists(user, view_args) -> int | None:
    return None if _load(view_args) is not None else 404


ORG_TRAINER = Policy(
    "organisation:trainer", requires_login=True, roles=frozenset({TRAINER}), object_check=_exists
)
# Superhub staff and auditors (e.g. the assessment tab; auditors only read).
ORG_STAFF = Policy(
    "organisation:staff",
    requires_login=True,
    roles=STAFF,
    object_check=_exists,
)


def _lead_or_staff(user, view_args) -> int | None:
    org = _load(view_args)
    if org is None or not services.can_view(user, org):
        return 404
    if user.roles & STAFF or services.is_hub_lead(user, org):
        return None
    return 403


ORG_LEAD_OR_STAFF = Policy(
    "organisation:hub_lead_or_staff", requires_login=True, object_check=_lead_or_staff
)


def _member(user, view_args) -> int | None:
    org = _load(view_args)
    if org is None or not services.can_view(user, org):
        return 404
    return None if services.membership_of(user, org.id) is not None else 403


ORG_MEMBER = Policy("organisation:member", requires_login=True, object_check=_member)


def in_organisation(model):
    """Load `model` by id, but only as part of the organisation in the URL (else 404)."""

    def load(key):
        obj = db.session.get(model, key) if isinstance(key, int) else None
        return obj if obj is not None and obj.organisation_id == g.organisation.id else None

    return load


# The hub lead changes the roles of, or removes, a membership of their organisation...
MEMBERSHIP_LEAD = object_policy(
    "organisation:membership",
    arg="membership_id",
    load=in_organisation(Membership),
    store="membership",
    within=ORG_HUB_LEAD,
)
# ...and resends or cancels its invitations.
INVITATION_LEAD = object_policy(
    "organisation:invitation",
    arg="invitation_id",
    load=in_organisation(Invitation),
    store="invitation",
    within=ORG_HUB_LEAD,
)


def _not_an_auditor(user, view_args) -> int | None:
    # Auditor accounts are read-only by construction: they never join a team.
    return 403 if user.is_authenticated and user.has_role("auditor") else None


JOINER = Policy("authenticated:not-auditor", requires_login=True, object_check=_not_an_auditor)
# Declining from the emailed link works signed out too (anyone holding the link may say
# no), so declining never reveals whether the address has an account.
DECLINER = Policy(
    "invitation:decline-not-auditor", requires_login=False, object_check=_not_an_auditor
)


def _my_invitation(user):
    def load(key):
        invitation = db.session.get(Invitation, key) if isinstance(key, int) else None
        if invitation is None or not user.email_verified:
            return None
        return invitation if invitation.email == user.email.strip().lower() else None

    return load


def _invitation_to_me(user, view_args) -> int | None:
    refusal = _not_an_auditor(user, view_args)
    if refusal is not None:
        return refusal
    g.invitation = _my_invitation(user)(view_args.get("invitation_id"))
    return None if g.invitation is not None else 404


# An invitation sent to the signed-in person's confirmed address (answered from the home
# page); anyone else's is "not found".
MY_INVITATION = Policy(
    "invitation:addressed-to-me", requires_login=True, object_check=_invitation_to_me
)
# Applications waiting for screening: read by programme staff and auditors, decided by staff.
SCREENING_READERS = roles(PROGRAMME_VIEWERS)
PROGRAMME_STAFF_ONLY = roles(PROGRAMME_STAFF)
