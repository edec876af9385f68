"""Two-step verification with TOTP (RFC 6238) and single-use recovery codes.

A code is accepted for the current 30-second step or one step either side (clock
drift), and only once: the last accepted step is stored, and any step at or before it
is refused, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from app.core import clock

ISSUER = "ECHO Hub Portal"
RECOVERY_CODE_COUNT = 10


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (no script, no external request)."""
    return segno.make(uri, error="m").svg_inline(
        scale=4, border=2, title="QR code for your authenticator app"
    )


def accepted_step(
    secret: str, code: str, last_step: int | None, now: datetime | None = None
) -> int | None:
    """The time step `code` belongs to, if valid and newer than `last_step`; else None."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or clock.now())
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like `k3f9-2m8q-x7pa` (60 bits each) to show the user once."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()
