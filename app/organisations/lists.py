"""Lists for trainers: searching and sorting organisations, counts by stage, the
screening queue, an organisation's history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.pagination import Page, clamp_page
from app.extensions import db
from app.organisations import journey
from app.organisations.models import (
    NATIONS,
    HubApplication,
    Membership,
    Organisation,
    Stage,
    TeamRole,
)

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
        .where(Organisation.stage == Stage.SUBMITTED)
        .options(selectinload(Organisation.application))
        .order_by(HubApplication.submitted_at.asc(), Organisation.id)
    ).all()
    leads = _hub_leads([org.id for org, _ in rows])
    return [(org, size, leads.get(org.id, [])) for org, size in rows]


def history(org: Organisation, limit: int = 200) -> list[audit.AuditEvent]:
    """The organisation's audit events, newest first (the names of the people they
    mention read at once, for describing them)."""
    events = list(
        db.session.scalars(
            select(audit.AuditEvent)
            .where(audit.AuditEvent.organisation_id == org.id)
            .order_by(audit.AuditEvent.seq.desc())
            .limit(limit)
        )
    )
    audit.preload_people(events)
    return events


def age_in_days(when: datetime | None) -> int:
    return (utcnow() - when).days if when else 0
