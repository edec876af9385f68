"""Readiness pages through the test client: uploads and their refusals, evidence downloads and
who may fetch them, agreements and their verification, checklist answers and reviews, comment
threads, the review queue, the readiness panel and submitting, and query counts."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.db import utcnow
from app.extensions import db
from app.readiness import services
from app.readiness.models import Agreement, ChecklistAnswer, EvidenceFile
from tests.factories.immersion import attend_immersion
from tests.factories.notifications import tell_at_once
from tests.factories.organisations import (
    clear_outbox,
    join_team,
    outbox_to,
    reload_org,
)
from tests.factories.readiness import (
    DOCX_TYPE,
    EXECUTABLE,
    HTML,
    PDF_TYPE,
    XLSX_TYPE,
    accept_checklist,
    agreement,
    answer,
    complete_training,
    docx_bytes,
    form_file,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    readiness_snapshot,
    stored_files,
    verify_agreements,
    xlsx_bytes,
)
from tests.helpers import events, field_errors, login
from tests.querycount import count_queries

YESTERDAY = (clock.today() - timedelta(days=1)).isoformat()


@pytest.fixture
def app_config(request, tmp_path):
    """Each test stores into its own folder; `indirect` parameters add settings."""
    return {"STORAGE_DIR": str(tmp_path / "storage"), **getattr(request, "param", {})}


@pytest.fixture
def root(app) -> Path:
    return Path(app.config["STORAGE_DIR"]).resolve()


@pytest.fixture
def lead(make_user):
    return make_user(name="Lena Lead")


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer")


@pytest.fixture
def coordinator(make_user):
    return make_user(name="Cora Coordinator")


@pytest.fixture
def specialist(make_user):
    return make_user(name="Sam Specialist")


@pytest.fixture
def org(make_organisation, lead, trainer, coordinator, specialist):
    return make_organisation(
        stage="in_training",
        lead=lead,
        trainer=trainer,
        name="Heron Vale Hospice",
        members={"coordinator": coordinator, ("facilitator", "specialist"): specialist},
    )


def client_for(app, user):
    """A browser of its own, signed in as `user`."""
    browser = app.test_client()
    assert login(browser, user.email).status_code == 302
    return browser


@pytest.fixture
def lead_client(app, lead):
    return client_for(app, lead)


@pytest.fixture
def trainer_client(app, trainer):
    return client_for(app, trainer)


def text(response) -> str:
    """The page's visible text: tags dropped, entities decoded, whitespace made single spaces."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return re.sub(r" ([,.;:)])", r"\1", words)


def hidden(response, name: str) -> str:
    """The value of a hidden form input on the page."""
    for tag in re.findall(r"<input[^>]*>", response.get_data(as_text=True)):
        if f'name="{name}"' in tag:
            return html.unescape(re.search(r'value="([^"]*)"', tag).group(1))
    raise AssertionError(f"no input {name!r} on the page")


def services_context(app):
    """Services email absolute links, which needs a request context."""
    return app.test_request_context()


def panel_url(org) -> str:
    return f"/organisations/{org.id}/readiness"


def item_url(org, key) -> str:
    return f"/organisations/{org.id}/checklist/{key}"


def agreement_form(kind, data=None, filename=None, based_on="none", **fields):
    values = {
        "file": form_file(data if data is not None else pdf_bytes(kind), filename or "signed.pdf"),
        "signatory_name": "Dr Alex Morgan",
        "signatory_role": "Chief executive",
        "signed_on": YESTERDAY,
        "based_on": based_on,
        **fields,
    }
    return {f"{kind}-{name}": value for name, value in values.items() if value is not None}


def post_agreement(browser, org, kind="ip_terms", **kwargs):
    return browser.post(
        f"/organisations/{org.id}/agreements/{kind}",
        data=agreement_form(kind, **kwargs),
        content_type="multipart/form-data",
    )


def review_form(kind, agreement_id, decision, reason=""):
    return {
        f"review-{kind}-agreement_id": str(agreement_id),
        f"review-{kind}-decision": decision,
        f"review-{kind}-reason": reason,
    }


def post_file_answer(browser, org, data, filename, key="sponsor-letter", based_on="none"):
    return browser.post(
        item_url(org, key),
        data={"file": form_file(data, filename), "based_on": based_on, "note": ""},
        content_type="multipart/form-data",
    )


def only_evidence() -> EvidenceFile:
    db.session.expire_all()
    [evidence] = db.session.scalars(select(EvidenceFile)).all()
    return evidence


def raw_multipart(browser, url, fields, filename: bytes, data: bytes, file_field="file"):
    """Post a file whose name is sent exactly as given (the test client would re-encode it);
    the body is built in memory (the test client spools big bodies to unclosed temp files)."""
    boundary = b"readiness-test-boundary"
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary, name.encode(), value.encode())
        for name, value in fields.items()
    ]
    parts.append(
        b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%s\r\n"
        % (boundary, file_field.encode(), filename, data)
    )
    body = b"".join(parts) + b"--%s--\r\n" % boundary
    return browser.post(
        url, data=body, content_type=f"multipart/form-data; boundary={boundary.decode()}"
    )


# --- uploads through the pages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "make", "content_type"),
    [
        ("Sponsor letter.pdf", pdf_bytes, PDF_TYPE),
        ("Sponsor letter.docx", docx_bytes, DOCX_TYPE),
        ("Sponsor letter.xlsx", xlsx_bytes, XLSX_TYPE),
        ("Sponsor letter.png", png_bytes, "image/png"),
        ("Sponsor letter.jpg", jpeg_bytes, "image/jpeg"),
    ],
)
def test_valid_evidence_is_accepted(org, lead, lead_client, root, filename, make, content_type):
    data = make()
    response = post_file_answer(lead_client, org, data, filename)
    assert response.status_code == 302, text(response)
    assert response.headers["Location"] == item_url(org, "sponsor-letter")

    evidence = only_evidence()
    sha = hashlib.sha256(data).hexdigest()
    assert (evidence.original_name, evidence.content_type, evidence.size, evidence.sha256) == (
        filename,
        content_type,
        len(data),
        sha,
    )
    assert evidence.uploaded_by_id == lead.id and evidence.organisation_id == org.id
    assert stored_files(root) == [(root / evidence.storage_key).resolve()]

    page = lead_client.get(item_url(org, "sponsor-letter"))
    assert "“Executive sponsor letter” submitted for review." in text(page)
    assert filename in text(page) and f"SHA-256 {sha[:12]}" in text(page)
    download = lead_client.get(f"/evidence/{evidence.id}")
    assert download.status_code == 200 and download.data == data
    assert download.mimetype == content_type


BAD_FILES = [
    ("letter.pdf", EXECUTABLE, "is named like a PDF but its contents are not a PDF"),
    ("letter.pdf", HTML, "is named like a PDF but its contents are not a PDF"),
    ("photo.docx", png_bytes(), "named like a Word document but its contents are not"),
    ("photo.pdf", png_bytes(), "is named like a PDF but its contents are not a PDF"),
    ("letter.pdf", b"", "“letter.pdf” is empty (0 bytes)."),
    ("setup.exe", EXECUTABLE, "“setup.exe” is not a file type we accept"),
    ("page.html", HTML, "“page.html” is not a file type we accept"),
    ("letter", pdf_bytes(), "“letter” is not a file type we accept"),
]


@pytest.mark.parametrize(("filename", "data", "message"), BAD_FILES)
def test_bad_evidence_is_refused_and_nothing_stored(
    org, lead_client, root, filename, data, message
):
    before = readiness_snapshot(root)
    response = post_file_answer(lead_client, org, data, filename)
    assert response.status_code == 400
    assert message in field_errors(response, "file")
    assert "There is a problem" in text(response)
    assert readiness_snapshot(root) == before


@pytest.mark.parametrize(("filename", "data", "message"), BAD_FILES)
def test_bad_agreement_files_are_refused_and_nothing_stored(
    org, lead_client, root, filename, data, message
):
    before = readiness_snapshot(root)
    response = post_agreement(lead_client, org, "collaboration", data=data, filename=filename)
    assert response.status_code == 400
    assert message in field_errors(response, "collaboration-file")
    assert readiness_snapshot(root) == before


def test_no_file_chosen(org, lead_client, root):
    before = readiness_snapshot(root)
    response = lead_client.post(
        item_url(org, "sponsor-letter"),
        data={"based_on": "none"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Choose a file to upload." in field_errors(response, "file")
    assert readiness_snapshot(root) == before


@pytest.mark.parametrize("app_config", [{"EVIDENCE_MAX_BYTES": 2048}], indirect=True)
def test_an_over_size_file_is_refused(org, lead_client, root):
    before = readiness_snapshot(root)
    big = pdf_bytes().ljust(2049, b" ")
    response = post_file_answer(lead_client, org, big, "big.pdf")
    assert response.status_code == 400
    assert "“big.pdf” is larger than 2 KB" in field_errors(response, "file")
    assert readiness_snapshot(root) == before
    response = post_agreement(lead_client, org, data=big, filename="big.pdf")
    assert response.status_code == 400
    assert "is larger than 2 KB" in field_errors(response, "ip_terms-file")
    assert readiness_snapshot(root) == before


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 1024 * 1024}], indirect=True)
def test_a_request_over_the_request_limit_gets_the_413_page(org, lead_client, root):
    before = readiness_snapshot(root)
    huge = pdf_bytes().ljust(1024 * 1024 + 10, b" ")
    agreement_fields = {
        k: v for k, v in agreement_form("ip_terms").items() if not k.endswith("-file")
    }
    for response in (
        raw_multipart(
            lead_client, item_url(org, "sponsor-letter"), {"based_on": "none"}, b"huge.pdf", huge
        ),
        raw_multipart(
            lead_client,
            f"/organisations/{org.id}/agreements/ip_terms",
            agreement_fields,
            b"huge.pdf",
            huge,
            file_field="ip_terms-file",
        ),
    ):
        assert response.status_code == 413
        assert "What you sent is larger than 1 MB, so nothing was saved." in text(response)
    assert readiness_snapshot(root) == before


HOSTILE_NAMES = [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\x.pdf", "x.pdf"),
    ("invoice\u202egpj.pdf", "invoicegpj.pdf"),
    ("\x07bell\x1b.pdf", "bell.pdf"),
    ("tab\there.pdf", "tabhere.pdf"),
]


@pytest.mark.parametrize(("filename", "shown"), HOSTILE_NAMES)
def test_hostile_file_names_are_stored_inside_storage_and_shown_harmlessly(
    org, lead_client, root, filename, shown
):
    response = post_file_answer(lead_client, org, pdf_bytes(), filename)
    assert response.status_code == 302
    evidence = only_evidence()
    assert evidence.original_name == shown
    path = (root / evidence.storage_key).resolve()
    assert root in path.parents and path.is_file()
    assert re.fullmatch(rf"org-{org.id}/[0-9a-f]{{32}}", evidence.storage_key)
    assert stored_files(root) == [path]

    page = lead_client.get(item_url(org, "sponsor-letter"))
    assert shown in text(page)

    download = lead_client.get(f"/evidence/{evidence.id}")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    value = disposition.removeprefix("attachment; filename=").split("; filename*=")[0]
    assert value.strip('"') == shown
    for bad in ("/", "\\", "\n", "\r", "\u202e", "\x07"):
        assert bad not in disposition
    assert '"' not in value.strip('"')


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        (b'say \\"hi\\".pdf', "say 'hi'.pdf"),  # an escaped quote in the header
        (b"say %22hi%22.pdf", "say 'hi'.pdf"),  # how browsers send a quote
        (b"two%0D%0Alines.pdf", "two%0D%0Alines.pdf"),  # how browsers send a line break
        (b"/var/www/../../root/x.pdf", "x.pdf"),
    ],
)
def test_names_with_quotes_and_line_breaks_are_harmless(org, lead_client, root, sent, shown):
    data = pdf_bytes()
    response = raw_multipart(
        lead_client, item_url(org, "sponsor-letter"), {"based_on": "none"}, sent, data
    )
    assert response.status_code == 302, text(response)
    evidence = only_evidence()
    assert evidence.original_name == shown
    assert root in (root / evidence.storage_key).resolve().parents
    download = lead_client.get(f"/evidence/{evidence.id}")
    assert download.data == data
    disposition = download.headers["Content-Disposition"]
    value = disposition.removeprefix("attachment; filename=").split("; filename*=")[0]
    assert value.strip('"') == shown
    assert '"' not in value.strip('"') and "\n" not in disposition and "\r" not in disposition


def test_an_agreement_with_a_hostile_name(org, lead_client, root):
    response = post_agreement(lead_client, org, filename="../../../etc/passwd.pdf")
    assert response.status_code == 302
    evidence = only_evidence()
    assert evidence.original_name == "passwd.pdf"
    assert root in (root / evidence.storage_key).resolve().parents
    assert "passwd.pdf" in text(lead_client.get(panel_url(org)))


# --- downloads ----------------------------------------------------------------------------------


@pytest.fixture
def evidence(app, org, lead):
    with services_context(app):
        return answer(org, lead, "sponsor-letter").file


def test_a_member_downloads_evidence_as_an_attachment(app, org, coordinator, evidence, root):
    browser = client_for(app, coordinator)
    response = browser.get(f"/evidence/{evidence.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=sponsor-letter.pdf"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data == (root / evidence.storage_key).read_bytes()


@pytest.mark.parametrize("role", ["auditor", "trainer", "admin"])
def test_staff_download_evidence(app, make_user, evidence, role):
    browser = client_for(app, make_user(roles=(role,)))
    response = browser.get(f"/evidence/{evidence.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_another_organisations_member_gets_404(app, make_organisation, make_user, evidence):
    stranger = make_user()
    make_organisation(stage="in_training", lead=stranger)
    browser = client_for(app, stranger)
    response = browser.get(f"/evidence/{evidence.id}")
    assert response.status_code == 404
    assert response.data != (Path(app.config["STORAGE_DIR"]) / evidence.storage_key).read_bytes()


def test_anonymous_downloads_go_to_login(client, evidence):
    response = client.get(f"/evidence/{evidence.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")


def test_unknown_or_missing_evidence_is_404(app, lead_client, evidence, root):
    assert lead_client.get("/evidence/999999").status_code == 404
    (root / evidence.storage_key).unlink()
    assert lead_client.get(f"/evidence/{evidence.id}").status_code == 404


# --- agreements ---------------------------------------------------------------------------------


def test_the_lead_uploads_both_agreements_from_the_panel(org, lead, lead_client, root):
    page = lead_client.get(panel_url(org))
    assert page.status_code == 200
    for kind in ("ip_terms", "collaboration"):
        assert hidden(page, f"{kind}-based_on") == "none"
        response = post_agreement(
            lead_client,
            org,
            kind,
            signatory_name="Dr Alex Morgan",
            signatory_role="Legal counsel",
            based_on=hidden(page, f"{kind}-based_on"),
        )
        assert response.status_code == 302, text(response)
        assert response.headers["Location"] == panel_url(org) + "#agreements"
    panel = text(lead_client.get(panel_url(org)))
    assert "Statement of Collaboration uploaded. A trainer will verify it." in panel
    assert panel.count("Submitted for review") >= 2
    assert "Dr Alex Morgan, Legal counsel" in panel
    assert "waiting for a trainer to verify it" in panel
    assert len(stored_files(root)) == 2
    assert [e.details["kind"] for e in events("agreement.uploaded")] == [
        "ip_terms",
        "collaboration",
    ]


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"signatory_name": ""}, "signatory_name", "Enter the name of the person who signed."),
        ({"signatory_role": ""}, "signatory_role", "Enter the signatory's role."),
        ({"signed_on": ""}, "signed_on", "Enter the date it was signed."),
        ({"signed_on": "31/02/2024"}, "signed_on", "Not a valid date value."),
        (
            {"signed_on": (clock.today() + timedelta(days=2)).isoformat()},
            "signed_on",
            "The date signed cannot be in the future.",
        ),
        ({"signatory_name": "x" * 121}, "signatory_name", "Use at most 120 characters."),
        ({"file": None}, "file", "Choose a file to upload."),
    ],
)
def test_agreement_fields_are_required(org, lead_client, root, fields, field_id, message):
    before = readiness_snapshot(root)
    response = post_agreement(lead_client, org, **fields)
    assert response.status_code == 400
    assert message in field_errors(response, f"ip_terms-{field_id}")
    assert readiness_snapshot(root) == before


def test_only_the_lead_uploads_agreements(
    app, org, coordinator, trainer_client, make_user, make_organisation, client, root
):
    stranger = make_user()
    make_organisation(stage="in_training", lead=stranger)
    coord, auditor = client_for(app, coordinator), client_for(app, make_user(roles=("auditor",)))
    outsider = client_for(app, stranger)
    before = readiness_snapshot(root)
    assert post_agreement(coord, org).status_code == 403
    assert post_agreement(trainer_client, org).status_code == 403
    assert post_agreement(auditor, org).status_code == 403
    assert post_agreement(outsider, org).status_code == 404
    anonymous = post_agreement(client, org)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    assert readiness_snapshot(root) == before
    # and members do not see the upload form
    page = coord.get(panel_url(org))
    assert "ip_terms-file" not in page.get_data(as_text=True)


def test_unknown_agreement_kind_is_404(org, lead_client):
    assert post_agreement(lead_client, org, "nda").status_code == 404


def test_a_trainer_accepts_one_rejects_the_other_and_the_lead_sees_the_reason(
    app, org, lead, lead_client, trainer_client
):
    for kind in ("ip_terms", "collaboration"):
        assert post_agreement(lead_client, org, kind).status_code == 302
    page = trainer_client.get(panel_url(org))
    ip_id = hidden(page, "review-ip_terms-agreement_id")
    collab_id = hidden(page, "review-collaboration-agreement_id")
    tell_at_once(lead)  # reviews come in the daily digest unless one asks
    clear_outbox()

    accepted = trainer_client.post(
        f"/organisations/{org.id}/agreements/ip_terms/review",
        data=review_form("ip_terms", ip_id, "accept"),
    )
    assert accepted.status_code == 302
    missing_reason = trainer_client.post(
        f"/organisations/{org.id}/agreements/collaboration/review",
        data=review_form("collaboration", collab_id, "reject"),
    )
    assert missing_reason.status_code == 400
    assert "Give the reason for rejecting" in field_errors(
        missing_reason, "review-collaboration-reason"
    )
    assert events("agreement.rejected") == []
    rejected = trainer_client.post(
        f"/organisations/{org.id}/agreements/collaboration/review",
        data=review_form("collaboration", collab_id, "reject", "Page 2 is not signed."),
    )
    assert rejected.status_code == 302

    panel = text(lead_client.get(panel_url(org)))
    assert "Rejected: Page 2 is not signed." in panel
    assert "Verified by Tariq Trainer" in panel
    assert "Statement of Collaboration: rejected — Page 2 is not signed." in panel
    assert len(events("agreement.accepted")) == 1 and len(events("agreement.rejected")) == 1
    subjects = [m.subject for m in outbox_to(lead.email)]
    assert any("IP Terms of Use Agreement verified" in s for s in subjects)
    assert any("Statement of Collaboration needs attention" in s for s in subjects)

    # the lead re-uploads the rejected one; the trainer accepts it
    page = lead_client.get(panel_url(org))
    assert "ip_terms-file" not in page.get_data(as_text=True)  # verified: no new upload
    again = post_agreement(
        lead_client, org, "collaboration", based_on=hidden(page, "collaboration-based_on")
    )
    assert again.status_code == 302
    page = trainer_client.get(panel_url(org))
    assert (
        trainer_client.post(
            f"/organisations/{org.id}/agreements/collaboration/review",
            data=review_form(
                "collaboration", hidden(page, "review-collaboration-agreement_id"), "accept"
            ),
        ).status_code
        == 302
    )
    panel = text(lead_client.get(panel_url(org)))
    assert "Partnership agreements verified (met) — Both agreements are verified." in panel
    assert "Earlier versions (1)" in panel and "(replaced)" in panel


@pytest.mark.parametrize(
    ("posted", "field_id", "message"),
    [
        ({"decision": ""}, "decision", "Choose verify or reject."),
        ({"decision": "approve"}, "decision", "Not a valid choice"),
        ({"agreement_id": ""}, "agreement_id", ""),
    ],
)
def test_bad_review_forms(org, lead, trainer_client, app, root, posted, field_id, message):
    with services_context(app):
        a = agreement(org, lead)
    data = review_form("ip_terms", a.id, "accept")
    data.update({f"review-ip_terms-{k}": v for k, v in posted.items()})
    before = readiness_snapshot(root)
    response = trainer_client.post(f"/organisations/{org.id}/agreements/ip_terms/review", data=data)
    assert response.status_code == 400
    if message:
        assert message in text(response)
    assert readiness_snapshot(root) == before


def test_only_trainers_review_agreements(app, org, lead, lead_client, make_user, root):
    with services_context(app):
        a = agreement(org, lead)
    staff = [client_for(app, make_user(roles=(role,))) for role in ("auditor", "admin")]
    before = readiness_snapshot(root)
    url = f"/organisations/{org.id}/agreements/ip_terms/review"
    data = review_form("ip_terms", a.id, "accept")
    assert lead_client.post(url, data=data).status_code == 403
    for browser in staff:
        assert browser.post(url, data=data).status_code == 403
    assert readiness_snapshot(root) == before
    assert "review-ip_terms-decision" not in lead_client.get(panel_url(org)).get_data(True)


def test_a_review_of_another_organisations_agreement_is_404(
    app, org, trainer_client, make_user, make_organisation, trainer
):
    other_lead = make_user()
    other = make_organisation(stage="in_training", lead=other_lead, trainer=trainer)
    with services_context(app):
        theirs = agreement(other, other_lead)
    response = trainer_client.post(
        f"/organisations/{org.id}/agreements/ip_terms/review",
        data=review_form("ip_terms", theirs.id, "accept"),
    )
    assert response.status_code == 404
    assert db.session.get(Agreement, theirs.id).status == "submitted"


def test_a_new_upload_replaces_the_current_one_and_keeps_history(org, lead_client, root):
    assert post_agreement(lead_client, org, filename="first.pdf").status_code == 302
    page = lead_client.get(panel_url(org))
    response = post_agreement(
        lead_client, org, filename="second.pdf", based_on=hidden(page, "ip_terms-based_on")
    )
    assert response.status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(select(Agreement).order_by(Agreement.id)).all()
    assert [(a.status, a.file.original_name) for a in rows] == [
        ("superseded", "first.pdf"),
        ("submitted", "second.pdf"),
    ]
    panel = text(lead_client.get(panel_url(org)))
    assert "Earlier versions (1)" in panel
    assert "IP Terms of Use Agreement — first.pdf" in panel and "(replaced)" in panel
    assert len(stored_files(root)) == 2


def test_a_double_submission_is_refused_and_stored_once(org, lead_client, root):
    page = lead_client.get(panel_url(org))
    based_on = hidden(page, "ip_terms-based_on")
    first = post_agreement(lead_client, org, based_on=based_on)
    assert first.status_code == 302
    before = readiness_snapshot(root)
    second = post_agreement(lead_client, org, based_on=based_on)
    assert second.status_code == 400
    assert "changed since you opened the page" in text(second)
    assert readiness_snapshot(root) == before
    assert len(stored_files(root)) == 1


def test_uploading_over_a_verified_agreement_is_refused_with_a_message(
    app, org, lead, trainer, lead_client, root
):
    with services_context(app):
        a = agreement(org, lead)
        services.review_agreement(org, by=trainer, agreement_id=a.id, decision="accept")
        db.session.commit()
    before = readiness_snapshot(root)
    response = post_agreement(lead_client, org, based_on=str(a.id))
    assert response.status_code == 400
    assert "The IP Terms of Use Agreement is already verified." in text(response)
    assert readiness_snapshot(root) == before


def test_a_trainer_decision_on_a_replaced_agreement_is_refused(
    org, lead, lead_client, trainer_client, root
):
    assert post_agreement(lead_client, org, filename="first.pdf").status_code == 302
    trainer_page = trainer_client.get(panel_url(org))  # the trainer opens the page…
    seen = hidden(trainer_page, "review-ip_terms-agreement_id")
    lead_page = lead_client.get(panel_url(org))  # …and the lead replaces the file meanwhile
    assert (
        post_agreement(
            lead_client, org, filename="second.pdf", based_on=hidden(lead_page, "ip_terms-based_on")
        ).status_code
        == 302
    )
    clear_outbox()
    before = readiness_snapshot(root)
    response = trainer_client.post(
        f"/organisations/{org.id}/agreements/ip_terms/review",
        data=review_form("ip_terms", seen, "accept"),
    )
    assert response.status_code == 400
    assert "changed since you opened the page" in text(response)
    assert "nothing was recorded" in text(response)
    assert readiness_snapshot(root) == before
    assert events("agreement.accepted") == []
    assert outbox_to(lead.email) == []


def test_a_second_decision_on_a_decided_agreement_shows_why_it_was_refused(
    app, org, lead, trainer, trainer_client, root
):
    with services_context(app):
        a = agreement(org, lead)
        services.review_agreement(org, by=trainer, agreement_id=a.id, decision="accept")
        db.session.commit()
    before = readiness_snapshot(root)
    response = trainer_client.post(
        f"/organisations/{org.id}/agreements/ip_terms/review",
        data=review_form("ip_terms", a.id, "reject", "Changed my mind."),
    )
    assert response.status_code == 400
    assert "changed since you opened the page" in text(response)
    assert readiness_snapshot(root) == before


@pytest.mark.parametrize("stage", ["draft", "submitted", "readiness_review", "withdrawn"])
def test_agreements_are_refused_outside_training_with_a_message(
    make_organisation, lead, app, root, stage
):
    org = make_organisation(stage=stage, lead=lead)
    browser = client_for(app, lead)
    before = readiness_snapshot(root)
    response = post_agreement(browser, org)
    assert response.status_code == 400
    assert "can be changed only while the organisation is in training" in text(response)
    assert readiness_snapshot(root) == before


# --- checklist answers --------------------------------------------------------------------------


def post_answer(browser, org, key, **data):
    data.setdefault("based_on", "none")
    return browser.post(item_url(org, key), data=data, content_type="multipart/form-data")


def test_each_kind_of_answer_through_the_page(app, org, lead, coordinator, lead_client, make_user):
    it_person = make_user(name="Ifan IT")
    with services_context(app):
        join_team(org, lead, it_person, ["it_support"])
        db.session.commit()
    coord = client_for(app, coordinator)
    it = client_for(app, it_person)

    page = coord.get(item_url(org, "spoke-recruitment"))
    assert "Not answered yet." in text(page) and hidden(page, "based_on") == "none"
    assert (
        post_answer(coord, org, "spoke-recruitment", text="  Care homes first.  ").status_code
        == 302
    )
    assert (
        post_answer(coord, org, "dry-run", date_value=YESTERDAY, note="All good").status_code == 302
    )
    assert (
        post_answer(
            it,
            org,
            "videoconferencing",
            attested_by_name="Ifan Jones",
            attested_by_role="IT manager",
            confirmed="y",
        ).status_code
        == 302
    )
    assert post_file_answer(lead_client, org, pdf_bytes(), "letter.pdf").status_code == 302

    db.session.expire_all()
    current = services.current_answers(reload_org(org.id))
    assert current["spoke-recruitment"].text_value == "Care homes first."
    assert current["dry-run"].date_value.isoformat() == YESTERDAY
    assert current["dry-run"].text_value == "All good"
    assert (current["videoconferencing"].attested_by_name, current["videoconferencing"].status) == (
        "Ifan Jones",
        "submitted",
    )
    assert current["sponsor-letter"].file.original_name == "letter.pdf"
    assert {a.submitted_by_id for a in current.values()} == {coordinator.id, it_person.id, lead.id}

    shown = text(coord.get(item_url(org, "videoconferencing")))
    assert "Confirmed by Ifan Jones, IT manager." in shown
    assert "Submitted for review" in shown
    panel = text(lead_client.get(panel_url(org)))
    assert "Spoke recruitment plan: waiting for review" in panel


@pytest.mark.parametrize(
    ("key", "data", "field_id", "message"),
    [
        ("spoke-recruitment", {"text": "  "}, "text", "Write your answer."),
        ("spoke-recruitment", {"text": "x" * 10_001}, "text", "Use at most 10000 characters."),
        ("dry-run", {"date_value": ""}, "date_value", "Enter the date."),
        ("dry-run", {"date_value": "2024-13-45"}, "date_value", "Not a valid date value."),
        (
            "dry-run",
            {"date_value": (clock.today() + timedelta(days=5)).isoformat()},
            "date_value",
            "This date cannot be in the future.",
        ),
        (
            "videoconferencing",
            {"attested_by_role": "IT manager", "confirmed": "y"},
            "attested_by_name",
            "Enter the name of the person confirming.",
        ),
        (
            "videoconferencing",
            {"attested_by_name": "Ifan Jones", "confirmed": "y"},
            "attested_by_role",
            "Enter their role.",
        ),
        (
            "videoconferencing",
            {"attested_by_name": "Ifan Jones", "attested_by_role": "IT manager"},
            "confirmed",
            "Tick the box to confirm the statement.",
        ),
    ],
)
def test_answers_are_validated_with_clear_messages(
    org, lead_client, root, key, data, field_id, message
):
    before = readiness_snapshot(root)
    response = post_answer(lead_client, org, key, **data)
    assert response.status_code == 400
    assert message in field_errors(response, field_id)
    assert readiness_snapshot(root) == before


def test_a_future_first_session_is_fine(org, lead_client):
    later = (clock.today() + timedelta(days=40)).isoformat()
    assert post_answer(lead_client, org, "first-session", date_value=later).status_code == 302


def test_who_may_answer(app, org, coordinator, specialist, trainer_client, make_user, root, client):
    coord, spec = client_for(app, coordinator), client_for(app, specialist)
    auditor = client_for(app, make_user(roles=("auditor",)))
    outsider = client_for(app, make_user())
    before = readiness_snapshot(root)
    # the coordinator answers coordinator items only; the specialist theirs
    assert post_answer(coord, org, "videoconferencing", attested_by_name="x").status_code == 403
    assert post_answer(coord, org, "network-design").status_code == 403
    assert post_answer(spec, org, "spoke-recruitment", text="x").status_code == 403
    assert post_answer(trainer_client, org, "spoke-recruitment", text="x").status_code == 403
    assert post_answer(auditor, org, "spoke-recruitment", text="x").status_code == 403
    assert post_answer(outsider, org, "spoke-recruitment", text="x").status_code == 404
    anonymous = post_answer(client, org, "spoke-recruitment", text="x")
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    assert readiness_snapshot(root) == before
    # the answer form is only offered to those who may answer
    assert "Answer this item" not in text(coord.get(item_url(org, "videoconferencing")))
    assert "Answer this item" in text(coord.get(item_url(org, "spoke-recruitment")))
    assert post_answer(coord, org, "spoke-recruitment", text="Our plan").status_code == 302


def test_unknown_items_are_404(org, lead_client):
    assert lead_client.get(item_url(org, "no-such-item")).status_code == 404
    assert post_answer(lead_client, org, "no-such-item", text="x").status_code == 404


@pytest.mark.parametrize("stage", ["draft", "submitted", "withdrawn"])
def test_answers_outside_training_are_refused_with_a_message(
    make_organisation, lead, app, root, stage
):
    org = make_organisation(stage=stage, lead=lead)
    browser = client_for(app, lead)
    before = readiness_snapshot(root)
    response = post_answer(browser, org, "spoke-recruitment", text="Our plan")
    assert response.status_code == 400
    assert "can be changed only while the organisation is in training" in text(response)
    assert readiness_snapshot(root) == before
    response = post_file_answer(browser, org, pdf_bytes(), "letter.pdf")
    assert response.status_code == 400
    assert readiness_snapshot(root) == before


def test_resubmission_keeps_earlier_versions(org, lead_client, trainer_client, coordinator, app):
    assert post_file_answer(lead_client, org, pdf_bytes("one"), "v1.pdf").status_code == 302
    page = lead_client.get(item_url(org, "sponsor-letter"))
    assert "This item is accepted" not in text(page)
    response = post_file_answer(
        lead_client, org, pdf_bytes("two"), "v2.pdf", based_on=hidden(page, "based_on")
    )
    assert response.status_code == 302
    shown = text(lead_client.get(item_url(org, "sponsor-letter")))
    assert "version 2" in shown and "v2.pdf" in shown
    assert "Earlier versions" in shown and "Version 1 (replaced)" in shown and "v1.pdf" in shown
    db.session.expire_all()
    rows = db.session.scalars(select(ChecklistAnswer).order_by(ChecklistAnswer.id))
    assert [a.status for a in rows] == ["superseded", "submitted"]


def test_a_double_submitted_answer_is_refused(org, lead_client, root):
    page = lead_client.get(item_url(org, "sponsor-letter"))
    based_on = hidden(page, "based_on")
    assert (
        post_file_answer(lead_client, org, pdf_bytes(), "a.pdf", based_on=based_on).status_code
        == 302
    )
    before = readiness_snapshot(root)
    again = post_file_answer(lead_client, org, pdf_bytes(), "a.pdf", based_on=based_on)
    assert again.status_code == 400
    assert "changed since you opened the page" in text(again)
    assert readiness_snapshot(root) == before


def review_item(browser, org, key, answer_id, decision, comment=""):
    return browser.post(
        f"{item_url(org, key)}/review",
        data={"answer_id": str(answer_id), "decision": decision, "comment": comment},
    )


def test_trainer_review_requests_changes_then_accepts(
    app, org, lead, coordinator, specialist, trainer_client
):
    coord = client_for(app, coordinator)
    assert post_answer(coord, org, "spoke-recruitment", text="Some plan").status_code == 302
    page = trainer_client.get(item_url(org, "spoke-recruitment"))
    assert "Review version 1" in text(page)
    seen = hidden(page, "answer_id")
    tell_at_once(lead, coordinator, specialist)
    clear_outbox()

    no_comment = review_item(trainer_client, org, "spoke-recruitment", seen, "changes")
    assert no_comment.status_code == 400
    assert "Say what needs to change." in field_errors(no_comment, "comment")
    assert events("checklist.changes_requested") == []

    changes = review_item(
        trainer_client, org, "spoke-recruitment", seen, "changes", "How many spokes?"
    )
    assert changes.status_code == 302
    assert len(events("checklist.changes_requested")) == 1
    [message] = outbox_to(coordinator.email)
    assert "How many spokes?" in message.body
    assert outbox_to(specialist.email) == []

    shown = text(coord.get(item_url(org, "spoke-recruitment")))
    assert "Changes requested" in shown and "How many spokes?" in shown
    assert "requested changes" in shown
    page = coord.get(item_url(org, "spoke-recruitment"))
    fixed = post_answer(
        coord, org, "spoke-recruitment", text="18 spokes", based_on=hidden(page, "based_on")
    )
    assert fixed.status_code == 302

    page = trainer_client.get(item_url(org, "spoke-recruitment"))
    assert "Review version 2" in text(page)
    accepted = review_item(
        trainer_client, org, "spoke-recruitment", hidden(page, "answer_id"), "accept"
    )
    assert accepted.status_code == 302
    assert len(events("checklist.accepted")) == 1
    assert "accepted" in outbox_to(coordinator.email)[-1].subject
    shown = text(coord.get(item_url(org, "spoke-recruitment")))
    assert "Accepted" in shown and "Version 1 (changes requested)" in shown


def test_a_review_of_a_changed_answer_is_refused(app, org, coordinator, trainer_client, root):
    coord = client_for(app, coordinator)
    assert post_answer(coord, org, "spoke-recruitment", text="v1").status_code == 302
    seen = hidden(trainer_client.get(item_url(org, "spoke-recruitment")), "answer_id")
    page = coord.get(item_url(org, "spoke-recruitment"))
    assert (
        post_answer(
            coord, org, "spoke-recruitment", text="v2", based_on=hidden(page, "based_on")
        ).status_code
        == 302
    )
    clear_outbox()
    before = readiness_snapshot(root)
    for decision, comment in (("accept", ""), ("changes", "More please.")):
        response = review_item(trainer_client, org, "spoke-recruitment", seen, decision, comment)
        assert response.status_code == 400
        assert "changed since you opened" in text(response)
    assert readiness_snapshot(root) == before
    assert outbox_to(coordinator.email) == []


def test_a_review_of_an_already_decided_answer_shows_why(app, org, lead, trainer, trainer_client):
    with services_context(app):
        a = answer(org, lead, "spoke-recruitment")
        services.review_answer(
            org,
            by=trainer,
            item_key="spoke-recruitment",
            answer_id=a.id,
            decision="accept",
            comment="",
        )
        db.session.commit()
    response = review_item(trainer_client, org, "spoke-recruitment", a.id, "changes", "Hmm")
    assert response.status_code == 400
    assert "changed since you opened" in text(response)


def test_only_trainers_review_answers(app, org, lead, lead_client, make_user, root):
    with services_context(app):
        a = answer(org, lead, "spoke-recruitment")
    auditor = client_for(app, make_user(roles=("auditor",)))
    before = readiness_snapshot(root)
    assert review_item(lead_client, org, "spoke-recruitment", a.id, "accept").status_code == 403
    assert review_item(auditor, org, "spoke-recruitment", a.id, "accept").status_code == 403
    assert readiness_snapshot(root) == before
    assert "Review version" not in text(lead_client.get(item_url(org, "spoke-recruitment")))


def test_bad_review_decisions(app, org, lead, trainer_client, root):
    with services_context(app):
        a = answer(org, lead, "spoke-recruitment")
    before = readiness_snapshot(root)
    missing = review_item(trainer_client, org, "spoke-recruitment", a.id, "")
    assert missing.status_code == 400
    assert "Choose accept or request changes." in text(missing)
    assert review_item(trainer_client, org, "spoke-recruitment", "abc", "accept").status_code == 400
    assert readiness_snapshot(root) == before


# --- comments -----------------------------------------------------------------------------------


def post_comment(browser, org, key, body):
    return browser.post(f"{item_url(org, key)}/comments", data={"body": body})


def test_members_and_trainers_comment(app, org, coordinator, specialist, trainer_client):
    coord = client_for(app, coordinator)
    response = post_comment(coord, org, "dry-run", "Does a half-day rehearsal count?")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#thread")
    assert (
        post_comment(trainer_client, org, "dry-run", "Yes, with the full team.").status_code == 302
    )
    assert post_comment(client_for(app, specialist), org, "dry-run", "Thanks!").status_code == 302
    shown = text(coord.get(item_url(org, "dry-run")))
    assert shown.index("Does a half-day rehearsal count?") < shown.index("Yes, with the full team.")
    assert "Cora Coordinator" in shown and "Tariq Trainer" in shown


def test_bad_comments_are_refused(app, org, lead_client, make_user, make_organisation, root):
    auditor = client_for(app, make_user(roles=("auditor",)))
    stranger = make_user()
    make_organisation(stage="in_training", lead=stranger)
    outsider = client_for(app, stranger)
    before = readiness_snapshot(root)
    empty = post_comment(lead_client, org, "dry-run", "   ")
    assert empty.status_code == 400
    assert "Write a comment." in field_errors(empty, "body")
    assert post_comment(auditor, org, "dry-run", "Looks fine").status_code == 403
    assert post_comment(outsider, org, "dry-run", "Hi").status_code == 404
    assert post_comment(lead_client, org, "nope", "Hi").status_code == 404
    assert readiness_snapshot(root) == before
    assert "Post comment" not in text(auditor.get(item_url(org, "dry-run")))


def test_comments_on_a_closed_organisation_are_refused_with_a_message(
    make_organisation, lead, app, root
):
    org = make_organisation(stage="withdrawn", lead=lead)
    browser = client_for(app, lead)
    before = readiness_snapshot(root)
    response = post_comment(browser, org, "dry-run", "Still there?")
    assert response.status_code == 400
    assert "comments can no longer be added" in text(response)
    assert readiness_snapshot(root) == before


# --- the review queue ---------------------------------------------------------------------------


def test_the_review_queue(app, org, lead, trainer, trainer_client, make_user, make_organisation):
    other_lead = make_user()
    other = make_organisation(stage="in_training", lead=other_lead, trainer=trainer, name="Ash")
    late_lead = make_user()
    late = make_organisation(stage="in_training", lead=late_lead, trainer=trainer, name="Yew")
    with services_context(app):
        newer = answer(org, lead, "spoke-recruitment")
        older = agreement(other, other_lead, "collaboration")
        hidden_answer = answer(late, late_lead, "dry-run")
        now = utcnow()
        db.session.get(ChecklistAnswer, newer.id).submitted_at = now - timedelta(hours=1)
        db.session.get(Agreement, older.id).submitted_at = now - timedelta(days=3)
        db.session.get(ChecklistAnswer, hidden_answer.id).submitted_at = now - timedelta(days=9)
        late.stage = "readiness_review"
        db.session.commit()

    response = trainer_client.get("/readiness/queue")
    assert response.status_code == 200
    shown = text(response)
    assert shown.index("Ash") < shown.index("Heron Vale Hospice")
    assert "Statement of Collaboration (agreement)" in shown
    assert "Spoke recruitment plan (version 1)" in shown
    assert "Yew" not in shown
    body = response.get_data(as_text=True)
    assert f'href="/organisations/{other.id}/readiness#agreements"' in body
    assert f'href="{item_url(org, "spoke-recruitment")}"' in body


def test_the_queue_is_for_trainers(app, lead_client, make_user, client):
    assert lead_client.get("/readiness/queue").status_code == 403
    auditor = client_for(app, make_user(roles=("auditor",)))
    assert auditor.get("/readiness/queue").status_code == 403
    assert client.get("/readiness/queue").status_code == 302
    trainer = client_for(app, make_user(roles=("trainer",)))
    assert "Nothing is waiting for review." in text(trainer.get("/readiness/queue"))


# --- the readiness panel and submitting ---------------------------------------------------------


def test_the_panel_shows_what_is_missing_and_a_disabled_button(org, lead_client):
    response = lead_client.get(panel_url(org))
    assert response.status_code == 200
    shown = text(response)
    assert "1 of 5 requirements met." in shown
    assert "IP Terms of Use Agreement: not uploaded" in shown
    assert "No Immersion attendance recorded yet." in shown
    assert "Lena Lead: Basics of the model; Facilitation for tests" in shown
    assert "Executive sponsor letter: not answered" in shown
    assert (
        "Still missing: Partnership agreements verified; Required training modules completed; "
        "Immersion attendance; Readiness checklist accepted." in shown
    )
    body = response.get_data(as_text=True)
    assert re.search(r"<button[^>]*disabled[^>]*>Submit for readiness review</button>", body)
    assert f'action="/organisations/{org.id}/readiness/submit"' not in body


def test_submitting_too_early_is_refused_with_the_list(org, lead_client, root):
    before = readiness_snapshot(root)
    response = lead_client.post(f"/organisations/{org.id}/readiness/submit")
    assert response.status_code == 400
    assert "Not yet: Partnership agreements verified (0 of 2 verified)" in text(response)
    assert readiness_snapshot(root) == before
    assert reload_org(org.id).stage == "in_training"


def make_ready(app, org, lead, trainer, members):
    with services_context(app):
        verify_agreements(org, lead, trainer)
        for user in (lead, *members):
            complete_training(user)
        accept_checklist(org, lead, trainer)


def test_with_everything_but_immersion_only_immersion_is_missing(
    app, org, lead, trainer, coordinator, specialist, lead_client
):
    make_ready(app, org, lead, trainer, (coordinator, specialist))
    shown = text(lead_client.get(panel_url(org)))
    assert "4 of 5 requirements met." in shown
    assert "Still missing: Immersion attendance." in shown
    response = lead_client.post(f"/organisations/{org.id}/readiness/submit")
    assert response.status_code == 400
    assert "Not yet: Immersion attendance (No Immersion attendance recorded yet)." in text(response)
    assert reload_org(org.id).stage == "in_training"


def test_when_everything_is_met_the_lead_submits(
    app, org, lead, trainer, coordinator, specialist, lead_client
):
    make_ready(app, org, lead, trainer, (coordinator, specialist))
    with services_context(app):
        attend_immersion(org, lead, trainer, (lead, coordinator, specialist))
    page = lead_client.get(panel_url(org))
    assert "5 of 5 requirements met." in text(page)
    assert "Every requirement is met." in text(page)
    assert f'action="/organisations/{org.id}/readiness/submit"' in page.get_data(as_text=True)

    assert (
        client_for(app, coordinator).post(f"/organisations/{org.id}/readiness/submit").status_code
        == 403
    )
    clear_outbox()
    response = lead_client.post(f"/organisations/{org.id}/readiness/submit")
    assert response.status_code == 302
    assert reload_org(org.id).stage == "readiness_review"
    assert len(events("organisation.submit_for_review")) == 1
    [message] = outbox_to(trainer.email)
    assert "Ready for assessment: Heron Vale Hospice" in message.subject
    shown = text(lead_client.get(panel_url(org)))
    assert "Heron Vale Hospice is submitted for readiness review." in shown
    assert "ip_terms-file" not in shown


def test_trainers_and_auditors_see_the_panel_read_only(
    app, org, lead, trainer_client, make_user, make_organisation
):
    with services_context(app):
        agreement(org, lead)
    shown = trainer_client.get(panel_url(org))
    assert shown.status_code == 200
    assert "Readiness requirements" in text(shown)
    assert "review-ip_terms-decision" in shown.get_data(as_text=True)
    assert "Submit for readiness review" not in text(shown)
    auditor = client_for(app, make_user(roles=("auditor",)))
    page = auditor.get(panel_url(org))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "ip_terms-file" not in body and "review-ip_terms-decision" not in body
    stranger = make_user()
    make_organisation(stage="in_training", lead=stranger)
    assert client_for(app, stranger).get(panel_url(org)).status_code == 404
    assert client_for(app, stranger).get(item_url(org, "dry-run")).status_code == 404


# --- query counts --------------------------------------------------------------------------------


def measure(browser, url) -> int:
    browser.get(url)  # warm caches (sessions, templates)
    with count_queries(db.engine) as statements:
        response = browser.get(url)
    assert response.status_code == 200
    return len(statements)


def test_the_panel_query_count_does_not_grow_with_answers(
    app, org, lead, trainer, coordinator, lead_client
):
    """Few: one of each kind of row the page shows (a replaced and a verified agreement, one
    file answer). Many: every item answered twice, with comments. Same statements."""
    with services_context(app):
        first = agreement(org, lead, "ip_terms")
        agreement(org, lead, "ip_terms", based_on=first.id)
        verify_agreements(org, lead, trainer)
        answer(org, lead, "sponsor-letter")
    few = measure(lead_client, panel_url(org))
    with services_context(app):
        accept_checklist(org, lead, trainer, required_only=False)
        for item in services.checklist().items:  # a second version of every item
            answer(org, coordinator if item.responsible == "coordinator" else lead, item.key)
            services.add_comment(org, by=coordinator, item_key=item.key, body="A note")
        db.session.commit()
    assert len(db.session.scalars(select(ChecklistAnswer)).all()) == 21
    many = measure(lead_client, panel_url(org))
    assert many == few


def test_the_item_page_query_count_does_not_grow_with_versions_and_comments(
    app, org, lead, coordinator, specialist, trainer, lead_client
):
    with services_context(app):
        answer(org, lead, "sponsor-letter")
        services.add_comment(org, by=lead, item_key="sponsor-letter", body="First")
        answer(org, lead, "governance-policies")
        services.add_comment(org, by=lead, item_key="governance-policies", body="First")
        db.session.commit()
    few = measure(lead_client, item_url(org, "sponsor-letter"))
    with services_context(app):
        for n in range(6):
            a = answer(org, lead, "governance-policies")
            if n % 2:
                services.review_answer(
                    org,
                    by=trainer,
                    item_key="governance-policies",
                    answer_id=a.id,
                    decision="changes",
                    comment=f"Round {n}",
                )
            for who in (coordinator, specialist, trainer):
                services.add_comment(org, by=who, item_key="governance-policies", body="Again")
        db.session.commit()
    many = measure(lead_client, item_url(org, "governance-policies"))
    assert many == few


def test_the_queue_query_count_does_not_grow_with_organisations(
    app, trainer, trainer_client, make_user, make_organisation
):
    first_lead = make_user()
    first = make_organisation(stage="in_training", lead=first_lead, trainer=trainer)
    with services_context(app):
        answer(first, first_lead, "spoke-recruitment")
        agreement(first, first_lead, "ip_terms")
    few = measure(trainer_client, "/readiness/queue")
    with services_context(app):
        for _ in range(6):
            lead_n = make_user()
            org_n = make_organisation(stage="in_training", lead=lead_n, trainer=trainer)
            for key in ("spoke-recruitment", "dry-run", "sponsor-letter"):
                answer(org_n, lead_n, key)
            agreement(org_n, lead_n, "ip_terms")
            agreement(org_n, lead_n, "collaboration")
    assert len(services.review_queue()) == 2 + 6 * 5
    many = measure(trainer_client, "/readiness/queue")
    assert many == few
