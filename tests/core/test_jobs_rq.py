"""The production path: requests enqueue on a real Redis; real `flask jobs` processes
deliver through a real SMTP server; a killed worker's message still goes out once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from app.core import clock, jobs, mail
from app.core.outbox import MessageStatus, OutboxMessage
from app.extensions import db

pytestmark = pytest.mark.commits

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    from redis import Redis

    try:
        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def queue_name():
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"rq:*{name}*"):
        connection.delete(key)
    connection.close()


@pytest.fixture
def app_config(smtp_sink, queue_name):
    if not _redis_up():
        pytest.fail(f"these tests need Redis at {REDIS_URL} (.ci/run starts it)")
    return {
        **smtp_sink.config(),
        "JOBS_BACKEND": "rq",
        "JOBS_REDIS_URL": REDIS_URL,
        "JOBS_QUEUE": queue_name,
    }


def flask_jobs(app, *args, wait=True):
    """`flask --app wsgi jobs ...` in a process of its own, configured as `app` is."""
    config = app.config
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(config["MAIL_PORT"]),
        "MAIL_TIMEOUT": "5",
        "JOBS_BACKEND": "rq",
        "JOBS_REDIS_URL": config["JOBS_REDIS_URL"],
        "JOBS_QUEUE": config["JOBS_QUEUE"],
        "CONTENT_DIR": config["CONTENT_DIR"],
        "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", *args]
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=env)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def raise_mail(app, to="lead@example.org", n=1):
    with app.test_request_context():
        for i in range(n):
            mail.send_email(
                to,
                f"Hello {i}",
                "password_reset",
                user=SimpleNamespace(name="Sam"),
                link=f"http://x/{i}",
                hours=2,
            )
        db.session.commit()


def statuses():
    db.session.rollback()
    return [m.status for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_a_request_enqueues_and_a_burst_worker_process_delivers_once(app, smtp_sink):
    raise_mail(app, n=3)
    assert smtp_sink.received == []  # nothing sent by the request's process
    with app.app_context():
        assert jobs.rq_queue().count == 1  # one job for the commit's three messages
    result = flask_jobs(app, "run", "--burst")
    assert result.returncode == 0, result.stderr
    assert len(smtp_sink.wait_for(3)) == 3
    assert statuses() == [MessageStatus.SENT] * 3
    # A second run (here, in this process) finds nothing due and sends nothing twice.
    with app.app_context():
        assert jobs.run_due()["messages"] == 0
    assert len(smtp_sink.received) == 3


def test_with_redis_lost_the_sweep_hands_the_waiting_rows_on(app, smtp_sink):
    raise_mail(app, n=2)
    with app.app_context():
        jobs.rq_queue().empty()  # Redis restarted without persistence: the jobs are gone
    assert statuses() == [MessageStatus.WAITING] * 2
    with app.app_context():
        assert jobs.run_due()["messages"] == 2  # the sweep, then a burst worker here
    assert len(smtp_sink.wait_for(2)) == 2
    assert statuses() == [MessageStatus.SENT] * 2


def test_a_worker_killed_mid_delivery_leaves_the_message_to_go_out_once(app, smtp_sink):
    smtp_sink.delay = 1.0  # the worker is still talking to SMTP when it is killed
    raise_mail(app)
    worker = flask_jobs(app, "worker", wait=False)
    try:
        deadline = time.monotonic() + 90  # a loaded machine starts a process slowly
        while time.monotonic() < deadline:
            db.session.rollback()  # end the read, so the worker's writes are never held up
            if db.session.scalar(select(OutboxMessage.claimed_until)) is not None:
                break
            db.session.rollback()
            time.sleep(0.05)
        else:
            pytest.fail("the worker never claimed the message")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    smtp_sink.delay = 0
    assert smtp_sink.received == []
    assert statuses() == [MessageStatus.WAITING]
    # The claim lasts CLAIM_SECONDS; once it has expired the sweep hands the message on.
    db.session.execute(
        update(OutboxMessage).values(claimed_until=clock.now() - timedelta(seconds=1))
    )
    db.session.commit()
    result = flask_jobs(app, "run", "--burst")
    assert result.returncode == 0, result.stderr
    with app.app_context():
        assert jobs.run_due()["messages"] == 0  # a re-run sends nothing twice
    assert len(smtp_sink.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(smtp_sink.received) == 1
    assert statuses() == [MessageStatus.SENT]


def test_the_health_check_reports_the_queue_depth(app, client, smtp_sink):
    raise_mail(app, n=2)
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["queue"]["backend"] == "rq"
    assert body["queue"]["queued_jobs"] == 1
    assert body["queue"]["waiting"] == 2
