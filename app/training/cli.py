"""`flask content validate` and `flask content sync`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.training import services

content_cli = AppGroup("content", help="Curriculum and programme content in modules/.")


@content_cli.command("validate")
def validate_command():
    """Check every module, lesson and knowledge check (invalid content never gets this far:
    the app refuses to start and lists each problem)."""
    curriculum = services.curriculum()
    lessons = sum(len(m.lessons) for m in curriculum.modules)
    questions = sum(len(m.check.questions) for m in curriculum.modules)
    click.echo(
        f"Content in {current_app.config['CONTENT_DIR']} is valid: "
        f"{len(curriculum.modules)} modules, {lessons} lessons, {questions} questions, "
        f"{len(current_app.extensions['public'])} public pages."
    )
    templates = current_app.extensions["certificate_templates"]
    click.echo(
        "Certificate templates are valid: "
        + ", ".join(f"{t.name} ({t.kind}, version {t.version})" for t in templates.values())
        + "."
    )


@content_cli.command("sync")
def sync_command():
    """Record modules and their versions in the database."""
    changes = services.sync_content(services.curriculum())
    db.session.commit()
    if changes:
        for change in changes:
            click.echo(f"  {change}")
    click.echo(f"Content synced: {len(services.curriculum().modules)} modules.")
