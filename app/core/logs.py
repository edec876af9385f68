"""Logs that never hold a secret: reset and invitation tokens, unsubscribe tokens and
certificate verification codes travel as path segments, and an access log line is a URL.

When an app is built, `learn_secret_paths` reads its URL map: every rule with an argument
named in SECRET_ARGUMENTS (`token`, `code`) becomes a pattern, and `redact` replaces that
segment with "[redacted]" wherever such a path appears in a line of text. The development
server's log (werkzeug), the app's own log and gunicorn's access log (gunicorn.conf.py's
logger class) all pass through it, so a new route with a `<token>` is covered by its name.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote

SECRET_ARGUMENTS = frozenset({"token", "code"})
REDACTED = "[redacted]"

_patterns: dict[str, str] = {}  # rule -> its regular expression
_combined: list[re.Pattern | None] = [None]
_ARGUMENT = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _pattern_for(rule: str, number: int) -> str | None:
    pieces, last, secret = [], 0, False
    for match in _ARGUMENT.finditer(rule):
        pieces.append(re.escape(rule[last : match.start()]))
        if match.group(1) in SECRET_ARGUMENTS:
            name = f"secret{number}_{len(pieces)}"
            pieces.append(f"(?P<{name}>" + r"[^/\s?#\"]+?)")
            secret = True
        else:
            pieces.append(r"[^/\s?#\"]+")
        last = match.end()
    if not secret:
        return None
    pieces.append(re.escape(rule[last:]))
    # A whole path: at the start of the text or after a space or quote, and ending there.
    return "".join(pieces)


def learn_secret_paths(url_map) -> None:
    """Remember the paths of `url_map` that carry a secret (called by create_app)."""
    for rule in url_map.iter_rules():
        if SECRET_ARGUMENTS & set(rule.arguments) and rule.rule not in _patterns:
            pattern = _pattern_for(rule.rule, len(_patterns))
            if pattern is not None:
                _patterns[rule.rule] = pattern
                _combined[0] = None


def secret_rules() -> list[str]:
    """The routes learnt so far whose paths carry a secret ("/verify/<code>", …)."""
    return sorted(_patterns)


def _blank_secrets(match: re.Match) -> str:
    text, start = match.group(0), match.start()
    out, last = [], 0
    for name, value in match.groupdict().items():
        if name.startswith("secret") and value is not None:
            begin, end = match.start(name) - start, match.end(name) - start
            out.append(text[last:begin] + REDACTED)
            last = end
    out.append(text[last:])
    return "".join(out)


def redact(text: str) -> str:
    """`text` with the secret segment of every secret-bearing path blanked out."""
    if not isinstance(text, str) or not _patterns:
        return text
    if _combined[0] is None:
        # One pass over the text, the longest rules first, so "/verify/<code>.json" is
        # read as that and not as "/verify/<code>" with a code ending ".json".
        rules = sorted(_patterns, key=len, reverse=True)
        either = "|".join(f"(?:{_patterns[rule]})" for rule in rules)
        # A path stands alone or is the value of a query parameter ("?next=/…/<token>").
        _combined[0] = re.compile(r"(?:^|(?<=[\s\"=]))(?:" + either + r")(?=$|[\s?#&\"])")
    text = _combined[0].sub(_blank_secrets, text)
    # The same path percent-encoded as a query value ("?next=%2Forganisations%2F…").
    return _ENCODED_VALUE.sub(_blank_encoded, text)


_ENCODED_VALUE = re.compile(r"(?<==)[^&\s\"#]*%2[fF][^&\s\"#]*")


def _blank_encoded(match: re.Match) -> str:
    value = match.group(0)
    plain = unquote(value)
    cleaned = _combined[0].sub(_blank_secrets, plain)
    return value if cleaned == plain else quote(cleaned, safe="")


class RedactingFilter(logging.Filter):
    """A logging filter that formats each record and blanks out secrets in paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = RedactingFilter()


def install(app) -> None:
    """Learn `app`'s secret paths and filter the development server's and the app's logs."""
    learn_secret_paths(app.url_map)
    for logger in (logging.getLogger("werkzeug"), app.logger):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
