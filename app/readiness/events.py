"""The audit actions of agreements, the readiness checklist and evidence, in plain words.

Agreement events read as said of the document ("Statement of Collaboration rejected by Tess
Trainer (The signature page is missing.)", then "replaced by Lena Lead"), so the history and
the dossier tell its story in order.
"""

from __future__ import annotations

from flask import current_app

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


def _uploaded(who: str, details: dict) -> str | None:
    kind = AGREEMENT_KINDS.get(details.get("kind", ""))
    if kind is None:
        return None
    words = [f"signed by {details['signatory']}"] if details.get("signatory") else []
    if details.get("template_version"):
        words.append(f"signed on template version {details['template_version']}")
    verb = "replaced" if details.get("replaces") else "uploaded"
    return f"{kind} {verb} by {who}" + (f" ({'; '.join(words)})" if words else "")


def _rejected(who: str, details: dict) -> str | None:
    kind = AGREEMENT_KINDS.get(details.get("kind", ""))
    reason = (details.get("reason") or "").strip()
    if kind is None:
        return None
    return f"{kind} rejected by {who}" + (f" ({reason})" if reason else "")


def _accepted(who: str, details: dict) -> str | None:
    kind = AGREEMENT_KINDS.get(details.get("kind", ""))
    return f"{kind} verified by {who}" if kind else None


def _item_title(key: str) -> str:
    """The checklist item's title for its key (the key is never shown)."""
    try:
        item = current_app.extensions["checklist"].get(key)
    except (KeyError, RuntimeError, AttributeError):
        item = None
    return item.title if item is not None else "a checklist item"


def _checklist(details: dict) -> list[str]:
    key = details.pop("item", "")
    version = details.pop("version", None)
    if not key:
        return []
    title = details.pop("item_title", "") or _item_title(key)
    return [f"“{title}”" + (f", version {version}" if version is not None else "")]


for _action, _sentence in (
    ("agreement.uploaded", _uploaded),
    ("agreement.rejected", _rejected),
    ("agreement.accepted", _accepted),
):
    audit.register_actions({_action: AGREEMENTS[_action]}, _agreement, sentence=_sentence)
audit.register_actions(CHECKLIST, _checklist)
audit.register_actions(EVIDENCE)
