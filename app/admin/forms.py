"""Admin forms for managing users."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import MultiCheckboxField, PortalForm, choices
from app.core.roles import ROLE_LABELS


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
