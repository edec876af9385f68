"""Access policies for organisation pages: who may see, and who may change, an organisation.

The object check loads the organisation named by `org_id` once and leaves it in
`g.organisation` for the view.
"""

from __future__ import annotations

import functools

from flask import g
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.core.policy import Policy
from app.core.roles import STAFF, TRAINER
from app.extensions import db
from app.organisations import services
from app.organisations.models import Organisation


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
