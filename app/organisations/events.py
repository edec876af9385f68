"""The audit actions of the application, the team and the journey, in plain words."""

from __future__ import annotations

from app.core import audit
from app.core.programme import HUB_ROLES

ORGANISATION = {
    "organisation.created": "registered the organisation",
    "organisation.details_updated": "updated the organisation's details",
    "application.saved": "saved the application draft",
    "organisation.submit": "submitted the application",
    "organisation.accept": "accepted the application into the programme",
    "organisation.decline": "declined the application",
    "organisation.withdraw": "withdrew the organisation",
    "organisation.submit_for_review": "submitted the organisation for readiness review",
    "organisation.request_readiness_changes": "sent the organisation back to training",
    "organisation.approve": "approved the organisation as a hub",
    "organisation.reject": "rejected the organisation after assessment",
    "organisation.launch": "recorded the network's first ECHO session",
}
CHANGES_REQUESTED = {"organisation.request_changes": "asked for changes to the application"}
TEAM = {
    "team.invited": "invited someone to the team",
    "team.invitation_resent": "resent an invitation",
    "team.invitation_cancelled": "cancelled an invitation",
    "team.invitation_declined": "declined an invitation to the team",
    "team.joined": "joined the team from an invitation",
    "team.member_added": "added a team member",
    "team.roles_changed": "changed a team member's roles",
    "team.member_removed": "removed a team member",
}


def _changes_requested(details: dict) -> list[str]:
    message = details.pop("reason", "")
    return [f"message: {message}"] if message else []


def _team(details: dict) -> list[str]:
    """Who, by name (an address is looked up, never shown), and their roles in words."""
    words = []
    address = details.pop("member", "") or details.pop("email", "")
    details.pop("email", None)
    details.pop("via", None)
    if address:
        words.append(details.pop("member_name", "") or audit.person(address))
    roles = details.pop("roles", None)
    if roles:
        words.append("as " + ", ".join(HUB_ROLES.get(r, r) for r in roles))
    for key, verb in (("added", "now also"), ("removed", "no longer")):
        changed = details.pop(key, None)
        if changed:
            words.append(f"{verb} " + ", ".join(HUB_ROLES.get(r, r) for r in changed))
    return words


audit.register_actions(ORGANISATION)
audit.register_actions(CHANGES_REQUESTED, _changes_requested)
audit.register_actions(TEAM, _team)
