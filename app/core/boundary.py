"""The request boundary: one commit per request, and work that waits for it.

As Indico's `RH.process` does, views never commit or roll back. `PortalFlask` runs each view
inside `run_view`: a view that returns normally is committed once if it wrote anything; any
exception rolls the request back. A view that shows a service's refusal calls `refuse()` (through
`core.forms.attach_error` or `refused`), which rolls back at once, so the page it re-renders
reads what is really stored, and the request is not committed afterwards.

Work that must only happen once the change is durable (sending mail, bumping cache
generations) is registered with `after_commit(fn)` on the session: it runs after a
successful commit and is dropped by a rollback. `after_rollback(fn)` is its mirror (removing
a file stored for a row that will never exist). A SAVEPOINT's release or rollback runs
neither: only the outermost transaction decides. The CLI and tests
call the same services and commit themselves; the hooks behave the same there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, flash, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.errors import ServiceError

_AFTER_COMMIT = "after_commit_callbacks"
_AFTER_ROLLBACK = "after_rollback_callbacks"
_WROTE = "transaction_wrote"
# Set on `g` while a view runs: a response will follow, so work that waits for the commit
# and need not hold the browser (inline jobs) can wait until the response has been sent.
RESPONSE_PENDING = "response_pending"


def after_commit(fn: Callable[[], None], session: Session | None = None) -> None:
    """Run `fn()` after the current transaction commits; forget it if it rolls back."""
    _hooks(session, _AFTER_COMMIT).append(fn)


def after_rollback(fn: Callable[[], None], session: Session | None = None) -> None:
    """Run `fn()` if the current transaction rolls back (e.g. remove a file stored for a row
    that will never exist); forget it if it commits."""
    _hooks(session, _AFTER_ROLLBACK).append(fn)


def _hooks(session: Session | None, key: str) -> list:
    if session is None:
        from app.extensions import db

        session = db.session()
    return session.info.setdefault(key, [])


def _run(session: Session, key: str) -> None:
    # The transaction has ended either way: a failing hook (a mail server that is down,
    # say) is logged, and neither undoes the outcome nor stops the hooks after it.
    for fn in session.info.pop(key, []):
        try:
            fn()
        except Exception:
            logging.getLogger(__name__).exception("after-transaction work failed: %r", fn)


@event.listens_for(Session, "after_flush")
def _note_flush(session, _flush_context) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _wrote(session) -> bool:
    """Whether the open transaction changed anything (or has work waiting for its commit)."""
    return bool(
        session.info.get(_WROTE)
        or session.info.get(_AFTER_COMMIT)
        or session.new
        or session.dirty
        or session.deleted
    )


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: nothing is durable yet
        return
    session.info.pop(_WROTE, None)
    session.info.pop(_AFTER_ROLLBACK, None)
    _run(session, _AFTER_COMMIT)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT undone: the outer transaction goes on
        return
    session.info.pop(_WROTE, None)
    session.info.pop(_AFTER_COMMIT, None)
    _run(session, _AFTER_ROLLBACK)


def refuse() -> None:
    """Discard everything this request changed: roll back now and commit nothing later."""
    from app.extensions import db

    db.session.rollback()
    if has_request_context():
        g.request_refused = True


def refused(error: ServiceError, category: str = "danger") -> None:
    """Discard the request's changes and flash the service's refusal to the user."""
    refuse()
    flash(error.message, category)


def run_view(view: Callable[[], object]) -> object:
    """Call `view`; commit once if it returned normally and refused nothing, else roll back."""
    from app.extensions import db

    g.setdefault(RESPONSE_PENDING, True)
    try:
        result = view()
    except BaseException:
        db.session.rollback()
        raise
    if not db.session.registry.has():  # the view never touched the database
        return result
    session = db.session()
    if g.get("request_refused"):
        session.rollback()
    elif _wrote(session):
        session.commit()
    # A read-only transaction is left open for the response (a streamed CSV still reads
    # through it) and closed by the session's teardown.
    return result


class PortalFlask(Flask):
    """Flask with the request boundary around every view, and full URLs that name the
    portal by its configured address."""

    def dispatch_request(self):
        return run_view(super().dispatch_request)

    def url_for(self, endpoint, *, _external=None, _scheme=None, **values):
        """A full URL (`_external=True`: emails, QR codes, the sitemap) starts with
        PUBLIC_BASE_URL, never with the Host header of the request that caused it: a
        "forgot password" posted with `Host: attacker.example` must not email a reset link
        to the attacker's site (host-header poisoning). Paths stay as Flask builds them."""
        base = self.config.get("PUBLIC_BASE_URL")
        if not (_external and _scheme is None and base and has_request_context()):
            return super().url_for(endpoint, _external=_external, _scheme=_scheme, **values)
        from flask import request

        path = super().url_for(endpoint, _external=False, **values)
        root = request.script_root
        if root and path.startswith(root):  # the base names the mount point itself
            path = path[len(root) :]
        return base.rstrip("/") + path
