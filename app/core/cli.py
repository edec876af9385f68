"""`flask jobs ...`: the worker, the scheduler, and a one-shot run of everything due."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from app.core import jobs

jobs_cli = AppGroup("jobs", help="Deliver the outbox and run queued and periodic jobs.")


@jobs_cli.command("worker")
def worker_command():
    """Run jobs from the queue until stopped (JOBS_BACKEND=rq; start one or more)."""
    if jobs.backend() != "rq":
        raise click.ClickException(
            "JOBS_BACKEND is not rq: jobs run inside the portal's own process; "
            "use `flask jobs run --burst` to deliver what is due now"
        )
    click.echo(f"Worker on queue {current_app.config['JOBS_QUEUE']!r}; Ctrl+C to stop")
    jobs.work(burst=False)


@jobs_cli.command("run")
@click.option("--burst", is_flag=True, required=True, help="Run what is due now, then exit.")
@click.option(
    "--periodic-now",
    is_flag=True,
    help="Run every periodic job (reminders, digests) now, whatever its interval.",
)
def run_command(burst, periodic_now):
    """Deliver every message that is due and run every periodic job whose time has come,
    then exit (for tests and cron)."""
    result = jobs.run_due(force_periodic=periodic_now)
    click.echo(
        f"Due messages handed on: {result['messages']}; "
        f"periodic jobs run: {', '.join(result['periodic']) or 'none'}"
    )


@jobs_cli.command("scheduler")
@click.option("--every", default=60, show_default=True, help="Seconds between sweeps.")
def scheduler_command(every):
    """Sweep every minute: re-enqueue due messages (a lost job, a back-off) and the periodic
    jobs (reminders, digests). Several may run; the sweep is idempotent."""
    click.echo(f"Sweeping every {every} s; Ctrl+C to stop")
    jobs.schedule_forever(every)


@jobs_cli.command("status")
def status_command():
    """The outbox and queue as /healthz reports them."""
    click.echo(json.dumps(jobs.queue_status(), indent=2))
