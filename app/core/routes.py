"""The benchmarks' yardstick (when configured) and the health check (the home page is in
`public`)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.core import jobs
from app.core.boundary import refuse
from app.core.policy import PUBLIC, access
from app.extensions import db

bp = Blueprint("core", __name__)


@access(PUBLIC)
def hello():
    """The benchmarks' yardstick: the cheapest page this app and server can serve. Routed
    only when HELLO_ROUTE is on (bench/ turns it on), never on a production portal."""
    return current_app.response_class("hello", mimetype="text/plain")


@bp.record_once
def _route_hello(state) -> None:
    if state.app.config.get("HELLO_ROUTE"):
        state.app.add_url_rule("/hello", "core.hello", hello)


@bp.route("/healthz")
@access(PUBLIC)
def healthz():
    """200 after a real database round trip, with the delivery queue's state ("degraded",
    still 200, when Redis does not answer: messages wait in the outbox); 503 with a reason
    (never internals) when the database does not answer."""
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    except Exception:  # any driver error means the same thing to a load balancer
        current_app.logger.exception("health check: database unreachable")
        refuse()
        return jsonify(
            {"status": "error", "database": "unreachable", "reason": "the database did not answer"}
        ), 503
    queue = jobs.queue_status()
    status = "ok" if queue["status"] == "ok" else "degraded"
    return jsonify({"status": status, "database": "ok", "queue": queue})
