"""`flask audit verify`: check the hash chain; exit 1 at the first broken event."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.core.audit import verify_chain

audit_cli = AppGroup("audit", help="Audit log commands.")


@audit_cli.command("verify")
def verify_command():
    """Recompute every event's hash and check the chain is intact."""
    result = verify_chain()
    if result.intact:
        click.echo(f"Audit chain intact: {result.checked} events checked.")
        return
    click.echo(
        f"Audit chain BROKEN at event {result.broken_seq}"
        f"{f' (id {result.broken_id})' if result.broken_id else ''}: {result.reason}. "
        f"{result.checked} events before it are intact.",
        err=True,
    )
    sys.exit(1)
