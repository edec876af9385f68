"""The audit actions of the auditor's console (exports and downloads), in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "audit.register_exported": "exported the certificate register",
    "audit.log_exported": "exported the audit log",
    "audit.dossier_downloaded": "downloaded an approval dossier",
}

audit.register_actions(ACTIONS)
