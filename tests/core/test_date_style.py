"""One date style (issue 19 item 7): people read "2 December 2026" from one set of filters;
exports use ISO 8601. No template formats a date itself."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from app.core.filters import format_date, format_datetime, format_time, long_date
from tests.paths import ROOT as REPO_ROOT

TEMPLATE_DIRS = ("app/templates", "certificates")
# strftime(), a format passed to a date filter, or a % date directive inside a {{ }} / {% %}.
FORBIDDEN = re.compile(r"strftime|\|\s*(date|datetime)\s*\(|\{[{%][^}]*%-?[dbBmYyHMZ]")


def test_no_template_formats_a_date_itself():
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix not in (".html", ".txt", ".md") or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if FORBIDDEN.search(line):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "use the date/datetime/time filters:\n" + "\n".join(offenders)


def test_python_code_formats_dates_for_people_through_the_filters():
    """Day-month-year formats live in app/core/filters.py only (Zoom's report parser and
    the demo's fake Zoom report read or write Zoom's own formats)."""
    allowed = {"app/core/filters.py", "app/immersion/zoom.py", "app/demo/immersion.py"}
    pattern = re.compile(r"%-?d[ /.]%-?[mbB]|%-?[bB] %Y|%d/%m")
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in sorted((REPO_ROOT / "app").rglob("*.py"))
        if str(path.relative_to(REPO_ROOT)) not in allowed
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_one_style_is_uk_long_form(app):
    assert long_date(date(2026, 12, 2)) == "2 December 2026"
    with app.app_context():
        assert format_date(date(2026, 12, 2)) == "2 December 2026"
        assert format_date(None) == "—"
        # A moment is shown in UK time: 23:30 UTC on 31 July is 00:30 BST on 1 August.
        summer = datetime(2027, 7, 31, 23, 30, tzinfo=UTC)
        assert format_date(summer) == "1 August 2027"
        assert format_datetime(summer) == "1 August 2027, 00:30 BST"
        assert format_time(datetime(2026, 12, 2, 14, 5, tzinfo=UTC)) == "14:05 GMT"
