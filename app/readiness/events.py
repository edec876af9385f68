"""The audit actions of agreements, the readiness checklist and evidence, in plain words."""

from __future__ import annotations

from app.core import audit
from app.readiness.models import AGREEMENT_KINDS

AGREEMENTS = {
    "agreement.uploaded": "uploaded a partnership agreement",
    "agreement.accepted": "verified a partnership agreement",
    "agreement.rejected": "rejected a partnership agreement",
}
CHECKLIST = {
    "checklist.submitted": "submitted a readiness checklist item",
    "checklist.accepted": "accepted a readiness checklist item",
    "checklist.changes_requested": "asked for changes to a readiness checklist item",
}
EVIDENCE = {"evidence.downloaded": "downloaded an evidence file"}


def _agreement(details: dict) -> list[str]:
    kind = details.pop("kind", "")
    return [AGREEMENT_KINDS.get(kind, kind)] if kind else []


def _checklist(details: dict) -> list[str]:
    item = details.pop("item", "")
    version = details.pop("version", "?")
    return [f"{item}, version {version}"] if item else []


audit.register_actions(AGREEMENTS, _agreement)
audit.register_actions(CHECKLIST, _checklist)
audit.register_actions(EVIDENCE)
