"""Account pages: register and confirm the email address, log in and out, reset and change
password, profile."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from app.auth import mfa, services
from app.auth.forms import (
    ChangePasswordForm,
    DisableMfaForm,
    EnableMfaForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RecoveryCodesForm,
    RegisterForm,
    ResendVerificationForm,
    ResetPasswordForm,
    SecondFactorForm,
    VerifyEmailForm,
)
from app.auth.models import User
from app.core import clock
from app.core.errors import ServiceError
from app.core.forms import attach_error
from app.core.policy import ANY_ACCOUNT, PUBLIC, access
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
    # Flask-WTF caches this request's CSRF token in `g`; it belonged to the old session.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    login_user(user, remember=False)
    mark_session_start()


@bp.route("/register", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("REGISTER_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(_limit("REGISTER_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"])
def register():
    next_url = request.args.get("next")
    if next_url and not is_safe_next(next_url):
        next_url = None
    if current_user.is_authenticated:
        return redirect(safe_next(next_url))
    form = RegisterForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]  # prefilled from an invitation link
    if form.validate_on_submit():
        try:
            services.register(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                job_title=form.job_title.data or "",
                next_url=next_url,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            # The same answer whether or not the address already had an account: nobody is
            # signed in, and the page only says where the email went.
            session["check_email"] = {
                "address": services.normalise_email(form.email.data)[:254],
                "next": next_url,
            }
            return redirect(url_for("auth.check_email"))
    return render_template("auth/register.html", form=form, next_url=next_url)


def _account_id_key() -> str:
    return f"verify:{current_user.get_id() if current_user.is_authenticated else '-'}"


@bp.route("/check-email")
@access(PUBLIC)
def check_email():
    """Where registration ends, and where an unconfirmed account is sent for anything that
    needs a confirmed address."""
    pending = session.get("check_email")
    pending = pending if isinstance(pending, dict) else {}
    if current_user.is_authenticated and current_user.email_verified:
        return redirect(url_for("public.home"))
    address = current_user.email if current_user.is_authenticated else pending.get("address")
    next_url = pending.get("next") if is_safe_next(pending.get("next")) else None
    return render_template(
        "auth/check_email.html",
        address=address,
        next_url=next_url,
        hours=current_app.config["EMAIL_VERIFY_HOURS"],
        resend_form=ResendVerificationForm(),
    )


@bp.route("/check-email/resend", methods=["POST"])
@access(ANY_ACCOUNT)
@limiter.limit(_limit("VERIFY_EMAIL_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(_limit("VERIFY_EMAIL_LIMIT_PER_ACCOUNT"), key_func=_account_id_key, methods=["POST"])
def resend_verification():
    if ResendVerificationForm().validate_on_submit():
        try:
            services.resend_verification(current_user._get_current_object())
        except ServiceError as error:
            flash(error.message, "info")
            return redirect(url_for("public.home"))
        flash(
            f"We have sent a new confirmation link to {current_user.email}. Earlier links "
            "still work until they expire.",
            "success",
        )
    return redirect(url_for("auth.check_email"))


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("VERIFY_LIMIT_PER_IP"), methods=["POST"])
def verify_email(token: str):
    """A confirmation link opens a page with one button (no change on GET, so a mail
    scanner that follows links confirms nothing)."""
    try:
        found = services.check_verification_token(token)
    except ServiceError as error:
        return render_template("auth/verify_invalid.html", message=error.message), 400
    form = VerifyEmailForm()
    if form.validate_on_submit():
        found = services.verify_email(token)
        session.pop("check_email", None)
        signed_in_as_owner = current_user.is_authenticated and current_user.id == found.user.id
        flash(
            "Thank you: your email address is confirmed."
            + ("" if signed_in_as_owner else " Log in to continue."),
            "success",
        )
        if signed_in_as_owner:
            return redirect(safe_next(found.next_url))
        if current_user.is_authenticated:  # someone else's link, opened in this browser
            return redirect(url_for("public.home"))
        return redirect(
            url_for("auth.login", next=found.next_url) if found.next_url else url_for("auth.login")
        )
    return render_template("auth/verify_email.html", form=form, found=found)


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
        # Not a refusal: the boundary commits the audit event whether or not it succeeded.
        if result.needs_second_factor:
            session.clear()
            session["mfa_pending"] = {
                "user_id": result.user.id,
                "version": result.user.session_version,
                "at": clock.timestamp(),
                "next": next_url,
            }
            return redirect(url_for("auth.login_verify"))
        if result.user is not None:
            _start_session(result.user)
            flash(f"Signed in as {result.user.name}.", "success")
            return redirect(safe_next(next_url))
        form.form_errors.append(result.error)
    return render_template("auth/login.html", form=form, next_url=next_url)


def _pending_second_factor():
    """The user half-way through signing in (password checked, code not yet), or None."""
    pending = session.get("mfa_pending")
    if not isinstance(pending, dict):
        return None
    minutes = current_app.config["MFA_PENDING_MINUTES"]
    if clock.timestamp() - int(pending.get("at", 0)) > minutes * 60:
        return None
    user = db.session.get(User, pending.get("user_id") or 0)
    if (
        user is None
        or not user.is_active_account
        or user.session_version != pending.get("version")
        or not user.mfa_enabled
    ):
        return None
    return user


def _pending_key() -> str:
    pending = session.get("mfa_pending")
    user_id = pending.get("user_id") if isinstance(pending, dict) else None
    return f"mfa:{user_id}"


@bp.route("/login/verify", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit("MFA_LIMIT_PER_IP"), methods=["POST"], deduct_when=_failed)
@limiter.limit(
    _limit("MFA_LIMIT_PER_ACCOUNT"), key_func=_pending_key, methods=["POST"], deduct_when=_failed
)
def login_verify():
    """Second step of signing in: a code from the authenticator app or a recovery code."""
    user = _pending_second_factor()
    if user is None:
        session.pop("mfa_pending", None)
        flash("Please log in again: the sign-in had expired or was not started.", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        method = services.verify_second_factor(user, form.code.data)
        if method is not None:
            next_url = session["mfa_pending"].get("next")
            services.complete_login(user, second_factor=method)
            _start_session(user)
            if method == "recovery code":
                remaining = services.remaining_recovery_codes(user)
                flash(
                    f"Signed in with a recovery code. You have {remaining} left; "
                    "make new ones from your profile if you are running low.",
                    "warning",
                )
            else:
                flash(f"Signed in as {user.name}.", "success")
            return redirect(safe_next(next_url))
        # Not a refusal: the boundary commits the audit event of the failed attempt.
        form.code.errors = [
            "That code is not right or was already used. Wait for a new code and try again."
        ]
    return render_template("auth/login_verify.html", form=form)


@bp.route("/logout", methods=["POST"])
@access(ANY_ACCOUNT)
def logout():
    services.logout(current_user._get_current_object())
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
            attach_error(form, error)
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Your password has been changed. Log in with your new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.route("/profile", methods=["GET", "POST"])
@access(ANY_ACCOUNT)
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_profile(user, name=form.name.data, job_title=form.job_title.data or "")
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Your profile has been saved.", "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@access(ANY_ACCOUNT)
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                user, current_password=form.current_password.data, new_password=form.password.data
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            # Every other session has ended; keep this one alive under the new version.
            _start_session(user)
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form)


# --- two-step verification settings ----------------------------------------------------


def _render_mfa(user, **forms):
    secret = session.get("mfa_setup_secret")
    if not user.mfa_enabled and not secret:
        secret = session["mfa_setup_secret"] = mfa.new_secret()
    uri = mfa.provisioning_uri(secret, user.email) if secret and not user.mfa_enabled else None
    return render_template(
        "auth/mfa.html",
        secret=None if user.mfa_enabled else secret,
        # segno writes only path data and our fixed title: no user text reaches the markup.
        qr_svg=Markup(mfa.qr_svg(uri)) if uri else None,  # noqa: S704
        required=services.mfa_required(user),
        remaining=services.remaining_recovery_codes(user) if user.mfa_enabled else 0,
        enable_form=forms.get("enable_form") or EnableMfaForm(),
        disable_form=forms.get("disable_form") or DisableMfaForm(),
        codes_form=forms.get("codes_form") or RecoveryCodesForm(),
    )


@bp.route("/two-step", methods=["GET"])
@access(ANY_ACCOUNT)
def mfa_settings():
    return _render_mfa(current_user._get_current_object())


@bp.route("/two-step/enable", methods=["POST"])
@access(ANY_ACCOUNT)
def mfa_enable():
    user = current_user._get_current_object()
    form = EnableMfaForm()
    secret = session.get("mfa_setup_secret")
    if form.validate_on_submit():
        if not secret:
            flash("The set-up had expired; scan the new QR code and try again.", "warning")
            return redirect(url_for("auth.mfa_settings"))
        try:
            codes = services.enable_mfa(user, secret=secret, code=form.code.data)
        except ServiceError as error:
            attach_error(form, error)
        else:
            session.pop("mfa_setup_secret", None)
            _start_session(user)  # other sessions ended; this one continues
            return render_template("auth/recovery_codes.html", codes=codes, first_time=True)
    return _render_mfa(user, enable_form=form), 400


@bp.route("/two-step/recovery-codes", methods=["POST"])
@access(ANY_ACCOUNT)
def mfa_recovery_codes():
    user = current_user._get_current_object()
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        try:
            codes = services.regenerate_recovery_codes(user, code=form.code.data)
        except ServiceError as error:
            attach_error(form, error)
        else:
            return render_template("auth/recovery_codes.html", codes=codes, first_time=False)
    return _render_mfa(user, codes_form=form), 400


@bp.route("/two-step/disable", methods=["POST"])
@access(ANY_ACCOUNT)
def mfa_disable():
    user = current_user._get_current_object()
    form = DisableMfaForm()
    if form.validate_on_submit():
        try:
            services.disable_mfa(user, password=form.password.data)
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Two-step verification is off.", "info")
            return redirect(url_for("auth.mfa_settings"))
    return _render_mfa(user, disable_form=form), 400
