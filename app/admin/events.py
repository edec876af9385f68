"""The audit actions of the administrators' pages, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "admin.message_resent": "resent an email",
}
CONFLICTS = {
    "admin.staff_conflict_confirmed": "confirmed a staff role for someone on an applicant's "
    "hub team",
}


def _conflict(details: dict) -> list[str]:
    granted = details.pop("granted", [])
    teams = details.pop("organisations", [])
    return [
        "granted " + ", ".join(granted) if granted else "",
        "on the team of " + ", ".join(teams) if teams else "",
    ]


audit.register_actions(ACTIONS)
audit.register_actions(CONFLICTS, _conflict)
