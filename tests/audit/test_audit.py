"""The audit log is append-only and hash-chained: tampering shows, concurrency cannot fork it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, text, update

from app.core import audit
from app.core.audit import AuditEvent, verify_chain
from app.extensions import db


def _record_some(n: int = 5):
    for i in range(n):
        audit.record("test.event", subject_type="thing", subject_id=i, details={"n": i})
    db.session.commit()


def test_events_form_a_chain(app):
    _record_some(3)
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.hash for e in events}) == 3
    result = verify_chain()
    assert result.intact and result.checked == 3


def test_times_are_aware_utc_after_reload(app):
    _record_some(1)
    db.session.expire_all()
    event = db.session.scalar(select(AuditEvent))
    assert event.occurred_at.tzinfo is not None
    assert event.occurred_at.utcoffset().total_seconds() == 0


def test_edited_event_breaks_the_chain(app):
    _record_some(5)
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(details={"n": 999}))
    db.session.commit()
    result = verify_chain()
    assert not result.intact
    assert result.broken_seq == 3
    assert result.checked == 2
    assert "changed" in result.reason


def test_edited_action_with_recomputed_own_hash_is_still_caught(app):
    """Rewriting an event and its own hash breaks the next event's link."""
    _record_some(4)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
    forged = audit.event_hash(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action="test.forged",
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        organisation_id=event.organisation_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )
    db.session.execute(
        update(AuditEvent).where(AuditEvent.seq == 2).values(action="test.forged", hash=forged)
    )
    db.session.commit()
    result = verify_chain()
    assert not result.intact and result.broken_seq == 3


def test_deleted_event_breaks_the_chain(app):
    _record_some(5)
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    db.session.commit()
    result = verify_chain()
    assert not result.intact
    assert result.broken_seq == 3
    assert "missing" in result.reason


def test_deleting_the_latest_events_is_detected(app):
    _record_some(5)
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    db.session.commit()
    result = verify_chain()
    assert not result.intact
    assert result.checked == 3
    assert "deleted" in result.reason


def test_cli_verify(app, runner):
    _record_some(3)
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0
    assert "intact: 3 events" in ok.output
    db.session.execute(text("UPDATE audit_event SET action = 'x' WHERE seq = 2"))
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN at event 2" in broken.output


@pytest.mark.commits
def test_concurrent_writers_do_not_fork_the_chain(app):
    """Parallel requests each append events; the chain stays one line with no gaps."""
    threads, per_thread = 6, 10
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def writer(worker: int):
        try:
            with app.app_context():
                barrier.wait()
                for i in range(per_thread):
                    audit.record("test.parallel", details={"worker": worker, "i": i})
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(w,)) for w in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert errors == []
    total = threads * per_thread
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == total
    seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert seqs == list(range(1, total + 1))
    result = verify_chain()
    assert result.intact, result


def test_login_and_role_change_are_audited(app, client, make_user, auth):
    admin = make_user(roles=("admin",))
    target = make_user()
    auth.login(admin.email)
    client.post(f"/admin/users/{target.id}/roles", data={"roles": ["applicant", "trainer"]})
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert "auth.login" in actions
    assert "user.roles_changed" in actions
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.roles_changed"))
    assert event.actor_id == admin.id
    assert event.subject_id == str(target.id)
    assert event.details["added"] == ["trainer"]
    assert "changed site roles" in audit.describe(event)
    assert verify_chain().intact


def test_audit_log_page_verifies_and_shows_break(app, client, make_user, auth):
    auditor = make_user(roles=("auditor",))
    auth.login(auditor.email)
    page = client.get("/audit/events")
    assert page.status_code == 200
    assert b"signed in" in page.data
    intact = client.get("/audit/verify")
    assert b"Intact" in intact.data
    db.session.execute(text("UPDATE audit_event SET actor_label = 'mallory' WHERE seq = 1"))
    db.session.commit()
    broken = client.get("/audit/verify")
    assert b"Broken at event 1" in broken.data


def test_audit_log_survives_absurd_page_numbers(client, make_user, auth):
    auth.login(make_user(roles=("auditor",)).email)
    for raw in ("9" * 30, "-5", "abc"):
        assert client.get(f"/audit/events?page={raw}").status_code == 200
