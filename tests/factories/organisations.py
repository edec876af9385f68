"""Factories for organisation tests: organisations in any stage, built through the services.

`make_organisation(stage="submitted", lead=None, members={"coordinator": user})` registers
an organisation with `create_organisation`, fills the application with `save_application`,
adds members with `join_team` (an invitation each member accepts), then moves it along the
journey with the real transitions (`submit_application`, `accept_application`,
`decline_application`, `withdraw`). Stages that have no service yet (`readiness_review`,
`approved`, `launched`) are set directly after `in_training`.

`make_organisation` is a fixture of tests/conftest.py.
"""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import func, select

from app.core import mail
from app.extensions import db
from app.organisations import services
from app.organisations.models import (
    HubApplication,
    Invitation,
    Membership,
    Organisation,
    StageChange,
    TeamRole,
)

# Everything the application needs before it can be submitted, as the service takes it.
COMPLETE_APPLICATION = {
    "network_name": "Bereavement Support ECHO for the North East",
    "theme": "Bereavement support",
    "target_audience": "Community nurses, care home staff and hospice volunteers.",
    "expected_spokes": 24,
    "motivation": "Families tell us support after a death is patchy; ECHO spreads what works.",
    "sponsor_name": "Dr Priya Raman",
    "sponsor_role": "Medical Director",
    "sponsor_email": "priya.raman@example.org",
    "vc_licence": "yes",
    "delivery_notes": "Zoom, fortnightly, 90 minutes.",
    "heard_about": "An ECHO introduction webinar run by the superhub.",
    "intro_session_date": date(2024, 3, 14),
}

# The same, as the application form posts it.
COMPLETE_APPLICATION_FORM = {
    **{k: v for k, v in COMPLETE_APPLICATION.items() if isinstance(v, str)},
    "expected_spokes": "24",
    "intro_session_date": "2024-03-14",
}

DETAILS_FORM = {
    "name": "Heron Vale Hospice",
    "org_type": "hospice",
    "registration_number": "1234567",
    "nation": "england",
    "other_country": "",
    "address": "1 Riverside Walk\nDurham DH1 1AA",
    "website": "www.heronvale.example.org",
    "phone": "0191 496 0000",
}

_names = itertools.count(1)

# Stages reached with a service, in the order the journey passes through them.
_PATH_TO = {
    "draft": [],
    "submitted": ["submit"],
    "in_training": ["submit", "accept"],
    "readiness_review": ["submit", "accept", "set:readiness_review"],
    "approved": ["submit", "accept", "set:readiness_review", "set:approved"],
    "launched": ["submit", "accept", "set:readiness_review", "set:approved", "set:launched"],
    "rejected": ["submit", "decline"],
}


def details(**overrides) -> services.OrganisationDetails:
    values = {
        "name": f"Test Hospice {next(_names)}",
        "org_type": "hospice",
        "nation": "england",
        "registration_number": "",
        "other_country": "",
        "address": "",
        "website": "",
        "phone": "",
    }
    values.update(overrides)
    return services.OrganisationDetails(**values)


def _members(members) -> list[tuple[object, list[str]]]:
    """{"coordinator": user, ("facilitator", "specialist"): user2} or [(user, [roles])]."""
    if not members:
        return []
    if isinstance(members, dict):
        pairs = []
        for roles, user in members.items():
            pairs.append((user, [roles] if isinstance(roles, str) else list(roles)))
        return pairs
    return [(user, list(roles)) for user, roles in members]


def organisation_factory(app, make_user):
    """Factory: make_organisation(stage="draft", lead=None, members=None, ...) -> Organisation.

    - `lead`: the hub lead (a new applicant when None);
    - `members`: {"coordinator": user} or {("facilitator", "specialist"): user} or
      [(user, ["coordinator"])]; invited and accepted (`join_team`) before the stage moves;
    - `complete`: fill every required application field (default True; draft only);
    - `trainer`: who decides (a new trainer when needed and None);
    - `withdrawn_from`: the open stage to withdraw from when `stage="withdrawn"`;
    - other keyword arguments go to the organisation's details (name, nation, ...).
    The organisation is committed; the outbox is left as the services filled it.
    """

    def make(
        stage="draft",
        lead=None,
        members=None,
        complete=True,
        trainer=None,
        withdrawn_from="draft",
        reason="",
        **detail_overrides,
    ) -> Organisation:
        lead = lead or make_user(roles=("applicant",))
        with app.test_request_context():
            org = services.create_organisation(lead, details(**detail_overrides))
            if complete or stage != "draft":
                services.save_application(org, by=lead, data=dict(COMPLETE_APPLICATION))
            for user, roles in _members(members):
                join_team(org, lead, user, roles)
            db.session.commit()

            target = withdrawn_from if stage == "withdrawn" else stage
            if target not in _PATH_TO:
                raise ValueError(f"make_organisation: unknown stage {stage!r}")
            for step in _PATH_TO[target]:
                if step == "submit":
                    services.submit_application(org, by=lead)
                elif step in ("accept", "decline"):
                    trainer = trainer or make_user(roles=("trainer",))
                    if step == "accept":
                        services.accept_application(org, by=trainer)
                    else:
                        services.decline_application(
                            org, by=trainer, reason=reason or "Not a good fit this year."
                        )
                else:  # no service for this move yet: set the stage directly
                    org.stage = step.removeprefix("set:")
                db.session.commit()
            if stage == "withdrawn":
                services.withdraw(org, by=lead, reason=reason or "Funding fell through.")
                db.session.commit()
        return org

    return make


def join_team(org, lead, user, roles) -> Membership:
    """`lead` invites `user` (an account with a confirmed address) and `user` accepts, as
    the portal asks: the way a test puts someone on a team. Needs a request context."""
    invitation = services.invite_member(org, by=lead, email=user.email, roles=list(roles))
    return services.accept_invitation_for(invitation.invitation.id, user=user)


def clear_outbox() -> None:
    mail.outbox().clear()


def outbox_to(email: str) -> list:
    return [m for m in mail.outbox() if email in m.to]


def reload_org(org_id: int) -> Organisation:
    db.session.expire_all()
    return db.session.get(Organisation, org_id)


def membership(org_id: int, user) -> Membership | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Membership).where(
            Membership.organisation_id == org_id, Membership.user_id == user.id
        )
    )


def stage_changes(org_id: int) -> list[StageChange]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(StageChange)
            .where(StageChange.organisation_id == org_id)
            .order_by(StageChange.id)
        )
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot() -> dict:
    """Every organisation-related row and the audit chain length, to prove nothing changed."""
    from app.core.audit import AuditEvent

    db.session.expire_all()
    tables = {}
    for model in (Organisation, HubApplication, Membership, TeamRole, Invitation, StageChange):
        rows = db.session.execute(select(model.__table__).order_by(model.__table__.c.id)).all()
        tables[model.__tablename__] = [tuple(row) for row in rows]
    tables["audit_events"] = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return tables
