"""The audit actions of the public hub directory, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "listing.updated": "updated the hub's directory listing",
    "listing.interest_received": "received an expression of interest from the directory",
}

audit.register_actions(ACTIONS)
