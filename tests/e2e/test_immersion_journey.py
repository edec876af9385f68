"""The Immersion journey in Chromium: a cohort, bookings, attendance from Zoom and by hand.

Two organisations in training are set up through the services: Heather Glen Hospice with
both partnership agreements verified (rows made directly) and a team holding every required
role (one clinician is both facilitator and specialist), and Tidewater Hospice, whose
agreements are not verified. In the browser a trainer creates a cohort with three sessions;
Heather Glen's hub lead books three members; Tidewater's lead is refused with the reason.
The trainer imports a generated Zoom participants report for session 1 (one person left and
rejoined, a stranger, the host) and confirms the preview, marks sessions 2 and 3 by hand,
and corrects one record (refused without a reason, saved with one). The lead sees the
attendance on the Immersion tab, and the readiness panel turns "Immersion attendance" green
once every required role has someone over the threshold. Every page shown is checked with
axe-core.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.core import clock
from tests.e2e.helpers import error_summary as problem
from tests.e2e.helpers import flash, nav_link, org_tab, requirement
from tests.e2e.test_journeys import log_in, open_login
from tests.factories.organisations import join_team
from tests.factories.readiness import verify_agreements

pytestmark = pytest.mark.e2e

COHORT = "Immersion: Highlands and Islands spring"
# Next spring, so every date is in the future and on British Summer Time.
YEAR = clock.today().year + 1
DEADLINE = f"{YEAR}-04-30T17:00"
SESSIONS = [
    ("Session 1: the ECHO model", f"{YEAR}-05-10T10:00", "10 May"),
    ("Session 2: case-based learning", f"{YEAR}-05-17T10:00", "17 May"),
    ("Session 3: running a network", f"{YEAR}-05-24T10:00", "24 May"),
]
DURATION = 90  # minutes; a session counts from 68 (75%, rounded up)
CORRECTION = "Dr Grant's video dropped but she stayed on the phone line for the whole session."
AGREEMENTS_REASON = (
    "Immersion can be booked once both partnership agreements (the IP Terms of Use "
    "Agreement and the Statement of Collaboration) are verified"
)


# --- set-up through the services ----------------------------------------------------------


def organisation_in_training(live_app, lead, team, name: str, *, verified: bool) -> int:
    """An organisation in training led by `lead`, with `team` as [(account, roles)]."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.immersion.services import agreements_verified
    from app.organisations import services

    with live_app.test_request_context():
        lead_user = get_user_by_email(lead[0])
        org = services.create_organisation(
            lead_user,
            services.OrganisationDetails(name=name, org_type="hospice", nation="scotland"),
        )
        for account, roles in team:
            join_team(org, lead_user, get_user_by_email(account[0]), roles)
        org.stage = "in_training"
        db.session.flush()
        if verified:
            verify_agreements(org, lead_user)
        db.session.flush()
        assert agreements_verified(org) is verified
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return org_id


def write_zoom_report(path: Path, people: dict[str, tuple[str, str]], host) -> Path:
    """A Zoom participants report (one row per join) for session 1.

    `people` maps a key to (name, email). The hub lead leaves after 50 minutes and rejoins
    for 35 more (85 in all); a stranger and the host (the trainer) are in it too.
    """
    day = f"05/10/{YEAR}"
    rows = [
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest",
        f"{host[1]} (Host),{host[0]},{day} 09:55:02 AM,{day} 11:32:40 AM,98,No",
        f"{people['lead'][0]},{people['lead'][1]},{day} 10:00:12 AM,{day} 10:50:12 AM,50,No",
        f"{people['coordinator'][0]},{people['coordinator'][1]},"
        f"{day} 10:01:30 AM,{day} 11:29:30 AM,88,No",
        f"{people['clinician'][0]},{people['clinician'][1]},"
        f"{day} 09:59:45 AM,{day} 11:30:05 AM,90,No",
        f"Sam Visitor,sam.visitor@example.net,{day} 10:05:00 AM,{day} 10:35:00 AM,30,Yes",
        f"{people['lead'][0]},{people['lead'][1]},{day} 10:55:00 AM,{day} 11:30:00 AM,35,No",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def sessions_take_place(live_app, title: str) -> None:
    """Time passes: the cohort's sessions move into the past (a week apart, the last one
    yesterday), as the journey cannot wait for May. Attendance is refused before a session
    has started."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.extensions import db
    from app.immersion.models import ImmersionCohort

    with live_app.app_context():
        cohort = db.session.scalar(select(ImmersionCohort).where(ImmersionCohort.title == title))
        last = clock.now() - timedelta(days=1)
        for n, session in enumerate(reversed(cohort.sessions)):
            session.starts_at = last - timedelta(weeks=n, minutes=DURATION)
        db.session.commit()
        db.session.remove()


# --- page helpers ------------------------------------------------------------------------


def booking_card(page: Page):
    return page.get_by_role("region", name=f"Booking on {COHORT}")


def open_session_attendance(page: Page, title: str, assert_accessible) -> None:
    """From a session's attendance page, back to the cohort and on to another session."""
    page.get_by_role("link", name=f"← {COHORT}").click()
    expect(page.get_by_role("heading", level=1, name=COHORT)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=f"Attendance for {title}").click()
    expect(page.get_by_role("heading", level=1, name=f"Attendance: {title}")).to_be_visible()
    assert_accessible(page)


def mark(page: Page, name: str, status: str, minutes: str = "", reason: str = "") -> None:
    page.get_by_label(f"Attendance of {name}").select_option(label=status)
    if minutes:
        page.get_by_label(f"Minutes attended by {name}").fill(minutes)
    if reason:
        page.get_by_label(f"Reason for changing {name}'s record").fill(reason)


def log_in_fresh(browser, base_url, account, assert_accessible) -> Page:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    open_login(page, assert_accessible)
    log_in(page, account[0], account[2], assert_accessible)
    return page


# --- the journey ---------------------------------------------------------------------------


def test_cohort_bookings_and_attendance_turn_immersion_green(
    page: Page, browser, live_app, create_account, assert_accessible, base_url, tmp_path, emails_to
):
    trainer = create_account(roles=("trainer",), name="Priya Sandhu")
    lead = create_account(name="Dr Fiona Baird")
    coordinator = create_account(name="Callum Reid")
    clinician = create_account(name="Dr Isla Grant")  # facilitator and specialist
    it_support = create_account(name="Ross Munro")
    org_a = "Heather Glen Hospice"
    org_a_id = organisation_in_training(
        live_app,
        lead,
        [
            (coordinator, ["coordinator"]),
            (clinician, ["facilitator", "specialist"]),
            (it_support, ["it_support"]),
        ],
        org_a,
        verified=True,
    )
    lead_b = create_account(name="Megan Hughes")
    coordinator_b = create_account(name="Owen Price")
    org_b = "Tidewater Hospice"
    org_b_id = organisation_in_training(
        live_app, lead_b, [(coordinator_b, ["coordinator"])], org_b, verified=False
    )

    # --- the trainer creates the cohort and its three sessions ---------------------------
    open_login(page, assert_accessible)
    log_in(page, trainer[0], trainer[2], assert_accessible)
    nav_link(page, "Immersion", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Immersion cohorts")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="New cohort").click()
    expect(page.get_by_role("heading", level=1, name="New Immersion cohort")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Title").fill(COHORT)
    page.get_by_label("Description").fill("Partner launch training for new hub teams.")
    page.get_by_label("Capacity (organisations)").fill("6")
    page.get_by_label("Booking deadline").fill(DEADLINE)
    expect(page.get_by_label("Attendance needed (% of sessions)")).to_have_value("80")
    page.get_by_role("button", name="Create cohort").click()
    expect(flash(page, f"Cohort “{COHORT}” created. Now add its sessions.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=COHORT)).to_be_visible()
    expect(page.get_by_text("No sessions yet.")).to_be_visible()
    assert_accessible(page)

    for title, starts, _day in SESSIONS:
        page.get_by_text("Add a session").click()
        page.get_by_label("Session title").fill(title)
        page.get_by_label("Starts at").fill(starts)
        page.get_by_label("Duration (minutes)").fill(str(DURATION))
        page.get_by_label("Join link (https://…)").fill("https://zoom.example.org/j/9876543210")
        page.get_by_label("Facilitators").fill("Priya Sandhu, Dr Tom Ellis")
        page.get_by_role("button", name="Add session").click()
        expect(flash(page, "Session added.")).to_be_visible()
        assert_accessible(page)
    sessions = page.get_by_role("list").filter(has_text=SESSIONS[0][0])
    for title, _starts, day in SESSIONS:
        # Typed in UK time, stored in UTC, shown in UK time again (summer time in May).
        expect(sessions.get_by_role("listitem").filter(has_text=title)).to_contain_text(
            f"{day} {YEAR}, 10:00 BST, {DURATION} minutes"
        )
    assert_accessible(page)

    # --- lead A books three members; lead B is refused with the reason ------------------
    lead_page = log_in_fresh(browser, base_url, lead, assert_accessible)
    lead_page.goto(f"/organisations/{org_a_id}")
    expect(lead_page.get_by_role("heading", level=1, name=org_a)).to_be_visible()
    assert_accessible(lead_page)
    org_tab(lead_page, org_a, "Immersion").click()
    expect(lead_page.get_by_role("heading", level=2, name="Immersion")).to_be_visible()
    expect(lead_page.get_by_text("No bookings yet.")).to_be_visible()
    assert_accessible(lead_page)
    offer = lead_page.get_by_role("region", name=re.compile(re.escape(COHORT)))
    who = offer.get_by_role("group", name="Who will attend")
    who.get_by_label("Dr Fiona Baird — Hub lead").check()
    who.get_by_label("Callum Reid — Coordinator").check()
    who.get_by_label("Dr Isla Grant — Facilitator, Specialist").check()
    expect(who.get_by_label("Ross Munro — IT support")).not_to_be_checked()
    offer.get_by_role("button", name=f"Book {COHORT}").click()
    expect(flash(lead_page, f"Booked on “{COHORT}”: place confirmed.")).to_be_visible()
    card = booking_card(lead_page)
    expect(card.get_by_role("heading", name=f"{COHORT} — place confirmed")).to_be_visible()
    attendees = card.get_by_role("listitem")
    expect(attendees).to_have_count(3)
    for name in ("Dr Fiona Baird", "Callum Reid", "Dr Isla Grant"):
        expect(attendees.filter(has_text=name)).to_contain_text("0 of 3 sessions (0%)")
    expect(attendees.filter(has_text="Ross Munro")).to_have_count(0)
    assert_accessible(lead_page)
    # The confirmation carries a calendar file with every session.
    confirmation = [m for m in emails_to(coordinator[0]) if COHORT in m.subject]
    assert len(confirmation) == 1
    (ics,) = [a for a in confirmation[0].attachments if a[0] == "immersion.ics"]
    calendar = ics[1].decode() if isinstance(ics[1], bytes) else ics[1]
    assert calendar.count("BEGIN:VEVENT") == 3

    page_b = log_in_fresh(browser, base_url, lead_b, assert_accessible)
    page_b.goto(f"/organisations/{org_b_id}")
    expect(page_b.get_by_role("heading", level=1, name=org_b)).to_be_visible()
    assert_accessible(page_b)
    org_tab(page_b, org_b, "Immersion").click()
    expect(
        page_b.get_by_role("status").filter(
            has_text="Booking opens once both partnership agreements are verified"
        )
    ).to_be_visible()
    assert_accessible(page_b)
    offer_b = page_b.get_by_role("region", name=re.compile(re.escape(COHORT)))
    offer_b.get_by_role("group", name="Who will attend").get_by_label(
        "Owen Price — Coordinator"
    ).check()
    offer_b.get_by_role("button", name=f"Book {COHORT}").click()
    expect(problem(page_b)).to_contain_text(AGREEMENTS_REASON)
    expect(problem(page_b)).to_contain_text("Upload them on the Readiness tab.")
    expect(page_b.get_by_text("No bookings yet.")).to_be_visible()
    assert_accessible(page_b)
    page_b.context.close()

    # --- session 1: the Zoom participants report, previewed then confirmed --------------
    sessions_take_place(live_app, COHORT)
    page.reload()
    expect(page.get_by_role("listitem").filter(has_text=org_a)).to_contain_text(
        "confirmed, 3 attending"
    )
    assert_accessible(page)
    page.get_by_role("link", name=f"Attendance for {SESSIONS[0][0]}").click()
    expect(
        page.get_by_role("heading", level=1, name=f"Attendance: {SESSIONS[0][0]}")
    ).to_be_visible()
    expect(page.get_by_text("counts from 68 minutes")).to_be_visible()
    assert_accessible(page)
    report = write_zoom_report(
        tmp_path / "participants_98765432100.csv",
        {
            "lead": (lead[1], lead[0]),
            "coordinator": (coordinator[1], coordinator[0]),
            "clinician": (clinician[1], clinician[0]),
        },
        host=(trainer[0], trainer[1]),
    )
    page.get_by_label("Zoom participants report (CSV)").set_input_files(report)
    page.get_by_role("button", name="Upload and preview").click()
    preview = page.get_by_role("region", name="Zoom report preview")
    expect(preview).to_contain_text("6 rows read (one row per join)")
    expect(preview).to_contain_text("Nothing is saved until you confirm.")
    rows = preview.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three matched attendees
    expect(rows.filter(has_text=lead[1])).to_contain_text("By email (2 joins added up)")
    expect(preview.get_by_label(f"Minutes for {lead[1]}")).to_have_value("85")
    expect(preview.get_by_label(f"Minutes for {coordinator[1]}")).to_have_value("88")
    expect(preview.get_by_label(f"Minutes for {clinician[1]}")).to_have_value("90")
    for name in (lead[1], coordinator[1], clinician[1]):
        expect(preview.get_by_label(f"Save {name}")).to_be_checked()
    expect(preview).to_contain_text("In the report but not booked (ignored): Sam Visitor")
    expect(preview).to_contain_text(f"Host rows ignored: {trainer[1]} (Host)")
    assert_accessible(page)
    preview.get_by_role("button", name="Confirm and save the ticked rows").click()
    expect(flash(page, "Attendance from the Zoom report saved for 3 people.")).to_be_visible()
    expect(page.get_by_role("region", name="Zoom report preview")).to_have_count(0)
    expect(page.get_by_label(f"Attendance of {lead[1]}")).to_have_value("present")
    expect(page.get_by_label(f"Minutes attended by {lead[1]}")).to_have_value("85")
    assert_accessible(page)

    # --- sessions 2 and 3 by hand (Dr Grant first recorded as partly present) -----------
    open_session_attendance(page, SESSIONS[1][0], assert_accessible)
    mark(page, lead[1], "Present")
    mark(page, coordinator[1], "Present", "86")
    mark(page, clinician[1], "Partly present", "30")
    page.get_by_role("button", name="Save attendance").click()
    expect(flash(page, f"Attendance saved for “{SESSIONS[1][0]}”.")).to_be_visible()
    expect(page.get_by_label(f"Minutes attended by {lead[1]}")).to_have_value(str(DURATION))
    assert_accessible(page)

    open_session_attendance(page, SESSIONS[2][0], assert_accessible)
    for name in (lead[1], coordinator[1], clinician[1]):
        mark(page, name, "Present")
    page.get_by_role("button", name="Save attendance").click()
    expect(flash(page, f"Attendance saved for “{SESSIONS[2][0]}”.")).to_be_visible()
    assert_accessible(page)

    # The lead sees the attendance; two of three met the threshold, so the facilitator and
    # specialist roles (both Dr Grant's) are still missing.
    lead_page.reload()
    card = booking_card(lead_page)
    attendees = card.get_by_role("listitem")
    for name in (lead[1], coordinator[1]):
        expect(attendees.filter(has_text=name)).to_contain_text(
            "3 of 3 sessions (100%) — threshold met"
        )
    expect(attendees.filter(has_text=clinician[1])).to_contain_text("2 of 3 sessions (67%)")
    expect(attendees.filter(has_text=clinician[1])).not_to_contain_text("threshold met")
    assert_accessible(lead_page)
    org_tab(lead_page, org_a, "Readiness").click()
    immersion = requirement(lead_page, "Immersion attendance")
    expect(immersion).to_contain_text("(not met)")
    expect(immersion).to_contain_text("2 of 4 required roles have met the attendance threshold.")
    expect(immersion).to_contain_text("No facilitator has met the attendance threshold yet")
    expect(immersion).to_contain_text("No specialist has met the attendance threshold yet")
    assert_accessible(lead_page)

    # --- the trainer corrects session 2: refused without a reason, saved with one -------
    open_session_attendance(page, SESSIONS[1][0], assert_accessible)
    expect(page.get_by_label(f"Attendance of {clinician[1]}")).to_have_value("partial")
    mark(page, clinician[1], "Present", str(DURATION))
    page.get_by_role("button", name="Save attendance").click()
    expect(problem(page)).to_contain_text("Nothing was saved.")
    row = page.get_by_role("row").filter(has_text=clinician[1])
    expect(row.get_by_role("alert")).to_have_text(
        "Give a reason for changing an attendance record that already exists."
    )
    # What was typed stays in the form.
    expect(page.get_by_label(f"Attendance of {clinician[1]}")).to_have_value("present")
    expect(page.get_by_label(f"Minutes attended by {clinician[1]}")).to_have_value(str(DURATION))
    assert_accessible(page)
    mark(page, clinician[1], "Present", str(DURATION), reason=CORRECTION)
    page.get_by_role("button", name="Save attendance").click()
    expect(flash(page, f"Attendance saved for “{SESSIONS[1][0]}”.")).to_be_visible()
    expect(page.get_by_label(f"Attendance of {clinician[1]}")).to_have_value("present")
    assert_accessible(page)

    # The cohort's grid: every attendee 3 of 3, met; session 1 came from Zoom.
    page.get_by_role("link", name=f"← {COHORT}").click()
    grid = page.get_by_role("table")
    for name in (lead[1], coordinator[1], clinician[1]):
        row = grid.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text("3/3 (100%) met")
        expect(row.get_by_role("cell").first).to_contain_text("Zoom")
    assert_accessible(page)

    # --- the lead sees the attendance, and Immersion turns green -------------------------
    org_tab(lead_page, org_a, "Immersion").click()
    attendees = booking_card(lead_page).get_by_role("listitem")
    for name in (lead[1], coordinator[1], clinician[1]):
        expect(attendees.filter(has_text=name)).to_contain_text(
            "3 of 3 sessions (100%) — threshold met"
        )
    assert_accessible(lead_page)
    org_tab(lead_page, org_a, "Readiness").click()
    immersion = requirement(lead_page, "Immersion attendance")
    expect(immersion).to_contain_text("(met)")
    expect(immersion).not_to_contain_text("(not met)")
    expect(immersion).to_contain_text(
        "Every required role has someone who met the attendance threshold."
    )
    expect(immersion).to_contain_text("(4/4)")
    expect(requirement(lead_page, "Partnership agreements verified")).to_contain_text("(met)")
    assert_accessible(lead_page)
    lead_page.context.close()

    # The change is kept with its reason; Tidewater has no booking.
    with live_app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.immersion.models import (
            AttendanceChange,
            AttendanceRecord,
            Booking,
            ImmersionCohort,
        )

        changes = db.session.scalars(select(AttendanceChange)).all()
        mine = [c for c in changes if c.reason == CORRECTION]
        assert [(c.old_status, c.old_minutes, c.new_status, c.new_minutes) for c in mine] == [
            ("partial", 30, "present", DURATION)
        ]
        cohort = db.session.scalars(
            select(ImmersionCohort).where(ImmersionCohort.title == COHORT)
        ).one()
        by_session = [
            sorted(
                (r.source, r.status, r.minutes)
                for r in db.session.scalars(
                    select(AttendanceRecord).where(AttendanceRecord.session_id == s.id)
                )
            )
            for s in cohort.sessions
        ]
        assert by_session == [
            [("zoom", "present", 85), ("zoom", "present", 88), ("zoom", "present", 90)],
            [("hand", "present", 86), ("hand", "present", 90), ("hand", "present", 90)],
            [("hand", "present", 90)] * 3,
        ]
        assert (
            db.session.scalar(
                select(func.count()).select_from(Booking).where(Booking.organisation_id == org_b_id)
            )
            == 0
        )
        db.session.remove()
