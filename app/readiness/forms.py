"""Forms for agreements, checklist answers, reviews and comments.

`based_on` carries the id of the version the person was looking at, so a double
submission or a decision on a changed item is refused instead of landing on the wrong one.
"""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import PortalForm, choices
from app.core.storage import ALLOWED_DESCRIPTION

FILE_HINT = f"{ALLOWED_DESCRIPTION}; up to 20 MB."


def _max(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


class AgreementForm(PortalForm):
    file = FileField("Signed document", description=FILE_HINT)
    signatory_name = StringField("Signed by (name)", validators=[Optional(), _max(120)])
    signatory_role = StringField(
        "Signatory's role",
        validators=[Optional(), _max(120)],
        description="For example chief executive or legal counsel.",
    )
    signed_on = DateField("Date signed", validators=[Optional()])
    based_on = HiddenField()
    submit = SubmitField("Upload")


class AgreementReviewForm(PortalForm):
    agreement_id = HiddenField(validators=[DataRequired()])
    decision = RadioField(
        "Decision",
        choices=choices(("accept", "Verify (accept)"), ("reject", "Reject")),
        validators=[DataRequired("Choose verify or reject.")],
    )
    reason = TextAreaField(
        "Reason (required when rejecting)",
        validators=[Optional(), _max(2000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField("Record decision")


class AnswerForm(PortalForm):
    text = TextAreaField(
        "Your answer", validators=[Optional(), _max(10_000)], render_kw={"rows": 6}
    )
    date_value = DateField("Date", validators=[Optional()])
    attested_by_name = StringField(
        "Name of the person confirming", validators=[Optional(), _max(120)]
    )
    attested_by_role = StringField("Their role", validators=[Optional(), _max(120)])
    confirmed = BooleanField("I confirm that the statement above is true for our organisation")
    file = FileField("Evidence file", description=FILE_HINT)
    note = TextAreaField(
        "Note for the reviewer (optional)",
        validators=[Optional(), _max(2000)],
        render_kw={"rows": 2},
    )
    based_on = HiddenField()
    submit = SubmitField("Submit for review")


class ItemReviewForm(PortalForm):
    answer_id = HiddenField(validators=[DataRequired()])
    decision = RadioField(
        "Decision",
        choices=choices(("accept", "Accept"), ("changes", "Request changes")),
        validators=[DataRequired("Choose accept or request changes.")],
    )
    comment = TextAreaField(
        "Comment (required when requesting changes)",
        validators=[Optional(), _max(5000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Record decision")


class CommentForm(PortalForm):
    body = TextAreaField(
        "Add a comment", validators=[Optional(), _max(5000)], render_kw={"rows": 2}
    )
    submit = SubmitField("Post comment")
