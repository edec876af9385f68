"""The assessment form (one score and comment per rubric criterion) and the decision form."""

from __future__ import annotations

from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import PortalForm, choices

from .models import RECOMMENDATIONS, SCORE_LABELS
from .services import COMMENT_MAX, NOTES_MAX, criteria, field_name


def _max(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


class _AssessmentBase(PortalForm):
    overall_notes = TextAreaField(
        "Overall notes",
        validators=[Optional(), _max(NOTES_MAX)],
        description="What the second trainer should know. Required when rejecting.",
        render_kw={"rows": 4},
    )
    recommendation = RadioField(
        "Recommendation",
        choices=choices(*RECOMMENDATIONS.items()),
        validators=[DataRequired("Choose a recommendation.")],
    )
    changes_list = TextAreaField(
        "What must be fixed (when requesting changes)",
        validators=[Optional(), _max(NOTES_MAX)],
        description="One item per line. The hub lead sees this list.",
        render_kw={"rows": 4},
    )
    submit = SubmitField("Save the assessment")


def assessment_form(**kwargs) -> PortalForm:
    """A form class with a score and a comment field per criterion in programme settings."""
    attrs = {}
    for key, title, guidance in criteria():
        attrs[field_name("score", key)] = RadioField(
            title,
            choices=choices(*((str(n), label) for n, label in SCORE_LABELS.items())),
            validators=[DataRequired(f"Score “{title}” from 1 to 4.")],
            description=guidance,
        )
        attrs[field_name("comment", key)] = TextAreaField(
            f"Comment on {title.lower()}",
            validators=[Optional(), _max(COMMENT_MAX)],
            render_kw={"rows": 2},
        )
    form_class = type("AssessmentForm", (_AssessmentBase,), attrs)
    return form_class(**kwargs)


class DecisionForm(PortalForm):
    decision = RadioField(
        "Decision",
        choices=choices(
            ("approve", "Approve: the organisation becomes a hub and its certificate is issued"),
            ("send_back", "Send back: the assessment needs another look"),
        ),
        validators=[DataRequired("Choose approve or send back.")],
    )
    notes = TextAreaField(
        "Notes (required when sending back)",
        validators=[Optional(), _max(NOTES_MAX)],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Record the decision")
