"""`flask --app wsgi certificates init-signing | verify FILE.pdf | rotate-credential-key |
add-credentials | verify-credential FILE.jwt`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from . import credentials, services, signing

certificates_cli = AppGroup("certificates", help="Certificate signing and verification.")

# The verdict per check result, and whether it counts as valid (exit status 0).
VERDICTS = {
    "valid": "VALID",
    "expired": "EXPIRED",
    "revoked": "REVOKED",
    "superseded": "SUPERSEDED",
    "tampered": "TAMPERED",
    "unknown": "UNKNOWN",
    "not_pdf": "UNKNOWN",
}


@certificates_cli.command("init-signing")
def init_signing() -> None:
    """Create the superhub's signing key and certificate (if they do not exist yet)."""
    try:
        material = signing.ensure_material()
    except signing.SigningError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    verb = "Created" if material.created else "Already present:"
    click.echo(f"{verb} signing key {material.key_path}")
    click.echo(f"{' ' * len(verb)} certificate {material.cert_path}")


@certificates_cli.command("verify")
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=Path))
def verify(pdf: Path) -> None:
    """Check a certificate PDF's signature and its hash against the register.

    Prints VALID, TAMPERED, REVOKED, EXPIRED, SUPERSEDED or UNKNOWN; exits 0 only if valid.
    """
    try:
        data = pdf.read_bytes()
    except OSError as error:
        click.echo(f"Error: cannot read {pdf}: {error.strerror}", err=True)
        sys.exit(2)
    result = services.check_pdf(data)
    line = f"{VERDICTS[result.result]}: {result.message}"
    cert = result.certificate
    if cert is not None:
        line += f"\n  serial {cert.serial} · {cert.organisation_name}"
        if cert.person_name:
            line += f" · {cert.person_name}"
        line += f" · expires {cert.expires_on.isoformat()}"
        if cert.revoked_at is not None:
            line += f"\n  revoked {cert.revoked_at.date().isoformat()}: {cert.revocation_reason}"
    click.echo(line)
    sys.exit(0 if result.result == "valid" else 1)


@certificates_cli.command("rotate-credential-key")
def rotate_credential_key() -> None:
    """Make a new Open Badges credential signing key; earlier keys stay in the JWKS."""
    from . import credentials

    try:
        key = credentials.rotate_key()
    except credentials.CredentialError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    _active, by_kid = credentials.keys()
    click.echo(f"New credential key {key.kid}; {len(by_kid)} key(s) published.")


@certificates_cli.command("add-credentials")
def add_credentials() -> None:
    """Give every certificate issued before Open Badges credentials existed its credential
    (the signed PDFs stay as they are). Safe to run again: it adds only what is missing."""
    from app.extensions import db

    try:
        added = services.add_missing_credentials()
    except credentials.CredentialError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    for cert in added:
        click.echo(f"{cert.serial}: credential added ({cert.organisation_name})")
    click.echo(f"{len(added)} credential(s) added; every certificate now has one.")


@certificates_cli.command("verify-credential")
@click.argument("token_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_credential(token_file: Path) -> None:
    """Check an Open Badges credential JWT (a .jwt file); exit 0 only when valid."""
    from . import credentials

    check = credentials.check_jwt(token_file.read_text(encoding="ascii", errors="replace"))
    click.echo(f"{check.label.upper()}: {check.message}")
    sys.exit(0 if check.result == "valid" else 1)


keys_cli = AppGroup("keys", help="The superhub's signing keys: list them, or rotate to a new one.")
certificates_cli.add_command(keys_cli)


@keys_cli.command("list")
def list_keys() -> None:
    """Every signing key, newest first: id, state, validity and SHA-256 fingerprint."""
    from app.extensions import db

    from . import keys

    try:
        rows = keys.all_keys()
    except signing.SigningError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    db.session.commit()  # the first key is registered on first use
    for key in rows:
        state = "current" if key.retired_at is None else f"retired {key.retired_at:%Y-%m-%d}"
        click.echo(
            f"{key.id:>3}  {state:<18} valid {key.not_before:%Y-%m-%d} to "
            f"{key.not_after:%Y-%m-%d}  {key.subject}\n     SHA-256 {key.fingerprint}"
        )
    root = keys.root()
    if root is not None:
        click.echo(f"root  valid to {root.not_after:%Y-%m-%d}  SHA-256 {root.fingerprint}")


@keys_cli.command("rotate")
@click.option("--note", default="", help="Why (kept in the audit log).")
def rotate_key(note: str) -> None:
    """Make a new signing key current (certified by the superhub root); the old one stops
    signing but keeps verifying the certificates it signed."""
    from app.extensions import db

    from . import keys

    try:
        new = keys.rotate(note=note)
    except signing.SigningError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"New signing key {new.id} is current: SHA-256 {new.fingerprint}")
    click.echo("Certificates signed by earlier keys keep verifying; publish the new fingerprint.")
