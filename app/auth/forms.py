"""Account forms. Field lengths match the database columns, so nothing is truncated."""

from __future__ import annotations

from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.auth.models import EMAIL_MAX, JOB_TITLE_MAX, NAME_MAX
from app.auth.passwords import MAX_LENGTH, MIN_LENGTH, password_problems
from app.core.forms import PortalForm

PASSWORD_HINT = (
    f"At least {MIN_LENGTH} characters. Long passphrases of unrelated words are easy to "
    "remember and hard to guess."
)


def _strip(value):
    # Pasted or autofilled addresses often carry spaces; the address itself never does.
    return value.strip() if isinstance(value, str) else value


def _email_field(label: str = "Email address") -> EmailField:
    return EmailField(
        label,
        filters=[_strip],
        validators=[
            DataRequired("Enter your email address."),
            Length(max=EMAIL_MAX, message=f"Use at most {EMAIL_MAX} characters."),
            Email(
                "Enter a valid email address, like name@organisation.org.uk.",
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email"},
    )


def _name_field() -> StringField:
    return StringField(
        "Full name",
        validators=[
            DataRequired("Enter your name."),
            Length(max=NAME_MAX, message=f"Use at most {NAME_MAX} characters."),
        ],
        render_kw={"autocomplete": "name"},
    )


def _job_title_field(label: str) -> StringField:
    return StringField(
        label,
        validators=[Length(max=JOB_TITLE_MAX, message=f"Use at most {JOB_TITLE_MAX} characters.")],
        render_kw={"autocomplete": "organization-title"},
    )


def _current_password_field(label: str, required_message: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(required_message),
            Length(max=MAX_LENGTH, message=f"Use at most {MAX_LENGTH} characters."),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class StrongPassword:
    """Applies the password policy, using the form's email and name fields when present."""

    def __call__(self, form, field):
        email = getattr(getattr(form, "email", None), "data", "") or ""
        name = getattr(getattr(form, "name", None), "data", "") or ""
        problems = password_problems(field.data or "", email=email, name=name)
        if problems:
            raise ValidationError(problems[0])


def _new_password_fields(label: str = "Password"):
    password = PasswordField(
        label,
        validators=[DataRequired("Enter a password."), StrongPassword()],
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    confirm = PasswordField(
        "Confirm password",
        validators=[
            DataRequired("Enter the password again."),
            EqualTo("password", message="The two passwords do not match."),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    return password, confirm


class RegisterForm(PortalForm):
    name = _name_field()
    email = _email_field()
    job_title = _job_title_field("Job title (optional)")
    password, confirm = _new_password_fields()
    submit = SubmitField("Create account")


class LoginForm(PortalForm):
    email = _email_field()
    password = _current_password_field("Password", "Enter your password.")
    submit = SubmitField("Log in")


class ForgotPasswordForm(PortalForm):
    email = _email_field()
    submit = SubmitField("Send reset link")


class ResetPasswordForm(PortalForm):
    password, confirm = _new_password_fields("New password")
    submit = SubmitField("Set new password")


class ChangePasswordForm(PortalForm):
    current_password = _current_password_field("Current password", "Enter your current password.")
    password, confirm = _new_password_fields("New password")
    submit = SubmitField("Change password")


class ProfileForm(PortalForm):
    name = _name_field()
    job_title = _job_title_field("Job title")
    submit = SubmitField("Save profile")


def _code_field(label: str, description: str) -> StringField:
    return StringField(
        label,
        filters=[_strip],
        validators=[
            DataRequired("Enter the code."),
            Length(max=32, message="That is longer than any code we issue."),
        ],
        description=description,
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"},
    )


class SecondFactorForm(PortalForm):
    code = _code_field(
        "Verification code",
        "The 6-digit code from your authenticator app, or one of your recovery codes.",
    )
    submit = SubmitField("Verify")


class EnableMfaForm(PortalForm):
    code = _code_field("Code from your app", "Enter the 6-digit code your app now shows.")
    submit = SubmitField("Turn on two-step verification")


class RecoveryCodesForm(PortalForm):
    code = _code_field(
        "Current code from your app", "Proves it is you before replacing your recovery codes."
    )
    submit = SubmitField("Make new recovery codes")


class DisableMfaForm(PortalForm):
    password = _current_password_field("Your password", "Enter your password.")
    submit = SubmitField("Turn off two-step verification")


class ResendVerificationForm(PortalForm):
    submit = SubmitField("Send a new link")


class VerifyEmailForm(PortalForm):
    submit = SubmitField("Confirm my email address")
