"""Forms for organisations, the application, the team and trainer decisions.

Application fields are all optional here: a draft may be saved half-done. What is
required on submission is decided by `services.missing_fields`.
"""

from __future__ import annotations

from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.forms import MultiCheckboxField, PortalForm, choices
from app.core.programme import HUB_ROLES
from app.organisations.models import NAME_MAX, NATIONS, ORGANISATION_TYPES, VC_LICENCE


def _max(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class OrganisationForm(PortalForm):
    name = StringField(
        "Organisation name",
        filters=[_strip],
        validators=[DataRequired("Enter the organisation's name."), _max(NAME_MAX)],
        render_kw={"autocomplete": "organization"},
    )
    org_type = SelectField(
        "Type of organisation",
        choices=choices(("", "Choose…"), *ORGANISATION_TYPES.items()),
        validators=[DataRequired("Choose the type of organisation.")],
    )
    registration_number = StringField(
        "Registered charity or company number (optional)",
        filters=[_strip],
        validators=[Optional(), _max(20)],
        description="For example 1234567 (charity in England and Wales), SC012345, or a "
        "company number such as 01234567.",
    )
    nation = SelectField(
        "Nation or country",
        choices=choices(("", "Choose…"), *NATIONS.items()),
        validators=[DataRequired("Choose the nation or country.")],
    )
    other_country = StringField(
        "Country (if not in the UK)", filters=[_strip], validators=[Optional(), _max(100)]
    )
    address = TextAreaField(
        "Address",
        validators=[Optional(), _max(500)],
        render_kw={"rows": 3, "autocomplete": "street-address"},
    )
    website = StringField(
        "Website",
        filters=[_strip],
        validators=[Optional(), _max(300)],
        render_kw={"autocomplete": "url", "inputmode": "url"},
    )
    phone = StringField(
        "Main contact phone",
        filters=[_strip],
        validators=[Optional(), _max(30)],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    submit = SubmitField("Save organisation")


class ApplicationForm(PortalForm):
    network_name = StringField(
        "Proposed network name",
        validators=[Optional(), _max(200)],
        description="For example “Bereavement Support ECHO for the North East”.",
    )
    theme = StringField(
        "Network theme",
        validators=[Optional(), _max(200)],
        description="The topic your sessions will cover, e.g. bereavement support, outcome "
        "measures, care home education.",
    )
    target_audience = TextAreaField(
        "Target audience",
        validators=[Optional(), _max(2000)],
        description="Who will join as spokes: roles, settings and where they work.",
        render_kw={"rows": 3},
    )
    expected_spokes = IntegerField(
        "Expected number of spokes",
        validators=[Optional(), NumberRange(min=1, max=100000, message="Enter a whole number.")],
        description="Roughly how many participating teams or people in the first year.",
        render_kw={"inputmode": "numeric"},
    )
    motivation = TextAreaField(
        "Why does your organisation want to run ECHO?",
        validators=[Optional(), _max(5000)],
        render_kw={"rows": 5},
    )
    sponsor_name = StringField("Executive sponsor's name", validators=[Optional(), _max(120)])
    sponsor_role = StringField("Executive sponsor's role", validators=[Optional(), _max(120)])
    sponsor_email = EmailField("Executive sponsor's email", validators=[Optional(), _max(254)])
    vc_licence = RadioField(
        "Do you have a videoconferencing licence (e.g. Zoom) for sessions?",
        choices=choices(*VC_LICENCE.items()),
        validators=[Optional()],
        validate_choice=False,
    )
    delivery_notes = TextAreaField(
        "How will you deliver sessions? (optional)",
        validators=[Optional(), _max(2000)],
        render_kw={"rows": 3},
    )
    heard_about = TextAreaField(
        "How did you hear about ECHO?",
        validators=[Optional(), _max(2000)],
        render_kw={"rows": 2},
    )
    intro_session_date = DateField(
        "Date you attended an ECHO introduction session (optional)",
        validators=[Optional()],
        description="Leave blank if you have not attended one.",
    )
    save = SubmitField("Save draft")
    submit_application = SubmitField("Submit application")


def _role_choices():
    return choices(*HUB_ROLES.items())


class InviteForm(PortalForm):
    email = EmailField(
        "Email address",
        filters=[_strip],
        # Required-ness and format are checked by the service with the roles, so an empty
        # form lists both problems at once.
        validators=[_max(254)],
    )
    roles = MultiCheckboxField("Hub roles", choices=_role_choices())
    submit = SubmitField("Add to team")


class MemberRolesForm(PortalForm):
    roles = MultiCheckboxField("Hub roles", choices=_role_choices())
    submit = SubmitField("Save roles")


class WithdrawForm(PortalForm):
    reason = TextAreaField(
        "Why are you withdrawing?",
        validators=[DataRequired("Tell us why you are withdrawing."), _max(2000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Withdraw organisation")


DECISIONS = {
    "accept": "Accept into the programme",
    "request_changes": "Request changes",
    "decline": "Decline",
}


class DecisionForm(PortalForm):
    decision = RadioField(
        "Decision",
        choices=choices(*DECISIONS.items()),
        validators=[DataRequired("Choose a decision.")],
    )
    message = TextAreaField(
        "Message to the applicant",
        validators=[Optional(), _max(5000)],
        description="Required when requesting changes (say what to change) or declining "
        "(give the reason). Optional when accepting.",
        render_kw={"rows": 4},
    )
    submit = SubmitField("Record decision")
