"""Password policy (ASVS 6.2): length 12–256, no composition rules, common passwords refused.

The common-password list is the 30,000-entry list that ships with zxcvbn, checked
case-insensitively and with trailing digits and symbols removed, so "Password2024!!"
is refused like "password". Passwords zxcvbn estimates at under a million guesses
(common words glued together, keyboard walks such as "qwertyuiopas") are refused too.
"""

from __future__ import annotations

import re
from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 256
_TRAILING = re.compile(r"[\d\W_]+$")
# zxcvbn's guess estimate below which a password counts as easy to guess (its score <= 1).
_MIN_GUESSES_LOG10 = 6
_ZXCVBN_MAX_LENGTH = 72


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Reasons `password` is not acceptable, in plain words; empty when it is fine."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters — a few unrelated words work well."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    lowered = password.lower()
    common = _common_passwords()
    stem = _TRAILING.sub("", lowered)
    if (
        lowered in common
        or (stem and stem in common)
        or _is_repetitive(lowered)
        or _estimated_guesses_log10(password) < _MIN_GUESSES_LOG10
    ):
        return ["This password is too common or easy to guess. Choose something less predictable."]
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        return ["Your password must not contain your email address."]
    if name and len(name.strip()) >= 4 and name.strip().lower().replace(" ", "") in lowered:
        return ["Your password must not contain your name."]
    return []


def _estimated_guesses_log10(password: str) -> float:
    from zxcvbn import zxcvbn

    # zxcvbn refuses long input; a weak 72-character prefix is weak on its own.
    return zxcvbn(password[:_ZXCVBN_MAX_LENGTH])["guesses_log10"]


def _is_repetitive(password: str) -> bool:
    if len(set(password)) <= 3:
        return True
    # One short chunk repeated, e.g. "abcabcabcabc".
    return any(
        len(password) % size == 0 and password[:size] * (len(password) // size) == password
        for size in range(1, 5)
    )


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password-but-costs-the-same", method=method)


def burn_verification_time(password: str) -> None:
    """Check against a dummy hash so unknown emails take as long as wrong passwords."""
    check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
