"""Attendance and booking rules in Chromium (issue 17).

Set up through the services: three cohorts ("Spring", two sessions to come, one place;
"Summer", sessions to come, three places; "Winter", two sessions already held) and three
organisations in training with verified agreements. Birchwood Hospice holds Spring's one
place, Larchfield Hospice waits for it, and Rowan Hospice is booked on Winter.

In the browser a trainer finds that Spring's first session takes no attendance yet (no form,
the page says when; a crafted POST is refused too), and marks everyone present for Winter's
first session with "Mark all present", by keyboard. Birchwood's lead moves the booking to
Summer through the choose-then-confirm pages, by keyboard; Larchfield gets Spring's place
from the waiting list and everyone concerned is told. The cancel confirmation is looked at
and declined. Every page is checked with axe-core and at 375 px for sideways scrolling.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.core import clock
from tests.e2e.helpers import flash
from tests.e2e.test_immersion_journey import log_in_fresh, org_tab, organisation_in_training
from tests.e2e.test_journeys import log_in, open_login

pytestmark = pytest.mark.e2e

SPRING, SUMMER, WINTER = (
    "Immersion: Birchwood spring",
    "Immersion: Birchwood summer",
    "Immersion: Birchwood winter",
)


def make_cohorts(live_app, trainer_email: str) -> dict[str, tuple[int, list[int]]]:
    """The three cohorts, through the services: title -> (cohort id, session ids)."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.immersion import services

    now = clock.now().replace(second=0, microsecond=0)
    plan = {
        SPRING: (1, now + timedelta(days=40)),
        SUMMER: (3, now + timedelta(days=80)),
        WINTER: (4, now - timedelta(days=15)),
    }
    made = {}
    with live_app.test_request_context():
        trainer = get_user_by_email(trainer_email)
        for title, (capacity, first) in plan.items():
            cohort = services.create_cohort(
                by=trainer,
                title=title,
                description="Partner launch training.",
                capacity=capacity,
                booking_deadline=now + timedelta(days=20),
            )
            sessions = [
                services.add_session(
                    cohort,
                    by=trainer,
                    title=f"{title.split()[-1].title()} session {n + 1}",
                    starts_at=first + timedelta(weeks=n),
                    duration_minutes=90,
                    already_took_place=first < now,  # winter's sessions took place
                )
                for n in range(2)
            ]
            made[title] = (cohort.id, [s.id for s in sessions])
        db.session.commit()
        db.session.remove()
    return made


def book(live_app, org_id: int, lead_email: str, cohort_id: int) -> str:
    """Book the whole team through the service; returns the booking's status."""

    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.immersion import services
    from app.immersion.models import ImmersionCohort
    from app.organisations.models import Membership, Organisation

    with live_app.test_request_context():
        org = db.session.get(Organisation, org_id)
        members = [
            m.user_id for m in db.session.query(Membership).filter_by(organisation_id=org_id)
        ]
        booking = services.book(
            org,
            db.session.get(ImmersionCohort, cohort_id),
            by=get_user_by_email(lead_email),
            attendee_ids=members,
        )
        db.session.commit()
        status = booking.status
        db.session.remove()
    return status


def attendance_of(live_app, session_id: int) -> dict[str, tuple[str, int]]:
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.immersion.models import AttendanceRecord

    with live_app.app_context():
        rows = db.session.execute(
            select(User.name, AttendanceRecord.status, AttendanceRecord.minutes)
            .join(User, User.id == AttendanceRecord.user_id)
            .where(AttendanceRecord.session_id == session_id)
        ).all()
        db.session.remove()
    return {name: (str(status), minutes) for name, status, minutes in rows}


def narrow(page: Page, assert_accessible) -> None:
    """The page at 375 px: no sideways scrolling, still accessible; then back to 1280."""
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def press(page: Page, locator) -> None:
    """Activate a control by keyboard: focus it, then Enter."""
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press("Enter")


def test_attendance_waits_for_the_session_and_a_booking_moves_in_one_step(
    page: Page, browser, live_app, create_account, assert_accessible, base_url, emails_to
):
    trainer = create_account(roles=("trainer",), name="Nadia Okafor")
    cohorts = make_cohorts(live_app, trainer[0])
    teams = {}
    for org_name, people in (
        ("Birchwood Hospice", ("Dr Alan Birch", "Kirsty Wood")),
        ("Larchfield Hospice", ("Dr Maya Larch", "Tom Field")),
        ("Rowan Hospice", ("Dr Ruth Rowan", "Jamie Ash", "Sunita Bell")),
    ):
        lead = create_account(name=people[0])
        members = [(create_account(name=n), ["coordinator"]) for n in people[1:]]
        org_id = organisation_in_training(live_app, lead, members, org_name, verified=True)
        teams[org_name] = (org_id, lead, [m for m, _roles in members])
    birch_id, birch_lead, birch_members = teams["Birchwood Hospice"]
    larch_id, larch_lead, _ = teams["Larchfield Hospice"]
    rowan_id, rowan_lead, _ = teams["Rowan Hospice"]
    assert book(live_app, birch_id, birch_lead[0], cohorts[SPRING][0]) == "confirmed"
    assert book(live_app, larch_id, larch_lead[0], cohorts[SPRING][0]) == "waiting"
    assert book(live_app, rowan_id, rowan_lead[0], cohorts[WINTER][0]) == "confirmed"

    # --- a session still to come takes no attendance -------------------------------------
    open_login(page, assert_accessible)
    log_in(page, trainer[0], trainer[2], assert_accessible)
    page.goto(f"/immersion/cohorts/{cohorts[SPRING][0]}")
    expect(page.get_by_role("heading", level=1, name=SPRING)).to_be_visible()
    press(page, page.get_by_role("link", name="Attendance for Spring session 1"))
    expect(
        page.get_by_role("heading", level=1, name="Attendance: Spring session 1")
    ).to_be_visible()
    notice = page.get_by_role("status").filter(has_text="Not started yet")
    expect(notice).to_contain_text("Attendance can be recorded from then")
    expect(page.get_by_role("button", name="Save attendance")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark all present")).to_have_count(0)
    expect(page.get_by_label("Zoom participants report (CSV)")).to_have_count(0)
    assert_accessible(page)
    narrow(page, assert_accessible)
    # A crafted POST (with a valid CSRF token from the cohort page) is refused as well.
    page.goto(f"/immersion/cohorts/{cohorts[SPRING][0]}")
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    session_id = cohorts[SPRING][1][0]
    crafted = page.request.post(
        f"{base_url}/immersion/sessions/{session_id}/attendance",
        form={"csrf_token": token, "action": "all_present"},
    )
    assert crafted.status == 400
    assert "has not started yet: attendance can be recorded from" in crafted.text()
    assert attendance_of(live_app, session_id) == {}

    # --- a session held: mark all present, by keyboard ------------------------------------
    page.goto(f"/immersion/cohorts/{cohorts[WINTER][0]}")
    press(page, page.get_by_role("link", name="Attendance for Winter session 1"))
    expect(
        page.get_by_role("heading", level=1, name="Attendance: Winter session 1")
    ).to_be_visible()
    assert_accessible(page)
    narrow(page, assert_accessible)
    page.get_by_label("Attendance of Sunita Bell").select_option(label="Absent")
    press(page, page.get_by_role("button", name="Mark all present"))
    expect(
        flash(page, "Attendance saved for “Winter session 1”: everyone not recorded yet")
    ).to_be_visible()
    for name in ("Dr Ruth Rowan", "Jamie Ash"):
        expect(page.get_by_label(f"Attendance of {name}")).to_have_value("present")
        expect(page.get_by_label(f"Minutes attended by {name}")).to_have_value("90")
    expect(page.get_by_label("Attendance of Sunita Bell")).to_have_value("absent")
    assert_accessible(page)
    assert attendance_of(live_app, cohorts[WINTER][1][0]) == {
        "Dr Ruth Rowan": ("present", 90),
        "Jamie Ash": ("present", 90),
        "Sunita Bell": ("absent", 0),
    }

    # --- Birchwood's lead moves the booking to Summer; Larchfield gets Spring's place ----
    lead_page = log_in_fresh(browser, base_url, birch_lead, assert_accessible)
    lead_page.goto(f"/organisations/{birch_id}")
    org_tab(lead_page, "Birchwood Hospice", "Immersion").click()
    card = lead_page.get_by_role("region", name=f"Booking on {SPRING}")
    expect(card.get_by_role("heading", name=f"{SPRING} — place confirmed")).to_be_visible()
    expect(lead_page.get_by_text("holds one booking at a time")).to_be_visible()
    expect(lead_page.get_by_role("button", name=f"Book {SUMMER}")).to_have_count(0)
    assert_accessible(lead_page)
    narrow(lead_page, assert_accessible)

    # The cancel confirmation, looked at and declined: nothing changes.
    press(lead_page, card.get_by_role("link", name=f"Cancel the booking on {SPRING}"))
    expect(
        lead_page.get_by_role("heading", name=f"Cancel the booking on {SPRING}?")
    ).to_be_visible()
    expect(lead_page.get_by_text("the place goes to the first organisation")).to_be_visible()
    assert_accessible(lead_page)
    narrow(lead_page, assert_accessible)
    press(lead_page, lead_page.get_by_role("link", name="No, keep it"))
    expect(card.get_by_role("heading", name=f"{SPRING} — place confirmed")).to_be_visible()

    press(lead_page, card.get_by_role("link", name=f"Move to another cohort (from {SPRING})"))
    expect(lead_page.get_by_role("heading", name=f"Move the booking on {SPRING}")).to_be_visible()
    choice = lead_page.get_by_role("group", name="Move to")
    summer = choice.get_by_label(SUMMER, exact=False)
    summer.focus()
    lead_page.keyboard.press("Space")
    expect(summer).to_be_checked()
    assert_accessible(lead_page)
    narrow(lead_page, assert_accessible)
    press(lead_page, lead_page.get_by_role("button", name="Continue"))
    plan = lead_page.get_by_role("region", name=f"Moving to {SUMMER}")
    expect(plan).to_contain_text("your place there is confirmed")
    expect(plan).to_contain_text(f"on {SPRING} is given up once the new one is held")
    assert_accessible(lead_page)
    narrow(lead_page, assert_accessible)
    press(lead_page, plan.get_by_role("button", name=f"Move the booking to {SUMMER}"))
    expect(flash(lead_page, f"Booking moved to “{SUMMER}”: place confirmed.")).to_be_visible()
    moved = lead_page.get_by_role("region", name=f"Booking on {SUMMER}")
    expect(moved.get_by_role("heading", name=f"{SUMMER} — place confirmed")).to_be_visible()
    expect(
        lead_page.get_by_role("region", name=f"Booking on {SPRING}").get_by_role("heading")
    ).to_have_text(f"{SPRING} — cancelled")
    assert_accessible(lead_page)
    lead_page.context.close()

    larch_page = log_in_fresh(browser, base_url, larch_lead, assert_accessible)
    larch_page.goto(f"/organisations/{larch_id}/immersion")
    expect(
        larch_page.get_by_role("region", name=f"Booking on {SPRING}").get_by_role("heading")
    ).to_have_text(f"{SPRING} — place confirmed")
    assert_accessible(larch_page)
    larch_page.context.close()

    # Everyone concerned was told.
    for person in (birch_lead, *birch_members):
        [message] = [m for m in emails_to(person[0]) if "Booking moved" in m.subject]
        assert f"has moved from {SPRING} to {SUMMER}" in message.body
    assert any("Your place is confirmed" in m.subject for m in emails_to(larch_lead[0]))
