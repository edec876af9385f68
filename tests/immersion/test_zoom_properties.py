"""Property-based tests of the Zoom report parser: whatever the bytes, a report or a
ReportError; generated reports count each person's minutes as the union of their joins."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.immersion.zoom import ReportError, ZoomReport, parse_report

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "zoom"
LINES = [
    line
    for path in sorted(SAMPLES.glob("*.csv"))
    for line in path.read_text(encoding="utf-8").splitlines()
]
NASTY = [
    "NaN", "nan", "Infinity", "-inf", "1e309", "-1", "--", "", "9" * 400, "1441", "0", "12,5",
    "13/13/2026 25:61", "02/30/2026 09:00", "Attended", "Attendee Details", "Host Details",
    "Name", "Join Time", "Leave Time", "In waiting room", "Yes", "No", "(Host)", "\x00", "\r",
    '"', "﻿", "Ω", "03/14/2026 09:00:00 AM", "2026-03-14 10:00",
]  # fmt: skip
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(data: bytes) -> None:
    try:
        report = parse_report(data)
    except ReportError as refusal:
        assert str(refusal)
        return
    assert isinstance(report, ZoomReport) and report.participants
    for person in report.participants:
        assert isinstance(person.minutes, int) and 0 <= person.minutes <= 24 * 60


@SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_report_or_a_report_error(data):
    parses_or_refuses(data)


@SETTINGS
@given(
    st.text(max_size=1500),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]),
)
def test_any_text_in_any_encoding_gives_a_report_or_a_report_error(text, encoding):
    parses_or_refuses(text.encode(encoding, errors="replace"))


@SETTINGS
@given(
    st.lists(st.sampled_from(LINES), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(0, 29), st.integers(0, 20), st.sampled_from(NASTY))),
    st.sampled_from([",", ";", "\t"]),
)
def test_real_report_lines_shuffled_and_spoiled_give_a_report_or_a_report_error(
    lines, spoils, delimiter
):
    rows = [next(csv.reader([line])) for line in lines]
    for row_index, cell_index, value in spoils:
        row = rows[row_index % len(rows)]
        if row:
            row[cell_index % len(row)] = value
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    parses_or_refuses(out.getvalue().encode("utf-8"))


START = datetime(2026, 3, 14, 9, 0)
joins = st.lists(st.tuples(st.integers(0, 600), st.integers(0, 120)), min_size=1, max_size=6)


@SETTINGS
@given(
    st.lists(joins, min_size=1, max_size=8),
    st.sampled_from([(",", "utf-8"), (";", "utf-8-sig"), ("\t", "utf-16")]),
    st.booleans(),
)
def test_generated_reports_round_trip(people, dialect, with_duration_column):
    """Each person's minutes are the union of their joins: separate joins add up,
    overlapping ones (two devices) are counted once."""
    delimiter, encoding = dialect
    header = ["Name (Original Name)", "User Email", "Join Time", "Leave Time"]
    rows = [header + (["Duration (Minutes)"] if with_duration_column else [])]
    expected = {}
    for number, spans in enumerate(people):
        email = f"person{number}@hospice.example.org"
        covered: set[int] = set()
        for start, length in spans:
            covered |= set(range(start, start + length))
            join, leave = (
                START + timedelta(minutes=start),
                START + timedelta(minutes=start + length),
            )
            row = [
                f"Person {number}",
                email,
                f"{join:%m/%d/%Y %I:%M:%S %p}",
                f"{leave:%m/%d/%Y %I:%M:%S %p}",
            ]
            rows.append(row + ([str(length)] if with_duration_column else []))
        expected[email] = len(covered)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    report = parse_report(out.getvalue().encode(encoding))
    assert report.delimiter == delimiter and report.layout == "per_join"
    assert {p.email: p.minutes for p in report.participants} == expected
    assert sum(p.joins for p in report.participants) == sum(len(s) for s in people)
