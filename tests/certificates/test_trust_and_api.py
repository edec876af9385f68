"""Issue 20: the published trust anchor, key rotation, the versioned verification API and
its OpenAPI description, and the template hash each certificate records.

Independent verifiers: pyHanko's validator given only the certificate downloaded from the
how-to page, and Poppler's `pdfsig` with an NSS database made by `certutil` (when installed).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jsonschema import Draft202012Validator, FormatChecker

from app.certificates import api, keys, render, services
from app.certificates.models import Certificate, SigningKey
from app.extensions import db
from tests.factories.certificates import (
    approved_hub,
    flip_byte,
    pdf_bytes_of,
    reload,
    use_own_signing_dir,
)
from tests.factories.readiness import form_file
from tests.helpers import login, page_text

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_signing_dir(app, tmp_path):
    """Keys made by this test live in its own folder (the shared one is left as it was)."""
    use_own_signing_dir(app, tmp_path / "signing")
    return tmp_path / "signing"


@pytest.fixture
def hub(app, make_user, make_organisation, own_signing_dir):
    return approved_hub(app, make_user, make_organisation, name="Osprey Fen Hospice")


def _validate(pdf: bytes, trust_pem: bytes):
    """pyHanko's own validator, trusting only `trust_pem`: (trusted, intact)."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(der) for _t, _h, der in pem.unarmor(trust_pem, True)]
    from app.certificates.signing import _outside_event_loop

    reader = PdfFileReader(io.BytesIO(pdf))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    status = _outside_event_loop(validate_pdf_signature, reader.embedded_signatures[0], context)
    return status.bottom_line, status.intact


def _rotate(app):
    with app.test_request_context():
        new = keys.rotate(note="yearly rotation")
        db.session.commit()
    return new


# --- the how-to page and the downloads ----------------------------------------------------


def test_the_how_to_page_publishes_the_signing_certificate_and_its_fingerprint(client, hub):
    _org, cert, *_ = hub
    page = client.get("/verify/how-to")
    assert page.status_code == 200
    text = page_text(page)
    for words in ("Adobe Acrobat", "Trusted Certificates", "certutil -A", "pdfsig -nssdir"):
        assert words in text
    key = db.session.get(SigningKey, cert.signing_key_id)
    assert keys.colon_fingerprint(key.fingerprint) in text
    assert "/verify/openapi.json" in text

    pem = client.get(f"/signing-keys/{key.id}.pem")
    assert pem.status_code == 200 and pem.mimetype == "application/x-pem-file"
    assert "attachment" in pem.headers["Content-Disposition"]
    der = client.get(f"/signing-keys/{key.id}.der")
    assert der.mimetype == "application/pkix-cert"
    from_pem = x509.load_pem_x509_certificate(pem.data)
    assert from_pem.public_bytes(serialization.Encoding.DER) == der.data
    assert hashlib.sha256(der.data).hexdigest() == key.fingerprint


def test_the_footer_and_the_verify_pages_link_to_the_how_to_page(client, hub):
    _org, cert, *_ = hub
    for url in ("/verify", f"/verify/{cert.code}", "/verify/pdf", "/about"):
        assert 'href="/verify/how-to"' in client.get(url).get_data(as_text=True), url


def test_pyhanko_trusts_the_pdf_given_only_the_downloaded_certificate(client, hub):
    _org, cert, *_ = hub
    pdf = pdf_bytes_of(cert)
    pem = client.get(f"/signing-keys/{cert.signing_key_id}.pem").data
    assert _validate(pdf, pem) == (True, True)
    # Trusting someone else's certificate instead: intact but not trusted.
    other = tmp_other_cert()
    assert _validate(pdf, other) == (False, True)
    # A changed byte: pyHanko and the portal both refuse it.
    assert services.check_pdf(flip_byte(pdf)).result == "tampered"


def tmp_other_cert() -> bytes:
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Someone else")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def _empty_nss_db(tmp_path):
    """A new NSS certificate database (what pdfsig trusts), with nothing in it."""
    nss = tmp_path / "nss"
    nss.mkdir()
    assert _run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password").returncode == 0
    return nss


def _trust(nss, nickname: str, pem) -> None:
    """Add `pem` to the NSS database as a trusted issuer, as the how-to page says."""
    added = _run(
        "certutil", "-A", "-d", f"sql:{nss}", "-n", nickname, "-t", "CT,C,C", "-a", "-i", pem
    )
    assert added.returncode == 0, added.stderr


@pytest.mark.skipif(not shutil.which("pdfsig") or not shutil.which("certutil"), reason="poppler")
def test_pdfsig_trusts_the_pdf_with_the_downloaded_certificate_in_an_nss_db(client, hub, tmp_path):
    _org, cert, *_ = hub
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(pdf_bytes_of(cert))
    pem = tmp_path / "superhub.pem"
    pem.write_bytes(client.get(f"/signing-keys/{cert.signing_key_id}.pem").data)
    nss = _empty_nss_db(tmp_path)
    untrusted = _run("pdfsig", "-nssdir", f"sql:{nss}", str(pdf))
    assert "Signature is Valid" in untrusted.stdout, untrusted.stdout
    assert "Certificate is Trusted" not in untrusted.stdout
    _trust(nss, "superhub", pem)
    trusted = _run("pdfsig", "-nssdir", f"sql:{nss}", str(pdf))
    assert "Signature is Valid" in trusted.stdout
    assert "Certificate is Trusted" in trusted.stdout, trusted.stdout


@pytest.mark.skipif(not shutil.which("pdfsig") or not shutil.which("certutil"), reason="poppler")
def test_pdfsig_trusts_a_rotated_keys_pdf_given_only_the_root(
    app, client, hub, make_user, tmp_path
):
    _org, cert, *_ = hub
    _rotate(app)
    admin = make_user(roles=("admin",))
    with app.test_request_context():
        new_cert = services.reissue(reload(cert.id), by=admin, reason="Name change")
        db.session.commit()
    pdf = tmp_path / "new.pdf"
    pdf.write_bytes(pdf_bytes_of(new_cert))
    root = tmp_path / "root.pem"
    root.write_bytes(client.get("/signing-keys/root.pem").data)
    nss = _empty_nss_db(tmp_path)
    _trust(nss, "root", root)
    checked = _run("pdfsig", "-nssdir", f"sql:{nss}", str(pdf))
    assert "Signature is Valid" in checked.stdout
    assert "Certificate is Trusted" in checked.stdout, checked.stdout


@pytest.mark.parametrize(
    "url",
    [
        "/signing-keys/0.pem",
        "/signing-keys/99999999999999999999.pem",
        "/signing-keys/12345.der",
        "/signing-keys/abc.pem",
        "/signing-keys/root.pem",
        "/signing-keys/root.der",
    ],
)
def test_unknown_keys_and_a_missing_root_are_404(client, hub, url):
    assert client.get(url).status_code == 404


# --- rotation -----------------------------------------------------------------------------


def test_rotation_keeps_old_certificates_verifying_and_the_register_names_each_key(
    app, client, hub, make_user
):
    _org, old_cert, *_ = hub
    first = db.session.get(SigningKey, old_cert.signing_key_id)
    assert first.issuer == first.subject  # the first key is self-signed
    new_key = _rotate(app)
    assert new_key.id != first.id and new_key.retired_at is None
    assert db.session.get(SigningKey, first.id).retired_at is not None

    admin = make_user(roles=("admin",))
    with app.test_request_context():
        new_cert = services.reissue(reload(old_cert.id), by=admin, reason="Name change")
        db.session.commit()
    assert new_cert.signing_key_id == new_key.id
    assert reload(old_cert.id).signing_key_id == first.id

    # The portal still verifies the old file (now superseded) and the new one (valid).
    assert services.check_pdf(pdf_bytes_of(old_cert)).result == "superseded"
    assert services.check_pdf(pdf_bytes_of(new_cert)).result == "valid"

    # The page lists both keys with their validity, and the root.
    text = page_text(client.get("/verify/how-to"))
    assert f"Signing key {new_key.id} — current" in text
    assert f"Signing key {first.id} — retired" in text
    assert keys.colon_fingerprint(first.fingerprint) in text
    root = client.get("/signing-keys/root.pem")
    assert root.status_code == 200
    assert keys.colon_fingerprint(keys.root().fingerprint) in text

    # One root, trusted once, covers the rotated key; the first key verifies on its own.
    assert _validate(pdf_bytes_of(new_cert), root.data) == (True, True)
    old_pem = client.get(f"/signing-keys/{first.id}.pem").data
    assert _validate(pdf_bytes_of(old_cert), old_pem) == (True, True)
    assert _validate(pdf_bytes_of(old_cert), root.data)[0] is False

    # A second rotation: every earlier certificate still verifies.
    _rotate(app)
    assert services.check_pdf(pdf_bytes_of(new_cert)).result == "valid"
    assert services.check_pdf(pdf_bytes_of(old_cert)).result == "superseded"


def test_rotation_is_audited(app, hub):
    from sqlalchemy import select

    from app.core.audit import AuditEvent

    new = _rotate(app)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "certificate.signing_key_rotated")
    )
    assert event is not None and event.details["fingerprint"] == new.fingerprint


def test_cli_lists_and_rotates_keys(app, runner, hub):
    listed = runner.invoke(args=["certificates", "keys", "list"])
    assert listed.exit_code == 0 and "current" in listed.output
    rotated = runner.invoke(args=["certificates", "keys", "rotate", "--note", "test"])
    assert rotated.exit_code == 0, rotated.output
    assert "New signing key" in rotated.output
    again = runner.invoke(args=["certificates", "keys", "list"])
    assert "retired" in again.output and "root" in again.output


def test_a_configured_key_is_rotated_by_configuration_not_by_the_cli(app, runner, tmp_path):
    from app.certificates import signing

    key_path, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    with app.test_request_context():
        signing.create_material(key_path, cert_path, superhub="Superhub")
    app.config.update(SIGNING_KEY_PATH=str(key_path), SIGNING_CERT_PATH=str(cert_path))
    result = runner.invoke(args=["certificates", "keys", "rotate"])
    assert result.exit_code == 1 and "SIGNING_KEY_PATH" in result.output


def test_certificates_issued_before_keys_were_recorded_are_attributed_to_the_first_key(app, hub):
    _org, cert, *_ = hub
    db.session.execute(Certificate.__table__.update().values(signing_key_id=None))
    db.session.execute(SigningKey.__table__.delete())
    with app.test_request_context():
        first = keys.current()
    assert reload(cert.id).signing_key_id == first.id


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def openapi(client):
    response = client.get("/verify/openapi.json")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


def _check(openapi, path, method, response):
    """openapi-core (an implementation of its own) finds the request's operation in the
    published document, and the response's status, media type and body as documented; the
    body is checked against the schema once more with jsonschema's format checker."""
    from openapi_core import OpenAPI
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

    class Sent(WerkzeugOpenAPIRequest):
        # The app has read an uploaded body; the response's check does not need it.
        @property
        def body(self) -> bytes:
            return b""

    request = Sent(response.request)
    OpenAPI.from_dict(openapi).validate_response(request, WerkzeugOpenAPIResponse(response))
    operation = openapi["paths"][path][method]
    documented = operation["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    validator = Draft202012Validator(
        {**schema, "components": openapi["components"]}, format_checker=FormatChecker()
    )
    validator.validate(response.get_json())
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.mimetype == "application/json"


def test_the_openapi_document_is_31_and_its_schemas_are_valid_json_schema(openapi):
    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["version"] == api.API_VERSION
    for schema in openapi["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert {"/verify/{code}.json", "/verify/{code}", "/verify/pdf"} <= set(openapi["paths"])


def test_every_status_by_code_matches_the_schema(app, client, hub, make_user, openapi):
    org, cert, *_ = hub
    admin = make_user(roles=("admin",))
    valid = client.get(f"/verify/{cert.code}.json")
    _check(openapi, "/verify/{code}.json", "get", valid)
    body = valid.get_json()
    assert body["version"] == api.API_VERSION
    assert body["issuer"] == {
        "name": app.config["SUPERHUB_NAME"],
        "url": "http://localhost/",
        "verification_guide": "http://localhost/verify/how-to",
    }
    assert body["signed_with"]["key_id"] == cert.signing_key_id
    credential = body["credential"]  # since 1.2.0: where the Open Badges credential is
    assert credential["jwt"] == f"http://localhost/verify/{cert.code}/credential.jwt"
    assert client.get(credential["jwt"]).status_code == 200
    assert credential["status_list"] == "http://localhost/credentials/status/1"
    assert isinstance(credential["status_index"], int)
    old_fields = {"serial", "type", "status", "status_label", "organisation", "network"}
    old_fields |= {"theme", "person", "approved_on", "issued_on", "expires_on", "approved_by"}
    old_fields |= {"single_person_approval", "sha256", "verify_url"}
    assert old_fields <= set(body)

    with app.test_request_context():
        new = services.reissue(reload(cert.id), by=admin, reason="Renamed")
        db.session.commit()
    superseded = client.get(f"/verify/{cert.code}", headers={"Accept": "application/json"})
    _check(openapi, "/verify/{code}", "get", superseded)
    assert superseded.get_json()["superseded_by"]["serial"] == new.serial

    with app.test_request_context():
        services.revoke(reload(new.id), by=admin, reason="Closed")
        db.session.commit()
    revoked = client.get(f"/verify/{new.code}.json")
    _check(openapi, "/verify/{code}.json", "get", revoked)
    assert revoked.get_json()["status"] == "revoked"

    for code in ("A" * 32, "short", "x" * 65):
        unknown = client.get(f"/verify/{code}.json")
        assert unknown.status_code == 404
        _check(openapi, "/verify/{code}.json", "get", unknown)


def test_the_openapi_check_refuses_an_answer_that_breaks_the_document(client, hub, openapi):
    """The check above has teeth: an answer without a required field, with a wrong type,
    or with an undocumented status is refused."""
    import json

    from openapi_core import OpenAPI
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
    from openapi_core.exceptions import OpenAPIError
    from werkzeug.wrappers import Response

    _org, cert, *_ = hub
    answer = client.get(f"/verify/{cert.code}.json")
    spec = OpenAPI.from_dict(openapi)
    body = answer.get_json()
    for broken, status in (
        ({k: v for k, v in body.items() if k != "status"}, 200),
        ({**body, "version": 12}, 200),
        (body, 418),
    ):
        fake = Response(json.dumps(broken), status=status, mimetype="application/json")
        with pytest.raises(OpenAPIError):
            spec.validate_response(
                WerkzeugOpenAPIRequest(answer.request), WerkzeugOpenAPIResponse(fake)
            )


def test_the_pdf_check_answers_json_that_matches_the_schema(client, hub, openapi):
    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    headers = {"Accept": "application/json"}

    def post(payload):
        return client.post("/verify/pdf", data=payload, headers=headers)

    valid = post({"file": form_file(data, "c.pdf")})
    _check(openapi, "/verify/pdf", "post", valid)
    assert valid.get_json()["result"] == "valid"
    assert valid.get_json()["certificate"]["serial"] == cert.serial
    for damaged, result in (
        (flip_byte(data), "tampered"),
        (data[: len(data) // 2], "tampered"),
        (b"%PDF-1.7\n" + b"\x00" * 200, "tampered"),
        (b"hello", "not_pdf"),
    ):
        answer = post({"file": form_file(damaged, "c.pdf")})
        assert answer.status_code == 200
        _check(openapi, "/verify/pdf", "post", answer)
        assert answer.get_json()["result"] == result
        assert answer.get_json()["certificate"] is None
    for payload in ({}, {"file": form_file(b"", "c.pdf")}):
        refused = post(payload)
        assert refused.status_code == 400
        _check(openapi, "/verify/pdf", "post", refused)
    # The HTML answer is unchanged for people.
    page = client.post("/verify/pdf", data={"file": form_file(data, "c.pdf")})
    assert "pdf-result-valid" in page.get_data(as_text=True)
    assert "Access-Control-Allow-Origin" not in page.headers


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_json_pdf_check_needs_no_csrf_token_but_the_form_still_does(client, hub):
    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    json_answer = client.post(
        "/verify/pdf",
        data={"file": form_file(data, "c.pdf")},
        headers={"Accept": "application/json"},
    )
    assert json_answer.status_code == 200 and json_answer.get_json()["result"] == "valid"
    form_answer = client.post("/verify/pdf", data={"file": form_file(data, "c.pdf")})
    assert form_answer.status_code == 400
    assert "pdf-result" not in form_answer.get_data(as_text=True)


def test_cors_only_on_the_public_read_only_answers(client, hub):
    _org, cert, *_ = hub
    assert client.get(f"/verify/{cert.code}.json").headers["Access-Control-Allow-Origin"] == "*"
    for url in (f"/verify/{cert.code}", "/verify", "/verify/how-to", "/account/login"):
        assert "Access-Control-Allow-Origin" not in client.get(url).headers, url
    login(client, hub.lead.email)
    mine = client.get(f"/organisations/{hub.org.id}/certificates")
    assert mine.status_code == 200 and "Access-Control-Allow-Origin" not in mine.headers


# --- template versions --------------------------------------------------------------------


def test_each_certificate_records_its_template_folders_hash(app, client, hub, make_user):
    _org, cert, *_ = hub
    folder = Path(app.config["CERTIFICATE_TEMPLATES_DIR"]) / cert.template
    assert cert.template_hash == render.folder_digest(folder)
    auditor = make_user(roles=("auditor",))
    login(client, auditor.email)
    dossier = page_text(client.get(f"/audit/certificates/{cert.id}"))
    assert cert.template_hash in dossier
    assert db.session.get(SigningKey, cert.signing_key_id).fingerprint in dossier
    register = page_text(client.get("/audit/certificates"))
    assert cert.template_hash[:12] in register


def test_the_template_hash_changes_with_any_file_of_the_folder(tmp_path):
    copy = tmp_path / "hub"
    shutil.copytree(REPO / "certificates" / "hub", copy)
    before = render.folder_digest(copy)
    assert render.folder_digest(copy) == before  # stable
    (copy / "theme.css").write_text((copy / "theme.css").read_text() + "\n/* new */\n")
    after_css = render.folder_digest(copy)
    assert after_css != before
    asset = next((copy / "assets").iterdir())
    asset.write_bytes(asset.read_bytes() + b" ")
    assert render.folder_digest(copy) not in (before, after_css)
    (copy / ".DS_Store").write_bytes(b"junk")  # hidden files do not count
    assert render.folder_digest(copy) == render.folder_digest(copy)


def test_a_configured_key_rotates_by_changing_the_configuration(
    app, make_user, make_organisation, tmp_path
):
    from app.certificates import signing

    def material(name):
        key_path, cert_path = tmp_path / f"{name}-key.pem", tmp_path / f"{name}-cert.pem"
        with app.test_request_context():
            signing.create_material(key_path, cert_path, superhub="Superhub")
        return {"SIGNING_KEY_PATH": str(key_path), "SIGNING_CERT_PATH": str(cert_path)}

    use_own_signing_dir(app, tmp_path / "signing")
    app.config.update(material("a"))
    _org, old, *_ = approved_hub(app, make_user, make_organisation, name="Grebe Hospice")
    app.config.update(material("b"))
    admin = make_user(roles=("admin",))
    with app.test_request_context():
        new = services.reissue(reload(old.id), by=admin, reason="New key")
        db.session.commit()
        assert len(keys.all_keys()) == 2
    assert new.signing_key_id != old.signing_key_id
    assert services.check_pdf(pdf_bytes_of(old)).result == "superseded"
    assert services.check_pdf(pdf_bytes_of(new)).result == "valid"


def test_a_certificate_still_checks_after_its_signing_key_has_expired(app, hub, make_user):
    from datetime import timedelta

    import time_machine

    _org, old, *_ = hub
    key = _rotate(app)
    admin = make_user(roles=("admin",))
    with app.test_request_context():
        cert = services.reissue(reload(old.id), by=admin, reason="New key")
        db.session.commit()
    assert cert.signing_key_id == key.id and key.issuer != key.subject
    data = pdf_bytes_of(cert)
    with time_machine.travel(key.not_after + timedelta(days=30), tick=False):
        # Every signing key's certificate is itself a trust anchor of the portal's check,
        # so a key's expiry never turns a certificate it signed "unknown".
        assert services.check_pdf(data).result == "expired"
        assert services.check_pdf(flip_byte(data)).result == "tampered"


def test_the_verify_and_check_pages_show_the_certificates_facts(client, hub):
    _org, cert, *_ = hub
    page = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "What the certificate says" in page and cert.serial in page
    checked = client.post("/verify/pdf", data={"file": form_file(pdf_bytes_of(cert), "c.pdf")})
    text = checked.get_data(as_text=True)
    assert "What the register says" in text and "cert-facts" in text and cert.serial in text
