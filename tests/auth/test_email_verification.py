"""Registration confirms the email address: a signed, expiring link; resend with a throttle;
an address that already has an account gets the same page and its owner an email."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.models import User
from app.core import clock, mail
from app.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import (
    confirm_email,
    events,
    is_signed_in,
    login,
    page_text,
    verification_path,
)


def register(client, email="robin@example.org", name="Robin Ashby", next_url=None):
    return client.post(
        "/account/register",
        query_string={"next": next_url} if next_url else None,
        data={"name": name, "email": email, "password": PASSWORD, "confirm": PASSWORD},
    )


def mail_to(address):
    return [m for m in mail.outbox() if address in m.to]


def user(email) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_a_new_account_confirms_its_address_from_the_emailed_link(client):
    mail.outbox().clear()
    response = register(client)
    assert response.headers["Location"] == "/account/check-email"
    page = page_text(client.get("/account/check-email"))
    assert "Check your email" in page and "robin@example.org" in page
    [message] = mail_to("robin@example.org")
    assert message.subject.endswith("Confirm your email address")
    assert user("robin@example.org").email_verified_at is None

    path = verification_path("robin@example.org")
    opened = client.get(path)  # opening the link changes nothing (mail scanners open links)
    assert "Confirm my email address" in page_text(opened)
    assert user("robin@example.org").email_verified_at is None
    confirmed = client.post(path)
    assert confirmed.headers["Location"] == "/account/login"
    assert user("robin@example.org").email_verified_at is not None
    [event] = events("user.email_verified")
    assert event.actor_id == user("robin@example.org").id
    # A second use only says so.
    assert "already confirmed" in page_text(client.get(path))
    client.post(path)
    assert len(events("user.email_verified")) == 1


def test_the_link_keeps_where_the_person_was_going(client):
    register(client, next_url="/organisations/invitations/abc")
    confirmed = confirm_email(client, "robin@example.org")
    assert confirmed.headers["Location"] == "/account/login?next=/organisations/invitations/abc"
    assert (
        login(client, "robin@example.org", next_url="/organisations/invitations/abc")
        .headers["Location"]
        .endswith("/organisations/invitations/abc")
    )


def test_an_off_site_next_is_dropped(client):
    register(client, next_url="//evil.example.com/")
    assert confirm_email(client, "robin@example.org").headers["Location"] == "/account/login"


def test_signed_in_owner_is_sent_on_after_confirming(client):
    register(client)
    assert login(client, "robin@example.org").status_code == 302  # unconfirmed may sign in
    assert confirm_email(client, "robin@example.org").headers["Location"] == "/"
    assert client.get("/account/check-email").headers["Location"] == "/"


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-3] + "abc", lambda t: t[: len(t) // 2], lambda t: "x" * 5000]
)
def test_a_damaged_link_is_refused_and_changes_nothing(client, mangle):
    register(client)
    token = verification_path("robin@example.org").rsplit("/", 1)[1]
    for method in ("GET", "POST"):
        response = client.open(f"/account/verify-email/{mangle(token)}", method=method)
        assert response.status_code == 400
        assert "not valid" in page_text(response)
    assert user("robin@example.org").email_verified_at is None


def test_an_expired_link_is_refused(app, client):
    register(client)
    path = verification_path("robin@example.org")
    hours = app.config["EMAIL_VERIFY_HOURS"]
    with time_machine.travel(clock.now() + timedelta(hours=hours, minutes=1)):
        response = client.post(path)
    assert response.status_code == 400
    assert "expired" in page_text(response)
    assert user("robin@example.org").email_verified_at is None


def test_a_taken_address_gets_the_same_page_and_its_owner_an_email(client, make_user):
    owner = make_user(email="taken@example.org", name="Olive Owner")
    before = db.session.scalar(select(func.count()).select_from(User))
    mail.outbox().clear()
    taken = register(client, email="Taken@example.org", name="Mallory")
    fresh = register(client.application.test_client(), email="fresh@example.org")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"] == "/account/check-email"
    page = page_text(client.get("/account/check-email"))
    assert "We have sent an email to <strong>taken@example.org</strong>" in page
    assert not is_signed_in(client)

    [note] = mail_to("taken@example.org")
    assert note.subject.endswith("Someone tried to register with your email address")
    assert "/account/login" in note.body and "/account/forgot-password" in note.body
    assert "/account/verify-email/" not in note.body  # already confirmed
    assert db.session.scalar(select(func.count()).select_from(User)) == before + 1  # fresh only
    assert user("taken@example.org").name == "Olive Owner"
    assert user("taken@example.org").password_hash == owner.password_hash
    [event] = events("auth.registration_existing")
    assert event.subject_id == str(owner.id)


def test_a_taken_unconfirmed_address_is_sent_a_fresh_confirmation_link(client):
    register(client)
    mail.outbox().clear()
    register(client.application.test_client())  # again, same address
    [note] = mail_to("robin@example.org")
    assert "Someone tried to register" in note.subject
    assert "/account/verify-email/" in note.body
    assert confirm_email(client, "robin@example.org").status_code == 302
    assert user("robin@example.org").email_verified_at is not None


def test_an_admin_made_or_demo_account_is_confirmed(make_user):
    assert make_user().email_verified


class TestResend:
    @pytest.fixture
    def app_config(self):
        return {"VERIFY_EMAIL_LIMIT_PER_ACCOUNT": "2 per hour"}

    def test_resend_sends_a_new_link_and_is_throttled(self, client):
        register(client)
        login(client, "robin@example.org")
        mail.outbox().clear()
        for _ in range(2):
            sent = client.post("/account/check-email/resend", follow_redirects=True)
            assert "We have sent a new confirmation link to robin@example.org" in page_text(sent)
        assert len(mail_to("robin@example.org")) == 2
        blocked = client.post("/account/check-email/resend")
        assert blocked.status_code == 429
        assert "Too many attempts, try again in" in page_text(blocked)
        assert len(mail_to("robin@example.org")) == 2
        # Both links work until they expire.
        first = re.search(r"(/account/verify-email/\S+)", mail_to("robin@example.org")[0].body)
        assert client.post(first.group(1)).status_code == 302
        assert user("robin@example.org").email_verified_at is not None

    def test_a_confirmed_account_has_nothing_to_resend(self, client, make_user):
        done = make_user()
        login(client, done.email)
        response = client.post("/account/check-email/resend", follow_redirects=True)
        assert "already confirmed" in page_text(response)


def test_the_migration_marks_accounts_made_before_it_as_confirmed(instance_dir, tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from tests import dbutil
    from tests.conftest import build_app

    url = dbutil.fresh_database("migrations", tmp_path)
    app = build_app(url)
    try:
        with app.app_context():
            upgrade(revision="3b6caf7cfe35")  # the schema before accounts were confirmed
            db.session.execute(
                text(
                    'INSERT INTO "user" (email, name, job_title, password_hash, '
                    "is_active_account, session_version, created_at) VALUES "
                    "('old@example.org', 'Old Account', '', 'x', :yes, 1, :now)"
                ),
                {"yes": True, "now": clock.now()},
            )
            db.session.commit()
            upgrade()
            assert user("old@example.org").email_verified
            db.session.remove()
            db.engine.dispose()
    finally:
        dbutil.drop_database(url)
