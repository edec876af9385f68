"""Forms for certificate lifecycle actions, launch, and public verification."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import PortalForm

from .services import REASON_MAX


class RevokeForm(PortalForm):
    reason = TextAreaField(
        "Reason for revoking",
        validators=[DataRequired("Give the reason for revoking."), Length(max=REASON_MAX)],
        description="Shown on the public verification page and sent to the organisation.",
        render_kw={"rows": 2},
    )
    submit = SubmitField("Revoke the certificate")


class ReissueForm(PortalForm):
    reason = TextAreaField(
        "Why re-issue?",
        validators=[DataRequired("Give the reason for the re-issue."), Length(max=REASON_MAX)],
        description="For example: the organisation changed its name. The new certificate uses "
        "today's names; the old one is marked superseded.",
        render_kw={"rows": 2},
    )
    submit = SubmitField("Re-issue the certificate")


class RenewForm(PortalForm):
    still_active = BooleanField(
        "I confirm the hub is still active: it has run ECHO sessions in the last year"
    )
    note = TextAreaField(
        "Note (optional)", validators=[Optional(), Length(max=REASON_MAX)], render_kw={"rows": 2}
    )
    submit = SubmitField("Renew the certificate")


class LaunchForm(PortalForm):
    first_session_on = DateField(
        "Date of the network's first ECHO session",
        validators=[DataRequired("Give the date of the first ECHO session.")],
    )
    submit = SubmitField("Record the launch")


class CodeForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form that changes nothing

    code = StringField(
        "Verification code",
        validators=[Optional()],
        description="The code printed under the QR code on the certificate.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": 200},
    )
    submit = SubmitField("Check")


class PdfCheckForm(PortalForm):
    file = FileField("Certificate PDF", description="The PDF file as you received it; up to 5 MB.")
    submit = SubmitField("Check the PDF")


class CredentialCheckForm(PortalForm):
    token = TextAreaField(
        "Credential (JWT)",
        validators=[Optional(), Length(max=64 * 1024)],
        description="Paste the Open Badges credential: three parts separated by dots.",
        render_kw={"rows": 4, "spellcheck": "false", "autocomplete": "off"},
    )
    file = FileField(
        "Or upload the credential file",
        description="The .jwt file downloaded from the portal, up to 64 KB.",
    )
    submit = SubmitField("Check the credential")


class PdfCheckApiForm(PdfCheckForm):
    class Meta:
        csrf = False  # the JSON upload check reads no session and changes nothing
