"""Access to notifications: each person reads and sets only their own (the views act on
`current_user`); an unsubscribe link works signed out, by its signed token alone."""

from __future__ import annotations

from app.core.policy import AUTHENTICATED, PUBLIC

OWN_NOTIFICATIONS = AUTHENTICATED
UNSUBSCRIBE_LINK = PUBLIC
