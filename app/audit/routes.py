"""Audit log pages: a paginated list of events in plain words and the integrity check."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from app.core import audit
from app.core.forms import ConfirmForm
from app.core.pagination import clamp_page
from app.core.policy import access, roles
from app.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")
AUDIT_READERS = roles("auditor", "admin")


@bp.route("/events")
@access(AUDIT_READERS)
def list_events():
    page = clamp_page(request.args.get("page", 1, type=int))
    stmt = select(audit.AuditEvent).order_by(audit.AuditEvent.seq.desc())
    pagination = db.paginate(stmt, page=page, per_page=50, error_out=False)
    return render_template(
        "audit/events.html",
        pagination=pagination,
        verify_form=ConfirmForm(),
        result=None,
    )


@bp.route("/verify", methods=["POST"])
@access(AUDIT_READERS)
def verify():
    form = ConfirmForm()
    result = audit.verify_chain() if form.validate_on_submit() else None
    stmt = select(audit.AuditEvent).order_by(audit.AuditEvent.seq.desc())
    pagination = db.paginate(stmt, page=1, per_page=50, error_out=False)
    return render_template(
        "audit/events.html",
        pagination=pagination,
        verify_form=form,
        result=result,
    )
