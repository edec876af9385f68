"""The audit actions of exports, in plain words."""

from __future__ import annotations

from app.core import audit

audit.register_actions({"exports.downloaded": "downloaded a prepared export"})
