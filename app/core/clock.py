"""The portal's one clock: every "now", "today" and timestamp comes from here.

Code never calls `datetime.now()`, `date.today()` or `time.time()` itself, so one place
decides what time it is. Tests move this clock (and the libraries' clocks with it) with
`time-machine`: tests marked `any_hour` (tests/conftest.py) run at frozen instants
(late evening, a Monday morning, the last day of a month, either side of a clock change).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Europe/London"


def now() -> datetime:
    """The current instant, as an aware UTC datetime."""
    return datetime.now(UTC)


def zone() -> ZoneInfo:
    """The programme's time zone (`DISPLAY_TIMEZONE`), in which dates are told to people."""
    name = current_app.config.get("DISPLAY_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)


def local_now() -> datetime:
    """The current instant on the programme's wall clock."""
    return now().astimezone(zone())


def today() -> date:
    """Today's date on the programme's wall clock (not UTC's: 00:30 BST is still yesterday
    in UTC)."""
    return local_now().date()


def timestamp() -> int:
    """Whole seconds since the epoch, for signed tokens and session stamps."""
    return int(time.time())
