"""Jinja filters and globals: local times, role labels, navigation."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_login import current_user

from app.core.roles import ROLE_LABELS


def to_local(value: datetime | date | None) -> datetime | date | None:
    """An aware datetime converted to the configured display time zone (a date stays as is)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return value
    return value.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))


def long_date(day: date) -> str:
    """The portal's one date style for people, UK long form: "2 December 2026" (no leading
    zero, month in full). Exports (CSV, JSON) use ISO 8601 instead."""
    return f"{day.day} {day:%B %Y}"


def format_time(value: datetime | None) -> str:
    """The local clock time with its zone, e.g. "14:05 GMT"."""
    local = to_local(value)
    return local.strftime("%H:%M %Z") if local else "—"


def format_datetime(value: datetime | None) -> str:
    """A moment in the display time zone: "2 December 2026, 14:05 GMT"."""
    local = to_local(value)
    return f"{long_date(local)}, {format_time(local)}" if local else "—"


def format_date(value: datetime | date | None) -> str:
    """A day (or the local day of a moment): "2 December 2026"; "—" for none."""
    local = to_local(value)
    return long_date(local) if local else "—"


def navigation() -> list[tuple[str, str]]:
    """(endpoint, label) pairs the current user may use, built from the access policies."""
    from app.core.policy import policy_for

    items = [
        ("public.home", "Home"),
        ("public.about", "About ECHO"),
        ("public.directory", "Join a network"),
    ]
    if current_user.is_authenticated:
        items += [
            ("training.my_training", "My training"),
            ("immersion.my_immersion", "My Immersion"),
            ("organisations.screening_queue", "Screening queue"),
            ("readiness.review_queue", "Evidence review"),
            ("assessment.queue", "Assessments"),
            ("organisations.list_organisations", "Organisations"),
            ("training.programme_overview", "Training"),
            ("immersion.list_cohorts", "Immersion"),
            ("admin.list_users", "Users"),
            ("admin.list_messages", "Delivery"),
            ("admin.list_agreement_templates", "Agreement templates"),
            ("audit.register", "Certificates"),
            ("audit.programme_reports", "Reports"),
            ("audit.list_events", "Audit log"),
        ]
    # Which entries a user sees depends only on their site roles (the policies above check
    # roles, never objects), so the list is worked out once per set of roles.
    key = frozenset(current_user.roles) if current_user.is_authenticated else None
    cache = current_app.extensions.setdefault("navigation_cache", {})
    if key not in cache:
        cache[key] = [
            (endpoint, label)
            for endpoint, label in items
            if (policy := policy_for(current_app, endpoint)) is not None
            and policy.allows(current_user)
        ]
    return cache[key]


def register_filters(app) -> None:
    # Every date a person reads goes through these filters (a test keeps strftime out of
    # templates): `date` for a day, `datetime` for a moment, `time` for a clock time.
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["iso_date"] = lambda value: format_date(date.fromisoformat(value))
    app.jinja_env.filters["role_label"] = lambda role: ROLE_LABELS.get(role, role)
    from app.core.programme import HUB_ROLES, role_in_prose

    app.jinja_env.filters["hub_role"] = lambda role: HUB_ROLES.get(role, role)
    app.jinja_env.filters["hub_role_in_prose"] = role_in_prose
    app.jinja_env.globals["navigation"] = navigation
    from app.core.audit import describe

    app.jinja_env.globals["describe_event"] = describe
    app.jinja_env.globals["site_name"] = lambda: app.config["SITE_NAME"]
    app.jinja_env.globals["superhub_name"] = lambda: app.config["SUPERHUB_NAME"]
