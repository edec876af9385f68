"""Jobs: delivering the outbox, and other work that must not hold a request.

One code path, two backends (`JOBS_BACKEND`):

- `inline` (the default outside production; `make demo` and most tests): work raised by a
  commit runs in this process after the response has gone to the browser (at once outside a
  request), and an opportunistic sweep at most every `JOBS_SWEEP_SECONDS` retries what is
  due. No Redis needed.
- `rq` (production): after the commit the relay puts a job on RQ in Redis (`JOBS_REDIS_URL`);
  `flask jobs worker` processes run them, and `flask jobs scheduler` (or cron with
  `flask jobs run --burst`) enqueues the sweep every minute. If Redis is down the request
  still succeeds: the rows wait in the outbox and the next sweep hands them on.

The outbox rows, not Redis, are the record of what must be sent, so a lost job costs a delay,
never a message. A job is a registered task name and JSON-able arguments (`task`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context
from sqlalchemy import String, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.boundary import RESPONSE_PENDING
from app.core.db import UTCDateTime
from app.extensions import db

log = logging.getLogger(__name__)

# name -> function(*args); each task opens and ends its own transactions.
TASKS: dict[str, Callable] = {}
# Work the sweep also runs: name -> (function(), minimum seconds between runs).
PERIODIC: dict[str, tuple[Callable[[], object], int]] = {}
_PENDING = "jobs_pending"


class PeriodicRun(db.Model):
    """When each periodic task last ran, shared by every scheduler through the database."""

    __tablename__ = "periodic_run"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def task(name: str):
    """Register a function as a job named `name` (its arguments must be JSON-able)."""

    def register(fn: Callable) -> Callable:
        TASKS[name] = fn
        return fn

    return register


def periodic(name: str, every_seconds: int):
    """Register a function the sweep runs at most every `every_seconds` (e.g. reminders;
    it must be idempotent: two schedulers may both run it)."""

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        PERIODIC[name] = (fn, every_seconds)
        TASKS[f"periodic:{name}"] = fn
        return fn

    return register


def backend() -> str:
    return current_app.config.get("JOBS_BACKEND", "inline")


# --- raising work ----------------------------------------------------------------------------


def relay(message_ids: list[int]) -> None:
    """After a commit: hand the committed outbox rows to delivery."""
    enqueue("mail.deliver", list(message_ids))


def enqueue(
    name: str, *args, delay: timedelta | None = None, fallback_inline: bool = False
) -> None:
    """Run task `name` with `args` off the request: on RQ, or in this process once the
    response has gone. A failure to enqueue is logged, never raised: whatever the task
    was to do is still recorded (the outbox) and the sweep takes it up. A task that has no
    such record (`fallback_inline`) runs in this process instead, after the response."""
    if name not in TASKS:
        raise KeyError(f"no job named {name!r}")
    if backend() == "rq":
        try:
            _enqueue_rq(name, list(args), delay)
            return
        except Exception:
            if not fallback_inline:
                log.exception("could not enqueue %s; the sweep will take it up", name)
                return
            log.exception("could not enqueue %s; running it in this process", name)
    if delay is not None:
        return  # the inline sweep runs it when it is due
    if (
        has_request_context()
        and g.get(RESPONSE_PENDING)
        and not current_app.config.get("JOBS_INLINE_AT_COMMIT")
    ):
        g.setdefault(_PENDING, []).append((name, list(args)))
        return
    # Called from a commit's hook: that session cannot run SQL any more, so the task gets
    # an app context (and a session) of its own.
    with current_app.app_context():
        run_task(name, list(args))


def run_after_response(response):
    """`after_request` hook (inline backend): run the request's jobs once the response has
    been sent, and sweep if it is time."""
    pending = g.pop(_PENDING, [])
    sweep_due = _inline_sweep_due()
    if not pending and not sweep_due:
        return response
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            for name, args in pending:
                run_task(name, args)
            if sweep_due:
                sweep()

    response.call_on_close(work)
    return response


def _inline_sweep_due() -> bool:
    every = current_app.config.get("JOBS_SWEEP_SECONDS", 60)
    if backend() != "inline" or not every:
        return False
    state = current_app.extensions.setdefault("jobs_inline", {"last_sweep": 0.0})
    if time.monotonic() - state["last_sweep"] < every:
        return False
    state["last_sweep"] = time.monotonic()
    return True


def job_context():
    """The context every job runs in: a request to PUBLIC_BASE_URL, so that emailed links
    (`url_for(..., _external=True)`) point at the portal as people reach it."""
    return current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"])


def run_task(name: str, args: list) -> None:
    """Run one task here; its failure is logged (the work it records waits for the sweep)."""
    try:
        with job_context():
            TASKS[name](*args)
    except Exception:
        log.exception("job %s failed", name)
        db.session.rollback()


# --- the sweep -------------------------------------------------------------------------------


def sweep(force_periodic: bool = False) -> dict:
    """Hand on everything due: outbox rows a lost job or a back-off left waiting, and the
    periodic work whose time has come (all of it with `force_periodic`: each periodic job
    decides itself what is due, the interval only spares the database). Safe to run from
    several places at once."""
    from app.core import outbox

    ids = outbox.due_ids(db.session())
    db.session.commit()
    for start in range(0, len(ids), 50):
        enqueue("mail.deliver", ids[start : start + 50])
    ran = []
    for name, (_fn, every) in PERIODIC.items():
        if _claim_periodic(name, 0 if force_periodic else every):
            enqueue(f"periodic:{name}")
            ran.append(name)
    return {"messages": len(ids), "periodic": ran}


def _claim_periodic(name: str, every: int) -> bool:
    """Whether `name` is due, taking it for this run (one row per task: the schedulers of
    several servers agree through the database)."""
    now = clock.now()
    session = db.session()
    if session.scalar(select(PeriodicRun.name).where(PeriodicRun.name == name)) is None:
        session.add(PeriodicRun(name=name, last_run_at=None))
        try:
            session.commit()
        except IntegrityError:  # another scheduler inserted it first
            session.rollback()
    taken = session.execute(
        update(PeriodicRun)
        .where(
            PeriodicRun.name == name,
            or_(
                PeriodicRun.last_run_at.is_(None),
                PeriodicRun.last_run_at <= now - timedelta(seconds=every),
            ),
        )
        .values(last_run_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(taken)


# --- RQ --------------------------------------------------------------------------------------


def redis_connection():
    """The app's client for the job queue (one connection pool per app and URL)."""
    from redis import Redis

    url = current_app.config["JOBS_REDIS_URL"]
    clients = current_app.extensions.setdefault("jobs_redis", {})
    if url not in clients:
        clients[url] = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    return clients[url]


def rq_queue(connection=None):
    from rq import Queue

    return Queue(current_app.config["JOBS_QUEUE"], connection=connection or redis_connection())


def _enqueue_rq(name: str, args: list, delay: timedelta | None) -> None:
    queue = rq_queue()
    options = {"result_ttl": 600, "failure_ttl": 7 * 86400, "job_timeout": 600}
    if delay is None:
        queue.enqueue("app.core.jobs.perform", name, args, **options)
    else:
        queue.enqueue_in(delay, "app.core.jobs.perform", name, args, **options)


def perform(name: str, args: list) -> None:
    """The entry point of every RQ job (the worker holds the app context)."""
    try:
        with job_context():
            TASKS[name](*args)
    finally:
        db.session.remove()


def queue_status() -> dict:
    """What /healthz and the delivery page tell about delivery: the outbox's waiting rows,
    and on RQ the queue's depth ("degraded" when Redis does not answer)."""
    from app.core import outbox

    try:
        status = {"backend": backend(), **outbox.waiting_summary(db.session())}
    except Exception as exc:  # e.g. a database not yet migrated: say so, do not fail
        log.warning("health check: the outbox could not be read: %s", exc)
        db.session.rollback()
        return {
            "backend": backend(),
            "status": "degraded",
            "reason": "the outbox could not be read (are the migrations applied?)",
        }
    if backend() != "rq":
        status["status"] = "ok"
        return status
    try:
        queue = rq_queue()
        status["queued_jobs"] = queue.count
        status["scheduled_jobs"] = queue.scheduled_job_registry.count
        status["status"] = "ok"
    except Exception as exc:
        log.warning("health check: the job queue did not answer: %s", exc)
        status["status"] = "degraded"
        status["reason"] = "the job queue (Redis) did not answer; messages wait in the outbox"
    return status


def work(burst: bool = False) -> None:
    """Run an RQ worker in this process (jobs run in it, one after another, in the app
    context; no fork per job, so a worker delivers hundreds of messages a second)."""
    from rq import SimpleWorker

    class BurstWorker(SimpleWorker):
        def subscribe(self):
            """A burst worker takes no commands over pub/sub: it exits when the queue is
            empty. Subscribing would cost up to a minute at exit, when redis-py's pub/sub
            thread, already unsubscribed, waits 60 s (RQ's sleep_time) before it can be
            joined."""

    connection = redis_connection()
    worker_class = BurstWorker if burst else SimpleWorker
    worker = worker_class([rq_queue(connection)], connection=connection)
    worker.work(burst=burst, with_scheduler=not burst, logging_level="WARNING")


def run_due(force_periodic: bool = False) -> dict:
    """Everything due now, then return: the sweep, and on RQ a burst worker for the jobs
    it (and anything else) queued."""
    result = sweep(force_periodic)
    if backend() == "rq":
        work(burst=True)
    return result


def schedule_forever(every_seconds: int) -> None:
    """The scheduler process: sweep every `every_seconds` (several may run; the sweep is
    idempotent and periodic work is claimed in the database)."""
    while True:
        started = time.monotonic()
        try:
            sweep()
        except Exception:
            log.exception("sweep failed")
            db.session.rollback()
        finally:
            db.session.remove()
        time.sleep(max(1.0, every_seconds - (time.monotonic() - started)))
