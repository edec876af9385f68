"""`flask demo seed`: create (or complete) the demo data; safe to run again."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select, text

from app.demo.services import DEMO_ACCOUNTS, DEMO_ORGANISATIONS, DEMO_PASSWORD, seed_demo
from app.extensions import db
from app.organisations.journey import stage_label
from app.organisations.models import Organisation

demo_cli = AppGroup("demo", help="Demo data commands.")


def _scale(_ctx, _param, value):
    if value is None:
        return None
    from app.demo.scale import ScaleError, parse_scale

    try:
        return parse_scale(value)
    except ScaleError as error:
        raise click.BadParameter(str(error)) from error


@demo_cli.command("seed")
@click.option(
    "--scale",
    callback=_scale,
    default=None,
    help="Also add a large synthetic programme: 'large' (1,000 organisations, 20,000 "
    "people, 400 certificates, 200,000 audit events) or a multiplier such as 2 or 0.1.",
)
def seed_command(scale):
    """Create demo accounts for every role and the demo data of each area."""
    seed_demo(log=lambda msg: click.echo(f"  {msg}"))
    db.session.commit()
    if scale is not None:
        import time

        from app.core.mail import mail_kept_in_memory
        from app.demo.scale import seed_scale

        started = time.perf_counter()
        with mail_kept_in_memory():
            made = seed_scale(scale, log=lambda msg: click.echo(f"  {msg}"))
        db.session.commit()
        from app.core import cache

        cache.bump(
            "directory", "verify", "immersion-grid"
        )  # bulk inserts bypass the session's change tracking
        # Fresh planner statistics: without them PostgreSQL plans for the empty tables it
        # saw before the bulk load (sequential scans, bad join orders) until autovacuum runs.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        click.echo(
            f"Synthetic programme (scale {scale:g}) added in "
            f"{time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in made.items())
        )
    click.echo(f"Demo data ready. Log in with any of these (password: {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.email:<36} {account.purpose}")
    click.echo("Demo organisations, with the hub lead to log in as (same password):")
    stages = dict(db.session.execute(select(Organisation.name, Organisation.stage)).all())
    for demo in DEMO_ORGANISATIONS:
        name = demo.details.name
        stage = stage_label(stages[name]) if name in stages else "not created"
        click.echo(f"  {name:<32} {stage:<24} {demo.lead}")
    from app.demo.certificates import hub_summaries

    click.echo("Demo hubs with certificates, with the hub lead to log in as (same password):")
    for name, shows, lead in hub_summaries():
        click.echo(f"  {name:<32} {shows:<48} {lead}")
