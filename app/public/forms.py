"""Forms of the public pages: directory search, expression of interest, the hub's listing."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import PortalForm, choices
from app.organisations.models import NATIONS

from .services import MESSAGE_MAX, SEARCH_MAX


def _max(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


class DirectorySearchForm(PortalForm):
    class Meta:
        csrf = False

    q = StringField("Keyword", validators=[Optional(), _max(SEARCH_MAX)])
    theme = SelectField("Theme", validators=[Optional()], validate_choice=False)
    nation = SelectField(
        "Nation or region",
        choices=choices(("", "Anywhere"), *NATIONS.items()),
        validators=[Optional()],
    )


class InterestForm(PortalForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), _max(120)])
    email = EmailField(
        "Your email address", validators=[DataRequired("Enter your email address."), _max(254)]
    )
    role = StringField(
        "Your role", validators=[Optional(), _max(120)], description="For example district nurse."
    )
    organisation = StringField("Your organisation", validators=[Optional(), _max(200)])
    message = TextAreaField(
        "Message",
        validators=[Optional(), _max(MESSAGE_MAX)],
        description="What you would like to bring to the network, or ask the hub.",
        render_kw={"rows": 4},
    )
    # A honeypot: hidden from people, tempting to bots. Filled in means nothing is sent.
    website = StringField("Leave this empty", validators=[Optional()])
    submit = SubmitField("Send to the hub")


class ListingForm(PortalForm):
    hidden = BooleanField("Hide our hub from the public directory")
    summary = TextAreaField(
        "About the network",
        validators=[Optional(), _max(1000)],
        description="A few sentences for people deciding whether to join.",
        render_kw={"rows": 3},
    )
    session_rhythm = StringField(
        "Session rhythm",
        validators=[Optional(), _max(120)],
        description="For example: monthly, second Tuesday, 12:30–13:30.",
    )
    contact_email = EmailField(
        "Contact email for people who want to join",
        validators=[Optional(), _max(254)],
        description="Published in the directory; expressions of interest are sent here.",
    )
    join_url = StringField(
        "Joining link (optional)",
        validators=[Optional(), _max(300)],
        description="A registration page, if you have one (https://…).",
    )
    submit = SubmitField("Save the listing")
