"""The directory of hubs, their listings, expressions of interest and the impact figures.

A hub is listed while it is approved or launched AND holds a current, valid hub
certificate (not revoked, not superseded, not expired) AND its hub lead has not hidden
the listing. Revocation or expiry removes it at once: the directory is computed from the
certificates, and a visitor's cached copy (app/core/cache.py) is dropped by the commit that
changes a certificate, listing or listed organisation, and at the end of the day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from sqlalchemy import distinct, func, or_, select

from app.auth.models import User
from app.certificates.models import Certificate
from app.core import audit, clock
from app.core.db import contains_pattern, utcnow
from app.core.errors import ServiceError
from app.core.mail import send_email
from app.core.pagination import Page
from app.extensions import db
from app.immersion.models import CohortStatus
from app.organisations import services as org_services
from app.organisations.models import NATIONS, HubApplication, Organisation

from .models import ExpressionOfInterest, HubListing

LISTED_STAGES = ("approved", "launched")
SEARCH_MAX = 100
MESSAGE_MAX = 2000
IMPACT_SECONDS = 300


@dataclass(frozen=True)
class Listing:
    organisation: Organisation
    application: HubApplication | None
    listing: HubListing | None
    code: str  # the current certificate's verification code

    @property
    def network_name(self) -> str:
        return (self.application.network_name if self.application else "") or self.organisation.name

    @property
    def theme(self) -> str:
        return self.application.theme if self.application else ""

    @property
    def audience(self) -> str:
        return self.application.target_audience if self.application else ""

    @property
    def rhythm(self) -> str:
        return self.listing.session_rhythm if self.listing else ""

    @property
    def summary(self) -> str:
        return self.listing.summary if self.listing else ""

    @property
    def contact_email(self) -> str:
        return self.listing.contact_email if self.listing else ""

    @property
    def join_url(self) -> str:
        return self.listing.join_url if self.listing else ""


def _listed(today):
    """The SELECT of listed hubs: organisation, application, listing and certificate code."""
    return (
        select(Organisation, HubApplication, HubListing, Certificate.code)
        .join(Certificate, Certificate.organisation_id == Organisation.id)
        .outerjoin(HubApplication, HubApplication.organisation_id == Organisation.id)
        .outerjoin(HubListing, HubListing.organisation_id == Organisation.id)
        .where(
            Organisation.stage.in_(LISTED_STAGES),
            Certificate.kind == "hub",
            Certificate.revoked_at.is_(None),
            Certificate.superseded_by_id.is_(None),
            Certificate.expires_on >= today,
            or_(HubListing.id.is_(None), HubListing.hidden.is_(False)),
        )
    )


PER_PAGE = 24


def directory_page(
    q: str = "", theme: str = "", nation: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """A page of listed hubs (a COUNT and a SELECT, whatever the directory's size)."""
    stmt = _directory_query(q, theme, nation)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([Listing(*row) for row in rows], total, page, per_page)


def directory(q: str = "", theme: str = "", nation: str = "") -> list[Listing]:
    """Every listed hub matching the filters (the sitemap needs them all)."""
    return [Listing(*row) for row in db.session.execute(_directory_query(q, theme, nation)).all()]


def _directory_query(q: str, theme: str, nation: str):
    """Listed hubs matching a keyword, a theme and a nation, by network name."""
    stmt = _listed(clock.today())
    if q:
        pattern = contains_pattern(q[:SEARCH_MAX])
        stmt = stmt.where(
            or_(
                func.lower(Organisation.name).like(pattern, escape="\\"),
                func.lower(HubApplication.network_name).like(pattern, escape="\\"),
                func.lower(HubApplication.theme).like(pattern, escape="\\"),
                func.lower(HubApplication.target_audience).like(pattern, escape="\\"),
                func.lower(HubListing.summary).like(pattern, escape="\\"),
            )
        )
    if theme:
        stmt = stmt.where(func.lower(HubApplication.theme) == theme.lower())
    if nation:
        stmt = stmt.where(Organisation.nation == nation)
    return stmt.order_by(func.lower(HubApplication.network_name), Organisation.id)


def themes() -> list[str]:
    """The themes of listed hubs, for the filter."""
    listed = _listed(clock.today()).with_only_columns(HubApplication.theme).distinct()
    return sorted({t for t in db.session.scalars(listed) if t}, key=str.lower)


def listing(org_id: int) -> Listing | None:
    """One listed hub, or None when it is not (or no longer) listed."""
    row = db.session.execute(
        _listed(clock.today()).where(Organisation.id == org_id).limit(1)
    ).first()
    return Listing(*row) if row else None


def nation_label(nation: str) -> str:
    return NATIONS.get(nation, "")


# --- the hub lead's listing ---------------------------------------------------------------


def listing_of(org: Organisation) -> HubListing | None:
    return db.session.scalar(select(HubListing).where(HubListing.organisation_id == org.id))


def is_listed(org: Organisation) -> bool:
    return listing(org.id) is not None


def save_listing(
    org: Organisation,
    *,
    by: User,
    hidden: bool,
    summary: str,
    session_rhythm: str,
    contact_email: str,
    join_url: str,
) -> HubListing:
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the hub lead decides what the directory shows.")
    if org.stage not in LISTED_STAGES:
        raise ServiceError("Only an approved hub can be listed in the directory.")
    contact_email = (contact_email or "").strip()
    if contact_email:
        try:
            contact_email = validate_email(contact_email, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ServiceError(
                f"That contact email is not valid: {error}", field="contact_email"
            ) from error
    join_url = (join_url or "").strip()
    if join_url and not join_url.startswith("https://"):
        raise ServiceError("Give the joining link as a full https:// address.", field="join_url")
    record = listing_of(org) or HubListing(organisation_id=org.id)
    record.hidden = bool(hidden)
    record.summary = (summary or "").strip()
    record.session_rhythm = (session_rhythm or "").strip()
    record.contact_email = contact_email
    record.join_url = join_url
    record.updated_at = utcnow()
    record.updated_by_id = by.id
    db.session.add(record)
    db.session.flush()
    audit.record(
        "listing.updated",
        actor=by,
        subject=record,
        organisation_id=org.id,
        details={"hidden": record.hidden, "contact": bool(contact_email or join_url)},
    )
    return record


def expressions_for(org: Organisation) -> list[ExpressionOfInterest]:
    return list(
        db.session.scalars(
            select(ExpressionOfInterest)
            .where(ExpressionOfInterest.organisation_id == org.id)
            .order_by(ExpressionOfInterest.created_at.desc())
        )
    )


# --- expressions of interest --------------------------------------------------------------


@dataclass(frozen=True)
class Interest:
    name: str
    email: str
    role: str
    organisation: str
    message: str


def send_interest(org_id: int, interest: Interest) -> ExpressionOfInterest:
    """Store and email a visitor's expression of interest to the hub's published contact."""
    found = listing(org_id)
    if found is None:
        raise ServiceError("This network is no longer listed, so nothing was sent.")
    if not found.contact_email:
        raise ServiceError(
            "This hub has not published a contact address yet, so messages cannot be sent."
        )
    try:
        email = validate_email(interest.email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ServiceError(f"Enter a valid email address: {error}", field="email") from error
    if len(interest.message) > MESSAGE_MAX:
        raise ServiceError(f"Keep the message under {MESSAGE_MAX} characters.", field="message")
    record = ExpressionOfInterest(
        organisation_id=org_id,
        name=interest.name.strip(),
        email=email,
        role=interest.role.strip(),
        organisation_name=interest.organisation.strip(),
        message=interest.message.strip(),
        sent_to=found.contact_email,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "listing.interest_received",
        subject=record,
        organisation_id=org_id,
        details={"network": found.network_name},
    )
    send_email(
        found.contact_email,
        f"Interest in joining {found.network_name}",
        "expression_of_interest",
        interest=record,
        network=found.network_name,
        org=found.organisation,
        link=url_for("public.hub_listing", hub_id=org_id, _external=True),
    )
    return record


# --- impact -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Impact:
    hubs_approved: int
    networks_launched: int
    in_training: int
    people_trained: int
    module_completions: int
    sessions_held: int
    recommend_percent: int | None
    respondents: int
    as_of: datetime


def _compute_impact() -> Impact:
    from app.immersion.models import EvaluationResponse, ImmersionCohort, ImmersionSession
    from app.training.models import ModuleCompletion

    stages = org_services.stage_counts()
    now = utcnow()
    people, completions = db.session.execute(
        select(func.count(distinct(ModuleCompletion.user_id)), func.count(ModuleCompletion.id))
    ).one()
    sessions = db.session.scalar(
        select(func.count(ImmersionSession.id))
        .join(ImmersionCohort, ImmersionCohort.id == ImmersionSession.cohort_id)
        .where(ImmersionSession.starts_at < now, ImmersionCohort.status != CohortStatus.CANCELLED)
    )
    responses = db.session.scalars(select(EvaluationResponse.ratings)).all()
    rated = [r.get("recommend") for r in responses if isinstance(r, dict) and r.get("recommend")]
    recommend = round(100 * sum(1 for v in rated if int(v) >= 4) / len(rated)) if rated else None
    return Impact(
        hubs_approved=stages["approved"] + stages["launched"],
        networks_launched=stages["launched"],
        in_training=stages["in_training"] + stages["readiness_review"],
        people_trained=people,
        module_completions=completions,
        sessions_held=sessions,
        recommend_percent=recommend,
        respondents=len(rated),
        as_of=now,
    )


def impact() -> Impact:
    """The figures, computed at most every IMPACT_SECONDS per process."""
    cache = current_app.extensions.setdefault("impact_cache", {})
    entry = cache.get("impact")
    if entry is None or time.monotonic() - entry[0] > current_app.config.get(
        "IMPACT_CACHE_SECONDS", IMPACT_SECONDS
    ):
        entry = (time.monotonic(), _compute_impact())
        cache["impact"] = entry
    return entry[1]


def clear_impact_cache() -> None:
    current_app.extensions.get("impact_cache", {}).pop("impact", None)
