"""The superhub's signing keys: which one signs now, every one that ever signed, rotation.

Public surface: `current()`, `signer_for(key)`, `all_keys()`, `trust_roots()`, `root()`,
`rotate()`, `fingerprint_of()`, `colon_fingerprint()`, `der_of()`.

Every key that signs certificate PDFs is a row of `signing_key` holding its public
certificate, fingerprint and validity; its private key stays in a file under `SIGNING_DIR`
(never in the database or the repository). The current key is the newest one not retired.
Rotating makes a new key current and retires the previous one *for signing only*: every
key's certificate stays a trust root, so a PDF signed years ago keeps verifying.

The first key is the one `signing.py` has always made (`SIGNING_DIR/superhub-key.pem`,
self-signed), or the configured `SIGNING_KEY_PATH` / `SIGNING_CERT_PATH`; it is registered
on first use, and certificates issued before keys were recorded are attributed to it.
Keys made by rotation are certified by a small superhub root CA (`SIGNING_DIR/root-*.pem`,
made at the first rotation): a verifier who trusts the root once trusts every later key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import current_app
from sqlalchemy import select, update

from app.core import audit, clock
from app.core.db import utcnow
from app.extensions import db

from . import signing
from .models import Certificate, SigningKey

ROOT_KEY_FILE = "root-key.pem"
ROOT_CERT_FILE = "root-cert.pem"
KEYS_FOLDER = "keys"
ROOT_YEARS = 20
# Ten years, like the first key: a PDF signed late in a key's life still chains to an
# unexpired certificate for years, for verifiers that judge the chain at today's date.
SIGNING_KEY_YEARS = 10


def fingerprint_of(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex (what `openssl x509
    -fingerprint -sha256` and Acrobat show, without the colons)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def colon_fingerprint(hex_fingerprint: str) -> str:
    """AB:CD:… as certificate viewers print it."""
    upper = hex_fingerprint.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))


def der_of(key: SigningKey) -> bytes:
    return x509.load_pem_x509_certificate(key.cert_pem.encode()).public_bytes(
        serialization.Encoding.DER
    )


def _folder() -> Path:
    return Path(current_app.config["SIGNING_DIR"])


def _configured() -> bool:
    config = current_app.config
    return bool(config.get("SIGNING_KEY_PATH") or config.get("SIGNING_CERT_PATH"))


def _register(cert_pem: bytes, key_file: str) -> SigningKey:
    """The row for this certificate, inserted if new (safe against a concurrent insert)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    fingerprint = fingerprint_of(cert)
    session = db.session
    known = session.scalar(select(SigningKey).where(SigningKey.fingerprint == fingerprint))
    if known is not None:  # the usual case (a configured key is looked up on every issue)
        return known
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    first = session.scalar(select(SigningKey.id).limit(1)) is None
    session.execute(
        insert(SigningKey)
        .values(
            fingerprint=fingerprint,
            subject=cert.subject.rfc4514_string()[:300],
            issuer=cert.issuer.rfc4514_string()[:300],
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            key_file=key_file,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["fingerprint"])
    )
    key = session.scalar(select(SigningKey).where(SigningKey.fingerprint == fingerprint))
    if first:
        # Certificates issued before keys were recorded were signed by this first key.
        session.execute(
            update(Certificate)
            .where(Certificate.signing_key_id.is_(None))
            .values(signing_key_id=key.id)
            .execution_options(synchronize_session=False)
        )
    return key


def current() -> SigningKey:
    """The key that signs new certificates (registering the first key on first use)."""
    if _configured():
        material = signing.ensure_material()
        return _register(material.cert_path.read_bytes(), str(material.key_path))
    key = db.session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    )
    if key is not None:
        return key
    material = signing.ensure_material()
    return _register(material.cert_path.read_bytes(), signing.KEY_FILE)


def all_keys() -> list[SigningKey]:
    """Every key, newest first (the first key is registered if there is none yet)."""
    keys = list(db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())))
    return keys or [current()]


def _key_path(key: SigningKey) -> Path:
    path = Path(key.key_file)
    return path if path.is_absolute() else _folder() / path


def _cert_path(key: SigningKey) -> Path:
    """The signing certificate beside its key file (written by rotation and ensure_material)."""
    if key.key_file == signing.KEY_FILE:
        return _folder() / signing.CERT_FILE
    if Path(key.key_file).is_absolute():
        return Path(current_app.config["SIGNING_CERT_PATH"])
    return _key_path(key).with_name(_key_path(key).name.replace("-key.pem", "-cert.pem"))


def signer_for(key: SigningKey):
    """A pyhanko signer for `key`, cached per app; the root (if it certified the key) is
    embedded in each signature so a verifier can build the chain to it."""
    from pyhanko.sign import signers

    cache = current_app.extensions.setdefault("certificate_signing", {})
    cached = cache.get(("key", key.fingerprint))
    if cached is not None:
        return cached
    password = current_app.config.get("SIGNING_KEY_PASSWORD") or None
    chain = ()
    root_cert = _folder() / ROOT_CERT_FILE
    if key.subject != key.issuer and root_cert.is_file():
        chain = (str(root_cert),)
    key_path = _key_path(key)
    if not key_path.is_file():
        raise signing.SigningError(f"The private key of signing key {key.id} is missing.")
    signer = signers.SimpleSigner.load(
        str(key_path),
        str(_cert_path(key)),
        ca_chain_files=chain,
        key_passphrase=password.encode() if password else None,
    )
    if signer is None:
        raise signing.SigningError(f"Signing key {key.id} could not be read.")
    cache[("key", key.fingerprint)] = signer
    return signer


@dataclass(frozen=True)
class Root:
    """The superhub root CA's certificate (PEM) and fingerprint, once made."""

    cert_pem: str
    fingerprint: str
    not_before: object
    not_after: object

    @property
    def der(self) -> bytes:
        return x509.load_pem_x509_certificate(self.cert_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )


def root() -> Root | None:
    """The root CA that certifies rotated keys, or None before the first rotation."""
    path = _folder() / ROOT_CERT_FILE
    if not path.is_file():
        return None
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return Root(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        fingerprint_of(cert),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
    )


def trust_roots() -> list:
    """Every certificate a superhub signature may chain to (asn1crypto), in one query:
    each signing key's certificate and the root."""
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    def load(pem_text: str):
        _type, _headers, der = asn1_pem.unarmor(pem_text.encode())
        return asn1_x509.Certificate.load(der)

    pems = list(db.session.scalars(select(SigningKey.cert_pem).order_by(SigningKey.id)))
    if not pems:
        pems = [current().cert_pem]
    made = root()
    if made is not None:
        pems.append(made.cert_pem)
    return [load(text) for text in pems]


def _usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign_certs,
        content_commitment=not sign_certs,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


def _ensure_root():
    """The root's private key and certificate, made on first use (EC P-256, 20 years)."""
    folder = _folder()
    key_path, cert_path = folder / ROOT_KEY_FILE, folder / ROOT_CERT_FILE
    password = current_app.config.get("SIGNING_KEY_PASSWORD") or None
    if key_path.is_file() and cert_path.is_file():
        key = serialization.load_pem_private_key(
            key_path.read_bytes(), password.encode() if password else None
        )
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    if key_path.exists() or cert_path.exists():
        raise signing.SigningError(
            f"Only one of {ROOT_KEY_FILE} and {ROOT_CERT_FILE} exists in {folder}."
        )
    superhub = current_app.config["SUPERHUB_NAME"]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = signing.self_signed(
        key,
        common_name=f"{superhub} root",
        organisation=superhub,
        days=365 * ROOT_YEARS,
        path_length=0,
        usage=_usage(sign_certs=True),
    )
    signing.write_private_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


class RotationRefused(signing.SigningError):
    """The key cannot be rotated here (a configured key is rotated by configuration)."""


def rotate(*, note: str = "") -> SigningKey:
    """Make a new signing key (EC P-256, 10 years), certified by the superhub root, current;
    retire the previous one for signing (its certificate stays trusted). Flushes only."""
    if _configured():
        raise RotationRefused(
            "The signing key comes from SIGNING_KEY_PATH / SIGNING_CERT_PATH: rotate it by "
            "pointing those at the new key and certificate (the old one stays in the register)."
        )
    previous = current()
    root_key, root_cert = _ensure_root()
    superhub = current_app.config["SUPERHUB_NAME"]
    now = clock.now()
    label = f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{superhub} signing {now:%Y-%m-%d}"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, superhub[:64]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(
            min(now + timedelta(days=365 * SIGNING_KEY_YEARS), root_cert.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign_certs=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    relative = f"{KEYS_FOLDER}/{label}-key.pem"
    signing.write_private_key(_folder() / relative, key)
    (_folder() / f"{KEYS_FOLDER}/{label}-cert.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
    )
    new = _register(cert.public_bytes(serialization.Encoding.PEM), relative)
    db.session.execute(
        update(SigningKey)
        .where(SigningKey.id != new.id, SigningKey.retired_at.is_(None))
        .values(retired_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(previous)
    audit.record(
        "certificate.signing_key_rotated",
        actor=None,
        subject=new,
        details={
            "fingerprint": new.fingerprint,
            "previous": previous.fingerprint,
            **({"note": note.strip()[:500]} if note.strip() else {}),
        },
    )
    return new
