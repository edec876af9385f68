"""Large exports are prepared by a job: the person is told when one is ready, downloads it
from My exports (only they may, and it is an audit event), and it is removed after 7 days."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.core import clock, jobs
from app.core.storage import path_for
from app.exports import services
from app.exports.models import Export, ExportStatus
from app.extensions import db
from app.notifications.models import Notification
from tests.factories.certificates import three_hubs
from tests.factories.organisations import outbox_to
from tests.helpers import events, login, page_text


@pytest.fixture
def hubs(app, make_user, make_organisation):
    return three_hubs(app, make_user, make_organisation)


@pytest.fixture
def auditor_client(client, make_user):
    login(client, make_user(roles=("auditor",)).email)
    return client


@pytest.fixture(autouse=True)
def small_thresholds(app):
    app.config.update(
        EXPORT_ASYNC_ROWS=2, EXPORT_ASYNC_CERTIFICATES=2, EXPORT_ASYNC_DOSSIER_EVENTS=0
    )


def export_notes() -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == "export_ready")))


def only_export() -> Export:
    db.session.expire_all()
    [export] = db.session.scalars(select(Export)).all()
    return export


def test_a_large_csv_is_prepared_then_downloaded_once_ready(app, auditor_client, hubs):
    response = auditor_client.get("/audit/certificates.csv")
    assert response.status_code == 302 and response.headers["Location"] == "/exports"
    page = page_text(auditor_client.get("/exports"))
    assert "being prepared in the background" in page
    export = only_export()
    assert export.status == ExportStatus.READY and export.expires_at > clock.now()
    assert "Download Certificate register (CSV)" in page
    [note] = export_notes()
    assert note.user_id == export.user_id
    assert note.title == "Your export is ready: Certificate register (CSV)"
    [mail] = outbox_to(db.session.get(User, export.user_id).email)
    assert "Your export is ready" in mail.subject and "/exports" in mail.body

    download = auditor_client.get(f"/exports/{export.id}/download")
    assert download.status_code == 200
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[0] for row in rows[1:]} == {c.serial for c in hubs}
    [requested] = events("audit.register_exported")
    [downloaded] = events("exports.downloaded")
    assert requested.details["format"] == "csv"
    assert downloaded.details["kind"] == "audit.register_csv"


def test_a_large_zip_holds_every_certificate(app, auditor_client, hubs):
    assert auditor_client.get("/audit/certificates.zip").status_code == 302
    export = only_export()
    archive = zipfile.ZipFile(io.BytesIO(auditor_client.get(f"/exports/{export.id}/download").data))
    assert set(archive.namelist()) == {f"{c.serial}.pdf" for c in hubs} | {"manifest.csv"}


def test_small_exports_stay_immediate(app, auditor_client, hubs):
    app.config.update(
        EXPORT_ASYNC_ROWS=200, EXPORT_ASYNC_CERTIFICATES=50, EXPORT_ASYNC_DOSSIER_EVENTS=150
    )
    response = auditor_client.get("/audit/certificates.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    dossier = auditor_client.get(f"/audit/certificates/{hubs[0].id}/dossier.pdf")
    assert dossier.status_code == 200 and dossier.data.startswith(b"%PDF")
    assert db.session.scalars(select(Export)).all() == []


def test_a_long_dossier_is_prepared_as_a_pdf_by_a_job(app, auditor_client, hubs):
    cert = hubs[0]
    app.config.update(EXPORT_ASYNC_DOSSIER_EVENTS=0)  # any history at all counts as long
    response = auditor_client.get(f"/audit/certificates/{cert.id}/dossier.pdf")
    assert response.status_code == 302 and response.headers["Location"] == "/exports"
    assert "dossier is long" in page_text(auditor_client.get("/exports"))
    export = only_export()
    assert export.status == ExportStatus.READY and export.filename == f"dossier-{cert.serial}.pdf"
    download = auditor_client.get(f"/exports/{export.id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF")
    [requested] = events("audit.dossier_downloaded")
    assert requested.details["serial"] == cert.serial
    [downloaded] = events("exports.downloaded")
    assert downloaded.details["kind"] == "audit.dossier_pdf"


def test_only_the_person_who_asked_may_download(app, client, auditor_client, hubs, make_user):
    auditor_client.get("/audit/events.csv")
    export = only_export()
    other = app.test_client()
    login(other, make_user(roles=("auditor",)).email)
    assert other.get(f"/exports/{export.id}/download").status_code == 404
    assert export.label not in page_text(other.get("/exports"))
    assert app.test_client().get(f"/exports/{export.id}/download").status_code == 302
    assert other.get("/exports/99999999/download").status_code == 404


def test_the_file_is_removed_after_seven_days(app, auditor_client, hubs):
    auditor_client.get("/audit/certificates.csv")
    export = only_export()
    stored = path_for(export.storage_key)
    assert stored.exists()
    later = clock.now() + timedelta(days=7, minutes=1)
    with time_machine.travel(later, tick=False), jobs.job_context():
        assert services.remove_expired() == 1
    assert not stored.exists()
    export = only_export()
    assert export.status == ExportStatus.EXPIRED
    response = auditor_client.get(f"/exports/{export.id}/download", follow_redirects=True)
    assert "this one has been removed. Ask for it again." in page_text(response)
    assert "Removed" in page_text(auditor_client.get("/exports"))
    assert events("exports.downloaded") == []


def test_an_export_that_fails_is_marked_and_its_owner_told(app, auditor_client, hubs, monkeypatch):
    def broken(_params):
        raise OSError("disk full")

    monkeypatch.setitem(
        services.BUILDERS,
        "audit.register_csv",
        services.Builder("Certificate register (CSV)", "text/csv", broken),
    )
    auditor_client.get("/audit/certificates.csv")
    export = only_export()
    assert export.status == ExportStatus.FAILED and "disk full" in export.error
    response = auditor_client.get(f"/exports/{export.id}/download", follow_redirects=True)
    assert "could not be prepared. Ask for it again." in page_text(response)
    [note] = export_notes()
    assert note.title == "Your export could not be prepared: Certificate register (CSV)"
