"""The superhub's signing key and certificate, PAdES signing, and signature checks.

The key and a self-signed certificate are made on first use (EC P-256: a signature costs
about 10 ms) in `SIGNING_DIR` under the instance folder, never in the repository. A
superhub with its own key and certificate sets `SIGNING_KEY_PATH` and `SIGNING_CERT_PATH`
(and `SIGNING_KEY_PASSWORD` if the key is encrypted). The loaded signer is cached per app.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import current_app

from app.core import clock

KEY_FILE = "superhub-key.pem"
CERT_FILE = "superhub-cert.pem"
FIELD_NAME = "SuperhubSignature"
_lock = threading.Lock()


class SigningError(RuntimeError):
    """The signing key or certificate is missing, unreadable or does not match."""


@dataclass(frozen=True)
class SigningMaterial:
    key_path: Path
    cert_path: Path
    created: bool


def _paths() -> tuple[Path, Path, bool]:
    config = current_app.config
    key, cert = config.get("SIGNING_KEY_PATH"), config.get("SIGNING_CERT_PATH")
    if key or cert:
        if not (key and cert):
            raise SigningError("Set both SIGNING_KEY_PATH and SIGNING_CERT_PATH, or neither.")
        return Path(key), Path(cert), True
    folder = Path(config["SIGNING_DIR"])
    return folder / KEY_FILE, folder / CERT_FILE, False


def create_material(key_path: Path, cert_path: Path, *, superhub: str) -> None:
    """Write a new EC P-256 key (mode 0600) and a self-signed certificate valid 10 years."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = self_signed(
        key,
        common_name=f"{superhub} certificate signing",
        organisation=superhub,
        days=3650,
        path_length=None,
        usage=usage,
    )
    write_private_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def self_signed(key, *, common_name: str, organisation: str, days: int, path_length, usage):
    """A self-signed CA certificate for `key` (the first signing key, the superhub root),
    valid from a day ago for `days`."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
        ]
    )
    now = clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def write_private_key(path: Path, key) -> None:
    """Write `key` as PKCS#8 PEM to a new file readable by its owner only (0600), encrypted
    with SIGNING_KEY_PASSWORD when one is set; an existing file is never overwritten."""
    password = current_app.config.get("SIGNING_KEY_PASSWORD") or ""
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        pkcs8 = serialization.PrivateFormat.PKCS8
        out.write(key.private_bytes(serialization.Encoding.PEM, pkcs8, encryption))


def ensure_material() -> SigningMaterial:
    """The key and certificate paths, creating both on first use unless configured."""
    key_path, cert_path, configured = _paths()
    if key_path.is_file() and cert_path.is_file():
        return SigningMaterial(key_path, cert_path, False)
    if configured:
        raise SigningError(
            f"The configured signing key or certificate is missing: {key_path} / {cert_path}."
        )
    if key_path.exists() or cert_path.exists():
        raise SigningError(
            f"Only one of {key_path.name} and {cert_path.name} exists in {key_path.parent}; "
            "restore the other, or move both away to make a new pair."
        )
    with _lock:
        if not key_path.exists():
            create_material(key_path, cert_path, superhub=current_app.config["SUPERHUB_NAME"])
    current_app.logger.info(
        "Created the superhub signing key and certificate in %s", key_path.parent
    )
    return SigningMaterial(key_path, cert_path, True)


def trust_root():
    """The first superhub certificate (asn1crypto); `keys.trust_roots()` lists them all."""
    from pyhanko.keys import load_cert_from_pemder

    cache = current_app.extensions.setdefault("certificate_trust", {})
    material = ensure_material()
    if cache.get("path") != str(material.cert_path):
        cache.clear()
        cache.update(path=str(material.cert_path), cert=load_cert_from_pemder(material.cert_path))
    return cache["cert"]


def sign_pdf(pdf: bytes, *, reason: str, key=None) -> bytes:
    """Sign `pdf` (PAdES baseline) with the superhub key (`key`, a `SigningKey`, or the
    current one); returns the signed bytes."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from . import keys

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=current_app.config["SUPERHUB_NAME"],
    )
    signer = keys.signer_for(key if key is not None else keys.current())
    out = _outside_event_loop(signers.sign_pdf, writer, meta, signer=signer, bytes_reserved=8192)
    return out.getvalue()


def _outside_event_loop(fn, *args, **kwargs):
    """pyhanko's synchronous API calls asyncio.run(), which fails inside a running event
    loop (an async server, or a test driving a browser); run it in a worker thread then."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


@dataclass(frozen=True)
class SignatureCheck:
    """What a PDF's embedded signature says: `state` is ok, unsigned, tampered or untrusted."""

    state: str
    message: str


def _log_unreadable(step: str, exc: Exception) -> None:
    from flask import current_app, has_app_context

    if has_app_context():
        current_app.logger.info("PDF check: could not %s the file: %s", step, type(exc).__name__)


def check_signature(data: bytes) -> SignatureCheck:
    """Check that `data` is a PDF whose whole content is signed by the superhub."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    # Untrusted bytes: any failure inside the PDF libraries (a broken cross-reference
    # table, form fields nested thousands deep and a RecursionError, a bad certificate
    # structure) is a verdict on the file, never an error page.
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # any failure at all: see above
        _log_unreadable("read", exc)
        return SignatureCheck(
            "tampered",
            "The file is damaged or was changed: it cannot be read as the PDF we issued.",
        )
    if not signatures:
        return SignatureCheck("unsigned", "The PDF carries no signature from this portal.")
    from . import keys

    # Every key that ever signed (rotation retires a key for signing, never for trust).
    context = ValidationContext(trust_roots=keys.trust_roots(), allow_fetching=False)
    try:
        status = _outside_event_loop(validate_pdf_signature, signatures[-1], context)
        intact, valid = status.intact, status.valid
        coverage, trusted = status.coverage, status.trusted
    except Exception as exc:  # any failure at all: see above
        _log_unreadable("validate", exc)
        return SignatureCheck(
            "tampered", "The signature could not be checked: the file is damaged."
        )
    if not intact or not valid:
        return SignatureCheck(
            "tampered", "The PDF was changed after it was signed: its signature no longer matches."
        )
    if coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureCheck("tampered", "Content was added to the PDF after it was signed.")
    if not trusted:
        return SignatureCheck(
            "untrusted", "The PDF is signed, but not by this superhub's signing certificate."
        )
    return SignatureCheck("ok", "The superhub's signature is intact and covers the whole file.")
