"""The audit actions of the public hub directory, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "listing.updated": "updated the hub's directory listing",
    "listing.published": "published the hub's listing in the “Join a network” directory",
    "listing.unpublished": "took the hub's listing out of the “Join a network” directory",
    "listing.hidden": "hid the hub's directory listing (moderation)",
    "listing.restored": "let the hub's directory listing be shown again (moderation)",
    "listing.interest_received": "received an expression of interest from the directory",
}

audit.register_actions(ACTIONS)
