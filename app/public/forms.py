"""Forms of the public pages: directory search, expression of interest, the hub's listing."""

from __future__ import annotations

from wtforms import EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import PortalForm, choices
from app.organisations.models import NATIONS

from .services import (
    AUDIENCE_MAX,
    EMAIL_MAX,
    MESSAGE_MAX,
    REASON_MAX,
    RHYTHM_MAX,
    SEARCH_MAX,
    SUMMARY_MAX,
    URL_MAX,
)


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
    summary = TextAreaField(
        "About the network",
        validators=[Optional(), _max(SUMMARY_MAX)],
        description="A few sentences for people deciding whether to join: what the network "
        "covers and how its sessions work. Plain text.",
        render_kw={"rows": 4},
    )
    audience = TextAreaField(
        "Who it is for",
        validators=[Optional(), _max(AUDIENCE_MAX)],
        description="The professions and settings you welcome, e.g. community nurses and "
        "care home staff in Cumbria.",
        render_kw={"rows": 2},
    )
    session_rhythm = StringField(
        "Session schedule (optional)",
        validators=[Optional(), _max(RHYTHM_MAX)],
        description="For example: monthly, second Tuesday, 12:30–13:30.",
    )
    contact_email = EmailField(
        "Contact email for people who want to join",
        validators=[Optional(), _max(EMAIL_MAX)],
        description="Published in the directory; expressions of interest are sent here. "
        "Give this, a joining link, or both.",
    )
    join_url = StringField(
        "Joining link",
        validators=[Optional(), _max(URL_MAX)],
        description="A registration page, if you have one (https://…).",
    )
    save = SubmitField("Save")
    publish = SubmitField("Save and publish")


class HideListingForm(PortalForm):
    reason = TextAreaField(
        "Reason for hiding",
        validators=[
            DataRequired("Say why the listing is hidden; the hub lead is told."),
            _max(REASON_MAX),
        ],
        description="The hub lead is told this reason by email and on the listing page.",
        render_kw={"rows": 2},
    )
    submit = SubmitField("Hide from the directory")
