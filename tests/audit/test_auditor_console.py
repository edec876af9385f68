"""The auditor console: register, filters, exports, ZIP, dossiers, the audit log browser."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.core import clock
from app.extensions import db
from tests.factories.certificates import approved_hub, pdf_bytes_of, three_hubs
from tests.helpers import events, login, page_text
from tests.querycount import count_queries


@pytest.fixture
def hubs(app, make_user, make_organisation):
    """Three approved hubs; the second is revoked."""
    return three_hubs(app, make_user, make_organisation)


@pytest.fixture
def auditor_client(client, make_user):
    login(client, make_user(roles=("auditor",), name="Ann Auditor").email)
    return client


def test_the_register_lists_and_filters_certificates(auditor_client, hubs):
    page = page_text(auditor_client.get("/audit/certificates"))
    assert all(c.serial in page for c in hubs) and "3 certificates match" in page
    revoked = page_text(auditor_client.get("/audit/certificates?status=revoked"))
    assert hubs[1].serial in revoked and hubs[0].serial not in revoked
    wales = page_text(auditor_client.get("/audit/certificates?nation=wales"))
    assert "1 certificate match" in wales and hubs[1].serial in wales
    found = page_text(auditor_client.get("/audit/certificates?q=alder"))
    assert hubs[0].serial in found and hubs[1].serial not in found
    today = clock.today()
    none = page_text(
        auditor_client.get(f"/audit/certificates?start={(today + timedelta(days=1)).isoformat()}")
    )
    assert "0 certificates match" in none


@pytest.mark.parametrize(
    "query,message",
    [
        ("status=bogus", "Not a valid choice"),
        ("sort=password", "Not a valid choice"),
        ("start=2026-02-30", "Not a valid date value"),
        ("start=2026-05-01&to=2026-04-01", "The end date is before the start date"),
        ("q=" + "x" * 300, "Use at most 200 characters"),
    ],
)
def test_bad_filters_get_a_message_and_no_crash(auditor_client, hubs, query, message):
    response = auditor_client.get(f"/audit/certificates?{query}")
    assert response.status_code == 200
    assert message in page_text(response)


def test_a_page_past_the_end_shows_the_last_page(auditor_client, hubs):
    response = auditor_client.get("/audit/certificates?page=999")
    assert response.status_code == 200 and hubs[0].serial in page_text(response)


def test_the_register_and_log_use_a_fixed_number_of_queries(
    app, auditor_client, make_user, make_organisation
):
    approved_hub(app, make_user, make_organisation, name="Solo Hospice")
    with count_queries(db.engine) as one:
        auditor_client.get("/audit/certificates")
    with count_queries(db.engine) as log_one:
        auditor_client.get("/audit/events")
    for name in ("More One", "More Two", "More Three"):
        approved_hub(app, make_user, make_organisation, name=name)
    with count_queries(db.engine) as many:
        auditor_client.get("/audit/certificates")
    with count_queries(db.engine) as log_many:
        auditor_client.get("/audit/events")
    assert len(many) == len(one)
    assert len(log_many) == len(log_one)


def test_the_csv_export_is_filtered_safe_and_recorded(auditor_client, hubs):
    response = auditor_client.get("/audit/certificates.csv?status=valid")
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["serial", "type", "status"]
    serials = {row[0] for row in rows[1:]}
    assert serials == {hubs[0].serial, hubs[2].serial}
    organisations = {row[3] for row in rows[1:]}
    assert '\'=HYPERLINK("http://x") Hospice' in organisations
    (event,) = events("audit.register_exported")
    assert event.details["format"] == "csv" and event.details["filters"]["status"] == "valid"


def test_the_zip_holds_the_pdfs_and_a_manifest_of_their_hashes(auditor_client, hubs):
    response = auditor_client.get("/audit/certificates.zip")
    assert response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert names == {f"{c.serial}.pdf" for c in hubs} | {"manifest.csv"}
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert len(manifest) == 3
    for row in manifest:
        data = archive.read(row["file"])
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
    statuses = {row["serial"]: row["status"] for row in manifest}
    assert statuses[hubs[1].serial] == "revoked"
    assert events("audit.register_exported")[0].details["certificates"] == 3


def test_a_zip_matching_nothing_is_an_empty_zip_with_a_manifest_header(auditor_client, hubs):
    response = auditor_client.get("/audit/certificates.zip?status=superseded")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["manifest.csv"]
    assert archive.read("manifest.csv").decode("utf-8-sig").strip() == (
        "file,serial,organisation,status,sha256"
    )


def test_the_dossier_shows_what_is_behind_a_certificate(auditor_client, hubs):
    cert = hubs[0]
    page = page_text(auditor_client.get(f"/audit/certificates/{cert.id}"))
    for expected in (
        "Approval dossier",
        cert.serial,
        "The team at approval",
        "Partnership agreements",
        "Readiness checklist",
        "Module completion per member",
        "Immersion attendance",
        "Assessment and decision",
        "Hash matches the register",
        "Ada Assessor",
        "Ben Approver",
    ):
        assert expected in page, expected
    pdf = auditor_client.get(f"/audit/certificates/{cert.id}/dossier.pdf")
    assert pdf.data.startswith(b"%PDF-")
    from tests.factories.certificates import pdf_text

    assert cert.serial in pdf_text(pdf.data)
    assert events("audit.dossier_downloaded")[0].details["serial"] == cert.serial


def test_an_auditor_downloading_a_certificate_or_evidence_is_recorded(
    app, auditor_client, hubs, make_user
):
    cert = hubs[0]
    assert auditor_client.get(f"/certificates/{cert.id}/download").data == pdf_bytes_of(cert)
    assert len(events("certificate.downloaded")) == 1


def test_the_audit_log_filters_and_exports(auditor_client, hubs):
    page = page_text(auditor_client.get("/audit/events?action=certificate.revoked"))
    assert "revoked a certificate" in page and "1 event," in page
    by_org = page_text(auditor_client.get("/audit/events?organisation=birch"))
    assert "Birch Hospice" in by_org and "Alder Hospice" not in by_org
    reversed_dates = auditor_client.get("/audit/events?start=2026-05-02&to=2026-05-01")
    assert "The end date is before the start date" in page_text(reversed_dates)
    csv_body = auditor_client.get("/audit/events.csv?action=certificate.revoked").get_data(
        as_text=True
    )
    rows = list(csv.reader(io.StringIO(csv_body.lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][3] == "certificate.revoked"
    assert len(events("audit.log_exported")) == 1


def test_the_integrity_check_names_the_edited_event(auditor_client, hubs):
    assert "Intact" in page_text(auditor_client.get("/audit/verify"))
    target = events("certificate.revoked")[0]
    db.session.execute(
        text("UPDATE audit_event SET actor_label = 'mallory' WHERE seq = :seq"),
        {"seq": target.seq},
    )
    db.session.commit()
    page = page_text(auditor_client.get("/audit/verify"))
    assert f"Broken at event {target.seq}" in page


@pytest.mark.parametrize("role", ["applicant", "trainer"])
def test_trainees_and_trainers_cannot_open_the_console(client, make_user, hubs, role):
    login(client, make_user(roles=(role,)).email)
    for url in (
        "/audit/certificates",
        "/audit/certificates.csv",
        "/audit/certificates.zip",
        f"/audit/certificates/{hubs[0].id}",
        "/audit/events",
        "/audit/verify",
    ):
        assert client.get(url).status_code == 403, url


def test_reports_show_charts_with_tables(app, client, make_user, hubs):
    login(client, make_user(roles=("trainer",)).email)
    response = client.get("/audit/reports")
    assert response.status_code == 200
    text_ = page_text(response)
    for title in (
        "Organisations per stage",
        "Days from submission to approval",
        "Module completion",
        "Immersion: attendees who met the attendance threshold",
        "Certificates issued per quarter",
    ):
        assert title in text_
    assert text_.count('<svg class="bar-chart" role="img"') >= 3
    assert "Median 0 days from first submission to approval (3 organisations)" in text_
    assert "The figures as a table" in text_


def test_reports_are_refused_to_applicants(client, make_user):
    login(client, make_user().email)
    assert client.get("/audit/reports").status_code == 403


def test_the_unfiltered_log_pages_by_sequence_number(app, auditor_client):
    from app.audit import services as console

    with app.test_request_context():
        from app.core import audit

        for n in range(120):
            audit.record("auth.login", details={"n": n})
        db.session.commit()
    total = db.session.scalar(text("SELECT MAX(seq) FROM audit_event"))
    first = console.events_page(console.EventFilters(), 1)
    second = console.events_page(console.EventFilters(), 2)
    last = console.events_page(console.EventFilters(), 999)
    assert first.total == total and first.items[0].seq == total
    assert [e.seq for e in second.items][:2] == [total - 50, total - 51]
    assert last.page == last.pages and last.items[-1].seq == 1
    assert "Page 2 of" in page_text(auditor_client.get("/audit/events?page=2"))
