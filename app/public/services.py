"""The directory of hubs, their listings, expressions of interest and the impact figures.

A hub is listed while it is approved or launched AND holds a current, valid hub
certificate (not revoked, not superseded, not expired) AND its hub lead has written a
listing and chosen to publish it AND superhub staff have not hidden it. Approval alone lists
nothing. Revocation or expiry removes it at once: the directory is computed from the
certificates, and a visitor's cached copy (app/core/cache.py) is dropped by the commit that
changes a certificate, listing or listed organisation, and at the end of the day.

The hub lead's listing: `save_listing` (write, and publish or keep it published),
`unpublish_listing`; superhub staff moderate with `hide_listing` and `restore_listing`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

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
from app.core.roles import ADMIN, LEAD_TRAINER, TRAINER
from app.extensions import db
from app.immersion.models import CohortStatus
from app.organisations import services as org_services
from app.organisations.models import NATIONS, HubApplication, Organisation

from .models import ExpressionOfInterest, HubListing

LISTED_STAGES = ("approved", "launched")
# Who may hide a listing from the directory (moderation); auditors only read.
MODERATORS = (TRAINER, LEAD_TRAINER, ADMIN)
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
        return self.listing.audience if self.listing else ""

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
        .join(HubListing, HubListing.organisation_id == Organisation.id)
        .where(
            Organisation.stage.in_(LISTED_STAGES),
            Certificate.kind == "hub",
            Certificate.revoked_at.is_(None),
            Certificate.superseded_by_id.is_(None),
            Certificate.expires_on >= today,
            HubListing.published.is_(True),
            HubListing.hidden_at.is_(None),
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
                func.lower(HubListing.audience).like(pattern, escape="\\"),
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


@dataclass(frozen=True)
class ListingStatus:
    """Where an organisation's listing stands, for its lead's pages and the overview."""

    record: HubListing | None
    listed: bool  # visible in the directory now

    @property
    def state(self) -> str:
        """none (nothing written), draft, hidden (by staff), listed, or unlisted (published
        but the hub has no valid certificate)."""
        if self.record is None:
            return "none"
        if self.record.hidden_at is not None:
            return "hidden"
        if not self.record.published:
            return "draft"
        return "listed" if self.listed else "unlisted"


def listing_status(org: Organisation) -> ListingStatus:
    return ListingStatus(listing_of(org), is_listed(org))


# Limits of what the lead writes (the form says the same; the service is the rule).
SUMMARY_MAX = 1000
AUDIENCE_MAX = 500
RHYTHM_MAX = 120
EMAIL_MAX = 254
URL_MAX = 300
REASON_MAX = 1000


@dataclass(frozen=True)
class ListingText:
    """What the hub lead writes for the directory, as typed."""

    summary: str = ""
    audience: str = ""
    session_rhythm: str = ""
    contact_email: str = ""
    join_url: str = ""


def _require_lead(org: Organisation, by: User) -> None:
    if not org_services.is_hub_lead(by, org):
        raise ServiceError("Only the hub lead decides what the directory shows.")
    if org.stage not in LISTED_STAGES:
        raise ServiceError(
            "Only an approved hub can have a directory listing; this organisation is not approved."
        )


def _require_moderator(by: User) -> None:
    if not any(by.has_role(role) for role in MODERATORS):
        raise ServiceError("Only superhub trainers and administrators can moderate listings.")


def _clean_text(value: str, field: str, label: str, limit: int, *, one_line: bool) -> str:
    """Trimmed text, or a refusal naming the field: NUL and other control characters are
    never stored, and a single-line field refuses line breaks (they would break the one
    line the directory shows it on)."""
    value = (value or "").strip().replace("\r\n", "\n")
    if one_line and ("\r" in value or "\n" in value):
        raise ServiceError(f"Keep the {label} on one line.", field=field)
    allowed = "" if one_line else "\r\n\t"
    if any(ord(c) < 32 and c not in allowed for c in value) or "\x7f" in value:
        raise ServiceError(
            f"The {label} contains a control character; type it again as plain text.",
            field=field,
        )
    if len(value) > limit:
        raise ServiceError(f"Keep the {label} to {limit:,} characters or fewer.", field=field)
    return value


def _clean(text: ListingText) -> ListingText:
    summary = _clean_text(text.summary, "summary", "summary", SUMMARY_MAX, one_line=False)
    audience = _clean_text(
        text.audience, "audience", "description of who it is for", AUDIENCE_MAX, one_line=False
    )
    rhythm = _clean_text(
        text.session_rhythm, "session_rhythm", "session schedule", RHYTHM_MAX, one_line=True
    )
    email = _clean_text(
        text.contact_email, "contact_email", "contact email", EMAIL_MAX, one_line=True
    )
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ServiceError(
                f"That contact email is not valid: {error}", field="contact_email"
            ) from error
    url = _clean_text(text.join_url, "join_url", "joining link", URL_MAX, one_line=True)
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or " " in url:
            raise ServiceError(
                "Give the joining link as a full https:// address, e.g. "
                "https://www.example.org/join.",
                field="join_url",
            )
    return ListingText(summary, audience, rhythm, email, url)


def _require_complete(text: ListingText) -> None:
    """What a published listing must say: what the network is, who it is for, how to join."""
    if not text.summary:
        raise ServiceError(
            "Write a short summary of the network before publishing.", field="summary"
        )
    if not text.audience:
        raise ServiceError("Say who the network is for before publishing.", field="audience")
    if not (text.contact_email or text.join_url):
        raise ServiceError(
            "Give a contact email or a joining link, so people can ask to join.",
            field="contact_email",
        )


def save_listing(
    org: Organisation, *, by: User, text: ListingText, publish: bool = False
) -> HubListing:
    """Save what the hub lead wrote. With `publish` it is published too; a listing that is
    already published stays published. Either way a published listing must be complete."""
    _require_lead(org, by)
    text = _clean(text)
    record = listing_of(org) or HubListing(organisation_id=org.id, published=False)
    publishing = publish and not record.published
    if publish or record.published:
        _require_complete(text)
    record.summary = text.summary
    record.audience = text.audience
    record.session_rhythm = text.session_rhythm
    record.contact_email = text.contact_email
    record.join_url = text.join_url
    now = utcnow()
    if publishing:
        record.published, record.published_at = True, now
    record.updated_at = now
    record.updated_by_id = by.id
    db.session.add(record)
    db.session.flush()
    audit.record(
        "listing.published" if publishing else "listing.updated",
        actor=by,
        subject=record,
        organisation_id=org.id,
        details={
            "published": record.published,
            "contact": "email" if text.contact_email else ("link" if text.join_url else "none"),
        },
    )
    return record


def unpublish_listing(org: Organisation, *, by: User) -> HubListing:
    """Take the listing out of the directory; what it says is kept for publishing again."""
    _require_lead(org, by)
    record = listing_of(org)
    if record is None or not record.published:
        raise ServiceError("The listing is not published, so there is nothing to take down.")
    record.published = False
    record.updated_at = utcnow()
    record.updated_by_id = by.id
    db.session.flush()
    audit.record("listing.unpublished", actor=by, subject=record, organisation_id=org.id)
    return record


def hide_listing(org: Organisation, *, by: User, reason: str) -> HubListing:
    """Staff moderation: hide a hub's listing from the directory, with a reason the hub lead
    is told. The lead can still edit it but not show it again; staff can restore it."""
    _require_moderator(by)
    reason = _clean_text(reason, "reason", "reason", REASON_MAX, one_line=False)
    if not reason:
        raise ServiceError("Say why the listing is hidden; the hub lead is told.", field="reason")
    record = listing_of(org)
    if record is None:
        raise ServiceError("This hub has not written a listing, so there is nothing to hide.")
    if record.hidden_at is not None:
        raise ServiceError("This listing is already hidden. Reload to see the latest.")
    record.hidden_at, record.hidden_by_id, record.hidden_reason = utcnow(), by.id, reason
    db.session.flush()
    audit.record(
        "listing.hidden",
        actor=by,
        subject=record,
        organisation_id=org.id,
        details={"reason": reason},
    )
    _tell_leads(org, f"{org.name}'s directory listing was hidden", hidden=True, reason=reason)
    return record


def restore_listing(org: Organisation, *, by: User) -> HubListing:
    """Staff moderation undone: the listing shows again if its lead keeps it published."""
    _require_moderator(by)
    record = listing_of(org)
    if record is None or record.hidden_at is None:
        raise ServiceError("This listing is not hidden. Reload to see the latest.")
    record.hidden_at, record.hidden_by_id, record.hidden_reason = None, None, ""
    db.session.flush()
    audit.record("listing.restored", actor=by, subject=record, organisation_id=org.id)
    _tell_leads(
        org,
        f"{org.name}'s directory listing can be shown again",
        hidden=False,
        published=record.published,
    )
    return record


def _tell_leads(org: Organisation, subject: str, **context) -> None:
    org_services.notify_leads(
        org,
        subject,
        "listing_moderated",
        link=url_for("public.listing_settings", org_id=org.id, _external=True),
        **context,
    )


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
