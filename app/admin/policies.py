"""Access to the administrators' pages: admins only; an account in the URL is loaded here."""

from __future__ import annotations

from app.auth.models import User
from app.core.outbox import OutboxMessage
from app.core.policy import object_policy, roles
from app.core.roles import ADMIN
from app.extensions import db

ADMIN_ONLY = roles(ADMIN)


def _account(key) -> User | None:
    return db.session.get(User, key) if isinstance(key, int) else None


ACCOUNT_ADMIN = object_policy(
    "admin:account", arg="user_id", load=_account, store="account", roles=frozenset({ADMIN})
)


def _message(key) -> OutboxMessage | None:
    return db.session.get(OutboxMessage, key) if isinstance(key, int) else None


MESSAGE_ADMIN = object_policy(
    "admin:message", arg="message_id", load=_message, store="message", roles=frozenset({ADMIN})
)


def _template(key):
    from app.readiness.models import AgreementTemplate

    return db.session.get(AgreementTemplate, key) if isinstance(key, int) else None


TEMPLATE_ADMIN = object_policy(
    "admin:agreement-template",
    arg="template_id",
    load=_template,
    store="agreement_template",
    roles=frozenset({ADMIN}),
)
