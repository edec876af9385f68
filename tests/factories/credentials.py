"""An independent Open Badges 3.0 verifier for tests, and credential helpers.

The verifier uses joserfc (not the portal's PyJWT code) and only what the portal publishes:
the issuer's JWKS and the signed status list, fetched over HTTP (or the test client). It
decodes the Bitstring Status List itself (multibase 'u', base64url, GZIP, first bit = index 0).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "openbadges"
PUBLISHED_SCHEMA = SCHEMA_DIR / "ob_v3p0_achievementcredential_schema.json"


def achievement_credential_schema() -> dict:
    """1EdTech's published schema when a copy is in tests/fixtures/openbadges, else ours."""
    path = (
        PUBLISHED_SCHEMA
        if PUBLISHED_SCHEMA.is_file()
        else SCHEMA_DIR / ("achievementcredential_schema.json")
    )
    return json.loads(path.read_text(encoding="utf-8"))


def schema_errors(credential: dict) -> list[str]:
    from jsonschema import Draft201909Validator, FormatChecker

    validator = Draft201909Validator(
        achievement_credential_schema(), format_checker=FormatChecker()
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(credential)]


def _local_contexts() -> dict[str, dict]:
    """The JSON-LD contexts the credentials name, from tests/fixtures/openbadges/contexts
    (fetched by `make test`, pinned: scripts/fetch_ob3_schema.py)."""
    from scripts.fetch_ob3_schema import CONTEXTS

    folder = SCHEMA_DIR / "contexts"
    return {
        url: json.loads((folder / name).read_text(encoding="utf-8"))
        for url, (name, _digest) in CONTEXTS.items()
    }


def _keys(value, path: str = "") -> set[str]:
    """Every property path of a JSON document, arrays looked into, @context left out."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                continue
            found.add(f"{path}/{key}")
            found |= _keys(item, f"{path}/{key}")
    elif isinstance(value, list):
        for item in value:
            found |= _keys(item, path)
    return found


# VC 2.0's context maps any term it and the credential's other contexts leave undefined to
# this vocabulary (so nothing is dropped, but nothing is defined either).
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"
# The JWT's registered claims sit beside the credential in a VC-JWT payload (OB 3.0, 8.2.4):
# the envelope, not linked data.
JWT_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


def _issuer_dependent(value) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith(ISSUER_DEPENDENT):
                found.add(key[len(ISSUER_DEPENDENT) :])
            found |= _issuer_dependent(item)
    elif isinstance(value, list):
        for item in value:
            found |= _issuer_dependent(item)
    return found


def terms_jsonld_drops(credential: dict) -> list[str]:
    """Properties of `credential` that its JSON-LD contexts do not define: dropped on
    expansion (shown as paths) or left to VC 2.0's "issuer-dependent" fallback vocabulary
    (shown as names), so that a verifier reading the linked data does not know what they
    mean. The JWT's registered claims are left out. Expanded with PyLD and the local
    contexts only (any other URL is refused, nothing is fetched), compacted back, compared."""
    from pyld import jsonld

    contexts = _local_contexts()

    def loader(url, _options=None):
        if url not in contexts:
            raise jsonld.JsonLdError(f"not a local context: {url}", "loading document failed")
        return {"contextUrl": None, "documentUrl": url, "document": contexts[url]}

    options = {"documentLoader": loader}
    body = {key: value for key, value in credential.items() if key not in JWT_CLAIMS}
    expanded = jsonld.expand(body, options)
    compacted = jsonld.compact(expanded, {"@context": body["@context"]}, options)
    dropped = _keys(body) - _keys(compacted)
    return sorted(dropped | _issuer_dependent(expanded))


def client_fetch(client) -> Callable[[str], bytes]:
    """Fetch a published URL (http://localhost/…) through a Flask test client."""

    def fetch(url: str) -> bytes:
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        response = client.get(path)
        assert response.status_code == 200, (url, response.status_code)
        return response.data

    return fetch


def http_fetch(url: str) -> bytes:
    from urllib.request import urlopen

    with urlopen(url, timeout=10) as response:  # noqa: S310 (the live test server)
        return response.read()


def _bit(encoded: str, index: int) -> bool:
    assert encoded.startswith("u"), "multibase base64url"
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 >= 131_072
    return bool(raw[index // 8] & (0x80 >> (index % 8)))


def verify(token: str, fetch: Callable[[str], bytes], jwks_url: str, *, now=None) -> str:
    """valid, expired, revoked, bad_signature or unknown_key: an outsider's verdict."""
    keys = KeySet.import_key_set(json.loads(fetch(jwks_url)))
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    if header.get("kid") not in {k.kid for k in keys.keys}:
        return "unknown_key"
    try:
        credential = jwt.decode(token, keys, algorithms=["ES256"]).claims
    except BadSignatureError:
        return "bad_signature"
    now = now or datetime.now(UTC)
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    status_jwt = fetch(status["statusListCredential"]).decode()
    status_list = jwt.decode(status_jwt, keys, algorithms=["ES256"]).claims
    assert "BitstringStatusListCredential" in status_list["type"]
    subject = status_list["credentialSubject"]
    assert subject["statusPurpose"] == status["statusPurpose"] == "revocation"
    if _bit(subject["encodedList"], int(status["statusListIndex"])):
        return "revoked"
    if datetime.fromisoformat(credential["validUntil"]) < now:
        return "expired"
    return "valid"
