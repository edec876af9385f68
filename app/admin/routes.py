"""Admin pages: list, search and filter users; change roles; deactivate and reactivate;
see what the outbox delivered, and resend; publish agreement templates."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import services
from app.admin.forms import (
    AgreementTemplateForm,
    DeactivateForm,
    MessageFilterForm,
    ReactivateForm,
    ResendForm,
    ResetMfaForm,
    RolesForm,
    UserFilterForm,
)
from app.admin.policies import ACCOUNT_ADMIN, ADMIN_ONLY, MESSAGE_ADMIN, TEMPLATE_ADMIN
from app.auth import services as auth_services
from app.auth.models import User
from app.core import audit, jobs
from app.core.boundary import refuse, refused
from app.core.errors import ServiceError
from app.core.forms import attach_error
from app.core.policy import access
from app.core.roles import STAFF
from app.core.storage import send_stored_row
from app.readiness.facts import current_templates, template_history
from app.readiness.models import AGREEMENT_KINDS

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@access(ADMIN_ONLY)
def list_users():
    form = UserFilterForm(request.args)
    form.validate()
    page = request.args.get("page", 1, type=int) or 1
    pagination = auth_services.search_users(
        q=form.q.data or "" if not form.q.errors else "",
        role=form.role.data or "",
        status=form.status.data or "",
        sort=form.sort.data or "name",
        page=page,
    )
    return render_template("admin/users.html", form=form, pagination=pagination)


def _render_user(user: User, **forms):
    roles_form = forms.get("roles_form") or RolesForm(roles=sorted(user.roles))
    deactivate_form = forms.get("deactivate_form") or DeactivateForm()
    events = audit.events_for_subject("user", user.id, limit=20)
    return render_template(
        "admin/user.html",
        user=user,
        roles_form=roles_form,
        deactivate_form=deactivate_form,
        reactivate_form=ReactivateForm(),
        reset_mfa_form=forms.get("reset_mfa_form") or ResetMfaForm(),
        teams=services.team_memberships(user),
        staff_roles=STAFF,
        events=events,
    )


@bp.route("/users/<int:user_id>")
@access(ACCOUNT_ADMIN)
def show_user(user_id: int):
    return _render_user(g.account)


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@access(ACCOUNT_ADMIN)
def update_roles(user_id: int):
    user = g.account
    form = RolesForm()
    if form.validate_on_submit():
        try:
            services.change_roles(
                user,
                set(form.roles.data or []),
                by=current_user,
                confirm_conflict=bool(form.confirm_conflict.data),
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"Roles for {user.name} saved.", "success")
            return redirect(url_for("admin.show_user", user_id=user.id))
    return _render_user(user, roles_form=form), 400


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@access(ACCOUNT_ADMIN)
def deactivate_user(user_id: int):
    user = g.account
    form = DeactivateForm()
    if form.validate_on_submit():
        try:
            auth_services.deactivate(user, by=current_user, reason=form.reason.data)
        except ServiceError as error:
            refuse()
            if user.is_active_account:
                attach_error(form, error)
            else:  # the page shows no deactivate form (so no form errors) for this account
                flash(error.message, "danger")
        else:
            flash(f"{user.name}'s account is deactivated and all their sessions ended.", "success")
            return redirect(url_for("admin.show_user", user_id=user.id))
    return _render_user(user, deactivate_form=form), 400


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@access(ACCOUNT_ADMIN)
def reactivate_user(user_id: int):
    user = g.account
    form = ReactivateForm()
    if form.validate_on_submit():
        try:
            auth_services.reactivate(user, by=current_user)
        except ServiceError as error:
            refused(error)
        else:
            flash(f"{user.name}'s account is active again.", "success")
    return redirect(url_for("admin.show_user", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-two-step", methods=["POST"])
@access(ACCOUNT_ADMIN)
def reset_mfa(user_id: int):
    user = g.account
    form = ResetMfaForm()
    if form.validate_on_submit():
        try:
            auth_services.reset_mfa(user, by=current_user, reason=form.reason.data)
        except ServiceError as error:
            refuse()
            if error.field:
                attach_error(form, error)
            else:
                flash(error.message, "danger")
                return redirect(url_for("admin.show_user", user_id=user.id))
        else:
            flash(
                f"Two-step verification for {user.name} is reset and their sessions ended. "
                "They will set it up again at their next sign-in.",
                "success",
            )
            return redirect(url_for("admin.show_user", user_id=user.id))
    return _render_user(user, reset_mfa_form=form), 400


@bp.route("/messages")
@access(ADMIN_ONLY)
def list_messages():
    form = MessageFilterForm(request.args)
    form.validate()
    pagination = services.search_messages(
        q=form.q.data or "" if not form.q.errors else "",
        status=form.status.data or "",
        page=request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "admin/messages.html", form=form, pagination=pagination, queue=jobs.queue_status()
    )


@bp.route("/messages/<int:message_id>")
@access(MESSAGE_ADMIN)
def show_message(message_id: int):
    events = audit.events_for_subject("outbox_message", message_id, limit=20)
    return render_template(
        "admin/message.html",
        message=g.message,
        account=services.message_account(g.message),
        form=ResendForm(),
        events=events,
    )


@bp.route("/messages/<int:message_id>/resend", methods=["POST"])
@access(MESSAGE_ADMIN)
def resend_message(message_id: int):
    message = g.message
    if ResendForm().validate_on_submit():
        try:
            services.resend_message(message, by=current_user)
        except ServiceError as error:
            refused(error)
        else:
            flash(f"The message to {message.recipient} will be sent again now.", "success")
    return redirect(url_for("admin.show_message", message_id=message.id))


def _render_templates(form=None, status=200):
    return render_template(
        "admin/agreement_templates.html",
        form=form or AgreementTemplateForm(),
        current=current_templates(),
        history=template_history(),
        kinds=AGREEMENT_KINDS,
    ), status


@bp.route("/agreement-templates")
@access(ADMIN_ONLY)
def list_agreement_templates():
    return _render_templates()


@bp.route("/agreement-templates", methods=["POST"])
@access(ADMIN_ONLY)
def publish_agreement_template():
    form = AgreementTemplateForm()
    if form.validate_on_submit():
        try:
            template = services.publish_template(
                form.kind.data,
                by=current_user,
                upload=form.file.data,
                version_label=form.version_label.data,
                issued_on=form.issued_on.data,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"{template.kind_label}, {template.label}, is published.", "success")
            return redirect(url_for("admin.list_agreement_templates"))
    return _render_templates(form, 400)


@bp.route("/agreement-templates/<int:template_id>/file")
@access(TEMPLATE_ADMIN)
def download_agreement_template(template_id: int):
    template = g.agreement_template
    return send_stored_row(template)
