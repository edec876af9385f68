"""Access to notifications: each person reads and sets only their own (the views act on
`current_user`); an unsubscribe link works signed out, by its signed token alone."""

from __future__ import annotations

from app.core.policy import ANY_ACCOUNT, PUBLIC

# Open before the email address is confirmed: a person's own notifications are no
# organisation's data.
OWN_NOTIFICATIONS = ANY_ACCOUNT
UNSUBSCRIBE_LINK = PUBLIC
