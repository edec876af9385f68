"""Access to exports: each person sees and downloads only the exports they asked for."""

from __future__ import annotations

from app.core.policy import AUTHENTICATED, object_policy
from app.exports.models import Export
from app.extensions import db

MY_EXPORTS = AUTHENTICATED


def _export(key) -> Export | None:
    return db.session.get(Export, key) if isinstance(key, int) else None


def _owner_only(user, export: Export) -> int | None:
    # Someone else's export is not found, as one that does not exist.
    return None if export.user_id == user.id else 404


OWN_EXPORT = object_policy(
    "exports:own", arg="export_id", load=_export, store="export", check=_owner_only
)
