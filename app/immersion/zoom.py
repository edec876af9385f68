"""Read the attendance reports Zoom exports, in the shapes Zoom (and Excel) produce.

Accepted (see the README's attendance section for how to get each from Zoom):

- the meeting **participants report** (`participants_<meeting id>.csv`): one row per join
  (join and leave times, minutes per row) or "show unique users" totals, with or without the
  meeting-details block above the table, with or without the newer `In waiting room` and
  `Role` columns;
- the **webinar attendee report**: its preamble (title, topic and webinar id, "Host
  Details", "Panelist Details"), then "Attendee Details"; each block has its own header.
  Registrants who never came (`Attended` = No, `--` for times) are skipped, not refused;
- either one re-saved by Excel: UTF-8 with or without a byte-order mark, Windows-1252,
  UTF-16 "Unicode Text" (with its byte-order mark, tab-separated), and separators `,`
  `;` tab or `|` (European Excel writes `;` and decimal commas); header spellings and
  letter case from different Zoom versions; 12- and 24-hour dates in US, UK, ISO and
  German order.

Counting: rows are grouped per person (by email, else by name; a row without an email joins
the one emailed person of the same name, and a renamed row "Sarah L (Sarah Lindqvist)" joins
the person shown as "Sarah Lindqvist"). Rows in the waiting room do not count. Join–leave
intervals that overlap (one person on two devices at once) are merged, so the time is
counted once; intervals that do not overlap are added up, each with Zoom's own minutes.
Rows with a duration but no times (the "unique users" totals) cannot be told apart, so
their minutes are added up as given and capped at the meeting's length when the report
states it (a note says so). Anything we cannot read is refused with the line and the reason
(`ReportError`); no other exception leaves `parse_report`, whatever the bytes.

`propose` matches the people to the booked attendees: by email, then by name (the original
name in brackets, the display name, a webinar registrant's first and last name), ignoring
titles ("Dr", "Prof", "Mx", "Nurse") and post-nominals ("MBBS", "RN", "PhD"). Hosts,
co-hosts and panelists count like anyone when booked; otherwise they are listed apart.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

MAX_MINUTES = 24 * 60  # a single meeting longer than a day is not a real report

# Canonical column -> header spellings seen in Zoom exports (compared case-insensitively,
# ignoring spaces and punctuation).
COLUMNS = {
    "name": (
        "name (original name)",
        "name(original name)",
        "user name (original name)",
        "user name(original name)",
        "name",
        "participant",
        "participant name",
        "user name",
        "display name",
        "attendee name",
    ),
    "first_name": ("first name",),
    "last_name": ("last name",),
    "email": (
        "user email",
        "email",
        "email address",
        "participant email",
        "user e-mail",
        "e-mail",
        "attendee email",
    ),
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
        "time in session (minutes)",
        "time in session(minutes)",
        "time in session",
        "minutes",
    ),
    "guest": ("guest", "is guest"),
    "attended": ("attended",),
    "waiting_room": ("in waiting room", "waiting room"),
    "role": ("role", "user role", "participant role"),
    "host": ("host", "is host"),
    "co_host": ("co-host", "cohost", "is co-host"),
}
DETAILS_MARKERS = ("meeting id", "webinar id", "topic")
# Block titles of the webinar attendee report -> the role of the people listed under them.
SECTIONS = {
    "host details": "host",
    "panelist details": "panelist",
    "panelists details": "panelist",
    "attendee details": "",
    "other attended": "",
}
ROLE_WORDS = {"host": "host", "co host": "co-host", "cohost": "co-host", "panelist": "panelist"}
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
EMPTY = frozenset({"", "-", "--", "---", "n/a", "na"})
SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}

DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p",
    "%Y-%m-%dT%H:%M:%S", "%b %d, %Y %I:%M:%S %p", "%b %d, %Y %I:%M %p",
    "%b %d, %Y %H:%M:%S", "%b %d, %Y %H:%M",
    "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%m/%d/%y %I:%M:%S %p", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M", "%d/%m/%y %H:%M",
    "%d.%m.%y %H:%M",
)  # fmt: skip

# Said after every refusal of a file that is not a report at all: which export, and where.
HOW_TO = (
    "Upload the CSV file Zoom exports: in the Zoom web portal open Reports, then Usage "
    "Reports, click the meeting's number of participants and choose Export (for a webinar, "
    "generate its Attendee Report and download the CSV)."
)

# Files people upload by mistake, by their first bytes.
SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zipped file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97–2003 workbook (.xls) or an Office file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "a rich-text document"),
)

TITLES = frozenset(
    re.findall(r"\w+", "dr doctor mr mrs ms miss mx prof professor nurse sister rev revd sir dame")
)
POST_NOMINALS = frozenset(
    re.findall(
        r"\w+",
        """md mbbs mbchb bmbs mbbch bm mb chb bchd bds phd dphil msc bsc ba ma mba mph mres
    rn rgn rmn rnld rsw rm dn nmp anp acp cns frcp frcpe frcpi frcgp mrcp mrcgp frcs frcpsych
    mrcpsych frcpch mrcpch frcr frca fficm frcn fhea dm mrpharms bpharm mpharm pgdip pgcert
    dipn dip obe mbe cbe kbe dbe qn jr sr""",
    )
)
HOST_WORDS = frozenset({"host", "co-host", "cohost"})


class ReportError(ValueError):
    """The file cannot be read as a Zoom participants report; the message says why."""


@dataclass
class Participant:
    """One person in the report, with their joins added up (overlapping ones merged)."""

    name: str
    email: str
    minutes: int
    joins: int = 1
    guest: bool = False
    rows: list[int] = field(default_factory=list)
    original_name: str = ""  # "Sarah Lindqvist" in "Sarah L (Sarah Lindqvist)"
    registered_name: str = ""  # a webinar registrant's first and last name
    role: str = ""  # "host", "co-host", "panelist" or "" for an attendee
    merged_joins: int = 0  # joins that overlapped another (a second device), counted once
    capped: bool = False  # minutes cut to the meeting's length (durations without times)

    @property
    def key(self) -> str:
        return self.email or "name:" + normalise_name(self.name)

    @property
    def match_names(self) -> list[str]:
        """Normalised names to suggest a booked attendee by, the most telling first."""
        names = [self.original_name, self.name, self.registered_name]
        if "," in self.name:  # "MacLeod, Morag" as some directories write it
            last, _, first = _without_brackets(self.name).partition(",")
            words = re.findall(r"\w+", _fold(first))
            if words and not all(w in POST_NOMINALS or w in TITLES for w in words):
                names.append(f"{first} {last}")
        seen: list[str] = []
        for candidate in names:
            normalised = normalise_name(candidate)
            if normalised and normalised not in seen:
                seen.append(normalised)
        return seen


@dataclass
class ZoomReport:
    layout: str  # "per_join" or "unique"
    participants: list[Participant]
    host_email: str = ""
    topic: str = ""
    rows_read: int = 0  # rows that counted (not the waiting room, not registrants absent)
    kind: str = "meeting"  # or "webinar"
    encoding: str = "utf-8"
    delimiter: str = ","
    meeting_minutes: int | None = None  # the meeting's length, from the details block
    not_attended: int = 0  # webinar registrants who never came, skipped
    waiting_room_rows: int = 0  # rows spent in the waiting room, not counted
    notes: list[str] = field(default_factory=list)  # what was read or adjusted, in sentences


_NOT_SIMPLE = re.compile(r"[^a-z0-9()]+")


def _simplify(header: str) -> str:
    return _NOT_SIMPLE.sub(" ", header.strip().lower()).strip()


_LOOKUP = {
    _simplify(spelling): canonical
    for canonical, spellings in COLUMNS.items()
    for spelling in spellings
}
# Cells as a header row spells them, lower-cased: a row with none of them is no header, which
# spares the full check on every participant row.
_HINTS = frozenset(
    {spelling for spellings in COLUMNS.values() for spelling in spellings} | set(_LOOKUP)
)
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # never in text Zoom or Excel write
_SLASHED = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d\d)(?::(\d\d))?(?: ?([AP]M))?", re.ASCII | re.I
)
_DURATION = re.compile(r"([+-]?)(\d+)(?:[.,](\d+))?", re.ASCII)
_TRAILING_BRACKET = re.compile(r"\(([^()]*)\)\s*$")


def _fold(text: str) -> str:
    """Lower case without accents ("Siân" -> "sian"), typographic apostrophes made plain."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'").replace("‘", "'"))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _without_brackets(name: str) -> str:
    return re.sub(r"\(.*?\)|\[.*?\]", " ", name or "")


def normalise_name(name: str) -> str:
    """Lower case, no accents, titles, post-nominals or bracketed extras
    ("Dr Jane Doe (JD)" -> "jane doe", "Siân Morgan, RGN" -> "sian morgan")."""
    name = _fold(_without_brackets(name))
    name = re.sub(r"(?<=\w)\.(?=\w)", "", name)  # "Ph.D." -> "phd", "M.B.E." -> "mbe"
    name = re.sub(r"[^\w\s'-]", " ", name)
    words = [w.strip("'-") for w in name.split()]
    words = [w for w in words if w and w not in HOST_WORDS]
    while len(words) > 1 and words[0] in TITLES:
        words.pop(0)
    # Post-nominals only at the end and only while two names remain: "Jack Ma" keeps "ma".
    while len(words) > 2 and words[-1] in POST_NOMINALS:
        words.pop()
    return " ".join(words)


def parse_time(value: str) -> datetime:
    """A date and time in any of DATE_FORMATS; ValueError(value) otherwise."""
    return _TimeReader().parse(value)


class _TimeReader:
    """parse_time for one report: the slashed dates Zoom writes read directly (strptime is
    most of the cost of a large report), other formats in DATE_FORMATS order with the one
    that worked last tried first. Once a date is only readable day first (14/03/2026), the
    ambiguous ones of the same file (03/04/2026) are read day first too."""

    def __init__(self) -> None:
        self.formats = list(DATE_FORMATS)
        self.day_first = False

    def parse(self, value: str) -> datetime:
        value = _SPACES.sub(" ", (value or "").strip())
        parsed = self._slashed(value)
        if parsed is not None:
            return parsed
        for index, fmt in enumerate(self.formats):
            try:
                parsed = datetime.strptime(value, fmt)
            except ValueError:
                continue
            if index:
                self.formats.insert(0, self.formats.pop(index))
            return parsed
        raise ValueError(value)

    def _slashed(self, value: str) -> datetime | None:
        match = _SLASHED.fullmatch(value)
        if match is None:
            return None
        first, second, year, hour, minute, seconds, half = match.groups()
        hour = int(hour)
        if half:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if half.upper() == "PM" else 0)
        orders = ((first, second), (second, first))  # (month, day) as in DATE_FORMATS
        for month, day in orders[::-1] if self.day_first else orders:
            try:
                parsed = datetime(
                    int(year), int(month), int(day), hour, int(minute), int(seconds or 0)
                )
            except ValueError:
                continue
            if day == first and first != second:
                self.day_first = True
            return parsed
        return None


def _decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the encoding it was read with."""
    if not data or not data.strip():
        raise ReportError(f"The file is empty. {HOW_TO}")
    for signature, what in SIGNATURES:
        if data.startswith(signature):
            raise ReportError(f"This is not a CSV file (it is {what}). {HOW_TO}")
    if data[8:12] == b"WEBP" or data[4:8] == b"ftyp":
        raise ReportError(f"This is not a CSV file (it is an image or a video). {HOW_TO}")
    encoding = _encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8-sig":
            raise ReportError(f"The file is not readable text. {HOW_TO}") from None
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise ReportError(f"The file is not readable text. {HOW_TO}") from None
    text = text.removeprefix("\ufeff")
    if _CONTROL.search(text, 0, 4096) or not text.strip():
        raise ReportError(f"This is not a CSV file (it contains binary data). {HOW_TO}")
    if text.lstrip()[:200].lower().startswith(("<!doctype html", "<html")):
        raise ReportError(f"This is not a CSV file (it is a web page). {HOW_TO}")
    return text, encoding


def _encoding(data: bytes) -> str:
    """From the byte-order mark, or from where the NUL bytes fall in UTF-16 without one."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return name
    sample = data[:4096]
    half = len(sample) // 2
    if half >= 2:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 0.4 * half and even < 0.05 * half:
            return "utf-16-le"
        if even > 0.4 * half and odd < 0.05 * half:
            return "utf-16-be"
    return "utf-8-sig"


def _read_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, line = [], 0
    for row in reader:
        rows.append((line + 1, row))
        line = reader.line_num
    return rows


def _header(row: list[str]) -> dict[str, int] | None:
    """Column positions if the row is a participant table's header, else None."""
    if not any(c.strip().lower() in _HINTS for c in row):
        return None
    mapping: dict[str, int] = {}
    simplified = set()
    for position, cell in enumerate(row):
        simple = _simplify(cell)
        simplified.add(simple)
        canonical = _LOOKUP.get(simple)
        if canonical and canonical not in mapping:
            mapping[canonical] = position
    # The meeting-details header also has "User Email" and "Duration": not a table.
    if any(m in simplified for m in DETAILS_MARKERS):
        return None
    has_person = "name" in mapping or "email" in mapping
    has_time = "minutes" in mapping or ("join" in mapping and "leave" in mapping)
    return mapping if has_person and has_time else None


def _tabulate(text: str) -> tuple[list[tuple[int, list[str]]], str]:
    """The rows, read with the separator that yields a participant table's header."""
    sample = text[:65536]
    counted = sorted(SEPARATORS, key=lambda d: -sample.count(d))
    tried: list[tuple[str, list[tuple[int, list[str]]]]] = []
    problem = ""
    for delimiter in counted:
        if not sample.count(delimiter) and delimiter != ",":
            continue
        try:
            rows = _read_rows(text, delimiter)
        except csv.Error as exc:
            problem = problem or str(exc)
            continue
        if any(_header(row) for _line, row in rows):
            return rows, delimiter
        tried.append((delimiter, rows))
    if not tried:
        raise ReportError(f"This is not a readable CSV file ({problem}). {HOW_TO}")
    delimiter, rows = tried[0]
    widest: list[str] = []
    for _line, row in rows[:200]:
        cells = [c.strip() for c in row if c.strip()]
        if len(cells) > len(widest):
            widest = cells
    shown = ", ".join(c[:40] for c in widest[:12]) + (", …" if len(widest) > 12 else "")
    raise ReportError(
        "This does not look like a Zoom participants report (read as columns separated by "
        f"{SEPARATORS[delimiter]}; semicolons and tabs were tried too). "
        f"Columns found: {shown or 'none'}. Expected: Name (Original Name) or User Email, and "
        "either Duration (Minutes) or Join Time and Leave Time. " + HOW_TO
    )


def _minutes_value(raw: str, line: int) -> int:
    """A duration cell as whole minutes; NaN, infinities, exponents and the like refused."""
    value = raw.strip().replace(" ", "")
    match = _DURATION.fullmatch(value)
    if match is None:
        shown = raw.strip()[:40]
        raise ReportError(f"Line {line}: the duration “{shown}” is not a number of minutes.")
    sign, whole, fraction = match.groups()
    if sign == "-" and (whole.strip("0") or (fraction or "").strip("0")):
        raise ReportError(f"Line {line}: the duration is negative.")
    if len(whole.lstrip("0")) > 6:
        raise ReportError(
            f"Line {line}: a duration of more than a day is not possible in one meeting."
        )
    return _checked(round(float(f"{whole}.{fraction or 0}")), line)


def _checked(minutes: int, line: int) -> int:
    if minutes < 0:
        raise ReportError(f"Line {line}: the duration is negative.")
    if minutes > MAX_MINUTES:
        raise ReportError(
            f"Line {line}: a duration of {minutes} minutes is not possible in one meeting."
        )
    return minutes


def _role(value: str) -> str:
    simple = _simplify(value)
    if "panelist" in simple:
        return "panelist"
    if "host" in simple:
        return "co-host" if ("co" in simple.split() or "cohost" in simple) else "host"
    return ""


@dataclass
class _Person:
    """A participant while the report is read: their timed joins and untimed minutes."""

    participant: Participant
    spans: list[tuple[datetime, datetime, int]] = field(default_factory=list)
    untimed: int = 0


def parse_report(data: bytes) -> ZoomReport:
    """Parse a participants or webinar attendee report; ReportError names the problem."""
    text, encoding = _decode(data)
    rows, delimiter = _tabulate(text)
    times = _TimeReader()
    report = ZoomReport("unique", [], encoding=encoding, delimiter=delimiter)
    people: dict[str, _Person] = {}
    columns: dict[str, int] | None = None
    details: list[str] | None = None  # the meeting-details header, waiting for its values
    section_role = ""
    timed = False

    for line, row in rows:
        filled = [c for c in row if c.strip()]
        if not filled:
            continue
        if len(filled) == 1 and _simplify(filled[0]).rstrip(" :") in SECTIONS:
            section_role = SECTIONS[_simplify(filled[0]).rstrip(" :")]
            report.kind = "webinar"
            columns = None  # each block has its own header
            continue
        header = _header(row)
        if header is not None:
            columns = header
            timed = timed or ("join" in header and "leave" in header)
            if "attended" in header:
                report.kind = "webinar"
            continue
        simplified = [_simplify(c) for c in row] if columns is None else []
        if columns is None and any(m in simplified for m in DETAILS_MARKERS):
            details = simplified
            if "webinar id" in simplified:
                report.kind = "webinar"
            continue
        if columns is None:
            if details is not None:
                _read_details(report, details, row)
                details = None
            continue  # the report's title and other preamble
        _read_row(report, people, columns, row, line, section_role, times)

    report.layout = "per_join" if timed else "unique"
    if not people:
        raise ReportError(
            "The report has a participant table but no participants in it: check it is the "
            "report of the meeting that took place."
        )
    _merge_same_people(people)
    for person in people.values():
        _total(report, person)
        report.participants.append(person.participant)
    if report.not_attended:
        report.notes.append(f"{report.not_attended} registrants who did not attend were skipped.")
    if report.waiting_room_rows:
        report.notes.append(
            f"{report.waiting_room_rows} rows in the waiting room were not counted."
        )
    if encoding != "utf-8-sig" or delimiter != ",":
        report.notes.append(
            f"Read as {_ENCODING_NAMES.get(encoding, encoding)} text with columns separated "
            f"by {SEPARATORS[delimiter]}."
        )
    return report


_ENCODING_NAMES = {
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-32": "UTF-32",
}


def _read_details(report: ZoomReport, names: list[str], row: list[str]) -> None:
    """Host email, topic and length from the meeting- or webinar-details block."""
    values = dict(zip(names, (v.strip() for v in row), strict=False))
    report.host_email = report.host_email or values.get("user email", "").lower()
    report.topic = report.topic or values.get("topic", "")
    for key in ("duration (minutes)", "actual duration (minutes)", "duration"):
        raw = values.get(key, "")
        if re.fullmatch(r"\d{1,4}", raw, re.ASCII) and 0 < int(raw) <= MAX_MINUTES:
            report.meeting_minutes = int(raw)
            break


def _read_row(report, people, columns, row, line, section_role, times) -> None:
    width = len(row)
    values = {name: row[pos].strip() for name, pos in columns.items() if pos < width}

    def cell(name: str) -> str:
        return values.get(name, "")

    name, email = cell("name"), cell("email").lower()
    if email in EMPTY:
        email = ""
    first, last = cell("first_name"), cell("last_name")
    registered = " ".join(p for p in (first, last) if p not in EMPTY)
    if not name and not email:
        if not registered:
            return
        name = registered
    if cell("attended").lower() in NO:
        report.not_attended += 1
        return
    original, role = "", ""
    bracket = _TRAILING_BRACKET.search(name)
    if bracket:
        inner = bracket.group(1).strip()
        role = ROLE_WORDS.get(_simplify(inner), "")
        if not role and inner.lower() != "guest":
            original = inner
    role = (
        _role(cell("role"))
        or ("host" if cell("host").lower() in YES else "")
        or ("co-host" if cell("co_host").lower() in YES else "")
        or role
        or section_role
    )
    if role == "host" and section_role == "host" and email and not report.host_email:
        report.host_email = email
    participant = Participant(
        name=name,
        email=email,
        minutes=0,
        joins=0,
        guest=cell("guest").lower() in YES,
        original_name=original,
        registered_name=registered,
        role=role,
    )
    person = people.get(participant.key)
    if person is None:
        person = people[participant.key] = _Person(participant)
    existing = person.participant
    existing.name = existing.name or name
    existing.original_name = existing.original_name or original
    existing.registered_name = existing.registered_name or registered
    existing.role = existing.role or role
    existing.guest = existing.guest or participant.guest
    if cell("waiting_room").lower() in YES:
        report.waiting_room_rows += 1
        return  # time in the waiting room is not time in the meeting
    span, minutes = _row_minutes(cell, line, times)
    existing.joins += 1
    existing.rows.append(line)
    report.rows_read += 1
    if span is None:
        person.untimed += minutes
    else:
        person.spans.append((*span, minutes))


def _row_minutes(cell, line: int, times: _TimeReader):
    """((join, leave) or None, minutes) for one row."""
    raw = cell("minutes")
    raw = "" if raw in EMPTY else raw
    join_raw, leave_raw = cell("join"), cell("leave")
    join_raw = "" if join_raw in EMPTY else join_raw
    leave_raw = "" if leave_raw in EMPTY else leave_raw
    span = None
    if join_raw or leave_raw:
        if not (join_raw and leave_raw):
            missing = "leave" if join_raw else "join"
            raise ReportError(f"Line {line}: the {missing} time is missing.")
        try:
            joined, left = times.parse(join_raw), times.parse(leave_raw)
        except ValueError as exc:
            raise ReportError(
                f"Line {line}: the date “{exc.args[0][:40]}” could not be read. Expected a date "
                "and time such as 03/14/2026 09:02:11 AM or 2026-03-14 09:02."
            ) from None
        if left < joined:
            raise ReportError(f"Line {line}: the leave time is before the join time.")
        seconds = (left - joined).total_seconds()
        if seconds > MAX_MINUTES * 60 + 59:
            raise ReportError(
                f"Line {line}: from join to leave is more than a day, not possible in one meeting."
            )
        span = (joined, left)
        if not raw:
            return span, _checked(round(seconds / 60), line)
    if raw:
        return span, _minutes_value(raw, line)
    raise ReportError(f"Line {line}: no duration and no join and leave times.")


def _merge_same_people(people: dict[str, _Person]) -> None:
    """Fold rows that are one person under two keys into one: a row without an email into
    the one emailed person of that name (a phone beside a signed-in laptop), and a renamed
    row "Sarah L (Sarah Lindqvist)" into the one person shown as "Sarah Lindqvist"."""
    by_name: dict[str, list[str]] = {}
    for key, person in people.items():
        by_name.setdefault(normalise_name(person.participant.name), []).append(key)
    for key in list(people):
        person = people.get(key)
        if person is None or person.participant.email:
            continue
        own = normalise_name(person.participant.name)
        target = None
        emailed = [k for k in by_name.get(own, []) if k != key and people[k].participant.email]
        if len(emailed) == 1:
            target = emailed[0]
        elif person.participant.original_name:
            others = [
                k
                for k in by_name.get(normalise_name(person.participant.original_name), [])
                if k != key and k in people
            ]
            if len(others) == 1:
                target = others[0]
        if target is None or target not in people:
            continue
        into = people[target]
        into.spans += person.spans
        into.untimed += person.untimed
        kept = into.participant
        kept.joins += person.participant.joins
        kept.rows = sorted(kept.rows + person.participant.rows)
        kept.original_name = kept.original_name or person.participant.original_name
        kept.registered_name = kept.registered_name or person.participant.registered_name
        kept.role = kept.role or person.participant.role
        del people[key]


def _total(report: ZoomReport, person: _Person) -> None:
    """Minutes of one person: overlapping joins merged, separate ones added up."""
    participant = person.participant
    total = 0
    cluster: list[tuple[datetime, datetime, int]] = []
    end = None

    def close() -> int:
        if len(cluster) == 1:
            return cluster[0][2]  # Zoom's own minutes for a join on its own
        participant.merged_joins += len(cluster) - 1
        return round((end - cluster[0][0]).total_seconds() / 60)

    for span in sorted(person.spans):
        if cluster and span[0] < end:
            cluster.append(span)
            end = max(end, span[1])
            continue
        if cluster:
            total += close()
        cluster, end = [span], span[1]
    if cluster:
        total += close()
    untimed = person.untimed
    if report.meeting_minutes and untimed > report.meeting_minutes and not person.spans:
        untimed = report.meeting_minutes
        participant.capped = True
        report.notes.append(
            f"{participant.name or participant.email}: {person.untimed} minutes in the report, "
            f"counted as the meeting's {report.meeting_minutes} (without join and leave times, "
            "devices used at once cannot be told apart)."
        )
    participant.minutes = total + untimed
    if participant.merged_joins:
        report.notes.append(
            f"{participant.name or participant.email}: joins at the same time (more than one "
            "device) counted once."
        )
    if participant.minutes > MAX_MINUTES:
        raise ReportError(
            f"{participant.name or participant.email} has {participant.minutes} minutes in "
            "total, longer than a day: check the report is for one meeting."
        )


@dataclass
class Proposal:
    """What the report suggests for a session, for a trainer to confirm or adjust."""

    matched: list[tuple[object, Participant]]  # (attendee, participant) matched by email
    suggested: list[tuple[object, Participant]]  # matched by name only: confirm first
    not_booked: list[Participant]  # in the report but not booked on the session
    host: list[Participant]  # hosts, co-hosts, panelists and staff who are not booked
    absent: list[object]  # booked attendees with no row in the report


def propose(report: ZoomReport, attendees, *, ignore_emails=()) -> Proposal:
    """Match report rows to booked attendees: by email, then by normalised name.

    `attendees` are objects with `.email` and `.name`; `ignore_emails` are the hosts
    and facilitators whose rows are set aside unless they are booked themselves. Hosts,
    co-hosts and panelists of the report are matched like anyone, and set aside if not.
    """
    staff = {e.lower() for e in ignore_emails if e}
    by_email = {a.email.lower(): a for a in attendees}
    by_name: dict[str, list] = {}
    for attendee in attendees:
        by_name.setdefault(normalise_name(attendee.name), []).append(attendee)
    taken: set[int] = set()
    found: dict[int, tuple[str, object]] = {}
    # Emails first, for everyone: a name suggestion must not take an attendee whose own
    # row comes later in the report.
    for index, person in enumerate(report.participants):
        attendee = by_email.get(person.email) if person.email else None
        if attendee is not None and id(attendee) not in taken:
            found[index] = ("matched", attendee)
            taken.add(id(attendee))
    for index, person in enumerate(report.participants):
        if index in found or person.email in staff:
            continue
        for name in person.match_names:
            candidates = [a for a in by_name.get(name, []) if id(a) not in taken]
            if len(candidates) == 1:
                found[index] = ("suggested", candidates[0])
                taken.add(id(candidates[0]))
                break
    matched, suggested, not_booked, host = [], [], [], []
    for index, person in enumerate(report.participants):
        if index in found:
            how, attendee = found[index]
            (matched if how == "matched" else suggested).append((attendee, person))
        elif (
            person.email in staff
            or person.role
            or (person.email and person.email == report.host_email)
            or "(host)" in person.name.lower()
        ):
            host.append(person)
        else:
            not_booked.append(person)
    absent = [a for a in attendees if id(a) not in taken]
    return Proposal(matched, suggested, not_booked, host, absent)
