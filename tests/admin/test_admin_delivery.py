"""The delivery page: admins see what the outbox sent, what waits and what failed, find a
recipient's messages, read the last error, and resend."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.outbox import MessageStatus, OutboxMessage
from app.extensions import db
from tests.helpers import events, page_text


@pytest.fixture
def app_config(smtp_sink):
    return smtp_sink.config()


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def forgot(client, email):
    """Raise a real message (a reset link) the way a person would."""
    response = client.post("/account/forgot-password", data={"email": email})
    assert response.status_code in (200, 302)


def message_for(email) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == email).order_by(OutboxMessage.id)
    ).all()[-1]


def test_admins_find_messages_by_recipient_and_status(app, client, admin, make_user, smtp_sink):
    ok = make_user(email="delivered@example.org")
    bad = make_user(email="bounced@example.org")
    smtp_sink.refused.add("bounced@example.org")
    forgot(app.test_client(), ok.email)
    forgot(app.test_client(), bad.email)

    page = page_text(client.get("/admin/messages"))
    assert "delivered@example.org" in page and "bounced@example.org" in page
    assert "Reset your password" in page

    failed = page_text(client.get("/admin/messages?status=failed"))
    assert "1 message found." in failed
    assert "bounced@example.org" in failed and "delivered@example.org" not in failed
    assert "550" in failed and "No such mailbox" in failed  # the last error, in the list

    found = page_text(client.get("/admin/messages?q=DELIVERED"))
    assert "1 message found." in found and "delivered@example.org" in found
    # A search that is a LIKE wildcard is taken literally.
    assert "0 messages found." in page_text(client.get("/admin/messages?q=%25"))
    # A status that is not one of the three is ignored, not an error.
    assert client.get("/admin/messages?status=bogus").status_code == 200


def test_an_admin_resends_a_failed_message_once_and_it_is_audited(
    app, client, admin, make_user, smtp_sink
):
    person = make_user(email="later@example.org")
    smtp_sink.refused.add("later@example.org")
    forgot(app.test_client(), person.email)
    message = message_for(person.email)
    assert message.status == MessageStatus.FAILED

    detail = page_text(client.get(f"/admin/messages/{message.id}"))
    assert "Failed" in detail and "No such mailbox" in detail
    assert "Resend" in detail and "Someone (hopefully you)" in detail

    smtp_sink.refused.clear()  # the address now exists
    response = client.post(f"/admin/messages/{message.id}/resend")
    assert response.status_code == 302
    assert "will be sent again now" in page_text(client.get(response.headers["Location"]))
    message = message_for(person.email)
    assert message.status == MessageStatus.SENT and message.attempts == 1
    assert len(smtp_sink.to("later@example.org")) == 1
    [event] = events("admin.message_resent")
    assert event.actor_id == admin.id and event.details["recipient"] == "later@example.org"
    assert "resent an email" in page_text(client.get(f"/admin/messages/{message.id}"))


def test_a_waiting_message_is_not_resent_and_the_admin_is_told_why(
    app, client, admin, make_user, smtp_sink
):
    person = make_user()
    smtp_sink.stop()
    forgot(app.test_client(), person.email)
    message = message_for(person.email)
    assert message.status == MessageStatus.WAITING
    detail = page_text(client.get(f"/admin/messages/{message.id}"))
    assert "Next try" in detail and "ConnectionRefused" in detail
    response = client.post(f"/admin/messages/{message.id}/resend", follow_redirects=True)
    assert "still waiting to be sent" in page_text(response)
    assert events("admin.message_resent") == []


def test_only_admins_see_delivery(app, client, login_as, make_user):
    login_as("trainer")
    assert client.get("/admin/messages").status_code == 403
    assert client.get("/admin/messages/1").status_code in (403, 404)
    assert client.post("/admin/messages/1/resend").status_code in (403, 404)


def test_an_unknown_message_is_not_found(client, admin):
    assert client.get("/admin/messages/999999").status_code == 404
    assert client.post("/admin/messages/999999/resend").status_code == 404


def test_delivery_is_in_the_admin_navigation(client, admin):
    assert 'href="/admin/messages"' in client.get("/admin/users").get_data(as_text=True)


def test_a_message_links_to_the_account_it_was_written_for(app, client, admin, make_user):
    person = make_user(email="named@example.org", name="Nadia Named")
    forgot(app.test_client(), person.email)
    message = message_for(person.email)
    assert message.user_id == person.id
    page = client.get(f"/admin/messages/{message.id}")
    assert f'href="/admin/users/{person.id}"' in page.get_data(as_text=True)
    assert "Nadia Named" in page_text(page)
