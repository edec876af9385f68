"""Read the participants report Zoom exports for a meeting, in the shapes Zoom produces.

Handled: one row per join (join and leave times, minutes per row) and "show unique
users" totals; an optional meeting-details block above the participant table; header
spellings and letter case from different Zoom versions; 12- and 24-hour dates in US,
UK and ISO order; a UTF-8 byte-order mark; guests with no email. Rows are grouped per
person (by email, else by name) and their minutes summed, so people who left and
rejoined count once. Anything we cannot read is refused with the row and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

MAX_MINUTES = 24 * 60  # a single meeting longer than a day is not a real report

# Canonical column -> header spellings seen in Zoom exports (compared case-insensitively,
# ignoring spaces and punctuation).
COLUMNS = {
    "name": (
        "name (original name)",
        "name(original name)",
        "name",
        "participant",
        "participant name",
        "user name",
        "display name",
    ),
    "email": ("user email", "email", "email address", "participant email", "user e-mail"),
    "join": ("join time", "join", "joined", "join date"),
    "leave": ("leave time", "leave", "left", "leave date"),
    "minutes": (
        "duration (minutes)",
        "duration(minutes)",
        "duration (mins)",
        "duration",
        "total duration (minutes)",
        "total duration(minutes)",
        "total duration",
        "time in meeting (minutes)",
        "minutes",
    ),
    "guest": ("guest",),
}
DETAILS_MARKERS = ("meeting id", "topic")

DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p",
    "%Y-%m-%dT%H:%M:%S", "%b %d, %Y %I:%M:%S %p", "%b %d, %Y %I:%M %p",
    "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M",
)  # fmt: skip


class ReportError(ValueError):
    """The file cannot be read as a Zoom participants report; the message says why."""


@dataclass
class Participant:
    """One person in the report, with their joins added up."""

    name: str
    email: str
    minutes: int
    joins: int = 1
    guest: bool = False
    rows: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.email or "name:" + normalise_name(self.name)


@dataclass
class ZoomReport:
    layout: str  # "per_join" or "unique"
    participants: list[Participant]
    host_email: str = ""
    topic: str = ""
    rows_read: int = 0


def _simplify(header: str) -> str:
    return re.sub(r"[^a-z0-9()]+", " ", header.strip().lower()).strip()


_LOOKUP = {
    _simplify(spelling): canonical
    for canonical, spellings in COLUMNS.items()
    for spelling in spellings
}


def normalise_name(name: str) -> str:
    """Lower case, no titles, no bracketed extras ("Dr Jane Doe (JD)" -> "jane doe")."""
    name = re.sub(r"\(.*?\)", " ", name or "").lower()
    name = re.sub(r"[^\w\s'-]", " ", name)
    words = [
        w
        for w in name.split()
        if w not in {"dr", "mr", "mrs", "ms", "miss", "prof", "professor", "host", "co-host"}
    ]
    return " ".join(words)


def parse_time(value: str) -> datetime:
    value = re.sub(r"\s+", " ", (value or "").strip())
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(value)


def _decode(data: bytes) -> str:
    if not data or not data.strip():
        raise ReportError("The file is empty.")
    if b"\x00" in data[:4096]:
        raise ReportError(
            "This is not a CSV file (it contains binary data). Export the "
            "participants report from Zoom as CSV."
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReportError("The file is not readable text. Export the participants report as CSV.")


def _find_header(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    """The first row that names enough participant columns, with column positions."""
    best_found: list[str] = []
    for index, row in enumerate(rows):
        mapping: dict[str, int] = {}
        for position, cell in enumerate(row):
            canonical = _LOOKUP.get(_simplify(cell))
            if canonical and canonical not in mapping:
                mapping[canonical] = position
        # The meeting-details header also has "User Email" and "Duration": skip it.
        simplified = {_simplify(c) for c in row}
        if any(m in simplified for m in DETAILS_MARKERS):
            continue
        has_person = "name" in mapping or "email" in mapping
        has_time = "minutes" in mapping or ("join" in mapping and "leave" in mapping)
        if has_person and has_time:
            return index, mapping
        if len([c for c in row if c.strip()]) > len(best_found):
            best_found = [c.strip() for c in row if c.strip()]
    found = ", ".join(best_found) if best_found else "none"
    raise ReportError(
        f"This does not look like a Zoom participants report. Columns found: {found}. "
        "Expected: Name (Original Name) or User Email, and either Duration (Minutes) or "
        "Join Time and Leave Time."
    )


def _details(rows: list[list[str]], header_index: int) -> tuple[str, str]:
    """Host email and topic from the meeting-details block above the table, if any."""
    for index in range(header_index):
        names = [_simplify(c) for c in rows[index]]
        if "meeting id" in names and index + 1 < header_index:
            values = dict(zip(names, (v.strip() for v in rows[index + 1]), strict=False))
            return values.get("user email", "").lower(), values.get("topic", "")
    return "", ""


def parse_report(data: bytes) -> ZoomReport:
    """Parse a participants report; ReportError names the first problem found."""
    text = _decode(data)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ReportError(f"This is not a readable CSV file ({exc}).") from exc
    rows = [row for row in rows]
    header_index, columns = _find_header(rows)
    host_email, topic = _details(rows, header_index)
    layout = "per_join" if ("join" in columns and "leave" in columns) else "unique"

    def cell(row: list[str], name: str) -> str:
        pos = columns.get(name)
        return row[pos].strip() if pos is not None and pos < len(row) else ""

    people: dict[str, Participant] = {}
    read = 0
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(c.strip() for c in row):
            continue
        name, email = cell(row, "name"), cell(row, "email").lower()
        if not name and not email:
            continue
        read += 1
        minutes = _row_minutes(row, cell, offset)
        guest = cell(row, "guest").lower() in {"yes", "true", "y", "1"}
        person = Participant(name=name, email=email, minutes=minutes, guest=guest, rows=[offset])
        existing = people.get(person.key)
        if existing is None:
            people[person.key] = person
        else:
            existing.minutes += minutes
            existing.joins += 1
            existing.rows.append(offset)
            existing.name = existing.name or name
    if not people:
        raise ReportError("The report has a participant table but no participants in it.")
    for person in people.values():
        if person.minutes > MAX_MINUTES:
            raise ReportError(
                f"{person.name or person.email} has {person.minutes} minutes in total, longer "
                "than a day: check the report is for one meeting."
            )
    return ZoomReport(layout, list(people.values()), host_email, topic, read)


def _row_minutes(row, cell, line: int) -> int:
    raw = cell(row, "minutes")
    join_raw, leave_raw = cell(row, "join"), cell(row, "leave")
    if join_raw or leave_raw:
        try:
            joined, left = parse_time(join_raw), parse_time(leave_raw)
        except ValueError as exc:
            raise ReportError(
                f"Line {line}: the date “{exc.args[0]}” could not be read. Expected a date "
                "and time such as 03/14/2026 09:02:11 AM or 2026-03-14 09:02."
            ) from None
        if left < joined:
            raise ReportError(f"Line {line}: the leave time is before the join time.")
        span = round((left - joined).total_seconds() / 60)
        if not raw:
            return _checked(span, line)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise ReportError(f"Line {line}: the duration “{raw}” is not a number.") from None
        return _checked(round(value), line)
    raise ReportError(f"Line {line}: no duration and no join and leave times.")


def _checked(minutes: int, line: int) -> int:
    if minutes < 0:
        raise ReportError(f"Line {line}: the duration is negative.")
    if minutes > MAX_MINUTES:
        raise ReportError(
            f"Line {line}: a duration of {minutes} minutes is not possible in one meeting."
        )
    return minutes


@dataclass
class Proposal:
    """What the report suggests for a session, for a trainer to confirm or adjust."""

    matched: list[tuple[object, Participant]]  # (attendee, participant) matched by email
    suggested: list[tuple[object, Participant]]  # matched by name only: confirm first
    not_booked: list[Participant]  # in the report but not booked on the session
    host: list[Participant]
    absent: list[object]  # booked attendees with no row in the report


def propose(report: ZoomReport, attendees, *, ignore_emails=()) -> Proposal:
    """Match report rows to booked attendees: by email, then by normalised name.

    `attendees` are objects with `.email` and `.name`; `ignore_emails` are the hosts
    and facilitators whose rows are set aside.
    """
    ignore = {e.lower() for e in ignore_emails if e} | ({report.host_email} - {""})
    by_email = {a.email.lower(): a for a in attendees}
    by_name: dict[str, list] = {}
    for attendee in attendees:
        by_name.setdefault(normalise_name(attendee.name), []).append(attendee)
    matched, suggested, not_booked, host = [], [], [], []
    taken: set[int] = set()
    for person in report.participants:
        if person.email in ignore or "(host)" in person.name.lower():
            host.append(person)
            continue
        attendee = by_email.get(person.email) if person.email else None
        if attendee is not None and id(attendee) not in taken:
            matched.append((attendee, person))
            taken.add(id(attendee))
            continue
        candidates = [a for a in by_name.get(normalise_name(person.name), []) if id(a) not in taken]
        if len(candidates) == 1:
            suggested.append((candidates[0], person))
            taken.add(id(candidates[0]))
        else:
            not_booked.append(person)
    absent = [a for a in attendees if id(a) not in taken]
    return Proposal(matched, suggested, not_booked, host, absent)
