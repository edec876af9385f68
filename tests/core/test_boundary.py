"""The request boundary: one commit per request, after-commit work, and nothing left behind
by a view that fails after it changed things."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from app.assessment import routes as assessment_routes
from app.auth.models import User
from app.certificates.models import Certificate
from app.core import boundary, clock
from app.core.audit import AuditEvent
from app.core.mail import outbox
from app.extensions import db
from app.organisations import routes as organisation_routes
from app.organisations.models import Invitation
from app.readiness import routes as readiness_routes
from app.readiness.models import Agreement
from tests.factories.certificates import write
from tests.factories.readiness import form_file, pdf_bytes, stored_files
from tests.helpers import login


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _fail_after_the_service(monkeypatch, module) -> None:
    """Make the view blow up after its service changed things (at its success message)."""

    def boom(*_args, **_kwargs):
        raise RuntimeError("the view failed after changing things")

    monkeypatch.setattr(module, "flash", boom)


# --- the hooks ---------------------------------------------------------------------------


def test_after_commit_work_runs_once_the_transaction_commits(app):
    ran = []
    boundary.after_commit(lambda: ran.append("mail"))
    db.session.add(User(email="hook@example.org", name="Hook", password_hash="x"))
    db.session.flush()
    assert ran == []
    db.session.commit()
    assert ran == ["mail"]
    db.session.commit()
    assert ran == ["mail"]  # run once, then forgotten


def test_a_rollback_drops_after_commit_work_and_runs_after_rollback_work(app):
    ran = []
    db.session.add(User(email="undone@example.org", name="Undone", password_hash="x"))
    db.session.flush()
    boundary.after_commit(lambda: ran.append("mail"))
    boundary.after_rollback(lambda: ran.append("remove file"))
    db.session.rollback()
    db.session.commit()
    assert ran == ["remove file"]


def test_a_savepoint_decides_nothing(app):
    ran = []
    boundary.after_commit(lambda: ran.append("mail"))
    with db.session.begin_nested():
        db.session.add(User(email="nested@example.org", name="Nested", password_hash="x"))
    assert ran == []  # released, but nothing is durable yet
    nested = db.session.begin_nested()
    nested.rollback()
    db.session.commit()
    assert ran == ["mail"]  # the savepoint's rollback did not drop the outer work


def test_failing_after_commit_work_is_logged_and_the_rest_still_runs(app, caplog):
    ran = []

    def broken():
        raise ConnectionRefusedError("mail server down")

    boundary.after_commit(broken)
    boundary.after_commit(lambda: ran.append("next"))
    with caplog.at_level(logging.ERROR, logger="app.core.boundary"):
        db.session.commit()
    assert ran == ["next"]
    assert "after-transaction work failed" in caplog.text


def test_a_read_only_page_commits_nothing(app, client, make_user):
    from sqlalchemy import event

    user = make_user()
    login(client, user.email)
    commits = []
    listener = lambda session: commits.append(session)  # noqa: E731
    event.listen(db.session.session_factory.class_, "after_commit", listener)
    try:
        assert client.get("/account/profile").status_code == 200
    finally:
        event.remove(db.session.session_factory.class_, "after_commit", listener)
    assert commits == []


# --- a view that raises after changing things leaves nothing behind --------------------


def test_a_form_view_that_fails_after_inviting_leaves_no_invitation_and_no_mail(
    app, client, make_organisation, make_user, monkeypatch
):
    lead = make_user(name="Hana Lead")
    org = make_organisation(stage="in_training", lead=lead)
    login(client, lead.email)
    mails, events = len(outbox()), _count(AuditEvent)
    _fail_after_the_service(monkeypatch, organisation_routes)
    with pytest.raises(RuntimeError, match="after changing things"):
        client.post(
            f"/organisations/{org.id}/team/invite",
            data={"email": "new.person@example.org", "roles": ["coordinator"]},
        )
    assert _count(Invitation) == 0
    assert len(outbox()) == mails
    assert _count(AuditEvent) == events


def test_an_upload_that_fails_after_storing_leaves_no_row_no_file_and_no_mail(
    app, client, make_organisation, make_user, monkeypatch
):
    from datetime import timedelta

    lead = make_user(name="Hana Lead")
    make_user(roles=("trainer",))  # someone to be told about the upload
    org = make_organisation(stage="in_training", lead=lead)
    login(client, lead.email)
    files, mails = len(stored_files(app.config["STORAGE_DIR"])), len(outbox())
    _fail_after_the_service(monkeypatch, readiness_routes)
    data = {
        "ip_terms-file": form_file(pdf_bytes("ip_terms"), "signed.pdf"),
        "ip_terms-signatory_name": "Dr Alex Morgan",
        "ip_terms-signatory_role": "Chief executive",
        "ip_terms-signed_on": (clock.today() - timedelta(days=1)).isoformat(),
        "ip_terms-based_on": "none",
    }
    with pytest.raises(RuntimeError, match="after changing things"):
        client.post(
            f"/organisations/{org.id}/agreements/ip_terms",
            data=data,
            content_type="multipart/form-data",
        )
    assert _count(Agreement) == 0
    assert len(stored_files(app.config["STORAGE_DIR"])) == files
    assert len(outbox()) == mails


def test_an_approval_that_fails_after_issuing_leaves_no_certificate_file_mail_or_cache_bump(
    app, client, make_organisation, make_user, monkeypatch
):
    org = make_organisation(stage="readiness_review")
    author = make_user(roles=("trainer",))
    approver = make_user(roles=("trainer",))
    with app.test_request_context():
        assessment = write(org, author)
    login(client, approver.email)
    store = app.extensions["page_cache"]
    generations = dict(store.local_generations)
    files, mails = len(stored_files(app.config["STORAGE_DIR"])), len(outbox())
    _fail_after_the_service(monkeypatch, assessment_routes)
    with pytest.raises(RuntimeError, match="after changing things"):
        client.post(f"/assessments/{assessment.id}/decision", data={"decision": "approve"})
    assert _count(Certificate) == 0
    assert len(stored_files(app.config["STORAGE_DIR"])) == files
    assert len(outbox()) == mails
    assert store.local_generations == generations
    db.session.expire_all()
    assert db.session.get(type(org), org.id).stage == "readiness_review"
