"""`flask users create`: make an account from the command line (e.g. the first admin)."""

from __future__ import annotations

import secrets
import sys

import click
from flask.cli import AppGroup

from app.auth import services
from app.core.errors import ServiceError
from app.core.roles import ROLES
from app.extensions import db

users_cli = AppGroup("users", help="User account commands.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--job-title", default="")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(sorted(ROLES)),
    help="Site role; repeat for several. Default: applicant.",
)
@click.option(
    "--generate-password",
    is_flag=True,
    help="Generate a strong password and print it instead of prompting.",
)
def create_command(email, name, job_title, roles, generate_password):
    """Create a user account with the given roles."""
    if generate_password:
        password = secrets.token_urlsafe(18)
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(
            email=email,
            name=name,
            password=password,
            job_title=job_title,
            roles=set(roles) or None,
        )
    except ServiceError as error:
        db.session.rollback()
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Created {user.email} with roles: {', '.join(sorted(user.roles))}.")
    if generate_password:
        click.echo(f"Password: {password}")
