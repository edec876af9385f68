"""Immersion demo data: a completed cohort, a cohort in progress and an open one.

Glen Affric Hospice (in training, both partnership agreements verified) is the team on the
cohorts. Its required role-holders meet the attendance threshold in the completed cohort,
so its readiness panel shows Immersion met; the rest of its team is half-way through the
cohort in progress. The open cohort has no bookings yet: log in as Glen Affric's hub lead
to book it, or as Mourne Coast's (one agreement rejected) to see booking refused.

Everything goes through `app.immersion.services` (audit events, booking emails with their
calendar files, evaluation requests): the attendance of the completed cohort's first two
sessions comes from generated Zoom participants reports read by `app.immersion.zoom`, the
rest is marked by hand, with one record corrected with a reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.auth.models import User
from app.core import clock
from app.core.db import utcnow
from app.core.programme import programme
from app.demo.files import one_page_pdf
from app.demo.people import DEMO_DOMAIN, demo_email, person
from app.extensions import db
from app.immersion import services, zoom
from app.immersion.models import ImmersionCohort, ImmersionSession
from app.organisations.models import Organisation, Stage
from app.readiness.models import ReviewStatus

ORGANISATION = "Glen Affric Hospice"
# Who is who (demo account names, as in app.demo.services): Glen Affric's hub lead,
# coordinator, facilitator, specialist, IT support and evaluation lead, and the demo
# trainee Jo Williams, a second specialist.
TEAM = {
    "morag": "Dr Morag MacLeod",
    "iain": "Iain Fraser",
    "catriona": "Catriona Munro",
    "ewan": "Dr Ewan Grant",
    "hamish": "Hamish Ross",
    "eilidh": "Dr Eilidh Campbell",
}

DURATION = 90  # minutes; a session counts from 68 (75%, rounded up)
JOIN_URL = "https://zoom.example/j/8123456{:04d}"
FACILITATORS = "Priya Shah, Tom Evans"
SESSION_TITLES = (
    "The ECHO model and your hub team",
    "Case-based learning in practice",
    "Facilitating a teleECHO session",
    "Designing your curriculum and short teaching talks",
    "Launching your network: spokes, data and evaluation",
)


def _at(day: date, hour: int = 10) -> datetime:
    """`hour`:00 UK time on `day` (GMT or BST), as aware UTC."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.combine(day, time(hour, 0), tzinfo=zone).astimezone(UTC)


def _weekly(first: date, count: int) -> list[datetime]:
    return [_at(first + timedelta(weeks=n)) for n in range(count)]


# --- agreements (normally verified by the readiness seeder) ------------------------------


def _pdf(text: str) -> bytes:
    return one_page_pdf(text, font_size=14)


def _ensure_agreements_verified(org: Organisation, lead: User, trainer: User, log) -> None:
    """Booking needs both agreements verified. The readiness seeder verifies Glen Affric's;
    if it has not (say, readiness data was removed), the lead uploads them and a trainer
    verifies them here, through the readiness services like every other demo change."""
    from werkzeug.datastructures import FileStorage

    from app.readiness import services as readiness
    from app.readiness.models import AGREEMENT_KINDS

    for kind, label in AGREEMENT_KINDS.items():
        current = readiness.current_agreements(org)[kind]
        if current is not None and current.status == ReviewStatus.ACCEPTED:
            continue
        upload = FileStorage(
            stream=io.BytesIO(_pdf(f"{org.name}: {label} (signed)")),
            filename=f"{kind.replace('_', '-')}-signed.pdf",
            content_type="application/pdf",
        )
        agreement = readiness.upload_agreement(
            org,
            by=lead,
            kind=kind,
            upload=upload,
            signatory_name="Alasdair Mackay",
            signatory_role="Chief Executive",
            signed_on=clock.today() - timedelta(days=60),
            based_on=current.id if current is not None else None,
        )
        readiness.review_agreement(org, by=trainer, agreement_id=agreement.id, decision="accept")
        log(f"verified {org.name}'s {label} for the Immersion demo")


# --- cohorts, bookings, attendance -------------------------------------------------------


def _cohort(
    trainer: User,
    title: str,
    description: str,
    starts: list[datetime],
    *,
    capacity: int = 6,
    deadline: datetime | None = None,
    **rules,
) -> ImmersionCohort:
    """A cohort open for booking (the deadline ahead unless given) with weekly sessions."""
    from app.training.services import curriculum

    cohort = services.create_cohort(
        by=trainer,
        title=title,
        description=description,
        capacity=capacity,
        booking_deadline=deadline or utcnow() + timedelta(days=1),
        **rules,
    )
    prework = [slug for slug in ("echo-model", "hub-team") if curriculum().get(slug)]
    for n, (session_title, starts_at) in enumerate(zip(SESSION_TITLES, starts, strict=False)):
        # Past sessions are recorded as having taken place, at their real times (and their
        # audit events say so); only the booking deadline is moved later.
        services.add_session(
            cohort,
            by=trainer,
            title=f"{n + 1}. {session_title}",
            starts_at=starts_at,
            duration_minutes=DURATION,
            join_url=JOIN_URL.format(cohort.id * 10 + n),
            facilitators=FACILITATORS,
            prework_modules=prework[n : n + 1] if n < 2 else [],
            already_took_place=starts_at < utcnow(),
        )
    db.session.refresh(cohort)
    return cohort


def _book_in_the_past(org, cohort, lead: User, attendees: list[User], deadline: datetime):
    """Book while the deadline is still ahead, then move the deadline (and the booking's
    own timestamps) into the past directly on the model objects: `book` rightly refuses a
    cohort past its deadline, and this cohort's booking closed weeks ago. The audit events
    keep the real time the seeder ran."""
    booking = services.book(org, cohort, by=lead, attendee_ids=[u.id for u in attendees])
    cohort.booking_deadline = deadline
    booking.queued_at = booking.confirmed_at = deadline - timedelta(days=12)
    db.session.flush()
    return booking


def _zoom_report(session: ImmersionSession, trainer: User, rows: list[tuple], *, unique=False):
    """A participants report as Zoom exports it (CSV with a byte-order mark).

    Rows: (name, email, [(join, leave), ...]) in minutes after the start, one pair per
    join. `unique` gives the "show unique users" layout (one total per person) with the
    meeting-details block above the table; otherwise one row per join, with times.
    """
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    start = session.starts_at.astimezone(zone).replace(tzinfo=None)

    def stamp(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).strftime("%m/%d/%Y %I:%M:%S %p")

    people = [(f"{trainer.name} (Host)", trainer.email, [(-5, DURATION + 3)]), *rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if unique:
        writer.writerow(
            ["Meeting ID", "Topic", "Start Time", "End Time", "User Email", "Duration (Minutes)",
             "Participants"]
        )  # fmt: skip
        writer.writerow(
            [f"812 3456 {session.id:04d}", session.title, stamp(-5), stamp(DURATION + 3),
             trainer.email, DURATION + 8, len(people)]
        )  # fmt: skip
        writer.writerow([])
        writer.writerow(["Name (Original Name)", "User Email", "Total Duration (Minutes)", "Guest"])
        for name, email, joins in people:
            total = sum(leave - join for join, leave in joins)
            writer.writerow([name, email, total, "No" if email else "Yes"])
    else:
        writer.writerow(
            ["Name (Original Name)", "User Email", "Join Time", "Leave Time",
             "Duration (Minutes)", "Guest"]
        )  # fmt: skip
        for name, email, joins in people:
            for join, leave in joins:
                writer.writerow(
                    [name, email, stamp(join), stamp(leave), leave - join,
                     "No" if email else "Yes"]
                )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _import_zoom(session: ImmersionSession, trainer: User, report: bytes) -> int:
    """Read the report, match it to the booked attendees and save what the trainer would
    confirm in the preview: email matches, and the name-only suggestions (checked here)."""
    parsed = zoom.parse_report(report)
    people = [a.user for a in services.booked_attendees(session.cohort)]
    proposal = zoom.propose(parsed, people, ignore_emails=[trainer.email])
    rows = [
        services.AttendanceRow(
            user.id,
            services.status_for_minutes(session, participant.minutes),
            participant.minutes,
            "Imported from the Zoom participants report",
        )
        for user, participant in (*proposal.matched, *proposal.suggested)
    ]
    services.record_session_attendance(session, by=trainer, rows=rows, source="zoom")
    return len(rows)


def _mark(session, trainer, marks: dict[User, tuple[str, int | None]]) -> None:
    rows = [services.AttendanceRow(u.id, status, minutes) for u, (status, minutes) in marks.items()]
    services.record_session_attendance(session, by=trainer, rows=rows, source="hand")


def _backdate_records(session: ImmersionSession) -> None:
    """Date the session's attendance records to the day after it, when a trainer would
    have recorded them (their audit events keep the time the seeder ran)."""
    from app.immersion.models import AttendanceRecord

    for record in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
    ):
        record.recorded_at = session.ends_at + timedelta(days=1)


# Evaluation answers (1 strongly disagree … 5 strongly agree), cycled over the statements;
# Catriona Munro and Jo Williams have not answered yet (their home pages ask them to).
EVALUATIONS = (
    (
        "morag",
        (5, 5, 4, 5),
        "Hearing how other hubs run their sessions was the most useful part. "
        "More time on data collection would help.",
    ),
    ("iain", (4, 5, 5, 4), ""),
    (
        "ewan",
        (4, 4, 3, 4),
        "The case presentations were excellent. Session 4 clashed with a clinic, so the "
        "recordings were a lifeline.",
    ),
)


def seed_immersion(log: Callable[[str], None]) -> None:
    """Three cohorts with Glen Affric Hospice's team; nothing if any cohort exists."""
    from app.core.mail import mail_kept_in_memory

    if db.session.scalar(select(ImmersionCohort.id).limit(1)) is not None:
        return
    org = db.session.scalar(select(Organisation).where(Organisation.name == ORGANISATION))
    if org is None or org.stage != Stage.IN_TRAINING:
        log(f"Immersion demo skipped: {ORGANISATION} is not in training")
        return
    trainer = person(f"trainer@{DEMO_DOMAIN}")
    p = {key: person(demo_email(name)) for key, name in TEAM.items()}
    p["jo"] = person(f"trainee@{DEMO_DOMAIN}")
    today = clock.today()
    settings = programme()
    rules = {
        "session_minimum_percent": settings.session_minimum_percent,
        "attendance_threshold_percent": settings.attendance_threshold_percent,
    }

    # Services build emailed links with url_for(_external=True): they need a request.
    # Their emails (bookings, evaluation requests) are kept in memory, never sent.
    with (
        current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]),
        mail_kept_in_memory(),
    ):
        _ensure_agreements_verified(org, p["morag"], trainer, log)

        # 1. Completed: five weekly sessions, the last three weeks ago.
        completed = _cohort(
            trainer,
            "ECHO Immersion cohort 14",
            "Five weekly sessions on Zoom for new hub teams: the ECHO model, case-based "
            "learning, facilitation, curriculum design and launching the network.",
            _weekly(today - timedelta(weeks=7), 5),
            **rules,
        )
        s = completed.sessions
        attendees = [p["morag"], p["iain"], p["catriona"], p["ewan"], p["jo"]]
        _book_in_the_past(
            org, completed, p["morag"], attendees, s[0].starts_at - timedelta(days=14)
        )
        services.set_cohort_status(completed, by=trainer, status="closed")

        # Session 1 from a report with one row per join: Dr MacLeod left and rejoined
        # (two rows added up); Dr Grant joined as a guest with no email (matched by name,
        # confirmed); a spoke visitor and the host are set aside; Jo Williams left early.
        report = [
            ("Morag MacLeod", p["morag"].email, [(0, 48), (52, 90)]),
            ("Iain Fraser", p["iain"].email, [(-2, 90)]),
            ("Catriona Munro", p["catriona"].email, [(2, 89)]),
            ("Ewan Grant", "", [(5, 85)]),
            ("Jo Williams", p["jo"].email, [(10, 60)]),
            ("Kyle of Lochalsh Surgery", "", [(15, 45)]),
        ]
        _import_zoom(s[0], trainer, _zoom_report(s[0], trainer, report))
        # Session 2 from a "show unique users" report with the meeting details on top;
        # Catriona Munro missed it (not in the report), so she is marked absent by hand.
        report = [
            ("Morag MacLeod", p["morag"].email, [(0, 90)]),
            ("Iain Fraser", p["iain"].email, [(0, 88)]),
            ("Dr Ewan Grant", p["ewan"].email, [(3, 90)]),
            ("Jo Williams", p["jo"].email, [(0, 80)]),
        ]
        _import_zoom(s[1], trainer, _zoom_report(s[1], trainer, report, unique=True))
        _mark(s[1], trainer, {p["catriona"]: ("absent", 0)})
        # Sessions 3 to 5 by hand.
        _mark(
            s[2],
            trainer,
            {
                p["morag"]: ("present", None),
                p["iain"]: ("present", None),
                p["catriona"]: ("absent", 0),
                p["ewan"]: ("present", 84),
                p["jo"]: ("absent", 0),
            },
        )
        # A correction: kept in the record's history with its reason.
        services.record_attendance(
            s[2],
            by=trainer,
            user_id=p["catriona"].id,
            status="present",
            minutes=DURATION,
            reason="Catriona joined by phone from a home visit; the host's notes confirm "
            "she was there throughout.",
        )
        _mark(
            s[3],
            trainer,
            {
                p["morag"]: ("present", None),
                p["iain"]: ("present", None),
                p["catriona"]: ("present", None),
                p["ewan"]: ("partial", 40),
                p["jo"]: ("present", None),
            },
        )
        _mark(s[4], trainer, {person: ("present", None) for person in attendees})
        for n, session in enumerate(s, start=1):
            _backdate_records(session)
            services.set_recording(
                session, by=trainer, url=f"https://superhub.example/recordings/c14-s{n}"
            )
        services.add_resource(
            s[0],
            by=trainer,
            title="Slides: the ECHO model",
            url="https://superhub.example/immersion/c14/echo-model-slides",
        )
        services.add_resource(
            s[1],
            by=trainer,
            title="Case presentation template",
            url="https://superhub.example/immersion/case-presentation-template",
        )
        services.set_cohort_status(completed, by=trainer, status="completed")
        statements = settings.evaluation_statements
        for key, scores, comments in EVALUATIONS:
            services.submit_evaluation(
                completed,
                by=p[key],
                ratings={k: scores[i % len(scores)] for i, (k, _text) in enumerate(statements)},
                comments=comments,
            )
        db.session.flush()
        log(
            f"created Immersion cohort {completed.title} (completed: attendance recorded, "
            f"{len(EVALUATIONS)} evaluations returned)"
        )

        # 2. In progress: two sessions held, two to come; the rest of the team attends.
        # None falls on today, so "two held" is true at any hour the demo is seeded.
        running = _cohort(
            trainer,
            "ECHO Immersion cohort 15",
            "Four weekly sessions for hub teams, and for members joining established teams.",
            _weekly(today - timedelta(days=10), 4),
            **rules,
        )
        s = running.sessions
        _book_in_the_past(
            org,
            running,
            p["morag"],
            [p["hamish"], p["eilidh"], p["jo"]],
            s[0].starts_at - timedelta(days=10),
        )
        services.set_cohort_status(running, by=trainer, status="closed")
        _mark(
            s[0],
            trainer,
            {
                p["hamish"]: ("present", None),
                p["eilidh"]: ("present", None),
                p["jo"]: ("present", 86),
            },
        )
        _mark(
            s[1],
            trainer,
            {
                p["hamish"]: ("partial", 45),
                p["eilidh"]: ("present", None),
                p["jo"]: ("present", None),
            },
        )
        for session in s[:2]:
            _backdate_records(session)
        db.session.flush()
        log(f"created Immersion cohort {running.title} (in progress: 2 of 4 sessions held)")
        # Dates change: the last session moves a day later, and its attendees are sent the
        # updated calendar entry (same UID, SEQUENCE 1).
        last = running.sessions[-1]
        services.update_session(
            last,
            by=trainer,
            version=last.version,
            title=last.title,
            starts_at=last.starts_at + timedelta(days=1),
            ends_at=last.ends_at + timedelta(days=1),
            join_url=last.join_url,
            facilitators=last.facilitators,
            prework_modules=last.prework_modules,
        )
        log(f"moved {last.title} of {running.title} a day later")

        # 3. Open for booking: the deadline in five weeks, the sessions after it.
        upcoming = _cohort(
            trainer,
            "ECHO Immersion cohort 16",
            "Five weekly sessions on Zoom. Book your hub team by the deadline: places for "
            "eight organisations, then a waiting list.",
            _weekly(today + timedelta(weeks=7), 5),
            capacity=8,
            deadline=_at(today + timedelta(weeks=5), 17),
            **rules,
        )
        db.session.flush()
        log(f"created Immersion cohort {upcoming.title} (open for booking)")
        # The next quarter's cohort: a copy of cohort 16 thirteen weeks on.
        from app.core.filters import to_local

        next_quarter = services.duplicate_cohort(
            upcoming,
            by=trainer,
            title="ECHO Immersion cohort 17",
            first_session_on=to_local(upcoming.sessions[0].starts_at).date() + timedelta(weeks=13),
        )
        db.session.flush()
        log(f"created Immersion cohort {next_quarter.title} as a copy of {upcoming.title}")

        from app.readiness.services import immersion_requirement

        requirement = immersion_requirement(org)
        log(f"{org.name}: Immersion attendance {'met' if requirement.met else 'not met'}")
