"""The Zoom participants-report parser: every layout Zoom produces, and every refusal."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.immersion.zoom import ReportError, normalise_name, parse_report, propose

PER_JOIN = """Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest
Iain Fraser,iain@glen.org,03/14/2026 09:01:10 AM,03/14/2026 09:40:00 AM,39,Yes
Iain Fraser,IAIN@glen.org,03/14/2026 09:45:00 AM,03/14/2026 10:30:00 AM,45,Yes
Catriona Munro,catriona@glen.org,03/14/2026 09:00:00 AM,03/14/2026 10:30:00 AM,90,Yes
"""


@dataclass
class Attendee:
    name: str
    email: str


def minutes_by_name(report):
    return {p.name: p.minutes for p in report.participants}


def test_one_row_per_join_sums_rejoins():
    report = parse_report(PER_JOIN.encode())
    assert report.layout == "per_join"
    assert minutes_by_name(report) == {"Iain Fraser": 84, "Catriona Munro": 90}
    iain = next(p for p in report.participants if p.name == "Iain Fraser")
    assert iain.joins == 2 and iain.email == "iain@glen.org"


def test_show_unique_users_totals():
    data = b"Name (Original Name),User Email,Total Duration (Minutes),Guest\nJo,jo@x.org,77,No\n"
    report = parse_report(data)
    assert report.layout == "unique"
    assert minutes_by_name(report) == {"Jo": 77}


def test_meeting_details_block_names_the_host():
    data = (
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
        "812 3456 7890,Immersion 1,03/14/2026 09:00 AM,03/14/2026 10:30 AM,host@hub.org,90,2\n"
        "\n" + PER_JOIN
    ).encode()
    report = parse_report(data)
    assert report.host_email == "host@hub.org" and report.topic == "Immersion 1"
    assert minutes_by_name(report)["Iain Fraser"] == 84


@pytest.mark.parametrize(
    "header",
    [
        "name,user email,join time,leave time,duration (minutes)",
        "NAME (ORIGINAL NAME),USER EMAIL,JOIN TIME,LEAVE TIME,DURATION(MINUTES)",
        "Participant,Email,Joined,Left,Duration",
    ],
)
def test_header_spellings_and_case(header):
    data = f"{header}\nJo,jo@x.org,2026-03-14 09:00:00,2026-03-14 10:00:00,60\n".encode()
    assert minutes_by_name(parse_report(data)) == {"Jo": 60}


@pytest.mark.parametrize(
    "join,leave",
    [
        ("03/14/2026 09:00:00 AM", "03/14/2026 10:15:00 AM"),
        ("03/14/2026 21:00", "03/14/2026 22:15"),
        ("2026-03-14 09:00", "2026-03-14 10:15"),
        ("14/03/2026 21:00:00", "14/03/2026 22:15:00"),
        ("Mar 14, 2026 09:00:00 PM", "Mar 14, 2026 10:15:00 PM"),
    ],
)
def test_date_formats_without_a_duration_column(join, leave):
    data = f'Name,User Email,Join Time,Leave Time\nJo,jo@x.org,"{join}","{leave}"\n'.encode()
    assert minutes_by_name(parse_report(data)) == {"Jo": 75}


def test_byte_order_mark_and_guests_without_email():
    data = "\ufeff" + PER_JOIN + "Guest Person,,03/14/2026 09:00 AM,03/14/2026 10:00 AM,60,Yes\n"
    report = parse_report(data.encode("utf-8"))
    guest = next(p for p in report.participants if p.name == "Guest Person")
    assert guest.email == "" and guest.minutes == 60 and guest.guest


def test_windows_1252_text_is_read():
    data = "Name,Duration (Minutes)\nSiân Morgan,45\n".encode("cp1252")
    assert minutes_by_name(parse_report(data)) == {"Siân Morgan": 45}


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV file"),
        (b"a,b,c\n1,2,3\n", "Columns found: a, b, c. Expected: Name (Original Name)"),
        (b"Name,Duration (Minutes)\n", "no participants"),
        (b"Name,Duration (Minutes)\nJo,-5\n", "Line 2: the duration is negative"),
        (b"Name,Duration (Minutes)\nJo,99999\n", "not possible in one meeting"),
        (b"Name,Duration (Minutes)\nJo,lots\n", "is not a number"),
        (
            b"Name,Join Time,Leave Time\nJo,2026-03-14 10:00,2026-03-14 09:00\n",
            "leave time is before the join time",
        ),
        (b"Name,Join Time,Leave Time\nJo,yesterday,today\n", "“yesterday” could not be read"),
    ],
)
def test_refusals_name_the_problem(data, message):
    with pytest.raises(ReportError) as refused:
        parse_report(data)
    assert message in str(refused.value)


def test_matching_by_email_then_name_host_and_strangers_apart():
    data = (
        b"Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
        b"1,T,x,y,host@hub.org,90,5\n\n"
        b"Name (Original Name),User Email,Duration (Minutes)\n"
        b"Priya Shah (Host),host@hub.org,95\n"
        b"Iain Fraser,iain@glen.org,84\n"
        b"Dr Morag MacLeod (Morag),,90\n"
        b"Stranger,x@y.org,10\n"
    )
    iain = Attendee("Iain Fraser", "iain@glen.org")
    morag = Attendee("Morag MacLeod", "morag@glen.org")
    ewan = Attendee("Ewan Grant", "ewan@glen.org")
    proposal = propose(parse_report(data), [iain, morag, ewan])
    assert [(a, p.minutes) for a, p in proposal.matched] == [(iain, 84)]
    assert [(a, p.minutes) for a, p in proposal.suggested] == [(morag, 90)]
    assert [p.name for p in proposal.not_booked] == ["Stranger"]
    assert [p.name for p in proposal.host] == ["Priya Shah (Host)"]
    assert proposal.absent == [ewan]


def test_name_normalisation():
    assert normalise_name("Dr Jane  O'Neill (JD)") == "jane o'neill"
    assert normalise_name("PROF. Ann Lee") == "ann lee"


# --- reports as they really come: the samples in tests/fixtures/zoom/ ------------------

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "zoom"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def by_email(report):
    return {p.email: p for p in report.participants}


def test_webinar_attendee_report_reads_every_block_and_skips_absent_registrants():
    report = parse_report(sample("webinar_attendee_report.csv"))
    assert report.kind == "webinar" and report.layout == "per_join"
    assert report.topic == "ECHO Immersion: palliative care at home"
    assert report.host_email == "priya.shah@superhub.example.org"
    assert report.meeting_minutes == 94
    assert report.not_attended == 2 and "2 registrants who did not attend" in report.notes[0]
    people = by_email(report)
    assert "pat.kerr@glen.example.org" not in people  # Attended = No, "--" times
    assert {e: (p.minutes, p.role) for e, p in people.items()} == {
        "priya.shah@superhub.example.org": (94, "host"),
        "ann.lee@hospice-north.example.org": (92, "panelist"),
        "tomas.berg@superhub.example.org": (90, "panelist"),
        "iain.fraser@glen.example.org": (84, ""),  # two joins added up
        "catriona.munro@glen.example.org": (90, ""),
        "morag.home@mail.example.net": (88, ""),
    }
    assert people["iain.fraser@glen.example.org"].joins == 2


def test_webinar_panelists_count_when_booked_and_registrants_match_by_their_names():
    iain = Attendee("Iain Fraser", "iain.fraser@glen.example.org")
    catriona = Attendee("Catriona Munro", "catriona.munro@glen.example.org")
    morag = Attendee("Morag MacLeod", "morag.macleod@glen.example.org")  # registered privately
    ann = Attendee("Ann Lee", "ann.lee@hospice-north.example.org")  # a booked panelist
    pat = Attendee("Pat Kerr", "pat.kerr@glen.example.org")  # registered, never came
    proposal = propose(
        parse_report(sample("webinar_attendee_report.csv")), [iain, catriona, morag, ann, pat]
    )
    assert {a.name: p.minutes for a, p in proposal.matched} == {
        "Iain Fraser": 84,
        "Catriona Munro": 90,
        "Ann Lee": 92,
    }
    assert [(a, p.minutes) for a, p in proposal.suggested] == [(morag, 88)]
    assert sorted(p.name for p in proposal.host) == ["Priya Shah", "Tomas Berg"]
    assert proposal.not_booked == [] and proposal.absent == [pat]


def test_time_in_the_waiting_room_does_not_count():
    report = parse_report(sample("participants_81234567891.csv"))
    people = by_email(report)
    assert people["iain.fraser@glen.example.org"].minutes == 118  # not 10 + 118
    assert people["iain.fraser@glen.example.org"].joins == 1
    assert people["catriona.munro@glen.example.org"].minutes == 87
    never_admitted = next(p for p in report.participants if p.name == "Ewan Grant")
    assert never_admitted.minutes == 0 and never_admitted.joins == 0
    assert report.waiting_room_rows == 3 and report.rows_read == 3
    assert "3 rows in the waiting room were not counted." in report.notes
    assert report.host_email == "priya.shah@superhub.example.org"


def test_one_person_on_two_devices_is_counted_once():
    report = parse_report(sample("two_devices.csv"))
    people = by_email(report)
    assert people["iain.fraser@glen.example.org"].minutes == 90  # not 180
    assert people["iain.fraser@glen.example.org"].merged_joins == 1
    # 09:00-09:50 and 09:40-10:30 overlap (90 minutes), 10:35-10:40 is a separate join.
    assert people["catriona.munro@glen.example.org"].minutes == 95
    # A phone without an email, same name: the same person, inside the laptop's time.
    morag = people["morag.macleod@glen.example.org"]
    assert morag.minutes == 85 and len(report.participants) == 4
    # Back to back is not at the same time: 45 + 45.
    assert people["ewan.grant@glen.example.org"].minutes == 90
    assert people["ewan.grant@glen.example.org"].merged_joins == 0
    assert any("Iain Fraser: joins at the same time" in note for note in report.notes)


def test_durations_without_times_are_added_up_and_capped_at_the_meeting_length():
    data = (
        b"Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
        b"1,T,03/14/2026 09:00 AM,03/14/2026 10:30 AM,host@hub.org,90,2\n\n"
        b"Name (Original Name),User Email,Total Duration (Minutes)\n"
        b"Jo,jo@x.org,90\nJo,jo@x.org,85\nAl,al@x.org,60\nAl,al@x.org,20\n"
    )
    report = parse_report(data)
    people = by_email(report)
    assert people["jo@x.org"].minutes == 90 and people["jo@x.org"].capped
    assert people["al@x.org"].minutes == 80 and not people["al@x.org"].capped
    assert any("counted as the meeting's 90" in note for note in report.notes)


def test_excel_unicode_text_utf16_with_tabs():
    report = parse_report(sample("unicode_text_excel.txt"))
    assert (report.encoding, report.delimiter) == ("utf-16", "\t")
    assert minutes_by_name(report) == {"Iain Fraser": 84, "Munro, Catriona": 90, "Siân Morgan": 75}
    assert "Read as UTF-16 text with columns separated by tabs." in report.notes


def test_excel_utf16_without_byte_order_mark_and_big_endian():
    text = "Name\tDuration (Minutes)\r\nSiân Morgan\t45\r\n"
    assert minutes_by_name(parse_report(text.encode("utf-16-le"))) == {"Siân Morgan": 45}
    big = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    assert minutes_by_name(parse_report(big)) == {"Siân Morgan": 45}


def test_european_excel_semicolons_dotted_dates_and_decimal_commas():
    report = parse_report(sample("semicolons_excel.csv"))
    assert report.delimiter == ";"
    assert minutes_by_name(report) == {"Iain Fraser": 84, "Munro, Catriona": 90, "Siân Morgan": 75}


def test_renamed_participants_and_titles_are_matched_by_name():
    report = parse_report(sample("renamed_and_titles.csv"))
    sarah = next(p for p in report.participants if p.original_name == "Sarah Lindqvist")
    assert sarah.minutes == 90 and sarah.joins == 2  # before and after the rename, one person
    people = [
        Attendee("Sarah Lindqvist", "sarah@fjord.example.org"),
        Attendee("Aisha Rahman", "aisha@fjord.example.org"),
        Attendee("Kofi Mensah", "kofi@fjord.example.org"),
        Attendee("Robin Ellis", "robin@fjord.example.org"),
        Attendee("Siobhan O'Briain", "siobhan@fjord.example.org"),
        Attendee("Jack Ma", "jack@fjord.example.org"),
    ]
    proposal = propose(report, people)
    assert {a.name: p.minutes for a, p in proposal.suggested} == {
        "Sarah Lindqvist": 90,
        "Aisha Rahman": 90,
        "Kofi Mensah": 88,
        "Robin Ellis": 60,
        "Jack Ma": 90,
    }
    assert [p.name for p in proposal.host] == ["Prof Hamish Doyle (Host)"]
    assert [p.name for p in proposal.not_booked] == ["Ó Briain, Siobhán"]  # not the same name


def test_a_renamed_row_uses_the_original_name_in_brackets():
    data = b"Name (Original Name),Duration (Minutes)\nSarah L (Sarah Lindqvist),60\n"
    sarah = Attendee("Sarah Lindqvist", "sarah@fjord.example.org")
    proposal = propose(parse_report(data), [sarah, Attendee("Sarah L", "other@x.org")])
    assert [(a, p.minutes) for a, p in proposal.suggested] == [(sarah, 60)]


def test_co_hosts_count_like_anyone_when_booked():
    report = parse_report(sample("cohosts_role.csv"))
    iain = Attendee("Iain Fraser", "iain.fraser@glen.example.org")
    catriona = Attendee("Catriona Munro", "catriona.munro@glen.example.org")
    ewan = Attendee("Ewan Grant", "ewan.grant@glen.example.org")
    proposal = propose(
        report, [iain, catriona, ewan], ignore_emails=["priya.shah@superhub.example.org"]
    )
    assert [(a, p.minutes, p.role) for a, p in proposal.matched] == [
        (iain, 92, "co-host"),
        (ewan, 45, ""),
    ]
    assert [(a, p.minutes) for a, p in proposal.suggested] == [(catriona, 60)]
    assert [p.name for p in proposal.host] == ["Priya Shah", "Tomas Berg"]


def test_a_host_column_marks_hosts_and_a_booked_host_still_counts():
    data = (
        b"Name,Email,Duration (Minutes),Host\n"
        b"Priya Shah,priya@hub.org,96,Yes\nIain Fraser,iain@glen.org,90,No\n"
    )
    priya = Attendee("Priya Shah", "priya@hub.org")
    proposal = propose(parse_report(data), [priya])
    assert [(a, p.role) for a, p in proposal.matched] == [(priya, "host")]
    assert [p.name for p in proposal.not_booked] == ["Iain Fraser"]


def test_an_email_match_is_not_taken_by_an_earlier_name_match():
    data = b"Name,Email,Duration (Minutes)\nIain Fraser,iain.home@x.org,30\nI F,iain@glen.org,90\n"
    iain = Attendee("Iain Fraser", "iain@glen.org")
    proposal = propose(parse_report(data), [iain])
    assert [(a, p.minutes) for a, p in proposal.matched] == [(iain, 90)]
    assert proposal.suggested == []


@pytest.mark.parametrize(
    "name,normalised",
    [
        ("Dr. Aisha Rahman MBBS FRCP", "aisha rahman"),
        ("Nurse Kofi Mensah, RGN", "kofi mensah"),
        ("Mx Robin Ellis PhD", "robin ellis"),
        ("Mrs Jo Bloggs-Smith", "jo bloggs-smith"),
        ("Prof. Ann Lee M.B.E.", "ann lee"),
        ("Siân O’Neill", "sian o'neill"),
        ("Jack Ma", "jack ma"),  # a surname that is also a post-nominal stays
        ("Paul Nurse", "paul nurse"),  # a title only counts in front
        ("Priya Shah (Co-host)", "priya shah"),
    ],
)
def test_titles_and_post_nominals_are_ignored(name, normalised):
    assert normalise_name(name) == normalised


@pytest.mark.parametrize(
    "value,message",
    [
        ("NaN", "Line 2: the duration “NaN” is not a number of minutes."),
        ("nan", "Line 2: the duration “nan” is not a number of minutes."),
        ("Infinity", "Line 2: the duration “Infinity” is not a number of minutes."),
        ("-inf", "Line 2: the duration “-inf” is not a number of minutes."),
        ("1e309", "Line 2: the duration “1e309” is not a number of minutes."),
        ("1e3", "Line 2: the duration “1e3” is not a number of minutes."),
        ("0x10", "Line 2: the duration “0x10” is not a number of minutes."),
        ("-1", "Line 2: the duration is negative."),
        ("-0.5", "Line 2: the duration is negative."),
        ("1441", "Line 2: a duration of 1441 minutes is not possible in one meeting."),
        ("9" * 400, "Line 2: a duration of more than a day is not possible in one meeting."),
        ("--", "Line 2: no duration and no join and leave times."),
    ],
)
def test_impossible_durations_are_refused_with_the_line(value, message):
    with pytest.raises(ReportError) as refused:
        parse_report(f"Name,Duration (Minutes)\nJo,{value}\n".encode())
    assert str(refused.value) == message


def test_times_more_than_a_day_apart_or_half_missing_are_refused():
    long = b"Name,Join Time,Leave Time\nJo,2026-03-14 09:00,2026-03-15 09:01\n"
    with pytest.raises(ReportError, match="Line 2: from join to leave is more than a day"):
        parse_report(long)
    half = b"Name,Join Time,Leave Time\nJo,2026-03-14 09:00,--\n"
    with pytest.raises(ReportError, match="Line 2: the leave time is missing"):
        parse_report(half)


def test_line_numbers_count_lines_of_the_file_not_rows():
    data = b'Name,Duration (Minutes)\n"Jo\nBloggs",5\nAl,NaN\n'
    with pytest.raises(ReportError, match="^Line 4: "):
        parse_report(data)


def test_day_first_dates_are_read_day_first_for_the_whole_file():
    data = (
        b"Name,Join Time,Leave Time\n"
        b"Jo,13/03/2026 09:00,13/03/2026 10:00\n"
        b"Jo,03/04/2026 09:00,03/04/2026 09:30\n"  # 3 April, like the line above
    )
    assert minutes_by_name(parse_report(data)) == {"Jo": 90}


HOW_TO = "Upload the CSV file Zoom exports: in the Zoom web portal open Reports"


@pytest.mark.parametrize(
    "name,message",
    [
        ("empty.csv", "The file is empty."),
        ("not_a_report.csv", "Columns found: Budget line, Q1, Q2, Q3, Q4. Expected: Name"),
        ("participants.xlsx", "This is not a CSV file (it is an Excel workbook (.xlsx)"),
        ("screenshot.png", "This is not a CSV file (it is a PNG image)."),
        ("only_header.csv", "no participants in it"),
    ],
)
def test_files_that_are_not_a_report_say_what_was_expected(name, message):
    with pytest.raises(ReportError) as refused:
        parse_report(sample(name))
    assert message in str(refused.value)
    if name != "only_header.csv":
        assert HOW_TO in str(refused.value)


@pytest.mark.parametrize(
    "data,message",
    [
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "Excel 97"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"<!DOCTYPE html><html><body>Zoom</body></html>", "a web page"),
        (b"\x00\x01\x02\x03" * 20, "binary data"),
        (b"\x81\x8d\x8f\x90\x9d" * 4, "not readable text"),
    ],
)
def test_other_files_uploaded_by_mistake(data, message):
    with pytest.raises(ReportError) as refused:
        parse_report(data)
    assert message in str(refused.value) and HOW_TO in str(refused.value)


def test_a_refused_semicolon_file_says_which_separators_were_tried():
    with pytest.raises(ReportError) as refused:
        parse_report(b"Kostenstelle;Betrag\nReise;1200\n")
    message = str(refused.value)
    assert "separated by semicolons" in message and "Columns found: Kostenstelle, Betrag" in message
