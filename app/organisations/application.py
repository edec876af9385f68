"""The hub application and its screening: what is missing, saving a draft, submitting it,
and the trainers' decisions (accept, ask for changes, decline); withdrawing."""

from __future__ import annotations

from datetime import date

from flask import url_for
from sqlalchemy import select

from app.auth.models import User, UserRole
from app.core import audit, clock
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.programme import HUB_ROLES, programme
from app.core.roles import TRAINER
from app.extensions import db
from app.notifications.services import notify
from app.organisations import journey
from app.organisations.access import (
    _require_lead,
    _require_open,
    _require_trainer,
    _touch,
    notify_leads,
)
from app.organisations.models import (
    VC_LICENCE,
    HubApplication,
    Organisation,
    Stage,
)
from app.organisations.team import team_composition

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
    if org.stage != Stage.DRAFT:
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
    if missing and org.stage == Stage.DRAFT:
        raise ServiceError(
            "Complete these before submitting: " + "; ".join(label for _, label in missing) + "."
        )
    journey.move(org, "submit", by=by)
    application = org.application
    application.submitted_at = utcnow()
    application.submission_count = (application.submission_count or 0) + 1
    org.changes_requested = ""
    trainers = db.session.scalars(
        select(User).where(
            User.is_active_account.is_(True), User.role_links.any(UserRole.role == TRAINER)
        )
    ).all()
    if trainers:
        # Submitting without a complete team is allowed (the team rule is a readiness
        # requirement); the lead was warned, and the trainers are told what is missing.
        missing = [HUB_ROLES[r] for r in team_composition(org).missing]
        notify(
            trainers,
            subject=f"Application to review: {org.name}",
            template="application_submitted",
            org=org,
            application=application,
            team_missing=missing,
            link=url_for("organisations.screen_application", org_id=org.id, _external=True),
        )


def accept_application(org: Organisation, *, by: User, note: str = "") -> None:
    """Accept into the training programme (submitted → in_training)."""
    _require_trainer(by)
    journey.move(org, "accept", by=by, reason=(note or "").strip())
    notify_leads(
        org,
        f"{org.name} is accepted into the programme",
        "application_accepted",
        everyone=True,
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
        org,
        f"{org.name}'s application was not accepted",
        "application_declined",
        everyone=True,
        reason=reason,
    )


def withdraw(org: Organisation, *, by: User, reason: str) -> None:
    """The hub lead withdraws the organisation from any open stage."""
    _require_lead(by, org)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Tell us why you are withdrawing.", field="reason")
    journey.move(org, "withdraw", by=by, reason=reason)
    org.closed_reason = reason
