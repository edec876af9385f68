"""Notification choices for tests: a person who asked to be told at once."""

from __future__ import annotations

from app.extensions import db
from app.notifications import services


def tell_at_once(*users, group: str = "reviews") -> None:
    """Set `group` to immediate email for each user (reviews default to the digest)."""
    for user in users:
        services.set_preferences(user, {group: "immediate"})
    db.session.commit()
