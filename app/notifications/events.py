"""The audit actions of notifications, in plain words."""

from __future__ import annotations

from app.core import audit

audit.register_actions({"notifications.preferences_changed": "changed how they are told"})
