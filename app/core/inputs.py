"""Untrusted input at the edge, bounded in one place before any area sees it.

- Ids: every `<int:…>` in a URL is at most the largest id the databases can hold (a larger
  one is a 404, not an overflow), and `parse_id` reads an id from a form or query value the
  same way (None when it is not one).
- NUL: PostgreSQL cannot store the NUL character (code 0) in text, and no person types one;
  a request carrying it anywhere (path, query, form field or file name) is refused with a
  400 that says so, before a view runs, so nothing changes on either database.
- Line breaks: a single-line field (a name, a title, an email address) is cleaned of line
  breaks and other control characters (`single_line`), so an organisation name can never
  break, or inject into, an email header; multi-line text keeps its line breaks, normalised
  to "\\n", and loses other control characters (`multi_line`). `app.core.forms.PortalForm`
  applies both to every field of every form.
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

# The largest value an id (or any whole-number column) can hold on both databases: the
# portal's columns are INTEGER, which PostgreSQL keeps in 32 bits (SQLite allows 64).
MAX_ID = 2**31 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` as Werkzeug's, but no larger than MAX_ID (unless a rule sets its own max)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        max = MAX_ID if max is None else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_whole(value) -> int | None:
    """A whole number from 0 to MAX_ID from a form or query value (" 12" -> 12); None for
    anything else (empty, "abc", "-3", "1e9", "١٢", a 30-digit number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        if len(text) > len(str(MAX_ID)):
            return None
        number = int(text)
    else:
        return None
    return number if 0 <= number <= MAX_ID else None


def parse_id(value) -> int | None:
    """An id from a form or query value: a whole number from 1 to MAX_ID, else None."""
    number = parse_whole(value)
    return number if number else None


def single_line(value):
    """A single-line field's text: control characters (line breaks, tabs, NUL…) become
    spaces and the ends are trimmed. Non-text values pass through."""
    if not isinstance(value, str):
        return value
    return _CONTROL.sub(" ", value).strip()


def multi_line(value):
    """Multi-line text: CR LF and lone CR become LF; other control characters but tab go."""
    if not isinstance(value, str):
        return value
    return _CONTROL_BUT_LINES.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


NUL_MESSAGE = (
    "What you sent contains a NUL character (code 0), which cannot be stored; it is usually "
    "left by copying from a damaged file. Nothing was changed. Remove it and try again."
)


class NulRefused(BadRequest):
    description = NUL_MESSAGE


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values if isinstance(value, str))


def refuse_nul() -> None:
    """A before-request hook: 400 for a NUL character anywhere a view might read text."""
    if "\x00" in request.path or b"\x00" in request.query_string or b"%00" in request.query_string:
        raise NulRefused()
    if request.method in ("POST", "PUT", "PATCH"):
        form = request.form
        if _has_nul(form.keys()) or _has_nul(v for _k, v in form.items(multi=True)):
            raise NulRefused()
        if _has_nul(f.filename for _k, f in request.files.items(multi=True)):
            raise NulRefused()
