"""Reliable delivery in Chromium, with real parts: the portal queues on a real Redis, a
real `flask jobs run --burst` process delivers to a real SMTP server.

A trainer accepts an application while the mail server is down: the page answers at once
and nothing is lost. The hub lead sees the notification in the portal; the mail server
comes back, the burst runs, and each person gets exactly one email with the right link (one
address is refused for good). The lead switches reviews to the daily digest: the next five
acceptances arrive as one email. An admin finds the failed message and resends it.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import dbutil
from tests.conftest import PASSWORD, build_app
from tests.core.test_jobs_rq import REDIS_URL, _redis_up, flask_jobs
from tests.e2e.conftest import served
from tests.e2e.helpers import flash, main_nav, nav_link
from tests.factories.organisations import join_team
from tests.smtp import SmtpSink

pytestmark = pytest.mark.e2e

ORG = "Curlew Point Hospice"


@pytest.fixture(scope="module")
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def delivery_app(instance_dir, tmp_path_factory, sink):
    """The portal served over HTTP with production-style delivery: RQ on Redis, SMTP to the
    sink; the shipped content, with the daily digest due at any hour."""
    if not _redis_up():
        pytest.fail(f"this journey needs Redis at {REDIS_URL} (.ci/run starts it)")
    tmp = tmp_path_factory.mktemp("delivery")
    content = tmp / "modules"
    shutil.copytree(Path(__file__).resolve().parents[2] / "modules", content)
    settings = content / "programme.yaml"
    settings.write_text(settings.read_text().replace("digest_hour: 7", "digest_hour: 0"))
    url = dbutil.fresh_database("delivery", tmp)
    app = build_app(
        url,
        WTF_CSRF_ENABLED=True,
        CONTENT_DIR=str(content),
        JOBS_BACKEND="rq",
        JOBS_REDIS_URL=REDIS_URL,
        JOBS_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}",
        **sink.config(),
    )
    dbutil.upgrade(app)
    with served(app):
        yield app
    dbutil.drop_database(url)


def world(app):
    """A submitted application with a lead and a coordinator; a trainer and an admin."""
    from app.auth import services as auth
    from app.extensions import db
    from app.notifications import services as notifications
    from app.organisations import services as orgs
    from tests.factories.notifications import tell_at_once
    from tests.factories.organisations import COMPLETE_APPLICATION, details

    with app.test_request_context(base_url=app.live_url):
        people = {
            role: auth.create_user(
                email=f"{role}-{uuid.uuid4().hex[:6]}@example.org",
                name=f"{role.title()} Person",
                password=PASSWORD,
                roles={"trainer"} if role == "trainer" else {"admin"} if role == "admin" else set(),
            )
            for role in ("lead", "coordinator", "trainer", "admin")
        }
        db.session.commit()
        org = orgs.create_organisation(people["lead"], details(name=ORG))
        orgs.save_application(org, by=people["lead"], data=dict(COMPLETE_APPLICATION))
        join_team(org, people["lead"], people["coordinator"], ["coordinator"])
        db.session.commit()
        orgs.submit_application(org, by=people["lead"])
        db.session.commit()
        tell_at_once(people["lead"])  # until today the lead had each review emailed at once
        # The lead has read what the set-up told them ("Coordinator Person joined the team").
        notifications.mark_read(people["lead"])
        db.session.commit()
        emails = {role: user.email for role, user in people.items()}
        org_id = org.id
    burst(app)  # what the set-up raised is delivered before the journey starts
    return emails, org_id


def accept_five_items(app, org_id, trainer_email, lead_email):
    """Five checklist items answered by the lead and accepted by the trainer."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.organisations.models import Organisation
    from app.readiness import services
    from tests.factories.readiness import answer

    with app.test_request_context(base_url=app.live_url):
        org = db.session.get(Organisation, org_id)
        lead = db.session.scalar(select(User).where(User.email == lead_email))
        trainer = db.session.scalar(select(User).where(User.email == trainer_email))
        for item in services.checklist().items[:5]:
            given = answer(org, lead, item.key)
            services.review_answer(
                org,
                by=trainer,
                item_key=item.key,
                answer_id=given.id,
                decision="accept",
                comment="",
            )
            db.session.commit()
        db.session.remove()


def burst(app, periodic_now: bool = False) -> None:
    """`jobs run --burst` in this process (the same sweep and RQ worker the command runs;
    the journey runs the command itself once, as cron would)."""
    from app.core import jobs

    with app.app_context():
        jobs.run_due(force_periodic=periodic_now)


def sign_in(browser, app, email) -> Page:
    page = browser.new_context(base_url=app.live_url).new_page()
    page.goto("/account/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    return page


def bodies_to(sink, address) -> list[str]:
    return [m.get_body(("plain",)).get_content() for m in sink.to(address)]


def test_delivery_journey(browser, delivery_app, sink, assert_accessible):
    app = delivery_app
    emails, org_id = world(app)
    sink.received.clear()
    sink.refused.add(emails["coordinator"])  # this address will be refused for good

    # --- The trainer accepts while the mail server is down: the page answers at once ----
    sink.stop()
    trainer = sign_in(browser, app, emails["trainer"])
    trainer.goto(f"/organisations/{org_id}/screening")
    panel = trainer.get_by_role("region", name="Decision")
    panel.get_by_role("radio", name="Accept into the programme").check()
    panel.get_by_label("Message to the applicant").fill("Welcome to the programme.")
    started = time.monotonic()
    panel.get_by_role("button", name="Record decision").click()
    expect(flash(trainer, "Decision recorded")).to_be_visible()
    assert time.monotonic() - started < 5  # no SMTP conversation on the request path

    # --- The lead sees the notification in the portal before any email ----------------
    lead = sign_in(browser, app, emails["lead"])
    badge = main_nav(lead).get_by_role("link", name=re.compile(r"Notifications\s*1 unread"))
    expect(badge).to_be_visible()
    badge.click()
    expect(lead.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
    expect(lead.get_by_role("link", name=f"{ORG} is accepted into the programme")).to_be_visible()
    assert_accessible(lead)

    # --- The mail server is back: one burst, one email per person, the right link ------
    sink.start()
    assert flask_jobs(app, "run", "--burst").returncode == 0
    [to_lead] = bodies_to(sink, emails["lead"])
    assert f"{app.live_url}/organisations/{org_id}" in to_lead
    assert "Welcome to the programme." in to_lead
    assert bodies_to(sink, emails["coordinator"]) == []  # refused: failed, not retried
    burst(app)
    assert len(sink.to(emails["lead"])) == 1  # a second run sends nothing twice

    # --- The lead switches reviews to the daily digest ---------------------------------
    lead.get_by_role("link", name="Choose how you are told by email").click()
    expect(lead.get_by_role("heading", level=1, name="How you are told by email")).to_be_visible()
    reviews = lead.get_by_role("group", name="Reviews of your evidence, agreements and checklist")
    reviews.get_by_role("radio", name="One email a day (daily digest)").check()
    lead.get_by_role("button", name="Save my choices").click()
    expect(flash(lead, "Your email choices are saved.")).to_be_visible()
    assert_accessible(lead)

    accept_five_items(app, org_id, emails["trainer"], emails["lead"])
    burst(app)
    assert len(sink.to(emails["lead"])) == 1  # nothing yet: the items wait for the digest
    burst(app, periodic_now=True)
    [_acceptance, digest] = sink.to(emails["lead"])
    assert digest["Subject"].endswith("Your daily summary: 5 updates")
    assert digest.get_body(("plain",)).get_content().count(": accepted") == 5

    # --- An admin finds the failed message and resends it ------------------------------
    sink.refused.clear()
    admin = sign_in(browser, app, emails["admin"])
    nav_link(admin, "Delivery").click()
    expect(admin.get_by_role("heading", level=1, name="Email delivery")).to_be_visible()
    admin.get_by_label("Status").select_option("failed")
    admin.get_by_role("button", name="Find").click()
    # The acceptance and the coordinator's own digest of reviews, both refused.
    expect(admin.get_by_text("2 messages found.")).to_be_visible()
    expect(admin.get_by_text("No such mailbox").first).to_be_visible()
    assert_accessible(admin)
    admin.get_by_role("link", name=f"{ORG} is accepted into the programme").click()
    expect(admin.get_by_text(emails["coordinator"], exact=True)).to_be_visible()
    admin.get_by_role("button", name="Resend").click()
    expect(flash(admin, "will be sent again now")).to_be_visible()
    burst(app)
    [to_coordinator] = bodies_to(sink, emails["coordinator"])
    assert f"{app.live_url}/organisations/{org_id}" in to_coordinator
    assert "Welcome to the programme." in to_coordinator
    admin.reload()
    expect(admin.locator(".status-badge")).to_have_text("Sent")

    # --- The delivery page fits a phone ------------------------------------------------
    admin.set_viewport_size({"width": 375, "height": 800})
    admin.goto("/admin/messages")
    assert admin.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(admin)
    admin.get_by_role("link", name=f"{ORG} is accepted into the programme").first.click()
    expect(admin.get_by_role("button", name="Resend")).to_be_visible()
    admin.wait_for_load_state("load")  # the page's script lays its tables out as cards
    assert admin.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(admin)
    admin.goto("/exports")
    expect(admin.get_by_role("heading", level=1, name="My exports")).to_be_visible()
    assert admin.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(admin)

    # --- The lead's pages fit a phone, and the choices work by keyboard alone -----------
    lead.set_viewport_size({"width": 375, "height": 800})
    for path in ("/notifications", "/notifications/preferences"):
        lead.goto(path)
        assert lead.evaluate("document.documentElement.scrollWidth") <= 375, path
        assert_accessible(lead)
    decisions = lead.get_by_role("group", name=re.compile(r"^Decisions"))
    decisions.get_by_role("radio").first.focus()
    lead.keyboard.press("ArrowDown")  # radios move with the arrows, as in any radio group
    expect(decisions.get_by_role("radio").nth(1)).to_be_checked()
    lead.get_by_role("button", name="Save my choices").focus()
    lead.keyboard.press("Enter")
    expect(flash(lead, "Your email choices are saved.")).to_be_visible()
    expect(decisions.get_by_role("radio").nth(1)).to_be_checked()

    # --- The unsubscribe link from an email, signed out, on a phone ---------------------
    link = re.search(r"Stop emails like this: (\S+)", bodies_to(sink, emails["lead"])[0])[1]
    stranger = browser.new_context(base_url=app.live_url, viewport={"width": 375, "height": 800})
    page = stranger.new_page()
    page.goto(link)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(page)
    page.get_by_role("button", name="Stop these emails").click()
    expect(page.get_by_text("you will no longer get emails")).to_be_visible()
