"""The audit actions of the administrators' pages, in plain words."""

from __future__ import annotations

import contextlib
from datetime import date

from app.core import audit
from app.core.filters import long_date

ACTIONS = {
    "admin.message_resent": "resent an email",
}
CONFLICTS = {
    "admin.staff_conflict_confirmed": "confirmed a staff role for someone on an applicant's "
    "hub team",
}


TEMPLATES = {
    "agreement_template.published": "published a new version of an agreement template",
}


def _template(details: dict) -> list[str]:
    from app.readiness.models import AGREEMENT_KINDS

    kind = details.pop("kind", "")
    version = details.pop("version", "")
    issued = details.pop("issued_on", "")
    details.pop("file_sha256", None)
    words = [AGREEMENT_KINDS.get(kind, "an agreement")]
    if version:
        with contextlib.suppress(ValueError):
            issued = long_date(date.fromisoformat(issued)) if issued else ""
        words.append(f"version {version}" + (f" of {issued}" if issued else ""))
    if details.pop("sample", False):
        words.append("a sample, not a legal document")
    return words


def _conflict(details: dict) -> list[str]:
    granted = details.pop("granted", [])
    teams = details.pop("organisations", [])
    return [
        "granted " + ", ".join(granted) if granted else "",
        "on the team of " + ", ".join(teams) if teams else "",
    ]


audit.register_actions(ACTIONS)
audit.register_actions(CONFLICTS, _conflict)
audit.register_actions(TEMPLATES, _template)
