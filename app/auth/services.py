"""Account rules: registration and email confirmation, authentication, sessions,
passwords, roles, deactivation.

Services take plain values, enforce the rules, write audit events and only flush;
the request (or CLI command) commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.auth import mfa, passwords
from app.auth.models import EMAIL_MAX, MfaRecoveryCode, PasswordResetToken, User, UserRole
from app.core import audit, jobs
from app.core.boundary import after_commit
from app.core.db import contains_pattern, utcnow
from app.core.errors import ServiceError
from app.core.mail import send_email
from app.core.pagination import clamp_page
from app.core.roles import APPLICANT, ROLES
from app.core.security import is_safe_next, mfa_required
from app.extensions import db

DUPLICATE_EMAIL = (
    "An account with this email already exists. Log in, or reset your password "
    "if you have forgotten it."
)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_new_password(password: str, *, email: str = "", name: str = "") -> None:
    problems = passwords.password_problems(password, email=email, name=name)
    if problems:
        raise ServiceError(problems[0], field="password")


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    roles: set[str] | None = None,
    job_title: str = "",
    actor: User | None = None,
    audit_action: str = "user.created",
    email_verified: bool = True,
) -> User:
    """Create an account with `roles` (default: applicant); refuses duplicates, weak passwords.

    Accounts made by an administrator (the CLI, the demo) count as verified: the operator
    vouches for the address. Self-registration passes `email_verified=False`."""
    email = normalise_email(email)
    name = (name or "").strip()
    if not email or len(email) > EMAIL_MAX:
        raise ServiceError("Enter a valid email address.", field="email")
    if not name:
        raise ServiceError("Enter your name.", field="name")
    if get_user_by_email(email) is not None:
        raise ServiceError(DUPLICATE_EMAIL, field="email")
    roles = set(roles or {APPLICANT})
    unknown = roles - set(ROLES)
    if unknown:
        raise ServiceError(f"Unknown role: {', '.join(sorted(unknown))}.", field="roles")
    check_new_password(password, email=email, name=name)
    user = User(
        email=email,
        name=name,
        job_title=(job_title or "").strip(),
        password_hash=passwords.hash_password(password),
        password_changed_at=utcnow(),
        email_verified_at=utcnow() if email_verified else None,
    )
    user.role_links = [UserRole(role=r, granted_by_id=getattr(actor, "id", None)) for r in roles]
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same email registered at the same moment
        raise ServiceError(DUPLICATE_EMAIL, field="email") from exc
    audit.record(
        audit_action,
        actor=actor or user,
        subject=user,
        details={"email": email, "roles": sorted(roles)},
    )
    return user


def register(
    *, email: str, name: str, password: str, job_title: str = "", next_url: str | None = None
) -> None:
    """Self-registration, answered the same way whether or not the address has an account.

    A new address gets an unverified applicant account; the confirmation email is sent by a
    job after the commit. An address that already has an account is left untouched: the
    password is hashed all the same (so both take as long) and the job emails the owner
    that someone tried to register with it. Nothing is returned that tells the two apart.
    """
    address = normalise_email(email)
    if not address or len(address) > EMAIL_MAX:
        raise ServiceError("Enter a valid email address.", field="email")
    if not (name or "").strip():
        raise ServiceError("Enter your name.", field="name")
    next_url = next_url if next_url and is_safe_next(next_url) else None
    if get_user_by_email(address) is None:
        try:
            with db.session.begin_nested():
                create_user(
                    email=address,
                    name=name,
                    password=password,
                    job_title=job_title,
                    audit_action="user.registered",
                    email_verified=False,
                )
        except ServiceError as error:
            if error.message != DUPLICATE_EMAIL:
                raise  # a bad name or password is the person's to fix
            # registered by someone else at the same moment: treated as an existing account
        else:
            after_commit(
                lambda: jobs.enqueue(
                    "auth.registration_mail", address, "new", next_url, fallback_inline=True
                )
            )
            return
    else:
        check_new_password(password, email=address, name=name)
        passwords.hash_password(password)  # the same cost as creating the account
    after_commit(
        lambda: jobs.enqueue(
            "auth.registration_mail", address, "existing", next_url, fallback_inline=True
        )
    )


@jobs.task("auth.registration_mail")
def send_registration_mail(email: str, case: str, next_url: str | None = None) -> None:
    """The job: a confirmation link for a new account; for an address that already had one,
    a note to its owner (with a fresh confirmation link if it was never confirmed)."""
    user = get_user_by_email(email)
    if user is None:
        db.session.commit()
        return
    if case == "new":
        _send_verification(user, next_url)
    elif user.is_active_account:
        audit.record("auth.registration_existing", actor=None, subject=user)
        link = None if user.email_verified else _verification_link(user, next_url)
        send_email(
            user.email,
            "Someone tried to register with your email address",
            "registration_existing",
            user=user,
            verify_link=link,
            hours=current_app.config["EMAIL_VERIFY_HOURS"],
            login_link=url_for("auth.login", _external=True),
            reset_link=url_for("auth.forgot_password", _external=True),
        )
    else:
        audit.record(
            "auth.registration_existing", actor=None, subject=user, details={"account": "inactive"}
        )
    db.session.commit()


# --- confirming the email address -------------------------------------------------------


def _verification_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-verification")


def _verification_link(user: User, next_url: str | None = None) -> str:
    """A signed link naming the account and the address it confirms; it expires after
    EMAIL_VERIFY_HOURS (the signature holds the time it was made)."""
    payload = {"u": user.id, "e": user.email}
    if next_url and is_safe_next(next_url):
        payload["n"] = next_url
    token = _verification_serializer().dumps(payload)
    return url_for("auth.verify_email", token=token, _external=True)


def _send_verification(user: User, next_url: str | None = None) -> None:
    send_email(
        user.email,
        "Confirm your email address",
        "email_verification",
        user=user,
        link=_verification_link(user, next_url),
        hours=current_app.config["EMAIL_VERIFY_HOURS"],
    )
    audit.record("auth.verification_sent", actor=user, subject=user)


def resend_verification(user: User) -> None:
    """Email a new confirmation link to a signed-in account that has not confirmed yet
    (throttled by the route)."""
    if user.email_verified:
        raise ServiceError("Your email address is already confirmed.")
    _send_verification(user)


@dataclass(frozen=True)
class Verification:
    user: User
    next_url: str | None
    already: bool = False


def check_verification_token(token: str) -> Verification:
    """The account a confirmation link belongs to; ServiceError when the link is damaged,
    expired, or for an address the account no longer has."""
    hours = current_app.config["EMAIL_VERIFY_HOURS"]
    try:
        payload = _verification_serializer().loads(token or "", max_age=hours * 3600)
    except SignatureExpired:
        raise ServiceError(
            f"This confirmation link has expired (links last {hours} hours). Log in and ask "
            "for a new one."
        ) from None
    except BadSignature:
        raise ServiceError(
            "This confirmation link is not valid. Check that you copied all of it, or log in "
            "and ask for a new one."
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise ServiceError("This confirmation link is not valid.")
    user = db.session.get(User, payload["u"])
    if user is None or user.email != payload.get("e"):
        raise ServiceError("This confirmation link is not valid.")
    if not user.is_active_account:
        raise ServiceError("This account has been deactivated.")
    next_url = payload.get("n")
    next_url = next_url if isinstance(next_url, str) and is_safe_next(next_url) else None
    return Verification(user=user, next_url=next_url, already=user.email_verified)


def verify_email(token: str) -> Verification:
    """Confirm the address a link was sent to (a second use only says so)."""
    found = check_verification_token(token)
    if not found.already:
        found.user.email_verified_at = utcnow()
        audit.record("user.email_verified", actor=found.user, subject=found.user)
    return found


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None
    needs_second_factor: bool = False


def authenticate(email: str, password: str) -> LoginResult:
    """Check credentials; audit success and failure alike. Does not start the session.

    Users with two-step verification get `needs_second_factor`; their sign-in is
    completed (and audited as `auth.login`) only after the code.
    """
    user = get_user_by_email(email)
    if user is None:
        passwords.burn_verification_time(password)
        audit.record(
            "auth.login_failed",
            details={"email": normalise_email(email)[:EMAIL_MAX], "reason": "unknown email"},
        )
        return LoginResult(None, "Email or password is incorrect.")
    if not passwords.verify_password(user.password_hash, password):
        audit.record(
            "auth.login_failed", actor=user, subject=user, details={"reason": "wrong password"}
        )
        return LoginResult(None, "Email or password is incorrect.")
    if not user.is_active_account:
        audit.record(
            "auth.login_failed", actor=user, subject=user, details={"reason": "deactivated"}
        )
        return LoginResult(
            None,
            "This account has been deactivated. Contact the superhub administrator "
            "if you need access again.",
        )
    if user.mfa_enabled:
        audit.record("auth.password_verified", actor=user, subject=user)
        return LoginResult(user, needs_second_factor=True)
    complete_login(user)
    return LoginResult(user)


def complete_login(user: User, second_factor: str | None = None) -> None:
    """Record a successful sign-in (after the second factor, when the user has one)."""
    user.last_login_at = utcnow()
    details = {"second_factor": second_factor} if second_factor else {}
    audit.record("auth.login", actor=user, subject=user, details=details)


# --- two-step verification --------------------------------------------------------------


def enable_mfa(user: User, *, secret: str, code: str) -> list[str]:
    """Turn on TOTP after the user proves their app works; returns new recovery codes."""
    if user.mfa_enabled:
        raise ServiceError("Two-step verification is already on for your account.")
    step = mfa.accepted_step(secret, code, None)
    if step is None:
        raise ServiceError(
            "That code is not right. Check the time on your phone is correct, wait for a "
            "new code and try again.",
            field="code",
        )
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    end_all_sessions(user)
    audit.record("auth.mfa_enabled", actor=user, subject=user)
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    codes = mfa.new_recovery_codes()
    db.session.add_all(
        MfaRecoveryCode(user_id=user.id, code_hash=mfa.hash_recovery_code(c)) for c in codes
    )
    return codes


def regenerate_recovery_codes(user: User, *, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current authenticator code."""
    if not user.mfa_enabled:
        raise ServiceError("Turn on two-step verification first.")
    step = mfa.accepted_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        raise ServiceError("That code is not right, or was already used.", field="code")
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    audit.record("auth.mfa_recovery_codes_regenerated", actor=user, subject=user)
    return codes


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(MfaRecoveryCode)
        .where(MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None))
    )


def verify_second_factor(user: User, code: str) -> str | None:
    """'totp' or 'recovery code' when `code` is valid (and now used up); None otherwise."""
    if not user.mfa_enabled:
        return None
    step = mfa.accepted_step(user.totp_secret, code, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return "totp"
    if len(mfa.normalise_recovery_code(code)) == 12:
        recovery = db.session.scalar(
            select(MfaRecoveryCode).where(
                MfaRecoveryCode.user_id == user.id,
                MfaRecoveryCode.code_hash == mfa.hash_recovery_code(code),
                MfaRecoveryCode.used_at.is_(None),
            )
        )
        if recovery is not None:
            recovery.used_at = utcnow()
            audit.record("auth.mfa_recovery_code_used", actor=user, subject=user)
            return "recovery code"
    audit.record("auth.mfa_failed", actor=user, subject=user)
    return None


def disable_mfa(user: User, *, password: str) -> None:
    """Turn off TOTP after re-checking the password; refused when the user's roles need it."""
    if not user.mfa_enabled:
        raise ServiceError("Two-step verification is already off.")
    if mfa_required(user):
        raise ServiceError(
            "Your role requires two-step verification, so it cannot be turned off. "
            "If you lost your phone, ask an administrator to reset it."
        )
    if not passwords.verify_password(user.password_hash, password):
        raise ServiceError("Your password is incorrect.", field="password")
    _clear_mfa(user)
    audit.record("auth.mfa_disabled", actor=user, subject=user)


def _clear_mfa(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))


def reset_mfa(user: User, *, by: User, reason: str) -> None:
    """An admin clears someone's two-step verification (lost phone); their sessions end."""
    reason = (reason or "").strip()
    if not user.mfa_enabled:
        raise ServiceError("Two-step verification is not on for this account.")
    if user.id == by.id:
        raise ServiceError("Ask another administrator to reset your own two-step verification.")
    if not reason:
        raise ServiceError("Give a reason for the reset.", field="reason")
    _clear_mfa(user)
    end_all_sessions(user)
    audit.record("auth.mfa_reset", actor=by, subject=user, details={"reason": reason})


def end_all_sessions(user: User) -> None:
    """Invalidate every session of `user` by bumping its session version."""
    user.session_version = (user.session_version or 0) + 1


def logout(user: User) -> None:
    """Log out everywhere: this and every other session of the user ends."""
    end_all_sessions(user)
    audit.record("auth.logout", actor=user, subject=user)


def update_profile(user: User, *, name: str, job_title: str) -> None:
    name = (name or "").strip()
    if not name:
        raise ServiceError("Enter your name.", field="name")
    changes = {}
    if name != user.name:
        changes["name"] = [user.name, name]
    if (job_title or "").strip() != user.job_title:
        changes["job_title"] = [user.job_title, (job_title or "").strip()]
    if not changes:
        return
    user.name = name
    user.job_title = (job_title or "").strip()
    audit.record("user.profile_updated", actor=user, subject=user, details=changes)


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one; ends every other session."""
    if not passwords.verify_password(user.password_hash, current_password):
        raise ServiceError("Your current password is incorrect.", field="current_password")
    if current_password == new_password:
        raise ServiceError("Choose a password different from your current one.", field="password")
    check_new_password(new_password, email=user.email, name=user.name)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    audit.record("auth.password_changed", actor=user, subject=user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(email: str) -> None:
    """Ask for a reset link to be emailed if an active account exists; silent otherwise.

    The request only queues the work (once its transaction commits), the same work whatever
    the address: whether an account exists is decided by the job, off the request, so the
    answer is the same in the same time and does not reveal who has an account.
    """
    address = normalise_email(email)[:EMAIL_MAX]
    after_commit(lambda: jobs.enqueue("auth.password_reset", address, fallback_inline=True))


@jobs.task("auth.password_reset")
def send_password_reset(email: str) -> None:
    """The job: a single-use reset link for an active account, or only the audit event."""
    user = get_user_by_email(email)
    if user is None or not user.is_active_account:
        audit.record(
            "auth.password_reset_requested",
            actor=None,
            details={"email": email, "account": "none or inactive"},
        )
        db.session.commit()
        return
    token = secrets.token_urlsafe(32)
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=_token_hash(token),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    audit.record("auth.password_reset_requested", actor=user, subject=user)
    db.session.flush()
    link = url_for("auth.reset_password", token=token, _external=True)
    send_email(
        user.email,
        "Reset your password",
        "password_reset",
        user_id=user.id,
        user=user,
        link=link,
        hours=hours,
    )
    db.session.commit()


def _usable_token(token: str) -> PasswordResetToken:
    record = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token or ""))
    )
    if record is None:
        raise ServiceError("This reset link is not valid. Request a new one.")
    if record.used_at is not None:
        raise ServiceError("This reset link has already been used. Request a new one.")
    if record.expires_at <= utcnow():
        raise ServiceError("This reset link has expired. Request a new one.")
    if not record.user.is_active_account:
        raise ServiceError("This account has been deactivated.")
    return record


def check_reset_token(token: str) -> User:
    """The user a reset link belongs to; ServiceError when it is unknown, used or expired."""
    return _usable_token(token).user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link and all its siblings stop working."""
    record = _usable_token(token)
    user = record.user
    check_new_password(new_password, email=user.email, name=user.name)
    now = utcnow()
    for other in db.session.scalars(
        select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    ):
        other.used_at = now
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now
    end_all_sessions(user)
    audit.record("auth.password_reset", actor=user, subject=user)
    return user


# --- administration -------------------------------------------------------------------


def set_roles(user: User, roles: set[str], *, by: User) -> None:
    """Replace `user`'s site roles. An admin cannot remove their own admin role."""
    roles = set(roles)
    unknown = roles - set(ROLES)
    if unknown:
        raise ServiceError(f"Unknown role: {', '.join(sorted(unknown))}.", field="roles")
    if not roles:
        raise ServiceError(
            "Choose at least one role. To stop someone using the portal, deactivate the "
            "account instead.",
            field="roles",
        )
    if user.id == by.id and "admin" in user.roles and "admin" not in roles:
        raise ServiceError(
            "You cannot remove your own administrator role. Ask another administrator.",
            field="roles",
        )
    current = user.roles
    added, removed = roles - current, current - roles
    if not added and not removed:
        return
    user.role_links = [link for link in user.role_links if link.role in roles] + [
        UserRole(role=r, granted_by_id=by.id) for r in sorted(added)
    ]
    # Privileges changed: make the user sign in again under the new roles.
    if removed:
        end_all_sessions(user)
    audit.record(
        "user.roles_changed",
        actor=by,
        subject=user,
        details={"added": sorted(added), "removed": sorted(removed)},
    )


def deactivate(user: User, *, by: User, reason: str) -> None:
    """Deactivate an account and end all its sessions; a reason is required."""
    reason = (reason or "").strip()
    if user.id == by.id:
        raise ServiceError("You cannot deactivate your own account.")
    if not reason:
        raise ServiceError("Give a reason for deactivating this account.", field="reason")
    if not user.is_active_account:
        raise ServiceError("This account is already deactivated.")
    user.is_active_account = False
    user.deactivated_at = utcnow()
    end_all_sessions(user)
    audit.record("user.deactivated", actor=by, subject=user, details={"reason": reason})


def reactivate(user: User, *, by: User) -> None:
    if user.is_active_account:
        raise ServiceError("This account is already active.")
    user.is_active_account = True
    user.deactivated_at = None
    audit.record("user.reactivated", actor=by, subject=user)


USER_SORTS = {
    "name": User.name,
    "email": User.email,
    "created": User.created_at,
    "last_login": User.last_login_at,
}


def search_users(
    *,
    q: str = "",
    role: str = "",
    status: str = "",
    sort: str = "name",
    page: int = 1,
    per_page: int = 25,
):
    """Filtered, sorted, paginated users; sort keys come from an allow-list."""
    stmt = select(User)
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(
            or_(func.lower(User.name).like(like, escape="\\"), User.email.like(like, escape="\\"))
        )
    if role in ROLES:
        stmt = stmt.where(User.role_links.any(UserRole.role == role))
    if status == "active":
        stmt = stmt.where(User.is_active_account.is_(True))
    elif status == "deactivated":
        stmt = stmt.where(User.is_active_account.is_(False))
    order = USER_SORTS.get(sort, User.name)
    stmt = stmt.order_by(order, User.id)
    return db.paginate(stmt, page=clamp_page(page), per_page=per_page, error_out=False)
