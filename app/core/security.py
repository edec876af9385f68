"""Security helpers: response headers, safe redirects, session timeouts."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from app.core import clock
from app.core.assets import cache_static, is_static_request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def is_safe_next(target: str | None) -> bool:
    """True only for a local absolute path: no scheme, no host, no `//` or `/\\` tricks."""
    if not target or not isinstance(target, str):
        return False
    if not target.startswith("/") or target.startswith("//") or target.startswith("/\\"):
        return False
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")) or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default_endpoint: str = "public.home") -> str:
    """`target` when it is a safe local path, else the URL of `default_endpoint`."""
    return target if is_safe_next(target) else url_for(default_endpoint)


def set_security_headers(response):
    """`after_request` hook: CSP, nosniff, referrer policy, HSTS, no-store for personal pages,
    a year's caching for a static file named by its content."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if is_static_request():
        # The same files for everyone: cached by their content hash, never personal.
        cache_static(response)
    elif current_user.is_authenticated or request.endpoint in {"auth.reset_password"}:
        headers["Cache-Control"] = "no-store"
    return response


def mark_session_start() -> None:
    """Record when the signed-in session began and was last used (server-side timeouts)."""
    now = clock.timestamp()
    session["auth_at"] = now
    session["seen_at"] = now


SEEN_AT_RESOLUTION = 60  # seconds; the idle timeout is measured to within this


def enforce_session_timeouts():
    """`before_request` hook: end sessions idle 30 min or older than 12 h (configurable)."""
    if not current_user.is_authenticated or request.endpoint in {"static", "bootstrap.static"}:
        return None
    now = clock.timestamp()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    auth_at = session.get("auth_at", 0)
    seen_at = session.get("seen_at", 0)
    if now - seen_at > idle or now - auth_at > absolute:
        reason = "idle" if now - seen_at > idle else "absolute"
        current_app.logger.info("session ended (%s timeout) for user %s", reason, current_user.id)
        logout_user()
        session.clear()
        flash("Your session has expired. Please log in again.", "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if now - seen_at >= SEEN_AT_RESOLUTION:
        # Recording activity once a minute rather than on every request keeps the session
        # cookie unchanged between most requests (no re-signing, no Set-Cookie).
        session["seen_at"] = now
    return None


# Pages a user who must set up two-step verification can still reach.
MFA_SETUP_ENDPOINTS = frozenset(
    {
        "auth.mfa_settings",
        "auth.mfa_enable",
        "auth.logout",
        "static",
        "bootstrap.static",
        "core.healthz",
    }
)


def mfa_required(user) -> bool:
    """True when the user's roles require two-step verification under current settings."""
    return bool(current_app.config["MFA_REQUIRED_FOR_PRIVILEGED"]) and user.is_privileged


def enforce_mfa_enrolment():
    """`before_request` hook: privileged users without TOTP must set it up before going on."""
    if not current_user.is_authenticated or request.endpoint in MFA_SETUP_ENDPOINTS:
        return None
    user = current_user._get_current_object()
    if user.mfa_enabled or not mfa_required(user):
        return None
    # The set-up page itself explains why the user was sent there.
    return redirect(url_for("auth.mfa_settings"))
