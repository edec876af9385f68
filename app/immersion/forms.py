"""Forms for cohorts, sessions, bookings and the Zoom report upload."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.forms import MultiCheckboxField, PortalForm, choices


def _max(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


class CohortForm(PortalForm):
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


class _Versioned:
    # The version the page was opened at; a save against a newer one is refused.
    version = HiddenField()

    def opened_at(self) -> int | None:
        try:
            version = int(self.version.data)
        except (TypeError, ValueError):
            return -1  # tampered with or missing: never current, so refused as stale
        return version if 0 < version < 2**31 else -1


class CohortEditForm(_Versioned, CohortForm):
    submit = SubmitField("Save changes")


class CancelCohortForm(_Versioned, PortalForm):
    reason = TextAreaField(
        "Why is the cohort cancelled?",
        validators=[DataRequired("Say why the cohort is cancelled."), _max(2000)],
        description="Everyone booked, and the hub leads of teams on the waiting list, are "
        "told this.",
        render_kw={"rows": 3},
    )
    submit = SubmitField("Cancel the cohort")


class DuplicateCohortForm(PortalForm):
    title = StringField(
        "Title of the new cohort", validators=[DataRequired("Enter a title."), _max(200)]
    )
    first_session_on = DateField(
        "Date of the first session",
        validators=[DataRequired("Enter the date of the first session.")],
        description="Every session moves by the same number of days and keeps its UK time "
        "and length.",
    )
    booking_deadline = DateTimeLocalField(
        "Booking deadline (optional)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="In UK time. Leave it empty to move the deadline with the sessions.",
    )
    submit = SubmitField("Make the new cohort")


class SessionEditForm(_Versioned, PortalForm):
    title = StringField("Session title", validators=[DataRequired("Enter a title."), _max(200)])
    starts_at = DateTimeLocalField(
        "Starts at",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("Enter the start as a date and time.")],
        description="In UK time (Europe/London).",
    )
    ends_at = DateTimeLocalField(
        "Ends at",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("Enter the end as a date and time.")],
        description="In UK time (Europe/London).",
    )
    join_url = StringField("Join link (https://…)", validators=[Optional(), _max(500)])
    facilitators = StringField("Facilitators", validators=[Optional(), _max(300)])
    prework_modules = MultiCheckboxField("Pre-work modules (optional)")
    already_took_place = BooleanField("Recording a session that already took place")
    submit = SubmitField("Save session")


class CancelSessionForm(_Versioned, PortalForm):
    reason = TextAreaField(
        "Why is the session cancelled?",
        validators=[DataRequired("Say why the session is cancelled."), _max(2000)],
        description="The attendees are told this, with a calendar cancellation.",
        render_kw={"rows": 3},
    )
    submit = SubmitField("Cancel the session")


class DeleteSessionForm(_Versioned, PortalForm):
    submit = SubmitField("Delete the session")


class SessionForm(PortalForm):
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
    already_took_place = BooleanField("Recording a session that already took place")
    submit = SubmitField("Add session")


class CohortStatusForm(PortalForm):
    status = SelectField(
        "Status",
        choices=choices(
            ("open", "Open for booking"), ("closed", "Booking closed"), ("completed", "Completed")
        ),
    )
    submit = SubmitField("Change status")


class BookingForm(PortalForm):
    attendees = MultiCheckboxField("Who will attend")
    submit = SubmitField("Book")


class MoveBookingForm(PortalForm):
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


class ZoomReportForm(PortalForm):
    report = FileField("Zoom participants report (CSV)")
    submit = SubmitField("Upload and preview")


class RecordingForm(PortalForm):
    url = StringField("Recording link (https://…)", validators=[Optional(), _max(500)])
    submit = SubmitField("Save recording link")


class ResourceForm(PortalForm):
    title = StringField("Title", validators=[DataRequired("Give the resource a title."), _max(200)])
    url = StringField("Link (https://…)", validators=[Optional(), _max(500)])
    file = FileField("…or a file (PDF, Word, Excel, PNG or JPEG; up to 20 MB)")
    submit = SubmitField("Add resource")


class EvaluationForm(PortalForm):
    comments = TextAreaField(
        "Any other comments (optional)", validators=[Optional(), _max(5000)], render_kw={"rows": 4}
    )
    submit = SubmitField("Send my evaluation")
