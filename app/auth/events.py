"""The audit actions of accounts and sign-in, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "auth.login": "signed in",
    "auth.login_failed": "failed to sign in",
    "auth.logout": "signed out everywhere",
    "auth.password_changed": "changed their password",
    "auth.password_reset_requested": "asked for a password reset",
    "auth.password_reset": "reset their password by emailed link",
    "auth.password_verified": "entered a correct password (code still to come)",
    "auth.mfa_enabled": "turned on two-step verification",
    "auth.mfa_disabled": "turned off two-step verification",
    "auth.mfa_failed": "entered a wrong two-step verification code",
    "auth.mfa_recovery_code_used": "used a recovery code",
    "auth.mfa_recovery_codes_regenerated": "made new recovery codes",
    "auth.mfa_reset": "reset two-step verification",
    "auth.registration_existing": "tried to register with an address that already has an "
    "account (the owner was emailed; nothing changed)",
    "auth.verification_sent": "was sent a link to confirm their email address",
    "user.registered": "registered an account",
    "user.email_verified": "confirmed their email address",
    "user.created": "created an account",
    "user.profile_updated": "updated a profile",
    "user.roles_changed": "changed site roles",
    "user.deactivated": "deactivated an account",
    "user.reactivated": "reactivated an account",
}


def _failed_sign_in(details: dict) -> list[str]:
    return [details.pop("reason", "")]


audit.register_actions(ACTIONS)
audit.register_actions({"auth.login_failed": ACTIONS["auth.login_failed"]}, _failed_sign_in)


def _people(ids: set[int], emails: set[str]) -> tuple[dict[int, str], dict[str, str]]:
    """Names for the accounts with these ids or addresses, in one query."""
    from sqlalchemy import func, or_, select

    from app.auth.models import User
    from app.extensions import db

    if not ids and not emails:
        return {}, {}
    rows = db.session.execute(
        select(User.id, User.email, User.name).where(
            or_(User.id.in_(ids or {-1}), func.lower(User.email).in_(emails or {""}))
        )
    ).all()
    return (
        {row.id: row.name for row in rows if row.id in ids},
        {row.email.lower(): row.name for row in rows if row.email.lower() in emails},
    )


audit.register_people(_people)
