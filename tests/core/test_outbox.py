"""The outbox: a message is a row of the transaction it announces, delivered afterwards
through a real SMTP server, retried on a back-off, failed for good when refused, and
never sent twice."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from app.core import clock, jobs, mail, outbox
from app.core.outbox import BACKOFF_SECONDS, MAX_ATTEMPTS, MessageStatus, OutboxMessage
from app.extensions import db


@pytest.fixture
def app_config(smtp_sink):
    return smtp_sink.config()


def raise_mail(to="someone@example.org", subject="Hello", **kw):
    """A message raised inside a request, as the services raise theirs."""
    person = SimpleNamespace(name="Sam Jones")
    return mail.send_email(
        to, subject, "password_reset", user=person, link="http://x/reset", hours=2, **kw
    )


def rows(**where):
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def test_a_committed_message_is_a_row_delivered_once_through_smtp(app, smtp_sink):
    with app.test_request_context():
        raise_mail(subject="Your reset link")
        db.session.commit()
    [row] = rows()
    assert row.status == MessageStatus.SENT and row.attempts == 1 and row.sent_at
    [(recipients, message)] = smtp_sink.received
    assert recipients == ["someone@example.org"]
    assert message["Subject"] == "[ECHO Hub Onboarding Portal] Your reset link"
    assert message["Message-ID"] == row.message_id
    # A plain-text part and an HTML part with the same words, the link a real link.
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "http://x/reset" in text
    assert '<a href="http://x/reset">http://x/reset</a>' in html
    assert '<html lang="en-GB">' in html

    # Running everything due again sends nothing twice.
    with app.app_context():
        assert jobs.run_due()["messages"] == 0
    assert len(smtp_sink.received) == 1


def test_a_rolled_back_change_leaves_no_row_and_sends_nothing(app, smtp_sink):
    with app.test_request_context():
        raise_mail()
        db.session.rollback()
    assert rows() == []
    assert smtp_sink.received == []


def test_one_row_per_recipient_each_seeing_only_their_address(app, smtp_sink):
    with app.test_request_context():
        raise_mail(to=["b@example.org", "a@example.org", "a@example.org"])
        db.session.commit()
    assert [r.recipient for r in rows()] == ["a@example.org", "b@example.org"]
    assert sorted(r for rcpts, _m in smtp_sink.received for r in rcpts) == [
        "a@example.org",
        "b@example.org",
    ]
    assert all(m["To"] in ("a@example.org", "b@example.org") for _r, m in smtp_sink.received)


def test_the_same_idempotency_key_is_sent_once(app, smtp_sink):
    with app.test_request_context():
        raise_mail(key="reminder:certificate:7:2027-01-01")
        db.session.commit()
        assert raise_mail(key="reminder:certificate:7:2027-01-01") == []
        db.session.commit()
    assert len(rows()) == 1
    assert len(smtp_sink.received) == 1


def test_a_line_break_in_a_subject_never_reaches_a_header(app, smtp_sink):
    with app.test_request_context():
        raise_mail(subject="Accepted: Glen\r\nBcc: victim@example.org Hospice")
        db.session.commit()
    [row] = rows()
    assert "\n" not in row.subject and "\r" not in row.subject
    [(recipients, message)] = smtp_sink.received
    assert recipients == ["someone@example.org"]
    assert message["Bcc"] is None
    assert message["Subject"].endswith("Accepted: Glen Bcc: victim@example.org Hospice")


def test_a_mail_server_that_is_down_delays_the_message_then_it_is_sent_once(app, smtp_sink):
    smtp_sink.stop()
    with app.test_request_context():
        raise_mail()
        db.session.commit()
    [row] = rows()
    assert row.status == MessageStatus.WAITING
    assert row.attempts == 1
    assert "ConnectionRefused" in row.last_error
    assert timedelta(seconds=25) < row.not_before - clock.now() <= timedelta(seconds=30)

    # Not due yet: the sweep leaves it alone.
    with app.app_context():
        assert jobs.run_due()["messages"] == 0
    smtp_sink.start()
    later = clock.now() + timedelta(seconds=31)
    with time_machine.travel(later, tick=False), app.app_context():
        assert jobs.run_due()["messages"] == 1
        assert jobs.run_due()["messages"] == 0
    [row] = rows()
    assert row.status == MessageStatus.SENT and row.attempts == 2 and row.last_error == ""
    assert len(smtp_sink.received) == 1


def test_a_refused_address_is_failed_at_once_with_the_reason(app, smtp_sink):
    smtp_sink.refused.add("nobody@example.org")
    with app.test_request_context():
        raise_mail(to="nobody@example.org")
        db.session.commit()
    [row] = rows()
    assert row.status == MessageStatus.FAILED and row.failed_at and row.attempts == 1
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    with time_machine.travel(clock.now() + timedelta(days=1), tick=False), app.app_context():
        assert jobs.run_due()["messages"] == 0  # not retried forever


def test_retries_back_off_and_the_tenth_failure_marks_the_message_failed(app, smtp_sink):
    smtp_sink.stop()
    with app.test_request_context():
        raise_mail()
        db.session.commit()
    waits = []
    moment = clock.now()
    for _ in range(MAX_ATTEMPTS - 1):
        [row] = rows()
        if row.status == MessageStatus.FAILED:
            break
        waits.append(round((row.not_before - moment).total_seconds()))
        moment = row.not_before + timedelta(seconds=1)
        with time_machine.travel(moment, tick=False), app.app_context():
            jobs.run_due()
    [row] = rows()
    assert waits == list(BACKOFF_SECONDS)
    assert row.status == MessageStatus.FAILED and row.attempts == MAX_ATTEMPTS == 10
    assert waits[:6] == [30, 60, 120, 300, 600, 1800]


def test_a_delivery_holds_its_message_and_an_abandoned_hold_expires(app, smtp_sink):
    """A worker killed mid-delivery: its claim expires, and the message goes out once."""
    with app.test_request_context():
        message = outbox.add(
            db.session(),
            kind="test",
            key="k-1",
            recipient="x@example.org",
            subject="S",
            body_text="B",
        )
        db.session.commit()
        message_id = message.id
    with app.app_context():
        assert outbox.claim(db.session(), [message_id])  # the worker that dies
        assert mail.deliver(db.session(), message_id) == "skipped"
        assert jobs.run_due()["messages"] == 0
    assert smtp_sink.received == []
    later = clock.now() + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
    with time_machine.travel(later, tick=False), app.app_context():
        assert jobs.run_due()["messages"] == 1
        assert jobs.run_due()["messages"] == 0
    assert len(smtp_sink.received) == 1


def test_the_work_after_a_response_runs_only_once_the_response_is_complete(app, smtp_sink):
    """In the inline backend a request's deliveries wait for `call_on_close`."""
    from flask import g

    with app.test_request_context():
        g.response_pending = True
        raise_mail()
        db.session.commit()
        response = app.response_class("ok")
        response = jobs.run_after_response(response)
        assert smtp_sink.received == []  # nothing sent while the response is still open
        assert rows()[0].status == MessageStatus.WAITING
        response.close()
    assert len(smtp_sink.wait_for(1)) == 1
    assert rows()[0].status == MessageStatus.SENT


def test_the_health_check_reports_the_outbox(app, client, smtp_sink):
    smtp_sink.stop()
    with app.test_request_context():
        raise_mail()
        db.session.commit()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["queue"]["backend"] == "inline"
    assert body["queue"]["waiting"] == 1


@pytest.mark.own_app
def test_with_redis_down_requests_succeed_and_health_says_degraded(app, client, make_user):
    app.config.update(JOBS_BACKEND="rq", JOBS_REDIS_URL="redis://127.0.0.1:1/0")
    user = make_user()
    response = client.post("/account/forgot-password", data={"email": user.email})
    assert response.status_code in (200, 302)
    [row] = rows()
    assert row.status == MessageStatus.WAITING and row.attempts == 0  # waits in the outbox
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "degraded"
    assert body["queue"]["status"] == "degraded" and body["queue"]["waiting"] == 1
    assert "Redis" in body["queue"]["reason"]


def test_nothing_on_the_request_path_talks_to_smtp(app, client, make_user, monkeypatch):
    """With the queue in Redis, a request only writes the row and enqueues."""
    import smtplib

    def no_smtp(*_a, **_k):
        raise AssertionError("SMTP on the request path")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp)
    enqueued = []
    monkeypatch.setattr(jobs, "_enqueue_rq", lambda *a: enqueued.append(a))
    app.config.update(JOBS_BACKEND="rq")
    user = make_user()
    client.post("/account/forgot-password", data={"email": user.email})
    # The request queued the reset job and nothing else, whatever the address.
    assert [e[0] for e in enqueued] == ["auth.password_reset"]
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    client.post("/account/forgot-password", data={"email": "nobody@example.org"})
    assert [e[0] for e in enqueued] == ["auth.password_reset"] * 2
    # The job (a worker's) writes the outbox row and hands it to delivery.
    jobs.run_task(*enqueued[0][:2])
    assert [e[0] for e in enqueued][-1] == "mail.deliver"
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1
