"""The notification list, marking read, email preferences, and unsubscribe links."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ServiceError
from app.core.forms import attach_error
from app.core.policy import access
from app.extensions import csrf
from app.notifications import services
from app.notifications.forms import (
    MarkAllReadForm,
    MarkReadForm,
    UnsubscribeForm,
    preferences_form,
)
from app.notifications.kinds import GROUPS
from app.notifications.policies import OWN_NOTIFICATIONS, UNSUBSCRIBE_LINK

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("")
@access(OWN_NOTIFICATIONS)
def list_notifications():
    pagination = services.recent(current_user, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "notifications/list.html",
        pagination=pagination,
        mark_form=MarkReadForm(),
        mark_all_form=MarkAllReadForm(),
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@access(OWN_NOTIFICATIONS)
def mark_read(notification_id: int):
    if MarkReadForm().validate_on_submit():
        services.mark_read(current_user, notification_id)
    return redirect(url_for("notifications.list_notifications"))


@bp.route("/read", methods=["POST"])
@access(OWN_NOTIFICATIONS)
def mark_all_read():
    if MarkAllReadForm().validate_on_submit():
        count = services.mark_read(current_user)
        flash(f"{count} notification{'' if count == 1 else 's'} marked as read.", "success")
    return redirect(url_for("notifications.list_notifications"))


@bp.route("/preferences", methods=["GET", "POST"])
@access(OWN_NOTIFICATIONS)
def preferences():
    current = services.preferences([current_user.id])[current_user.id]
    form = preferences_form(current, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.set_preferences(current_user, {g.key: form[g.key].data for g in GROUPS})
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Your email choices are saved.", "success")
            return redirect(url_for("notifications.preferences"))
    status = 400 if request.method == "POST" else 200
    return render_template("notifications/preferences.html", form=form, groups=GROUPS), status


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; a mail client's one-click POST has no form
@access(UNSUBSCRIBE_LINK)
def unsubscribe(token: str):
    form = UnsubscribeForm()
    try:
        user, group = services.unsubscribe_target(token)
    except ServiceError as error:
        return render_template("notifications/unsubscribe.html", error=error.message), 404
    if request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click":
        # RFC 8058: the mail client posts this on the person's behalf; nothing to confirm.
        services.unsubscribe(user, group)
        return render_template("notifications/unsubscribe.html", done=True, group=group)
    if form.validate_on_submit():
        services.unsubscribe(user, group)
        return render_template("notifications/unsubscribe.html", done=True, group=group)
    return render_template("notifications/unsubscribe.html", form=form, group=group, user=user)
