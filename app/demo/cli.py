"""`flask demo seed`: create (or complete) the demo data; safe to run again."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.demo.services import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from app.extensions import db

demo_cli = AppGroup("demo", help="Demo data commands.")


@demo_cli.command("seed")
def seed_command():
    """Create demo accounts for every role and the demo data of each area."""
    seed_demo(log=lambda msg: click.echo(f"  {msg}"))
    db.session.commit()
    click.echo(f"Demo data ready. Log in with any of these (password: {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.email:<36} {account.purpose}")
