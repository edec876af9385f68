"""Who belongs to which organisation, and who may see or change it: memberships, hub
leads, superhub staff (who see every organisation), and the checks other modules share."""

from __future__ import annotations

import functools

from flask import g, has_request_context, url_for
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.roles import STAFF, TRAINER
from app.extensions import db
from app.notifications.services import notify
from app.organisations import journey
from app.organisations.models import (
    Membership,
    Organisation,
)


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
    return bool(user.roles & STAFF) or membership_of(user, org.id) is not None


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


def hub_leads(org: Organisation) -> list[User]:
    """The organisation's active hub leads."""
    return [m.user for m in org.memberships if m.has_role("hub_lead") and m.user.is_active]


def notify_leads(
    org: Organisation,
    subject: str,
    template: str,
    *,
    link: str | None = None,
    everyone: bool = False,
    **context,
) -> None:
    """Tell the organisation's active hub leads (or, with `everyone`, its whole team) in the
    portal and by email as each chose; `link` defaults to the organisation page."""
    people = [m.user for m in org.memberships if m.user.is_active] if everyone else hub_leads(org)
    notify(
        people,
        template=template,
        subject=subject,
        link=link or url_for("organisations.show_organisation", org_id=org.id, _external=True),
        org=org,
        **context,
    )


def _require_trainer(user: User) -> None:
    if not user.has_role(TRAINER):
        raise ServiceError("Only superhub trainers can decide applications.")
