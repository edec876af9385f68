"""Home page and health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from app.core.policy import PUBLIC, access
from app.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/")
@access(PUBLIC)
def home():
    organisations = []
    queue_size = 0
    evaluations = []
    if not current_user.is_authenticated:
        from app.public import services as public_services

        return render_template(
            "public/about.html",
            sections=current_app.extensions["public"],
            impact=public_services.impact(),
            full=False,
        )
    if current_user.is_authenticated:
        from app.immersion.services import pending_evaluations

        evaluations = pending_evaluations(current_user)
        from app.organisations import services as organisation_services

        organisations = organisation_services.organisations_of(current_user)
        if current_user.has_role("trainer"):
            queue_size = organisation_services.stage_counts()["submitted"]
    return render_template(
        "core/home.html",
        user=current_user,
        organisations=organisations,
        queue_size=queue_size,
        evaluations=evaluations,
    )


@bp.route("/hello")
@access(PUBLIC)
def hello():
    """The benchmarks' yardstick: the cheapest page this app and server can serve."""
    return current_app.response_class("hello", mimetype="text/plain")


@bp.route("/healthz")
@access(PUBLIC)
def healthz():
    """200 after a real database round trip; 503 with a reason (never internals) otherwise."""
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    except Exception:  # any driver error means the same thing to a load balancer
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify(
            {"status": "error", "database": "unreachable", "reason": "the database did not answer"}
        ), 503
    return jsonify({"status": "ok", "database": "ok"})
