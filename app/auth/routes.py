"""Account pages: register, log in and out, reset and change password, profile."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from app.auth import services
from app.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.core.errors import ServiceError
from app.core.forms import attach_error
from app.core.policy import AUTHENTICATED, PUBLIC, access
from app.core.security import is_safe_next, mark_session_start, safe_next
from app.extensions import db, limiter

bp = Blueprint("auth", __name__, url_prefix="/account")


def _account_key() -> str:
    return "account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _limit(name: str):
    return lambda: current_app.config[name]


def _failed(response) -> bool:
    # Successful logins redirect; only failures count towards the throttle.
    return response.status_code != 302


def _start_session(user) -> None:
    session.clear()  # no pre-login session data survives (session fixation)
    login_user(user, remember=False)
    mark_session_start()


@bp.route("/register", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("REGISTER_LIMIT_PER_IP"), methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                job_title=form.job_title.data or "",
            )
        except ServiceError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            _start_session(user)
            flash(f"Welcome, {user.name}. Your account is ready.", "success")
            return redirect(url_for("core.home"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=_failed)
@limiter.limit(
    _limit("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
def login():
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(safe_next(next_url))
    if next_url and not is_safe_next(next_url):
        next_url = None  # an off-site `next` is dropped, never followed
    form = LoginForm()
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data)
        db.session.commit()  # the audit event is kept whether or not the login succeeded
        if result.user is not None:
            _start_session(result.user)
            flash(f"Signed in as {result.user.name}.", "success")
            return redirect(safe_next(next_url))
        form.form_errors.append(result.error)
    return render_template("auth/login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
@access(AUTHENTICATED)
def logout():
    services.logout(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out on every device.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("RESET_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(_limit("RESET_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        hours = current_app.config["PASSWORD_RESET_HOURS"]
        flash(
            f"If an account exists for {services.normalise_email(form.email.data)}, we have "
            f"sent it a link to reset the password. The link works once and expires in "
            f"{hours} hours.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("RESET_LIMIT_PER_IP"), methods=["POST"])
def reset_password(token: str):
    try:
        user = services.check_reset_token(token)
    except ServiceError as error:
        return render_template("auth/reset_invalid.html", message=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Your password has been changed. Log in with your new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.route("/profile", methods=["GET", "POST"])
@access(AUTHENTICATED)
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_profile(user, name=form.name.data, job_title=form.job_title.data or "")
        except ServiceError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash("Your profile has been saved.", "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@access(AUTHENTICATED)
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                user, current_password=form.current_password.data, new_password=form.password.data
            )
        except ServiceError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            # Every other session has ended; keep this one alive under the new version.
            _start_session(user)
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form)
