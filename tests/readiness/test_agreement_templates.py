"""Agreement templates: admins publish versions (history kept, the newest current), the
hub lead downloads the current one beside each upload slot, and every signed copy records
the version it was signed on; who may publish and download."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.admin import services as admin_services
from app.core import clock
from app.core.errors import ServiceError
from app.extensions import db
from app.readiness.facts import current_templates, template_history
from app.readiness.models import AgreementTemplate
from tests.factories.organisations import join_team
from tests.factories.readiness import (
    EXECUTABLE,
    agreement,
    docx_bytes,
    form_file,
    pdf_bytes,
    png_bytes,
    stored_files,
    upload,
)
from tests.helpers import events, login

# A PDF that would run JavaScript when opened (the storage checks refuse it).
ACTIVE_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"
    b"\nendobj\n%%EOF\n"
)


@pytest.fixture
def app_config(tmp_path):
    return {"STORAGE_DIR": str(tmp_path / "storage")}


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), name="Ada Admin")


@pytest.fixture
def lead(make_user):
    return make_user(name="Lena Lead")


@pytest.fixture
def org(make_organisation, lead):
    return make_organisation(stage="in_training", lead=lead, name="Heron Vale Hospice")


def publish(admin, kind="collaboration", version="2026.1", issued_on=None, data=None, name=None):
    template = admin_services.publish_template(
        kind,
        by=admin,
        upload=upload(data or pdf_bytes(f"{kind} {version}"), name or f"{kind}-{version}.pdf"),
        version_label=version,
        issued_on=issued_on or clock.today() - timedelta(days=30),
    )
    db.session.commit()
    return template


def text(response) -> str:
    """The page's visible text, tags dropped and spaces made single."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return re.sub(r" ([,.;:)])", r"\1", words)


def client_for(app, user):
    browser = app.test_client()
    assert login(browser, user.email).status_code == 302
    return browser


# --- services ------------------------------------------------------------------------


def test_the_newest_version_is_current_and_every_version_is_kept(app, admin):
    today = clock.today()
    first = publish(admin, version="2025.2", issued_on=today - timedelta(days=200))
    second = publish(admin, version="2026.1", issued_on=today - timedelta(days=10))
    # Back-filling an older version keeps the newest by date current.
    publish(admin, version="2024.1", issued_on=today - timedelta(days=600))
    ip = publish(admin, kind="ip_terms", version="3", data=docx_bytes(), name="ip.docx")

    current = current_templates()
    assert current["collaboration"].id == second.id
    assert current["ip_terms"].id == ip.id
    assert ip.content_type.endswith("wordprocessingml.document")
    labels = [(t.kind, t.version_label) for t in template_history()]
    assert labels == [
        ("collaboration", "2026.1"),
        ("collaboration", "2025.2"),
        ("collaboration", "2024.1"),
        ("ip_terms", "3"),
    ]
    assert first.id in {t.id for t in template_history()}
    (event,) = [e for e in events("agreement_template.published") if e.subject_id == str(ip.id)]
    assert event.actor_id == admin.id and event.details["version"] == "3"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"version": "  "}, "version_label", "Enter the version"),
        ({"issued_on": date(2999, 1, 1)}, "issued_on", "future"),
        ({"data": png_bytes(), "name": "scan.png"}, "file", "not a PDF or Word"),
        ({"data": EXECUTABLE, "name": "fake.pdf"}, "file", "contents are not a PDF"),
        ({"data": ACTIVE_PDF, "name": "active.pdf"}, "file", "JavaScript"),
        ({"version": "2026.1"}, "version_label", "already has a version"),
    ],
)
def test_bad_templates_are_refused_and_store_nothing(app, admin, change, field, words):
    publish(admin, version="2026.1")
    root = Path(app.config["STORAGE_DIR"])
    before = stored_files(root)
    kwargs = {"version": "2026.2", **change}
    with pytest.raises(ServiceError) as refused:
        publish(admin, **kwargs)
    db.session.rollback()
    assert refused.value.field == field and words in refused.value.message
    assert stored_files(root) == before
    assert db.session.scalar(select(db.func.count(AgreementTemplate.id))) == 1


def test_only_admins_publish(app, lead):
    with pytest.raises(ServiceError):
        publish(lead)


def test_a_signed_copy_records_the_version_it_was_signed_on(app, admin, org, lead):
    with app.test_request_context():
        unsigned = agreement(org, lead, kind="ip_terms")
        assert unsigned.template is None  # nothing published yet
        old = publish(admin, version="2026.1")
        signed = agreement(org, lead, kind="collaboration")
        assert signed.template_id == old.id
        new = publish(admin, version="2026.2", issued_on=clock.today())
        # A new version changes nothing already signed; the next upload names it.
        assert db.session.get(type(signed), signed.id).template_id == old.id
        again = agreement(org, lead, kind="collaboration", based_on=signed.id)
        assert again.template_id == new.id
    (event,) = [e for e in events("agreement.uploaded") if e.subject_id == str(again.id)]
    assert event.details["template_version"] == "2026.2"


# --- pages and access ------------------------------------------------------------------


def test_admin_publishes_through_the_page(app, admin):
    browser = client_for(app, admin)
    assert browser.get("/admin/agreement-templates").status_code == 200
    response = browser.post(
        "/admin/agreement-templates",
        data={
            "kind": "ip_terms",
            "version_label": "2027.1",
            "issued_on": (clock.today() - timedelta(days=1)).isoformat(),
            "file": form_file(pdf_bytes("IP terms"), "IP terms 2027.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = text(browser.get("/admin/agreement-templates"))
    assert "IP Terms of Use Agreement: version 2027.1" in page
    template = current_templates()["ip_terms"]
    file = browser.get(f"/admin/agreement-templates/{template.id}/file")
    assert file.status_code == 200 and file.data.startswith(b"%PDF-")
    assert "attachment" in file.headers["Content-Disposition"]

    refused = browser.post(
        "/admin/agreement-templates",
        data={"kind": "ip_terms", "version_label": "2027.1", "issued_on": "", "file": ""},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "Enter the date of this version." in text(refused)


def test_only_admins_reach_the_template_pages(app, admin, lead, make_user):
    template = publish(admin)
    for user in (lead, make_user(roles=("trainer",)), make_user(roles=("auditor",))):
        browser = client_for(app, user)
        assert browser.get("/admin/agreement-templates").status_code == 403
        assert browser.get(f"/admin/agreement-templates/{template.id}/file").status_code == 403
        assert (
            browser.post(
                "/admin/agreement-templates",
                data={"kind": "ip_terms", "version_label": "x"},
            ).status_code
            == 403
        )
    assert app.test_client().get("/admin/agreement-templates").status_code == 302  # sign in


def test_the_lead_downloads_the_current_template_beside_the_upload_slot(
    app, admin, org, lead, make_user, make_organisation
):
    publish(admin, version="2025.1", data=pdf_bytes("old"), name="old.pdf")
    current = publish(admin, version="2026.1", issued_on=clock.today(), name="soc-2026.pdf")
    url = f"/organisations/{org.id}/agreements/collaboration/template"

    browser = client_for(app, lead)
    panel = browser.get(f"/organisations/{org.id}/readiness")
    assert url in panel.get_data(as_text=True)
    page = text(panel)
    assert "download the Statement of Collaboration, version 2026.1" in page
    assert "has not published a template for this agreement yet" in page  # IP terms: none
    file = browser.get(url)
    assert file.status_code == 200
    assert hashlib.sha256(file.data).hexdigest() == current.sha256
    assert "soc-2026.pdf" in file.headers["Content-Disposition"]
    assert browser.get(f"/organisations/{org.id}/agreements/ip_terms/template").status_code == 404
    assert browser.get(f"/organisations/{org.id}/agreements/bogus/template").status_code == 404

    other_lead = make_user()
    make_organisation(stage="in_training", lead=other_lead)
    member = make_user()
    with app.test_request_context():
        join_team(org, lead, member, ["coordinator"])
        db.session.commit()
    assert client_for(app, other_lead).get(url).status_code == 404  # not their organisation
    assert client_for(app, member).get(url).status_code == 403  # on the team, not the lead
    assert app.test_client().get(url).status_code == 302  # sign in first
