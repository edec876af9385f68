"""The auditor console: the certificate register and its exports, approval dossiers, the
audit log with filters and its integrity check. Every route here reads; exports and
downloads are recorded in the audit log."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from app.certificates import services as certificates
from app.certificates.policies import CERT_AUDIT_READER
from app.core import audit, clock
from app.core.csv import csv_response
from app.core.filters import format_datetime
from app.core.pagination import clamp_page
from app.core.policy import access, roles
from app.core.roles import STAFF
from app.exports import services as exports

from . import dossier as dossiers
from . import services
from .forms import EventFilterForm, RegisterFilterForm
from .policies import AUDIT_CONSOLE

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _record(action: str, **details) -> None:
    """An export or download, recorded (the request boundary commits it; reading stays reading)."""
    audit.record(action, details={k: v for k, v in details.items() if v not in (None, "")})


def _stamp() -> str:
    return clock.now().strftime("%Y%m%d-%H%M")


# --- the certificate register -------------------------------------------------------------


def _register_filters() -> tuple[RegisterFilterForm, services.RegisterFilters]:
    form = RegisterFilterForm(request.args)
    form.validate()

    def ok(field):
        return field.data if not field.errors else None

    filters = services.RegisterFilters(
        q=(ok(form.q) or "").strip(),
        status=ok(form.status) or "",
        kind=ok(form.kind) or "",
        nation=ok(form.nation) or "",
        start=ok(form.start) if not form.to.errors else None,
        to=ok(form.to),
        sort=ok(form.sort) or "issued",
    )
    return form, filters


def _filter_summary(filters) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in vars(filters).items()}


@bp.route("/certificates")
@access(AUDIT_CONSOLE)
def register():
    form, filters = _register_filters()
    page = clamp_page(request.args.get("page", 1, type=int))
    pagination = services.register_page(filters, page)
    return render_template(
        "audit/register.html",
        form=form,
        pagination=pagination,
        today=clock.today(),
        status_label=certificates.status_label,
        export_args={k: v for k, v in request.args.items() if k != "page"},
    )


def _prepare(kind: str, filters, filename: str):
    """A large export: prepared by a job, downloaded from My exports when it is ready."""
    exports.request_export(current_user, kind, params=_filter_summary(filters), filename=filename)
    flash(
        "This export is large, so it is being prepared in the background. You will be told "
        "when it is ready to download here.",
        "info",
    )
    return redirect(url_for("exports.list_exports"))


@bp.route("/certificates.csv")
@access(AUDIT_CONSOLE)
def register_csv():
    _form, filters = _register_filters()
    _record("audit.register_exported", format="csv", filters=_filter_summary(filters))
    filename = f"certificates-{_stamp()}.csv"
    if services.count_register(filters) > current_app.config["EXPORT_ASYNC_ROWS"]:
        return _prepare("audit.register_csv", filters, filename)
    return csv_response(services.register_rows(filters), filename)


@bp.route("/certificates.zip")
@access(AUDIT_CONSOLE)
def register_zip():
    _form, filters = _register_filters()
    if services.count_register(filters) > current_app.config["EXPORT_ASYNC_CERTIFICATES"]:
        _record("audit.register_exported", format="zip", filters=_filter_summary(filters))
        return _prepare("audit.register_zip", filters, f"certificates-{_stamp()}.zip")
    entries = services.zip_entries(filters)
    _record(
        "audit.register_exported",
        format="zip",
        certificates=len(entries),
        filters=_filter_summary(filters),
    )
    response = Response(
        stream_with_context(services.stream_zip(entries)), mimetype="application/zip"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="certificates-{_stamp()}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- dossiers -----------------------------------------------------------------------------


@bp.route("/certificates/<int:cert_id>")
@access(CERT_AUDIT_READER)
def show_dossier(cert_id: int):
    return render_template(
        "audit/dossier.html",
        d=dossiers.build(g.certificate),
        status_label=certificates.status_label,
    )


@bp.route("/certificates/<int:cert_id>/dossier.pdf")
@access(CERT_AUDIT_READER)
def dossier_pdf(cert_id: int):
    cert = g.certificate
    dossier = dossiers.build(cert)
    _record("audit.dossier_downloaded", serial=cert.serial)
    if services.dossier_is_large(len(dossier.events) + len(dossier.history)):
        exports.request_export(
            current_user,
            "audit.dossier_pdf",
            params={"cert_id": cert.id},
            filename=f"dossier-{cert.serial}.pdf",
        )
        flash(
            "This dossier is long, so its PDF is being prepared in the background. You will "
            "be told when it is ready to download here.",
            "info",
        )
        return redirect(url_for("exports.list_exports"))
    pdf = dossiers.render_pdf(dossier)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="dossier-{cert.serial}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the audit log ------------------------------------------------------------------------


def _event_filters() -> tuple[EventFilterForm, services.EventFilters]:
    form = EventFilterForm(request.args)
    form.validate()

    def ok(field):
        return field.data if not field.errors else None

    return form, services.EventFilters(
        organisation=(ok(form.organisation) or "").strip(),
        actor=(ok(form.actor) or "").strip(),
        action=ok(form.action) or "",
        start=ok(form.start) if not form.to.errors else None,
        to=ok(form.to),
    )


def subject_link(event) -> tuple[str, str] | None:
    """(label, URL) of the page about an event's subject, where there is one."""
    kind, key, org_id = event.subject_type, event.subject_id, event.organisation_id
    if not kind or key is None or not str(key).isdigit():
        return None
    ident = int(key)
    if kind == "certificate":
        serial = (event.details or {}).get("serial") or f"certificate {ident}"
        return serial, url_for("audit.show_dossier", cert_id=ident)
    if kind == "organisation":
        return "organisation", url_for("organisations.show_organisation", org_id=ident)
    if kind == "assessment":
        return "assessment", url_for("assessment.show_assessment", assessment_id=ident)
    if kind == "user" and current_user.has_role("admin"):
        return f"user {ident}", url_for("admin.show_user", user_id=ident)
    if kind in ("agreement", "checklist_answer", "checklist_comment") and org_id:
        return kind.replace("_", " "), url_for("readiness.show_readiness", org_id=org_id)
    if kind in ("booking", "immersion_cohort", "immersion_session") and org_id:
        return kind.replace("_", " "), url_for("immersion.team_immersion", org_id=org_id)
    return None


def _render_events(result=None):
    form, filters = _event_filters()
    page = clamp_page(request.args.get("page", 1, type=int))
    pagination = services.events_page(filters, page)
    return render_template(
        "audit/events.html",
        form=form,
        pagination=pagination,
        names=services.organisation_names(e.organisation_id for e in pagination.items),
        result=result,
        export_args={k: v for k, v in request.args.items() if k != "page"},
        subject_link=subject_link,
    )


@bp.route("/events")
@access(AUDIT_CONSOLE)
def list_events():
    return _render_events()


@bp.route("/events.csv")
@access(AUDIT_CONSOLE)
def events_csv():
    _form, filters = _event_filters()
    _record("audit.log_exported", filters=_filter_summary(filters))
    filename = f"audit-log-{_stamp()}.csv"
    if services.count_events(filters) > current_app.config["EXPORT_ASYNC_ROWS"]:
        return _prepare("audit.log_csv", filters, filename)
    return csv_response(services.event_rows(filters), filename)


@bp.route("/verify")
@access(AUDIT_CONSOLE)
def verify():
    """The integrity check (a read: GET), shown on the audit log page."""
    return _render_events(audit.verify_chain())


# --- reports ------------------------------------------------------------------------------


@bp.route("/reports")
@access(roles(STAFF))
def programme_reports():
    from app.core.db import utcnow

    from . import reports

    return render_template(
        "audit/reports.html", reports=reports.build(), now_local=format_datetime(utcnow())
    )
