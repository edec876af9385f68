"""Open Badges 3.0 credentials: one signed VC-JWT per certificate, its revocation bit, the
issuer profile and keys that let anyone check it without asking the portal.

Public functions:
- `prepare(...)` builds and signs the credential of a certificate about to be issued;
  `record(cert, prepared)` adds it to the register in the same transaction.
- `embed_in_pdf(pdf, jwt)` attaches the JWT to the PDF (AFRelationship Data) before signing;
  `jwt_from_pdf(data)` reads it back.
- `check_jwt(token)` is the portal's own verdict on a pasted or uploaded JWT.
- `issuer_profile()`, `jwks()`, `status_list_jwt()`, `status_list_credential()`,
  `status_bit(list, index)` serve the public documents (cached, at most one query each).
- `linkedin(cert)`: the "Add to profile" link and its fields.
- `rotate_key()`: a new signing key; earlier keys stay in the JWKS so earlier credentials
  keep verifying.

Keys: EC P-256 (ES256, which 1EdTech's validator accepts; EdDSA fails it), separate from the
PDF-signing key. Made on first use in `CREDENTIAL_DIR` (under the instance folder) as
`credential-key-<UTC time>.pem`; the newest file signs. `CREDENTIAL_KEY_PATH` names a key of
the operator's own, which then signs. The `kid` is the key's RFC 7638 thumbprint, so it does
not depend on the file name or on the portal's address.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.core import cache, clock
from app.core.filters import long_date
from app.extensions import db

from .models import Certificate, CertificateCredential

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ACHIEVEMENT_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
ALGORITHM = "ES256"
JWT_TYPE = "vc+jwt"
STATUS_LIST = 1  # one list today; the number is in every URL so a second can follow
STATUS_LIST_SIZE = 131_072  # the Bitstring Status List minimum (16 KB), for herd privacy
JWT_MAX_CHARS = 64 * 1024
ATTACHMENT_NAME = "credential.jwt"
KEY_PREFIX = "credential-key-"
_lock = threading.Lock()

# What each kind of certificate attests (achievementType from the OB 3.0 vocabulary).
ACHIEVEMENTS = {
    "hub": {
        "achievementType": "Certification",
        "name": "Approved Project ECHO hub",
        "description": "The organisation was assessed by the superhub's trainers and approved "
        "to run Project ECHO tele-mentoring networks as a hub.",
        "criteria": "Both partnership agreements signed and verified, a complete hub team "
        "trained, Immersion attended, every readiness checklist item accepted, and a readiness "
        "assessment approved by a second trainer (four-eyes).",
    },
    "trainee": {
        "achievementType": "Certificate",
        "name": "ECHO hub training completed",
        "description": "The holder completed the Project ECHO hub training modules for their "
        "roles and attended the Immersion programme.",
        "criteria": "Every training module required for the holder's hub roles completed, with "
        "its knowledge check passed, and the programme's Immersion attendance threshold met.",
    },
}


class CredentialError(RuntimeError):
    """The credential key is missing, unreadable or not an EC P-256 key."""


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialKey:
    kid: str
    private: ec.EllipticCurvePrivateKey
    public_jwk: dict
    created: str  # from the file name (UTC), or "" for a configured key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    numbers = key.public_key().public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    # RFC 7638: the SHA-256 of the required members, sorted, without whitespace.
    thumbprint = _b64url(
        hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
    )
    return {**jwk, "kid": thumbprint, "alg": ALGORITHM, "use": "sig"}


def _folder() -> Path:
    return Path(current_app.config["CREDENTIAL_DIR"])


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise CredentialError(f"The credential key {path.name} cannot be read: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CredentialError(f"The credential key {path.name} is not an EC P-256 key (ES256).")
    return key


def _write_new_key(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{KEY_PREFIX}{stamp}.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def _key_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(KEY_PREFIX) and p.is_file())


def keys() -> tuple[CredentialKey, dict[str, CredentialKey]]:
    """The signing key and every key by kid (retired ones too: they still verify)."""
    folder = _folder()
    configured = current_app.config.get("CREDENTIAL_KEY_PATH") or ""
    files = _key_files(folder)
    if not files and not configured:
        with _lock:
            files = _key_files(folder)
            if not files:
                _write_new_key(folder)
                current_app.logger.info("Created the credential signing key in %s", folder)
                files = _key_files(folder)
    signature = (configured, tuple(p.name for p in files))
    store = current_app.extensions.setdefault("credential_keys", {})
    if store.get("signature") != signature:
        by_kid: dict[str, CredentialKey] = {}
        active = None
        for path in files:
            private = _load_key(path)
            jwk = _public_jwk(private)
            created = path.stem.removeprefix(KEY_PREFIX)
            active = by_kid[jwk["kid"]] = CredentialKey(jwk["kid"], private, jwk, created)
        if configured:
            path = Path(configured)
            if not path.is_file():
                raise CredentialError(f"CREDENTIAL_KEY_PATH names a missing file: {path.name}")
            private = _load_key(path)
            jwk = _public_jwk(private)
            active = by_kid[jwk["kid"]] = CredentialKey(jwk["kid"], private, jwk, "")
        store.clear()
        store.update(signature=signature, active=active, by_kid=by_kid)
    return store["active"], store["by_kid"]


def rotate_key() -> CredentialKey:
    """Make a new signing key; earlier keys stay published, so what they signed verifies."""
    if current_app.config.get("CREDENTIAL_KEY_PATH"):
        raise CredentialError(
            "CREDENTIAL_KEY_PATH names the signing key: replace that file (and keep the old "
            f"one in {_folder()} as {KEY_PREFIX}<date>.pem) instead."
        )
    _write_new_key(_folder())
    cache.bump("verify")
    active, _ = keys()
    return active


def jwks() -> dict:
    """Every public key, as a JSON Web Key Set."""
    _active, by_kid = keys()
    return {"keys": [key.public_jwk for key in by_kid.values()]}


# --- documents ----------------------------------------------------------------------------


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def issuer_id() -> str:
    return f"{_base()}/credentials/issuer"


def status_list_url(number: int = STATUS_LIST) -> str:
    return f"{_base()}/credentials/status/{number}"


def achievement_id(kind: str) -> str:
    return f"{_base()}/credentials/achievements/{kind}"


def issuer_summary() -> dict:
    """The issuer as embedded in each credential (id, type, name, url)."""
    return {
        "id": issuer_id(),
        "type": ["Profile"],
        "name": current_app.config["SUPERHUB_NAME"],
        "url": _base() + "/",
    }


def issuer_profile() -> dict:
    """The issuer Profile served at its stable URL, with its keys (no query at all)."""
    active, by_kid = keys()

    def build() -> dict:
        return {
            "@context": [VC_CONTEXT, OB_CONTEXT],
            **issuer_summary(),
            "description": "Issues Open Badges 3.0 credentials for Project ECHO hub approval "
            "and hub training, alongside signed PDF certificates.",
            "jwks_uri": f"{_base()}/credentials/jwks.json",
            "jwks": jwks(),
        }

    return cache.cached("verify", ("issuer-profile", _base(), tuple(by_kid)), build)


def achievement(kind: str) -> dict:
    facts = ACHIEVEMENTS[kind]
    return {
        "id": achievement_id(kind),
        "type": ["Achievement"],
        "achievementType": facts["achievementType"],
        "name": facts["name"],
        "description": facts["description"],
        "criteria": {"narrative": facts["criteria"]},
        "creator": issuer_summary(),
    }


def _datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def valid_until(expires_on: date) -> datetime:
    """The end of the expiry day: a certificate is valid on the day it expires."""
    return datetime.combine(expires_on, time(23, 59, 59), tzinfo=UTC)


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityHash: sha256 over the address followed by the salt, in hex."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def _subject(kind: str, *, organisation_id: int, email: str | None) -> dict:
    subject: dict = {"type": ["AchievementSubject"], "achievement": achievement(kind)}
    if kind == "hub":
        # The hub's stable public address (its directory listing when published).
        subject["id"] = f"{_base()}/hubs/{organisation_id}"
    else:
        salt = secrets.token_hex(16)
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(email or "", salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": salt,
            }
        ]
    return subject


def _free_index(number: int) -> int:
    """A random index no credential of the list uses (random, so that an index tells
    nothing about when or to whom a credential was issued)."""
    for _ in range(64):
        index = secrets.randbelow(STATUS_LIST_SIZE)
        taken = db.session.scalar(
            select(CertificateCredential.id).where(
                CertificateCredential.status_list == number,
                CertificateCredential.status_index == index,
            )
        )
        if taken is None:
            return index
    raise CredentialError("The status list is full; start a second list.")


@dataclass(frozen=True)
class PreparedCredential:
    credential_id: str
    status_index: int
    kid: str
    jwt: str
    credential: dict


def prepare(
    *,
    kind: str,
    serial: str,
    code: str,
    verify_url: str,
    organisation_id: int,
    organisation_name: str,
    person_name: str,
    email: str | None,
    issued_at: datetime,
    expires_on: date,
) -> PreparedCredential:
    """Build and sign the credential of a certificate about to be issued."""
    active, _ = keys()
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    index = _free_index(STATUS_LIST)
    facts = ACHIEVEMENTS[kind]
    holder = organisation_name if kind == "hub" else f"{person_name} ({organisation_name})"
    credential = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{facts['name']}: {holder}",
        "description": f"Certificate {serial}. {facts['description']}",
        "issuer": issuer_summary(),
        "validFrom": _datetime(issued_at),
        "validUntil": _datetime(valid_until(expires_on)),
        "credentialSubject": _subject(kind, organisation_id=organisation_id, email=email),
        "evidence": [
            {
                "id": verify_url,
                "type": ["Evidence"],
                "name": f"Certificate {serial}: public verification page",
                "description": "The certificate's current status (valid, expired, revoked or "
                "replaced) and the signed PDF's SHA-256.",
            }
        ],
        "credentialStatus": {
            "id": f"{status_list_url()}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": status_list_url(),
        },
        "credentialSchema": [{"id": ACHIEVEMENT_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if kind == "trainee":
        credential["credentialSubject"]["name"] = person_name
    token = _sign(credential, active, subject=credential["credentialSubject"].get("id"))
    return PreparedCredential(credential_id, index, active.kid, token, credential)


def _sign(credential: dict, key: CredentialKey, *, subject: str | None = None) -> str:
    """VC-JWT: the credential is the payload, with the JWT registered claims that mirror it."""
    claims = {
        **credential,
        "iss": credential["issuer"]["id"]
        if isinstance(credential["issuer"], dict)
        else credential["issuer"],
        "jti": credential["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
        "iat": int(clock.now().timestamp()),
    }
    if "validUntil" in credential:
        claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
    if subject:
        claims["sub"] = subject
    return pyjwt.encode(
        claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": JWT_TYPE}
    )


def record(cert: Certificate, prepared: PreparedCredential) -> CertificateCredential:
    """Add the credential to the register with its certificate (flushes only)."""
    row = CertificateCredential(
        certificate_id=cert.id,
        credential_id=prepared.credential_id,
        status_list=STATUS_LIST,
        status_index=prepared.status_index,
        kid=prepared.kid,
        jwt=prepared.jwt,
        issued_at=cert.issued_at,
    )
    db.session.add(row)
    db.session.flush()
    return row


def of_certificate(cert: Certificate) -> CertificateCredential | None:
    return db.session.scalar(
        select(CertificateCredential).where(CertificateCredential.certificate_id == cert.id)
    )


def decoded(row: CertificateCredential) -> dict:
    """The credential inside a stored JWT (ours, so it is not checked again)."""
    return pyjwt.decode(row.jwt, options={"verify_signature": False})


# --- the status list ----------------------------------------------------------------------


def _revoked_indexes(number: int) -> list[int]:
    """The set bits: revoked certificates, and superseded ones (a re-issue or renewal
    replaced them; a verifier outside the portal sees only the bit, and must not accept the
    old credential as current)."""
    return list(
        db.session.scalars(
            select(CertificateCredential.status_index)
            .join(Certificate, Certificate.id == CertificateCredential.certificate_id)
            .where(
                CertificateCredential.status_list == number,
                or_(Certificate.revoked_at.is_not(None), Certificate.superseded_by_id.is_not(None)),
            )
        )
    )


def encode_bits(indexes: list[int], size: int = STATUS_LIST_SIZE) -> str:
    """Bitstring Status List encoding: index 0 is the first byte's highest bit; GZIP, then
    base64url without padding, with the multibase prefix 'u'."""
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + _b64url(gzip.compress(bytes(bits), mtime=0))


def _status_document(number: int) -> tuple[dict, str, frozenset[int]]:
    active, _ = keys()
    revoked = _revoked_indexes(number)  # the one query
    credential = {
        "@context": [VC_CONTEXT],
        "id": status_list_url(number),
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(),
        "validFrom": _datetime(clock.now()),
        "credentialSubject": {
            "id": f"{status_list_url(number)}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bits(revoked),
        },
    }
    return credential, _sign(credential, active), frozenset(revoked)


def _status(number: int):
    # Cached until any certificate changes: revoking one bumps the "verify" group when its
    # transaction commits (services.revoke), so the bit flips on the next request.
    key = ("status-list", _base(), number)
    return cache.cached("verify", key, lambda: _status_document(number))


def known_list(number: int) -> bool:
    return number == STATUS_LIST


def status_list_credential(number: int = STATUS_LIST) -> dict:
    return _status(number)[0]


def status_list_jwt(number: int = STATUS_LIST) -> str:
    return _status(number)[1]


def status_bit(number: int, index: int) -> bool:
    """Is bit `index` of list `number` set (revoked)? The caller checks the range."""
    return index in _status(number)[2]


# --- the PDF ------------------------------------------------------------------------------


def embed_in_pdf(pdf: bytes, token: str) -> bytes:
    """Attach the JWT to the PDF as an associated file (AFRelationship Data, as PDF/A-3
    allows), in an incremental update made before the PDF is signed."""
    from pyhanko.pdf_utils import embed, generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    data = embed.EmbeddedFileObject.from_file_data(
        writer,
        token.encode("ascii"),
        mime_type="application/vc+jwt",
        params=embed.EmbeddedFileParams(creation_date=clock.now(), modification_date=clock.now()),
    )
    spec = embed.FileSpec(
        file_spec_string=ATTACHMENT_NAME,
        file_name=ATTACHMENT_NAME,
        embedded_data=data,
        description="Open Badges 3.0 credential of this certificate (VC-JWT, ES256)",
        af_relationship=generic.NameObject("/Data"),
    )
    embed.embed_file(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def jwt_from_pdf(data: bytes) -> str | None:
    """The credential JWT attached to a PDF, or None (a damaged file is simply None)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names) - 1, 2):
            if str(names[i]) != ATTACHMENT_NAME:
                continue
            stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
            token = stream.data.decode("ascii").strip()
            return token if len(token) <= JWT_MAX_CHARS else None
    except Exception:  # untrusted bytes: any failure means "no credential found"
        return None
    return None


# --- checking a JWT -----------------------------------------------------------------------

RESULTS = {
    "valid": "Valid",
    "expired": "Expired",
    "revoked": "Revoked",
    "superseded": "Superseded",
    "not_yet_valid": "Not yet valid",
    "tampered": "Changed after signing",
    "wrong_key": "Not signed with our key",
    "unknown_key": "Unknown signing key",
    "unknown": "Not in our register",
    "malformed": "Not a credential",
    "missing": "None attached",
}


@dataclass(frozen=True)
class CredentialCheck:
    """A verdict on a credential JWT: `result` is a key of RESULTS, with a message."""

    result: str
    message: str
    certificate: Certificate | None = None
    credential: dict | None = None

    @property
    def label(self) -> str:
        return RESULTS[self.result]


def _unverified(token: str) -> tuple[dict, dict] | None:
    try:
        header = pyjwt.get_unverified_header(token)
        payload = pyjwt.decode(token, options={"verify_signature": False})
    except pyjwt.PyJWTError:
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    return header, payload


def _register_row(credential_id) -> CertificateCredential | None:
    if not isinstance(credential_id, str) or len(credential_id) > 80:
        return None
    return db.session.scalar(
        select(CertificateCredential)
        .where(CertificateCredential.credential_id == credential_id)
        .options(
            joinedload(CertificateCredential.certificate).joinedload(Certificate.superseded_by)
        )
    )


def check_jwt(token: str) -> CredentialCheck:
    """Signature (by kid, against every published key), register, validity dates, status."""
    token = "".join((token or "").split())
    if not token or len(token) > JWT_MAX_CHARS or token.count(".") != 2:
        return CredentialCheck(
            "malformed", "This is not a credential JWT (three dot-separated parts)."
        )
    parts = _unverified(token)
    if parts is None:
        return CredentialCheck("malformed", "This JWT cannot be read: it is damaged.")
    header, payload = parts
    if header.get("alg") != ALGORITHM:
        return CredentialCheck(
            "malformed", f"Our credentials are signed with {ALGORITHM}; this one is not."
        )
    _active, by_kid = keys()
    key = by_kid.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
    if key is None:
        return CredentialCheck(
            "unknown_key",
            "The credential names a signing key (kid) that this portal never published.",
        )
    row = _register_row(payload.get("id") or payload.get("jti"))
    try:
        credential = pyjwt.decode(
            token,
            key.private.public_key(),
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except pyjwt.InvalidSignatureError:
        if row is not None and row.jwt.split(".")[1] == token.split(".")[1]:
            return CredentialCheck(
                "wrong_key",
                "The content is ours, but it was signed with another key than the one it names.",
                row.certificate,
            )
        return CredentialCheck(
            "tampered",
            "The credential was changed after it was signed: its signature no longer matches.",
            row.certificate if row else None,
        )
    except pyjwt.PyJWTError:
        return CredentialCheck("malformed", "This JWT cannot be read: it is damaged.")
    if row is None:
        return CredentialCheck(
            "unknown", "The signature is ours, but this credential is not in our register."
        )
    cert = row.certificate
    now = clock.now()
    try:
        starts = datetime.fromisoformat(credential["validFrom"])
        ends = datetime.fromisoformat(credential["validUntil"])
        index = int(credential["credentialStatus"]["statusListIndex"])
    except (KeyError, TypeError, ValueError):
        return CredentialCheck("malformed", "The credential lacks its dates or status entry.")
    serial = cert.serial
    if index != row.status_index:
        return CredentialCheck("tampered", "The credential's status entry is not ours.", cert)
    # A superseded certificate's bit is set too; the portal can say which it is.
    if status_bit(row.status_list, index) and (
        cert.revoked_at is not None or cert.superseded_by_id is None
    ):
        return CredentialCheck(
            "revoked", f"The credential of certificate {serial} was revoked.", cert, credential
        )
    if now < starts:
        return CredentialCheck(
            "not_yet_valid", f"The credential of {serial} is not valid yet.", cert, credential
        )
    if now > ends:
        return CredentialCheck(
            "expired",
            f"The credential of certificate {serial} expired on {long_date(ends)}.",
            cert,
            credential,
        )
    if cert.superseded_by_id is not None:
        return CredentialCheck(
            "superseded",
            f"The credential of {serial} is genuine, but a newer certificate replaced it.",
            cert,
            credential,
        )
    return CredentialCheck(
        "valid",
        f"This is the credential of certificate {serial}, unchanged, signed by us, and valid.",
        cert,
        credential,
    )


# --- LinkedIn -----------------------------------------------------------------------------

LINKEDIN_URL = "https://www.linkedin.com/profile/add"


def linkedin(cert: Certificate, verify_url: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The "Add to profile" URL and its fields as (parameter, label, value)."""
    from urllib.parse import urlencode

    issued = cert.issued_at.astimezone(UTC)
    fields = [
        ("name", "Name", ACHIEVEMENTS[cert.kind]["name"]),
        ("organizationName", "Issuing organisation", current_app.config["SUPERHUB_NAME"]),
        ("issueYear", "Issue year", str(issued.year)),
        ("issueMonth", "Issue month", str(issued.month)),
        ("expirationYear", "Expiration year", str(cert.expires_on.year)),
        ("expirationMonth", "Expiration month", str(cert.expires_on.month)),
        ("certUrl", "Credential URL", verify_url),
        ("certId", "Credential ID", cert.serial),
    ]
    query = urlencode([("startTask", "CERTIFICATION_NAME")] + [(p, v) for p, _l, v in fields])
    return f"{LINKEDIN_URL}?{query}", fields


def check_pdf_credential(data: bytes) -> CredentialCheck | None:
    """The verdict on the credential attached to a PDF; None for a file that is not a PDF,
    `missing` for a PDF without one (certificates issued before credentials existed)."""
    if not data.startswith(b"%PDF-"):
        return None
    token = jwt_from_pdf(data)
    if token is None:
        return CredentialCheck("missing", "The PDF carries no Open Badges credential.")
    return check_jwt(token)


@dataclass(frozen=True)
class Carried:
    """What the holder of a certificate can take elsewhere: its credential, and LinkedIn."""

    has_credential: bool
    linkedin_url: str | None
    linkedin_fields: list[tuple[str, str, str]]


def carried(user, org, certs: list[Certificate]) -> dict[int, Carried]:
    """Per certificate of the page (one query): whether it has a credential, and for its
    holder (the person named, or the hub lead of a hub certificate) the LinkedIn link."""
    from app.organisations import services as org_services

    from . import services

    if not certs:
        return {}
    with_credential = set(
        db.session.scalars(
            select(CertificateCredential.certificate_id).where(
                CertificateCredential.certificate_id.in_([c.id for c in certs])
            )
        )
    )
    is_lead = org_services.is_hub_lead(user, org)
    result = {}
    for cert in certs:
        holder = cert.user_id == user.id if cert.kind == "trainee" else is_lead
        url, fields = None, []
        if holder and services.status_of(cert) == "valid":
            url, fields = linkedin(cert, services.verify_url(cert.code))
        result[cert.id] = Carried(cert.id in with_credential, url, fields)
    return result


def restamp(cert: Certificate) -> None:
    """Sign the credential again with the certificate's current dates (demo data that is
    back-dated after issue; never used on real certificates, whose dates never change)."""
    row = of_certificate(cert)
    if row is None:
        return
    active, _ = keys()
    credential = {k: v for k, v in decoded(row).items() if k not in ("iss", "jti", "nbf", "iat")}
    credential.pop("exp", None)
    subject = credential.pop("sub", None)
    credential["validFrom"] = _datetime(cert.issued_at)
    credential["validUntil"] = _datetime(valid_until(cert.expires_on))
    row.jwt = _sign(credential, active, subject=subject)
    row.kid = active.kid
    db.session.flush()
