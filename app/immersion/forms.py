"""Forms for cohorts, sessions, bookings and the Zoom report upload."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.forms import MultiCheckboxField, choices


def _max(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


class CohortForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter a title."), _max(200)])
    description = TextAreaField(
        "Description", validators=[Optional(), _max(5000)], render_kw={"rows": 3}
    )
    capacity = IntegerField(
        "Capacity (organisations)",
        validators=[
            DataRequired("Enter the capacity."),
            NumberRange(1, 500, "Enter a number from 1 to 500."),
        ],
    )
    booking_deadline = DateTimeLocalField(
        "Booking deadline",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("Enter the booking deadline as a date and time.")],
        description="In UK time (Europe/London).",
    )
    session_minimum_percent = IntegerField(
        "A session counts when attended for at least (% of its length)",
        default=75,
        validators=[DataRequired("Enter a percentage."), NumberRange(1, 100, "1 to 100.")],
    )
    attendance_threshold_percent = IntegerField(
        "Attendance needed (% of sessions)",
        default=80,
        validators=[DataRequired("Enter a percentage."), NumberRange(1, 100, "1 to 100.")],
    )
    submit = SubmitField("Create cohort")


class SessionForm(FlaskForm):
    title = StringField("Session title", validators=[DataRequired("Enter a title."), _max(200)])
    starts_at = DateTimeLocalField(
        "Starts at",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("Enter the start as a date and time.")],
        description="In UK time (Europe/London); stored in UTC.",
    )
    duration_minutes = IntegerField(
        "Duration (minutes)",
        validators=[
            DataRequired("Enter the duration."),
            NumberRange(10, 480, "Enter 10 to 480 minutes."),
        ],
    )
    join_url = StringField("Join link (https://…)", validators=[Optional(), _max(500)])
    facilitators = StringField("Facilitators", validators=[Optional(), _max(300)])
    prework_modules = MultiCheckboxField("Pre-work modules (optional)")
    submit = SubmitField("Add session")


class CohortStatusForm(FlaskForm):
    status = SelectField(
        "Status",
        choices=choices(
            ("open", "Open for booking"), ("closed", "Booking closed"), ("completed", "Completed")
        ),
    )
    submit = SubmitField("Change status")


class BookingForm(FlaskForm):
    attendees = MultiCheckboxField("Who will attend")
    submit = SubmitField("Book")


class MoveBookingForm(FlaskForm):
    """Moving a booking to the cohort chosen on the previous step (`cohort`)."""

    cohort = IntegerField(
        "Cohort",
        validators=[
            DataRequired("Choose the cohort to move to."),
            NumberRange(1, 2**31 - 1, "Choose the cohort to move to."),
        ],
    )
    accept_waiting = BooleanField(
        "I understand: we give up our confirmed place for a place on the waiting list"
    )
    submit = SubmitField("Move the booking")


class ZoomReportForm(FlaskForm):
    report = FileField("Zoom participants report (CSV)")
    submit = SubmitField("Upload and preview")


class RecordingForm(FlaskForm):
    url = StringField("Recording link (https://…)", validators=[Optional(), _max(500)])
    submit = SubmitField("Save recording link")


class ResourceForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the resource a title."), _max(200)])
    url = StringField("Link (https://…)", validators=[Optional(), _max(500)])
    file = FileField("…or a file (PDF, Word, Excel, PNG or JPEG; up to 20 MB)")
    submit = SubmitField("Add resource")


class EvaluationForm(FlaskForm):
    comments = TextAreaField(
        "Any other comments (optional)", validators=[Optional(), _max(5000)], render_kw={"rows": 4}
    )
    submit = SubmitField("Send my evaluation")
