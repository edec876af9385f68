"""What every page about one organisation shows: header, the viewer's roles, the stepper."""

from __future__ import annotations

from flask_login import current_user

from app.core.programme import HUB_ROLES
from app.organisations import journey, services


def organisation_page(org, **extra) -> dict:
    """Template context for the shared organisation header (`organisations/_header.html`)."""
    user = current_user._get_current_object()
    membership = services.membership_of(user, org.id)
    return {
        "org": org,
        "membership": membership,
        "is_lead": membership is not None and membership.has_role("hub_lead"),
        "my_organisations": services.organisation_names_of(user) if membership else [],
        "steps": journey.steps(org.stage),
        "stage_label": journey.stage_label(org.stage),
        "hub_roles": HUB_ROLES,
        **extra,
    }
