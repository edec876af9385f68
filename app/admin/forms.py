"""Admin forms for managing users."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import MultiCheckboxField, PortalForm, choices
from app.core.roles import ROLE_LABELS
from app.readiness.models import AGREEMENT_KINDS


class UserFilterForm(PortalForm):
    """The search form on the user list (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Search name or email", validators=[Optional(), Length(max=254)])
    role = SelectField(
        "Role", choices=choices(("", "Any role"), *ROLE_LABELS.items()), validators=[Optional()]
    )
    status = SelectField(
        "Status",
        choices=choices(("", "Any status"), ("active", "Active"), ("deactivated", "Deactivated")),
        validators=[Optional()],
    )
    sort = SelectField(
        "Sort by",
        choices=choices(
            ("name", "Name"),
            ("email", "Email"),
            ("created", "Registered"),
            ("last_login", "Last login"),
        ),
        validators=[Optional()],
    )


class RolesForm(PortalForm):
    roles = MultiCheckboxField("Site roles", choices=choices(*ROLE_LABELS.items()))
    confirm_conflict = BooleanField(
        "I have checked the conflict of interest and still grant the staff role"
    )
    submit = SubmitField("Save roles")


class DeactivateForm(PortalForm):
    reason = TextAreaField(
        "Reason for deactivating",
        validators=[
            DataRequired("Give a reason for deactivating this account."),
            Length(max=500, message="Use at most 500 characters."),
        ],
    )
    submit = SubmitField("Deactivate account")


class ReactivateForm(PortalForm):
    submit = SubmitField("Reactivate account")


class ResetMfaForm(PortalForm):
    reason = TextAreaField(
        "Reason for the reset",
        validators=[
            DataRequired("Give a reason for the reset."),
            Length(max=500, message="Use at most 500 characters."),
        ],
        description="For example: lost phone, confirmed by a call to their manager.",
    )
    submit = SubmitField("Reset two-step verification")


class MessageFilterForm(PortalForm):
    """The search form on the delivery page (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Recipient's address contains", validators=[Optional(), Length(max=254)])
    status = SelectField(
        "Status",
        choices=choices(
            ("", "Any status"), ("waiting", "Waiting"), ("sent", "Sent"), ("failed", "Failed")
        ),
        validators=[Optional()],
    )


class ResendForm(PortalForm):
    submit = SubmitField("Resend")


class AgreementTemplateForm(PortalForm):
    """A new version of an agreement template (the blank document hubs sign)."""

    kind = SelectField(
        "Agreement",
        choices=choices(*AGREEMENT_KINDS.items()),
        validators=[DataRequired("Choose which agreement this is.")],
    )
    version_label = StringField(
        "Version",
        validators=[
            DataRequired("Enter the version."),
            Length(max=40, message="Use at most 40 characters."),
        ],
        description="As printed on the document, for example 2027.1.",
    )
    issued_on = DateField("Date of this version", validators=[Optional()])
    file = FileField("Template", description="PDF or Word (.docx); up to 20 MB.")
    submit = SubmitField("Publish this version")
