"""Jinja filters and globals: local times, role labels, navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g
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


# The header's staff areas, grouped into a few menus so the navigation keeps to one row at
# 1280 px for every role (issue 19). Entries a user may not open are left out; a menu left
# empty is not shown.
NAV_LINKS = (
    ("public.home", "Home"),
    ("public.about", "About ECHO"),
    ("public.directory", "Join a network"),
)
TEAM_LINKS = (
    ("training.my_training", "My training"),
    ("immersion.my_immersion", "My Immersion"),
)
NAV_MENUS = (
    # Signed in, the public pages move into a menu of their own to leave room.
    ("About", (("public.about", "About ECHO"), ("public.directory", "Join a network"))),
    (
        "Programme",
        (
            ("organisations.list_organisations", "Organisations"),
            ("organisations.screening_queue", "Screening queue"),
            ("readiness.review_queue", "Evidence review"),
            ("assessment.queue", "Assessments"),
            ("training.programme_overview", "Training"),
            ("immersion.list_cohorts", "Immersion"),
        ),
    ),
    (
        "Audit",
        (
            ("audit.register", "Certificates"),
            ("audit.programme_reports", "Reports"),
            ("audit.list_events", "Audit log"),
        ),
    ),
    (
        "Admin",
        (
            ("admin.list_users", "Users"),
            ("admin.list_messages", "Delivery"),
            ("admin.list_agreement_templates", "Agreement templates"),
        ),
    ),
)


@dataclass(frozen=True)
class NavMenu:
    label: str
    links: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return "nav-menu-" + self.label.lower()

    def holds(self, endpoint: str | None) -> bool:
        return any(link == endpoint for link, _ in self.links)


def _allowed(links) -> tuple[tuple[str, str], ...]:
    from app.core.policy import policy_for

    return tuple(
        (endpoint, label)
        for endpoint, label in links
        if (policy := policy_for(current_app, endpoint)) is not None and policy.allows(current_user)
    )


def navigation() -> dict:
    """The header's links and menus the current user may use, built from the access
    policies: {"links": [(endpoint, label)], "team": [...], "menus": [NavMenu]}."""
    # Which entries a user sees depends only on their site roles (the policies check roles,
    # never objects), so the lists are worked out once per set of roles.
    key = frozenset(current_user.roles) if current_user.is_authenticated else None
    cache = current_app.extensions.setdefault("navigation_cache", {})
    if key not in cache:
        signed_in = current_user.is_authenticated
        menus = []
        for label, links in NAV_MENUS if signed_in else ():
            allowed = _allowed(links)
            if allowed:
                menus.append(NavMenu(label, allowed))
        cache[key] = {
            "links": _allowed(NAV_LINKS[:1] if signed_in else NAV_LINKS),
            "team": _allowed(TEAM_LINKS) if signed_in else (),
            "menus": tuple(menus),
        }
    entry = cache[key]
    # "My training" and "My Immersion" are for people on a hub team, not for staff.
    return {**entry, "team": entry["team"] if entry["team"] and _on_a_team() else ()}


def _on_a_team() -> bool:
    """Whether the signed-in user is on any organisation's team (asked once per request).
    The organisations area answers (core knows no area): `app.extensions["on_a_team"]`,
    set by the app factory; without it nobody is."""
    if "on_a_team" not in g:
        check = current_app.extensions.get("on_a_team")
        g.on_a_team = bool(check(current_user)) if check else False
    return g.on_a_team


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
