"""The audit actions of the administrators' pages, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "admin.message_resent": "resent an email",
}

audit.register_actions(ACTIONS)
