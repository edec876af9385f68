"""Running Immersion over time, in Chromium: a trainer duplicates a cohort for the next
quarter, a hub lead books the copy, and the trainer moves one of its sessions; the booked
attendee's email carries the updated calendar entry (same UID, higher SEQUENCE).

Set up through the services: a trainer, and two organisations in training with both
agreements verified. Marram Bay Hospice is booked on this quarter's cohort (three weekly
sessions, 10:00 UK time). In the browser the trainer duplicates it (the first-session date
offered is thirteen weeks on; the copy has no bookings), Ptarmigan Ridge Hospice's lead books
the copy, and the trainer moves its second session by keyboard (a first try ending before it
starts is refused next to the field). The new pages are checked with axe-core and at 375 px
for sideways scrolling.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from app.core import clock
from tests.e2e.helpers import error_summary as problem
from tests.e2e.helpers import flash, nav_link
from tests.e2e.test_immersion_journey import log_in_fresh, org_tab, organisation_in_training
from tests.e2e.test_journeys import log_in, open_login

pytestmark = pytest.mark.e2e

UK = ZoneInfo("Europe/London")
COHORT = "Immersion: coast and moor"
COPY = "Immersion: coast and moor, next quarter"
TITLES = ("1. The ECHO model", "2. Case-based learning", "3. Running a network")


def _first_wednesday(after: date) -> date:
    return after + timedelta(days=(2 - after.weekday()) % 7)


FIRST = _first_wednesday(clock.today() + timedelta(days=21))
NEXT = FIRST + timedelta(weeks=13)  # what the duplicate page offers


def uk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UK)


def shown(value: datetime) -> str:
    """A date-time as the portal shows it."""
    return value.astimezone(UK).strftime("%-d %B %Y, %H:%M %Z")


def no_sideways_scroll(page: Page, assert_accessible) -> None:
    """At 375 px the page fits the width (and is still accessible); back to desktop after."""
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})


def world(live_app, trainer, lead_a, coordinator_a, lead_b, coordinator_b) -> int:
    """This quarter's cohort, created by the trainer and booked by Marram Bay; returns
    Ptarmigan Ridge's id."""
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.immersion import services
    from app.organisations.models import Organisation

    organisation_in_training(
        live_app, lead_a, [(coordinator_a, ["coordinator"])], "Marram Bay Hospice", verified=True
    )
    kestrel_id = organisation_in_training(
        live_app,
        lead_b,
        [(coordinator_b, ["coordinator"])],
        "Ptarmigan Ridge Hospice",
        verified=True,
    )
    with live_app.test_request_context():
        by = get_user_by_email(trainer[0])
        cohort = services.create_cohort(
            by=by,
            title=COHORT,
            description="Three weekly sessions on Zoom.",
            capacity=6,
            booking_deadline=uk(FIRST - timedelta(days=7), 17),
        )
        for n, title in enumerate(TITLES):
            services.add_session(
                cohort,
                by=by,
                title=title,
                starts_at=uk(FIRST + timedelta(weeks=n), 10),
                duration_minutes=90,
                join_url="https://zoom.example.org/j/5550001",
                facilitators="Dr Anwen Pryce",
            )
        org = db.session.scalar(
            db.select(Organisation).where(Organisation.name == "Marram Bay Hospice")
        )
        lead = get_user_by_email(lead_a[0])
        services.book(org, cohort, by=lead, attendee_ids=[lead.id])
        db.session.commit()
        db.session.remove()
    return kestrel_id


def calendar_events(message, filename: str) -> list:
    [content] = [c for name, c, _type in message.attachments if name == filename]
    text = content.decode() if isinstance(content, bytes) else content
    return Calendar.from_ical(text).walk("VEVENT")


def test_duplicate_a_cohort_book_it_and_move_a_session(
    page: Page, browser, live_app, create_account, assert_accessible, base_url, emails_to
):
    trainer = create_account(roles=("trainer",), name="Rhian Evans")
    lead_a = create_account(name="Morwenna Hale")
    coordinator_a = create_account(name="Jago Penrose")
    lead_b = create_account(name="Dr Idris Vaughan")
    coordinator_b = create_account(name="Ceri Lloyd")
    kestrel_id = world(live_app, trainer, lead_a, coordinator_a, lead_b, coordinator_b)

    # --- the trainer duplicates this quarter's cohort for the next -----------------------
    open_login(page, assert_accessible)
    log_in(page, trainer[0], trainer[2], assert_accessible)
    nav_link(page, "Immersion", exact=True).click()
    page.get_by_role("link", name=COHORT).click()
    expect(page.get_by_role("heading", level=1, name=COHORT)).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Marram Bay Hospice")).to_contain_text(
        "confirmed, 1 attending"
    )
    assert_accessible(page)
    no_sideways_scroll(page, assert_accessible)
    page.get_by_role("link", name="Duplicate for a later run").click()
    expect(page.get_by_role("heading", level=1, name=f"Duplicate {COHORT}")).to_be_visible()
    expect(page.get_by_label("Title of the new cohort")).to_have_value(f"{COHORT} (copy)")
    expect(page.get_by_label("Date of the first session")).to_have_value(NEXT.isoformat())
    assert_accessible(page)
    no_sideways_scroll(page, assert_accessible)
    # A date in the past is refused next to the field, and nothing is made.
    page.get_by_label("Title of the new cohort").fill(COPY)
    page.get_by_label("Date of the first session").fill("2020-01-08")
    page.get_by_role("button", name="Make the new cohort").click()
    expect(problem(page)).to_contain_text("Choose a first-session date in the future")
    expect(page.locator("#first_session_on-error")).to_contain_text("in the future")
    assert_accessible(page)
    page.get_by_label("Date of the first session").fill(NEXT.isoformat())
    page.get_by_role("button", name="Make the new cohort").click()
    expect(flash(page, f"“{COPY}” made from “{COHORT}”, with 3 sessions")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=COPY)).to_be_visible()
    expect(page.get_by_text("No bookings yet.")).to_be_visible()
    sessions = page.locator("ol.session-list")
    for n, title in enumerate(TITLES):
        # The same UK clock time, whether or not summer time began in between.
        expect(sessions.get_by_role("listitem").filter(has_text=title)).to_contain_text(
            f"{shown(uk(NEXT + timedelta(weeks=n), 10))}, 90 minutes"
        )
    expect(
        page.get_by_text(f"booking deadline {shown(uk(NEXT - timedelta(days=7), 17))}")
    ).to_be_visible()
    assert_accessible(page)

    # --- Ptarmigan Ridge's lead books the copy --------------------------------------------------
    lead_page = log_in_fresh(browser, base_url, lead_b, assert_accessible)
    lead_page.goto(f"/organisations/{kestrel_id}")
    org_tab(lead_page, "Ptarmigan Ridge Hospice", "Immersion").click()
    offer = lead_page.get_by_role("region", name=COPY, exact=False).filter(has_text="next quarter")
    offer.get_by_role("group", name="Who will attend").get_by_label(
        "Ceri Lloyd — Coordinator"
    ).check()
    offer.get_by_role("button", name=f"Book {COPY}").click()
    expect(flash(lead_page, f"Booked on “{COPY}”: place confirmed.")).to_be_visible()
    assert_accessible(lead_page)
    lead_page.context.close()
    [confirmation] = [m for m in emails_to(coordinator_b[0]) if "place is confirmed" in m.subject]
    booked = {
        str(e["summary"]).removeprefix(f"{COPY}: "): e
        for e in calendar_events(confirmation, "immersion.ics")
    }
    assert sorted(booked) == sorted(TITLES)
    before = booked[TITLES[1]]

    # --- the trainer moves the second session, by keyboard -----------------------------------
    page.reload()
    expect(page.get_by_role("listitem").filter(has_text="Ptarmigan Ridge Hospice")).to_contain_text(
        "confirmed, 1 attending"
    )
    link = page.get_by_role("link", name=f"Edit or move {TITLES[1]}")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name=f"Edit or move {TITLES[1]}")).to_be_visible()
    assert_accessible(page)
    no_sideways_scroll(page, assert_accessible)
    moved_day = NEXT + timedelta(weeks=1, days=1)
    starts = page.get_by_label("Starts at")
    ends = page.get_by_label("Ends at")
    # Date-time fields take typed values (Tab walks through their day, month and time parts,
    # so the fields are filled directly); the form is sent with Enter from the join link.
    starts.fill(f"{moved_day.isoformat()}T14:00")
    ends.fill(f"{moved_day.isoformat()}T13:30")  # before it starts: refused
    page.get_by_label("Join link (https://…)").focus()
    page.keyboard.press("Enter")
    expect(problem(page)).to_contain_text("The session must end after it starts.")
    expect(page.locator("#ends_at-error")).to_contain_text("The session must end after it starts.")
    assert_accessible(page)
    assert not [m for m in emails_to(coordinator_b[0]) if "Session moved" in m.subject]
    page.get_by_label("Ends at").fill(f"{moved_day.isoformat()}T15:30")
    page.get_by_label("Join link (https://…)").focus()
    page.keyboard.press("Enter")
    expect(
        flash(page, f"“{TITLES[1]}” saved; the attendees have been sent the change.")
    ).to_be_visible()
    new_start = uk(moved_day, 14)
    expect(
        page.locator("ol.session-list").get_by_role("listitem").filter(has_text=TITLES[1])
    ).to_contain_text(f"{shown(new_start)}, 90 minutes")
    assert_accessible(page)

    # The attendee's email: the same UID, a higher SEQUENCE, the new time.
    [moved] = [m for m in emails_to(coordinator_b[0]) if "Session moved" in m.subject]
    assert f"Session moved: {COPY}, {TITLES[1]}" in moved.subject
    assert f"Now: {shown(new_start)} to" in moved.body
    [event] = calendar_events(moved, "immersion-session.ics")
    assert str(event["uid"]) == str(before["uid"])
    assert int(event["sequence"]) > int(before.get("sequence", 0))
    assert event.decoded("dtstart") == new_start
    assert event.decoded("dtend") == new_start + timedelta(minutes=90)
    # Marram Bay, booked on the original, hears nothing of the copy.
    assert not [m for m in emails_to(lead_a[0]) if COPY in m.subject]

    # The cohort's history says what happened, in plain words.
    page.get_by_role("link", name="History of this cohort").click()
    expect(page.get_by_role("heading", level=1, name=f"History of {COPY}")).to_be_visible()
    history = page.locator("ol.history")
    expect(history).to_contain_text("moved an Immersion session")
    expect(history).to_contain_text(f"made a new Immersion cohort as a copy of another ({COPY}")
    expect(history).to_contain_text("booked places in an Immersion cohort")
    assert_accessible(page)
    no_sideways_scroll(page, assert_accessible)
