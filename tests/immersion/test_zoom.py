"""The Zoom participants-report parser: every layout Zoom produces, and every refusal."""

from __future__ import annotations

from dataclasses import dataclass

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
