"""Open Badges 3.0 credentials: issued with each certificate, valid against the schema,
checked by an independent verifier (joserfc) from what the portal publishes, revoked at once,
inside the PDF, downloadable, and reported precisely when something is wrong."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec

from app.certificates import credentials, services
from app.certificates.models import CertificateCredential
from app.core import clock
from app.extensions import db
from tests.factories.certificates import approved_hub, pdf_bytes_of, reload
from tests.factories.certificates import trainee_certificate as issue_trainee_certificate
from tests.factories.credentials import client_fetch, schema_errors, verify
from tests.helpers import login, page_text
from tests.querycount import count_queries

JWKS = "http://localhost/credentials/jwks.json"


@pytest.fixture
def hub(app, make_user, make_organisation):
    return approved_hub(app, make_user, make_organisation, name="Heron Vale Hospice")


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), name="Ada Admin")


def trainee_certificate(app, org, user):
    with app.test_request_context():
        return issue_trainee_certificate(org, user, modules=("Welcome",))


def row_of(cert) -> CertificateCredential:
    return db.session.scalar(
        db.select(CertificateCredential).where(CertificateCredential.certificate_id == cert.id)
    )


def claims(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resigned(token: str, *, kid: str | None = None, payload: dict | None = None, key=None) -> str:
    """The token with its payload replaced and/or signed by another key, naming `kid`."""
    header = pyjwt.get_unverified_header(token)
    if kid is not None:
        header["kid"] = kid
    body = payload if payload is not None else claims(token)
    key = key or ec.generate_private_key(ec.SECP256R1())
    return pyjwt.encode(body, key, algorithm="ES256", headers=header)


def test_the_schema_is_1edtechs_published_file_and_it_refuses_a_broken_credential(app, hub):
    """The schema every credential test uses is 1EdTech's own (`make test` fetches it, pinned
    by SHA-256: scripts/fetch_ob3_schema.py), and it has teeth."""
    import copy
    import hashlib

    from scripts.fetch_ob3_schema import SHA256
    from tests.factories.credentials import PUBLISHED_SCHEMA, achievement_credential_schema

    assert PUBLISHED_SCHEMA.is_file(), "run `make test` (or scripts/fetch_ob3_schema.py) first"
    assert hashlib.sha256(PUBLISHED_SCHEMA.read_bytes()).hexdigest() == SHA256
    schema = achievement_credential_schema()
    assert schema["$id"].startswith("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/")

    _org, cert, *_ = hub
    good = claims(row_of(cert).jwt)
    assert schema_errors(good) == []
    for change in (
        lambda vc: vc.pop("issuer"),
        lambda vc: vc.pop("credentialSubject"),
        lambda vc: vc.update(type=["VerifiableCredential"]),
        lambda vc: vc["credentialSubject"]["achievement"].pop("criteria"),
    ):
        broken = copy.deepcopy(good)
        change(broken)
        assert schema_errors(broken), broken


def test_every_term_of_a_credential_is_defined_by_its_json_ld_contexts(app, hub):
    """A term the VC 2.0 and OB 3.0.3 contexts do not define would vanish for a verifier
    that reads the credential as linked data: none does, and a made-up one is caught."""
    from tests.factories.credentials import terms_jsonld_drops

    org, cert, lead, *_ = hub
    trainee = trainee_certificate(app, org, lead)
    for row in (row_of(cert), row_of(trainee)):
        credential = claims(row.jwt)
        assert terms_jsonld_drops(credential) == []
    credential["credentialSubject"]["madeUpTerm"] = "lost"
    credential["hubColour"] = "teal"
    assert terms_jsonld_drops(credential) == ["/credentialSubject/madeUpTerm", "/hubColour"]


def test_hub_and_trainee_credentials_match_the_achievementcredential_schema(app, hub):
    org, cert, lead, *_ = hub
    trainee = trainee_certificate(app, org, lead)
    hub_vc, trainee_vc = claims(row_of(cert).jwt), claims(row_of(trainee).jwt)
    for credential in (hub_vc, trainee_vc):
        assert schema_errors(credential) == []
        assert credential["@context"] == [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ]
        assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert credential["issuer"]["id"] == "http://localhost/credentials/issuer"
        assert credential["validFrom"].endswith("Z") and credential["validUntil"].endswith("Z")
        assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"
        assert credential["credentialStatus"]["statusListCredential"] == (
            "http://localhost/credentials/status/1"
        )
    assert hub_vc["evidence"][0]["id"] == services.verify_url(cert.code)
    assert hub_vc["credentialSubject"]["id"] == f"http://localhost/hubs/{org.id}"
    assert hub_vc["credentialSubject"]["achievement"]["achievementType"] == "Certification"
    assert hub_vc["validUntil"] == f"{cert.expires_on.isoformat()}T23:59:59Z"
    subject = trainee_vc["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "Certificate"
    (identity,) = subject["identifier"]
    assert identity["hashed"] is True and identity["identityType"] == "emailAddress"
    expected = hashlib.sha256((lead.email + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    assert lead.email not in row_of(trainee).jwt and lead.email not in json.dumps(trainee_vc)
    assert pyjwt.get_unverified_header(row_of(cert).jwt)["alg"] == "ES256"


def test_the_credential_key_is_not_the_pdf_key_and_each_credential_has_its_own_index(app, hub):
    from app.certificates import keys

    org, cert, lead, *_ = hub
    second = trainee_certificate(app, org, lead)
    assert row_of(cert).status_index != row_of(second).status_index
    assert 0 <= row_of(cert).status_index < credentials.STATUS_LIST_SIZE
    with app.test_request_context():
        pdf_key = keys.signer_for(keys.current()).signing_cert.public_key.dump()
        active, _ = credentials.keys()
    assert active.public_jwk["x"] not in base64.b64encode(pdf_key).decode()
    assert pyjwt.get_unverified_header(row_of(cert).jwt)["kid"] == active.kid


def test_an_independent_verifier_accepts_it_then_sees_the_revocation_at_once(
    app, client, hub, admin
):
    _org, cert, *_ = hub
    token = client.get(f"/verify/{cert.code}/credential.jwt").get_data(as_text=True)
    assert token == row_of(cert).jwt
    fetch = client_fetch(client)
    assert verify(token, fetch, JWKS) == "valid"
    with app.test_request_context():
        services.revoke(cert, by=admin, reason="The hub closed.")
    db.session.commit()
    assert verify(token, fetch, JWKS) == "revoked"
    index = row_of(cert).status_index
    assert client.get(f"/credentials/status/1/{index}").get_json()["revoked"] is True
    other = (index + 1) % credentials.STATUS_LIST_SIZE
    assert client.get(f"/credentials/status/1/{other}").get_json()["revoked"] is False


def test_the_status_list_is_signed_large_enough_and_gzip_base64url(client, hub):
    response = client.get("/credentials/status/1")
    assert response.headers["Content-Type"] == "application/vc+jwt"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = client.get("/credentials/status/1.json").get_json()
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    encoded = document["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    import gzip

    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 >= 131_072 and not any(raw)
    assert (
        claims(response.get_data(as_text=True))["credentialSubject"]
        == (document["credentialSubject"])
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/credentials/status/1/131072", 404),
        ("/credentials/status/1/99999999999", 400),
        ("/credentials/status/1/-1", 400),
        ("/credentials/status/1/abc", 400),
        ("/credentials/status/1/1.5", 400),
        ("/credentials/status/2", 404),
        ("/credentials/status/2/0", 404),
        ("/credentials/status/x", 400),
        ("/credentials/status/%00", 400),
        ("/credentials/achievements/nothing", 404),
        ("/verify/" + "A" * 32 + "/credential.jwt", 404),
        ("/verify/bad!/credential.json", 404),
    ],
)
def test_bad_status_list_requests_are_404_or_400_never_500(client, hub, path, status):
    assert client.get(path).status_code == status


def test_the_status_list_and_issuer_profile_take_at_most_one_query(app, client, hub):
    for url in ("/credentials/status/1", "/credentials/issuer", "/credentials/jwks.json"):
        client.get(url)  # warm
        with count_queries(db.engine) as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= 1, (url, statements)
    with app.test_request_context():
        credentials.cache.bump("verify")
    with count_queries(db.engine) as statements:
        assert client.get("/credentials/status/1").status_code == 200
    assert len(statements) <= 1, statements


def test_the_issuer_profile_publishes_every_key(client, hub):
    profile = client.get("/credentials/issuer").get_json()
    assert profile["id"] == "http://localhost/credentials/issuer"
    assert "Profile" in profile["type"] and profile["name"]
    assert profile["jwks"] == client.get("/credentials/jwks.json").get_json()
    (key,) = [k for k in profile["jwks"]["keys"] if k["kid"] == row_of(hub.cert).kid]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and "d" not in key


def _check(client, token=None, upload=None):
    data = {"token": token or ""}
    if upload is not None:
        data["file"] = (io.BytesIO(upload.encode()), "credential.jwt")
    response = client.post("/verify/credential", data=data, content_type="multipart/form-data")
    return response, page_text(response)


def test_the_verify_page_reports_each_kind_of_bad_credential(app, client, hub, admin):
    _org, cert, *_ = hub
    token = row_of(cert).jwt
    fetch = client_fetch(client)
    kid = pyjwt.get_unverified_header(token)["kid"]

    response, text = _check(client, token=token)
    assert response.status_code == 200 and "Valid" in text and cert.serial in text
    _response, text = _check(client, upload=token)
    assert "Valid" in text

    payload = claims(token)
    payload["credentialSubject"]["achievement"]["name"] = "Superhub"
    header, _body, signature = token.split(".")
    modified = f"{header}.{_b64(json.dumps(payload).encode())}.{signature}"
    assert "Changed after signing" in _check(client, token=modified)[1]
    assert verify(modified, fetch, JWKS) == "bad_signature"

    wrong_key = resigned(token, kid=kid)
    assert "Not signed with our key" in _check(client, token=wrong_key)[1]
    assert verify(wrong_key, fetch, JWKS) == "bad_signature"

    unknown = resigned(token, kid="not-a-key-of-ours")
    assert "Unknown signing key" in _check(client, upload=unknown)[1]
    assert verify(unknown, fetch, JWKS) == "unknown_key"

    for junk in ("a.b.c", "nonsense", "e30.e30.e30", "x" * 70_000):
        response, text = _check(client, token=junk)
        assert response.status_code in (200, 400)
        assert "Not a credential" in text or "cannot be longer" in text.lower(), text[:500]
    assert _check(client, token="\x00" * 10)[0].status_code == 400  # NUL: refused by the form

    with time_machine.travel(cert.expires_on + timedelta(days=2), tick=False):
        assert "Expired" in _check(client, token=token)[1]
        assert verify(token, fetch, JWKS, now=clock.now()) == "expired"

    with app.test_request_context():
        services.revoke(cert, by=admin, reason="Withdrawn by the superhub.")
    db.session.commit()
    _response, text = _check(client, token=token)
    assert "Revoked" in text and "Withdrawn by the superhub." in text


def test_an_empty_check_is_refused_with_a_message(client):
    response, text = _check(client)
    assert response.status_code == 400 and "Paste the credential" in text


def test_rotating_the_key_keeps_earlier_credentials_verifying(app, client, runner, hub):
    org, cert, lead, *_ = hub
    old_kid = row_of(cert).kid
    result = runner.invoke(args=["certificates", "rotate-credential-key"])
    assert result.exit_code == 0, result.output
    newer = trainee_certificate(app, org, lead)
    assert row_of(newer).kid != old_kid
    kids = {k["kid"] for k in client.get("/credentials/jwks.json").get_json()["keys"]}
    assert {old_kid, row_of(newer).kid} <= kids
    fetch = client_fetch(client)
    for c in (cert, newer):
        assert verify(row_of(c).jwt, fetch, JWKS) == "valid"
        assert "Valid" in _check(client, token=row_of(c).jwt)[1]


def test_the_pdf_carries_the_credential_before_its_signature(app, client, hub, admin):
    from pypdf import PdfReader

    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments["credential.jwt"] == [row_of(cert).jwt.encode()]
    (spec,) = [s.get_object() for s in reader.trailer["/Root"]["/AF"]]
    assert spec["/AFRelationship"] == "/Data"
    with app.test_request_context():
        assert services.check_pdf(data).result == "valid"
        assert credentials.jwt_from_pdf(data) == row_of(cert).jwt
    upload = {"file": (io.BytesIO(data), "certificate.pdf")}
    text = page_text(client.post("/verify/pdf", data=upload, content_type="multipart/form-data"))
    assert "Open Badges credential inside: Valid" in text
    with app.test_request_context():
        services.revoke(cert, by=admin, reason="Withdrawn.")
    db.session.commit()
    upload = {"file": (io.BytesIO(data), "certificate.pdf")}
    text = page_text(client.post("/verify/pdf", data=upload, content_type="multipart/form-data"))
    assert "Open Badges credential inside: Revoked" in text


def test_reissue_and_renewal_issue_a_new_credential(app, hub, admin):
    _org, cert, *_ = hub
    with app.test_request_context():
        new = services.reissue(cert, by=admin, reason="New name.")
        db.session.commit()
        renewed = services.renew(new, by=admin, still_active=True)
        db.session.commit()
    rows = [row_of(c) for c in (reload(cert.id), new, renewed)]
    assert len({r.credential_id for r in rows}) == 3
    assert claims(rows[2].jwt)["validUntil"].startswith(renewed.expires_on.isoformat())
    for r in rows:
        assert schema_errors(claims(r.jwt)) == []


def test_a_replaced_certificate_s_credential_is_no_longer_current_outside(app, client, hub, admin):
    """A re-issue sets the old credential's bit: an outsider sees only the list, and must not
    take the replaced credential for a current one; the portal says which it is."""
    _org, cert, *_ = hub
    old = row_of(cert).jwt
    fetch = client_fetch(client)
    assert verify(old, fetch, JWKS) == "valid"
    with app.test_request_context():
        new = services.reissue(cert, by=admin, reason="Name corrected.")
        db.session.commit()
    assert verify(old, fetch, JWKS) == "revoked"
    assert verify(row_of(new).jwt, fetch, JWKS) == "valid"
    with app.test_request_context():
        assert credentials.check_jwt(old).result == "superseded"


def test_downloads_from_the_verify_page_and_the_certificates_tab(client, hub, make_user):
    org, cert, lead, *_ = hub
    page = page_text(client.get(f"/verify/{cert.code}"))
    assert "download the signed credential (.jwt)" in page
    decoded = client.get(f"/verify/{cert.code}/credential.json")
    assert decoded.headers["Content-Type"] == "application/json"
    assert json.loads(decoded.data)["id"] == row_of(cert).credential_id
    login(client, lead.email)
    tab = page_text(client.get(f"/organisations/{org.id}/certificates"))
    assert f"/certificates/{cert.id}/credential.jwt" in tab and "Credential (.jwt)" in tab
    jwt_file = client.get(f"/certificates/{cert.id}/credential.jwt")
    assert jwt_file.status_code == 200 and jwt_file.data.decode() == row_of(cert).jwt
    assert f'filename="{cert.serial}.jwt"' in jwt_file.headers["Content-Disposition"]
    assert client.get(f"/certificates/{cert.id}/credential.json").status_code == 200
    client.post("/account/logout")
    login(client, make_user().email)
    assert client.get(f"/certificates/{cert.id}/credential.jwt").status_code == 404


def test_the_hub_lead_gets_a_linkedin_link_with_the_right_fields(client, hub, make_user):
    from urllib.parse import parse_qs, urlsplit

    org, cert, lead, author, _approver = hub
    login(client, lead.email)
    html = client.get(f"/organisations/{org.id}/certificates").get_data(as_text=True)
    import re

    (href,) = re.findall(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', html)
    import html as html_lib

    url = urlsplit(html_lib.unescape(href))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    issued = cert.issued_at
    assert query == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Approved Project ECHO hub",
        "organizationName": "National Hospice ECHO Superhub",
        "issueYear": str(issued.year),
        "issueMonth": str(issued.month),
        "expirationYear": str(cert.expires_on.year),
        "expirationMonth": str(cert.expires_on.month),
        "certUrl": services.verify_url(cert.code),
        "certId": cert.serial,
    }
    text = html_lib.unescape(html)
    assert f'data-linkedin="certUrl">{services.verify_url(cert.code)}' in text
    client.post("/account/logout")
    login(client, author.email)  # a trainer sees the certificate, but it is not theirs
    assert "linkedin.com" not in client.get(f"/organisations/{org.id}/certificates").get_data(
        as_text=True
    )


def test_the_audit_log_names_the_credential_issued_with_the_certificate(hub):
    from tests.helpers import events

    (event,) = [e for e in events("certificate.issued") if e.details["serial"] == hub.cert.serial]
    assert event.details["credential"] == row_of(hub.cert).credential_id


def test_a_configured_credential_key_signs_and_cannot_be_rotated_by_the_portal(
    app, client, runner, make_user, make_organisation, tmp_path
):
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "own-credential-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    app.config["CREDENTIAL_KEY_PATH"] = str(path)
    hub = approved_hub(app, make_user, make_organisation, name="Kite Hill Hospice")
    header = pyjwt.get_unverified_header(row_of(hub.cert).jwt)
    assert pyjwt.decode(row_of(hub.cert).jwt, key.public_key(), algorithms=["ES256"])
    assert header["kid"] in {
        k["kid"] for k in client.get("/credentials/jwks.json").get_json()["keys"]
    }
    assert verify(row_of(hub.cert).jwt, client_fetch(client), JWKS) == "valid"
    refused = runner.invoke(args=["certificates", "rotate-credential-key"])
    assert refused.exit_code == 1 and "CREDENTIAL_KEY_PATH" in refused.output


def test_the_cli_checks_a_credential_file(runner, hub, tmp_path):
    path = tmp_path / "c.jwt"
    path.write_text(row_of(hub.cert).jwt)
    result = runner.invoke(args=["certificates", "verify-credential", str(path)])
    assert result.exit_code == 0 and result.output.startswith("VALID")
    path.write_text("nonsense")
    result = runner.invoke(args=["certificates", "verify-credential", str(path)])
    assert result.exit_code == 1 and result.output.startswith("NOT A CREDENTIAL")


def test_random_and_hostile_tokens_get_a_verdict_never_an_error(app, hub):
    import random

    rng = random.Random(20)
    token = row_of(hub.cert).jwt
    header, body, signature = token.split(".")
    pieces = [
        header,
        body,
        signature,
        "",
        "e30",
        _b64(b"[]"),
        _b64(b'"x"'),
        _b64(b'{"alg":"ES256","kid":{"a":1}}'),
        _b64(b'{"alg":"none"}'),
        _b64(json.dumps({"id": ["x"], "credentialStatus": 5}).encode()),
        _b64(rng.randbytes(64)),
    ]
    with app.test_request_context():
        for _ in range(200):
            candidate = ".".join(rng.choice(pieces) for _ in range(rng.choice((1, 2, 3, 3, 4))))
            result = credentials.check_jwt(candidate)
            assert result.result in credentials.RESULTS, candidate
        forged = resigned(token, payload={**claims(token), "credentialStatus": "x"})
        assert credentials.check_jwt(forged).result in ("tampered", "wrong_key")


def test_certificates_issued_before_credentials_get_theirs_once(
    app, client, runner, hub, admin, make_user, make_organisation
):
    """`flask certificates add-credentials`: a certificate from before Open Badges (its row
    has no credential) gets one dated as the certificate, its PDF untouched; a revoked one's
    credential is revoked for an outsider at once; a second run adds nothing."""
    from app.core.audit import AuditEvent

    org, cert, lead, *_ = hub
    trainee = trainee_certificate(app, org, lead)
    other = approved_hub(app, make_user, make_organisation, name="Osprey Point Hospice").cert
    with app.test_request_context():
        services.revoke(other, by=admin, reason="The hub closed.")
    pdfs = {c.id: (c.sha256, c.storage_key) for c in (cert, trainee, other)}
    for c in (cert, trainee, other):  # as they were before credentials existed
        db.session.delete(row_of(c))
    db.session.commit()
    assert client.get(f"/verify/{cert.code}/credential.jwt").status_code == 404

    result = runner.invoke(args=["certificates", "add-credentials"])
    assert result.exit_code == 0, result.output
    assert "3 credential(s) added" in result.output
    assert f"{cert.serial}: credential added (Heron Vale Hospice)" in result.output
    db.session.expire_all()
    fetch = client_fetch(client)
    for c in (cert, trainee, other):
        row = row_of(c)
        assert (c.sha256, c.storage_key) == pdfs[c.id]
        credential = claims(row.jwt)
        assert schema_errors(credential) == []
        assert credential["validFrom"].startswith(c.issued_at.date().isoformat())
        assert credential["validUntil"].startswith(c.expires_on.isoformat())
    assert verify(row_of(cert).jwt, fetch, JWKS) == "valid"
    assert verify(row_of(trainee).jwt, fetch, JWKS) == "valid"
    assert verify(row_of(other).jwt, fetch, JWKS) == "revoked"
    assert client.get(f"/verify/{cert.code}/credential.jwt").get_data(as_text=True) == (
        row_of(cert).jwt
    )
    recorded = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "certificate.credential_added")
    ).all()
    assert len(recorded) == 3

    again = runner.invoke(args=["certificates", "add-credentials"])
    assert again.exit_code == 0, again.output
    assert "0 credential(s) added" in again.output
