"""Immersion pages: cohorts, sessions, attendance, Zoom import, bookings, My Immersion."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup, escape

from app.core import cache
from app.core.boundary import refuse
from app.core.csv import csv_response
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.filters import format_date
from app.core.forms import ConfirmForm, attach_error, choices, perform
from app.core.inputs import parse_whole
from app.core.policy import AUTHENTICATED, access
from app.core.programme import HUB_ROLES, programme
from app.core.storage import read_limited
from app.extensions import db
from app.immersion import services, zoom
from app.immersion.forms import (
    BookingForm,
    CancelCohortForm,
    CancelSessionForm,
    CohortEditForm,
    CohortForm,
    CohortStatusForm,
    DeleteSessionForm,
    DuplicateCohortForm,
    EvaluationForm,
    MoveBookingForm,
    RecordingForm,
    ResourceForm,
    SessionEditForm,
    SessionForm,
    ZoomReportForm,
)
from app.immersion.ical import cohort_calendar, sessions_calendar
from app.immersion.models import (
    ATTENDANCE_STATUSES,
    Booking,
    BookingStatus,
    CohortStatus,
    ImmersionCohort,
)
from app.immersion.policies import (
    BOOKING_LEAD,
    COHORT_FOR_LEAD,
    COHORT_STAFF,
    COHORT_VIEWER,
    EVALUATOR,
    LIBRARY_USER,
    RESOURCE_USER,
    SESSION_STAFF,
    STAFF,
    VIEWERS,
)
from app.organisations import services as org_services
from app.organisations.context import organisation_page
from app.organisations.policies import ORG_VIEWER

bp = Blueprint("immersion", __name__)


def _utc(naive):
    """A date-time typed in the display time zone, as aware UTC (DST handled by zoneinfo)."""
    if naive is None:
        return None
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _local(aware):
    """An aware UTC date-time as the naive UK time a date-time field shows."""
    if aware is None:
        return None
    return aware.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).replace(tzinfo=None)


def _module_choices():
    from app.training.services import curriculum

    return choices(*((m.slug, m.title) for m in curriculum().modules))


# --- trainers: cohorts and sessions ----------------------------------------------------


@bp.route("/immersion/cohorts")
@access(VIEWERS)
def list_cohorts():
    return render_template("immersion/cohorts.html", cohorts=services.list_cohorts())


@bp.route("/immersion/cohorts/new", methods=["GET", "POST"])
@access(STAFF)
def new_cohort():
    settings = programme()
    form = CohortForm(
        session_minimum_percent=settings.session_minimum_percent,
        attendance_threshold_percent=settings.attendance_threshold_percent,
    )
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(by=current_user, **_cohort_fields(form))
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"Cohort “{cohort.title}” created. Now add its sessions.", "success")
            return redirect(url_for("immersion.show_cohort", cohort_id=cohort.id))
    return render_template("immersion/new_cohort.html", form=form), (
        400 if form.is_submitted() else 200
    )


_NO_RECORD = '<td><span class="text-body-secondary">—</span></td>'
_STATUS_HTML = {key: str(escape(label)) for key, label in ATTENDANCE_STATUSES.items()}


def _cells_html(cells) -> str:
    return "".join(
        _NO_RECORD
        if r is None
        else (
            f"<td>{_STATUS_HTML.get(r.status) or escape(r.status)}<br>"
            f'<span class="small">{int(r.minutes)} min'
            f"{', Zoom' if r.source == 'zoom' else ''}</span></td>"
        )
        for r in cells
    )


@bp.app_template_filter("attendance_cells")
def attendance_cells(cells) -> Markup:
    """One attendee's row of the cohort grid (a cell per session), built in Python: a
    cohort of 60 people and 8 sessions has 480 cells, and a Jinja loop over them costs
    several times as much. Nothing typed by a person goes in: the status label is one of
    ours (escaped once above; an unknown one is escaped here) and the minutes a number."""
    return Markup(_cells_html(cells))  # noqa: S704 - see the docstring: ours or escaped


@bp.app_template_filter("attendance_rows")
def attendance_rows(summaries) -> Markup:
    """The grid's body, a row per attendee (name, organisation, a cell per session, the
    count against the threshold), built in Python for the reason above. The names are
    escaped here."""
    met = ' <span class="badge status-badge status-complete">met</span>'
    return Markup(  # noqa: S704 - names escaped, everything else ours or a number
        "".join(
            f'<tr><th scope="row">{escape(s.user.name)}<br><span class="small fw-normal '
            f'text-body-secondary">{escape(s.organisation.name)}</span></th>'
            f"{_cells_html(s.cells)}<td>{s.counted}/{s.sessions} ({s.percent}%)"
            f"{met if s.met else ''}</td></tr>"
            for s in summaries.values()
        )
    )


def _grid_rows(cohort) -> tuple[Markup, int]:
    """The grid's body and its number of attendees, cached until a committed change to
    anything it shows (attendance, bookings and attendees, sessions, the cohort's rules,
    people's and organisations' names) moves the "immersion-grid" generation on."""

    def build():
        _attendees, _sessions, _records, summaries = services.attendance_grid(cohort)
        return str(attendance_rows(summaries)), len(summaries)

    rows, count = cache.cached("immersion-grid", ("cohort-rows", cohort.id), build)
    return Markup(rows), count  # noqa: S704 - built by attendance_rows, which escapes


def _render_cohort(cohort, status=200, session_form=None):
    grid_rows, attendee_count = _grid_rows(cohort)
    sessions = list(cohort.sessions)
    bookings = services.cohort_bookings(cohort)
    # The add-a-session form is built only when asked for (or shown again with its errors):
    # rendering its fields cost as much as the whole attendance grid.
    if session_form is None and request.args.get("add") == "session":
        session_form = SessionForm()
    if session_form is not None:
        session_form.prework_modules.choices = _module_choices()
    return render_template(
        "immersion/cohort.html",
        cohort=cohort,
        grid_rows=grid_rows,
        attendee_count=attendee_count,
        sessions=sessions,
        bookings=bookings,
        session_form=session_form,
        status_form=CohortStatusForm(
            status=cohort.status if cohort.status != CohortStatus.FULL else "open"
        ),
    ), status


@bp.route("/immersion/cohorts/<int:cohort_id>")
@access(COHORT_VIEWER)
def show_cohort(cohort_id: int):
    return _render_cohort(g.cohort)


@bp.route("/immersion/cohorts/<int:cohort_id>/sessions", methods=["POST"])
@access(COHORT_STAFF)
def add_session(cohort_id: int):
    cohort = g.cohort
    form = SessionForm()
    form.prework_modules.choices = _module_choices()
    if form.validate_on_submit():
        try:
            services.add_session(
                cohort,
                by=current_user,
                title=form.title.data,
                starts_at=_utc(form.starts_at.data),
                duration_minutes=form.duration_minutes.data,
                join_url=form.join_url.data,
                facilitators=form.facilitators.data,
                prework_modules=form.prework_modules.data,
                already_took_place=form.already_took_place.data,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Session added.", "success")
            return redirect(url_for("immersion.show_cohort", cohort_id=cohort.id))
    return _render_cohort(cohort, 400, session_form=form)


@bp.route("/immersion/cohorts/<int:cohort_id>/status", methods=["POST"])
@access(COHORT_STAFF)
def set_status(cohort_id: int):
    cohort = g.cohort
    form = CohortStatusForm()
    if form.validate_on_submit():
        perform(
            lambda: services.set_cohort_status(cohort, by=current_user, status=form.status.data),
            lambda _result: f"Cohort status: {cohort.status_label}.",
        )
    return redirect(url_for("immersion.show_cohort", cohort_id=cohort.id))


# --- trainers: changing cohorts and sessions ------------------------------------------


def _opened(obj) -> dict | None:
    """The version a form is opened at; a post carries its own (never filled in here)."""
    return None if request.method == "POST" else {"version": obj.version}


def _back_to(cohort):
    return redirect(url_for("immersion.show_cohort", cohort_id=cohort.id))


@bp.route("/immersion/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@access(COHORT_STAFF)
def edit_cohort(cohort_id: int):
    cohort = g.cohort
    if cohort.status == CohortStatus.CANCELLED:
        flash("This cohort is cancelled, so it can no longer be changed.", "danger")
        return _back_to(cohort)
    # A post is read as sent (never filled in from the cohort), so a missing field is refused.
    form = (
        CohortEditForm()
        if request.method == "POST"
        else CohortEditForm(
            data={
                "title": cohort.title,
                "description": cohort.description,
                "capacity": cohort.capacity,
                "booking_deadline": _local(cohort.booking_deadline),
                "session_minimum_percent": cohort.session_minimum_percent,
                "attendance_threshold_percent": cohort.attendance_threshold_percent,
                "version": cohort.version,
            }
        )
    )
    if form.validate_on_submit():
        try:
            changed = services.update_cohort(
                cohort,
                by=current_user,
                version=form.opened_at(),
                **_cohort_fields(form),
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Cohort saved." if changed else "Nothing was changed.", "success")
            return _back_to(cohort)
    return render_template("immersion/edit_cohort.html", cohort=cohort, form=form), (
        400 if form.is_submitted() else 200
    )


@bp.route("/immersion/cohorts/<int:cohort_id>/cancel", methods=["GET", "POST"])
@access(COHORT_STAFF)
def cancel_cohort(cohort_id: int):
    cohort = g.cohort
    if cohort.status == CohortStatus.CANCELLED:
        flash("This cohort is already cancelled.", "danger")
        return _back_to(cohort)
    form = CancelCohortForm(data=_opened(cohort))
    if form.validate_on_submit():
        try:
            released = services.cancel_cohort(
                cohort, by=current_user, version=form.opened_at(), reason=form.reason.data
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(
                f"“{cohort.title}” is cancelled"
                + (
                    f": {released} booking{'s' if released != 1 else ''} released and "
                    "everyone booked told."
                    if released
                    else "."
                ),
                "success",
            )
            return _back_to(cohort)
    return render_template(
        "immersion/cancel_cohort.html",
        cohort=cohort,
        form=form,
        confirmed=services.confirmed_count(cohort),
    ), (400 if form.is_submitted() else 200)


@bp.route("/immersion/cohorts/<int:cohort_id>/duplicate", methods=["GET", "POST"])
@access(COHORT_STAFF)
def duplicate_cohort(cohort_id: int):
    cohort = g.cohort
    held = services.copyable_sessions(cohort)
    suggested = None
    if held:
        # Next quarter: thirteen weeks on, the same weekday.
        suggested = (_local(held[0].starts_at) + timedelta(weeks=13)).date()
    form = DuplicateCohortForm(
        data=None
        if request.method == "POST"
        else {"title": f"{cohort.title} (copy)"[:200], "first_session_on": suggested}
    )
    if form.validate_on_submit():
        try:
            copy = services.duplicate_cohort(
                cohort,
                by=current_user,
                title=form.title.data,
                first_session_on=form.first_session_on.data,
                booking_deadline=_utc(form.booking_deadline.data),
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(
                f"“{copy.title}” made from “{cohort.title}”, with {len(copy.sessions)} "
                "sessions and no bookings. Check its join links before teams book.",
                "success",
            )
            return redirect(url_for("immersion.show_cohort", cohort_id=copy.id))
    return render_template(
        "immersion/duplicate_cohort.html", cohort=cohort, form=form, sessions=held
    ), (400 if form.is_submitted() else 200)


@bp.route("/immersion/cohorts/<int:cohort_id>/history")
@access(COHORT_VIEWER)
def cohort_history(cohort_id: int):
    cohort = g.cohort
    return render_template(
        "immersion/cohort_history.html", cohort=cohort, events=services.cohort_history(cohort)
    )


@bp.route("/immersion/cohorts/<int:cohort_id>/calendar.ics")
@access(LIBRARY_USER)
def download_cohort_calendar(cohort_id: int):
    cohort = g.cohort
    response = Response(cohort_calendar(cohort), mimetype="text/calendar")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="immersion-cohort-{cohort.id}.ics"'
    )
    return response


def _session_form(session, form=None):
    if form is None:
        # Times as the UK clock shows them (a form given the session itself would show UTC).
        form = SessionEditForm(
            data={
                "title": session.title,
                "starts_at": _local(session.starts_at),
                "ends_at": _local(session.ends_at),
                "join_url": session.join_url,
                "facilitators": session.facilitators,
                "prework_modules": list(session.prework_modules or []),
                "version": session.version,
            }
        )
    form.prework_modules.choices = _module_choices()
    return form


def _render_session(session, form, status=200, delete_form=None):
    return render_template(
        "immersion/edit_session.html",
        session=session,
        cohort=session.cohort,
        form=form,
        delete_form=delete_form or DeleteSessionForm(data={"version": session.version}),
    ), status


@bp.route("/immersion/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@access(SESSION_STAFF)
def edit_session(session_id: int):
    session = g.immersion_session
    if session.is_cancelled or session.cohort.status == CohortStatus.CANCELLED:
        flash("This session is cancelled, so it can no longer be changed.", "danger")
        return _back_to(session.cohort)
    form = _session_form(session, SessionEditForm() if request.method == "POST" else None)
    if form.validate_on_submit():
        try:
            changed = services.update_session(
                session,
                by=current_user,
                version=form.opened_at(),
                title=form.title.data,
                starts_at=_utc(form.starts_at.data),
                ends_at=_utc(form.ends_at.data),
                join_url=form.join_url.data,
                facilitators=form.facilitators.data,
                prework_modules=form.prework_modules.data,
                already_took_place=form.already_took_place.data,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(
                f"“{session.title}” saved; the attendees have been sent the change."
                if changed
                else "Nothing was changed.",
                "success",
            )
            return _back_to(session.cohort)
    return _render_session(session, form, 400 if form.is_submitted() else 200)


@bp.route("/immersion/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@access(SESSION_STAFF)
def cancel_session(session_id: int):
    session = g.immersion_session
    if session.is_cancelled:
        flash("This session is already cancelled.", "danger")
        return _back_to(session.cohort)
    form = CancelSessionForm(data=_opened(session))
    if form.validate_on_submit():
        try:
            services.cancel_session(
                session, by=current_user, version=form.opened_at(), reason=form.reason.data
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"“{session.title}” is cancelled and the attendees told.", "success")
            return _back_to(session.cohort)
    return render_template(
        "immersion/cancel_session.html", session=session, cohort=session.cohort, form=form
    ), (400 if form.is_submitted() else 200)


@bp.route("/immersion/sessions/<int:session_id>/delete", methods=["POST"])
@access(SESSION_STAFF)
def delete_session(session_id: int):
    session = g.immersion_session
    cohort, title = session.cohort, session.title
    form = DeleteSessionForm()
    if form.validate_on_submit():
        try:
            services.delete_session(session, by=current_user, version=form.opened_at())
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"“{title}” is deleted.", "success")
            return _back_to(cohort)
    if session.is_cancelled:
        flash(" ".join(form.form_errors) or "The session could not be deleted.", "danger")
        return _back_to(cohort)
    return _render_session(session, _session_form(session), 400, delete_form=form)


@bp.route("/immersion/cohorts/<int:cohort_id>/attendance.csv")
@access(COHORT_VIEWER)
def export_attendance(cohort_id: int):
    cohort = g.cohort
    attendees, sessions, records, summaries = services.attendance_grid(cohort)

    def rows():
        yield [
            "organisation",
            "attendee",
            "email",
            *[s.title for s in sessions],
            "sessions counted",
            "percent",
            "threshold met",
        ]
        for a in attendees:
            cells = []
            for s in sessions:
                r = records.get((s.id, a.user_id))
                cells.append(f"{r.status} ({r.minutes} min)" if r else "")
            summary = summaries[a.user_id]
            yield [
                a.organisation.name,
                a.user.name,
                a.user.email,
                *cells,
                summary.counted,
                summary.percent,
                "yes" if summary.met else "no",
            ]

    return csv_response(rows(), f"immersion-cohort-{cohort.id}-attendance.csv")


# --- attendance ------------------------------------------------------------------------


def _render_attendance(session, status=200, errors=None, posted=None, preview=None):
    attendees, _sessions, records, _summaries = services.attendance_grid(session.cohort)
    return render_template(
        "immersion/attendance.html",
        session=session,
        cohort=session.cohort,
        attendees=attendees,
        records=records,
        statuses=ATTENDANCE_STATUSES,
        form=ConfirmForm(),
        zoom_form=ZoomReportForm(),
        errors=errors or {},
        posted=posted or {},
        preview=preview,
        is_open=services.attendance_open(session),
        stamp=services.session_stamp(session),
    ), status


@bp.route("/immersion/sessions/<int:session_id>/attendance")
@access(SESSION_STAFF)
def session_attendance(session_id: int):
    return _render_attendance(g.immersion_session)


def _cohort_fields(form) -> dict:
    """What the create and edit forms of a cohort give its service."""
    return dict(
        title=form.title.data,
        description=form.description.data,
        capacity=form.capacity.data,
        booking_deadline=_utc(form.booking_deadline.data),
        session_minimum_percent=form.session_minimum_percent.data,
        attendance_threshold_percent=form.attendance_threshold_percent.data,
    )


def _int(value):
    if value in (None, ""):
        return None
    number = parse_whole(value)
    return -1 if number is None else number  # not a number: refused as out of range


def _user_ids(prefix: str):
    """The user ids named by form fields `<prefix><id>` (others are ignored)."""
    for key in request.form:
        if key.startswith(prefix):
            user_id = _int(key[len(prefix) :])
            if user_id is not None and 0 < user_id < 2**31:
                yield user_id


def _refused_attendance(session, error, *, zoom=False):
    refuse()
    if isinstance(error, services.AttendanceRefused) and not zoom:
        return _render_attendance(session, 400, errors=error.errors, posted=request.form)
    message = f"Nothing was saved: {error.message}" if zoom else error.message
    return _render_attendance(
        session, 400, errors={"zoom" if zoom else "session": message}, posted=request.form
    )


@bp.route("/immersion/sessions/<int:session_id>/attendance", methods=["POST"])
@access(SESSION_STAFF)
def save_attendance(session_id: int):
    session = g.immersion_session
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    rows = [
        services.AttendanceRow(
            user_id,
            status,
            _int(request.form.get(f"minutes-{user_id}")),
            request.form.get(f"reason-{user_id}", "")[:2000],
        )
        for user_id in _user_ids("status-")
        if (status := request.form.get(f"status-{user_id}", ""))  # blank: not recorded yet
    ]
    all_present = request.form.get("action") == "all_present"
    try:
        services.record_session_attendance(
            session,
            by=current_user,
            rows=rows,
            source="hand",
            stamp=request.form.get("stamp"),
            mark_others="present" if all_present else None,
        )
    except ServiceError as error:
        return _refused_attendance(session, error)
    flash(
        f"Attendance saved for “{session.title}”"
        + (": everyone not recorded yet is marked present." if all_present else "."),
        "success",
    )
    return redirect(url_for("immersion.session_attendance", session_id=session.id))


@bp.route("/immersion/sessions/<int:session_id>/zoom", methods=["POST"])
@access(SESSION_STAFF)
def preview_zoom(session_id: int):
    session = g.immersion_session
    form = ZoomReportForm()
    if not form.validate_on_submit():
        abort(400)
    if not services.attendance_open(session):
        return _render_attendance(
            session,
            400,
            errors={
                "zoom": f"“{session.title}” has not started yet: there is no report to import."
            },
        )
    upload = form.report.data
    if upload is None or not upload.filename:
        return _render_attendance(
            session, 400, errors={"zoom": "Choose the CSV file Zoom exported."}
        )
    data = read_limited(upload, 10 * 1024 * 1024)
    if data is None:
        return _render_attendance(session, 400, errors={"zoom": "The report is larger than 10 MB."})
    try:
        report = zoom.parse_report(data)
    except zoom.ReportError as error:
        return _render_attendance(session, 400, errors={"zoom": str(error)})
    people = [a.user for a in services.grid_attendees(session.cohort)]
    staff_emails = [current_user.email]
    proposal = zoom.propose(report, people, ignore_emails=staff_emails)
    return _render_attendance(session, preview={"report": report, "proposal": proposal})


@bp.route("/immersion/sessions/<int:session_id>/zoom/confirm", methods=["POST"])
@access(SESSION_STAFF)
def confirm_zoom(session_id: int):
    session = g.immersion_session
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    # "Mark all as in the Zoom report" saves every row of the preview (ticked or not) and
    # marks the booked people missing from the report absent; "Confirm" the ticked rows.
    everyone = request.form.get("action") == "everyone"
    chosen = set(_user_ids("minutes-" if everyone else "use-"))
    minutes = {
        user_id: (m if (m := _int(request.form.get(f"minutes-{user_id}"))) != -1 else None)
        for user_id in sorted(chosen)
    }
    try:
        saved = services.record_from_report(
            session,
            by=current_user,
            minutes=minutes,
            reason=request.form.get("reason", "")[:2000],
            stamp=request.form.get("stamp"),
            everyone=everyone,
        )
    except ServiceError as error:
        return _refused_attendance(session, error, zoom=True)
    flash(
        "Attendance from the Zoom report saved for everyone booked "
        f"({len(saved)} records new or changed)."
        if everyone
        else f"Attendance from the Zoom report saved for {len(minutes)} people.",
        "success",
    )
    return redirect(url_for("immersion.session_attendance", session_id=session.id))


# --- the organisation's bookings -------------------------------------------------------


def _member_choices(org):
    """Team members to choose from, each with their hub roles as people read them."""
    return choices(
        *(
            (
                str(m.user_id),
                f"{m.user.name} — "
                + ", ".join(label for role, label in HUB_ROLES.items() if role in m.roles),
            )
            for m in org_services.team_members(org)
        )
    )


@bp.route("/organisations/<int:org_id>/immersion")
@access(ORG_VIEWER)
def team_immersion(org_id: int, booking_form=None, status=200, held=None):
    org = g.organisation
    bookings = services.organisation_attendance(org)
    now = utcnow()
    current = services.current_booking(org)
    posted = booking_form[0] if booking_form else None
    # One booking at a time: with one held, the lead moves it rather than booking again
    # (a refused booking's cohort stays on the page, to show why and offer the move).
    open_cohorts = [
        cohort
        for cohort in services.bookable_cohorts(org, also=posted)
        if current is None or cohort.id == posted
    ]
    forms = {}
    for cohort in open_cohorts:
        form = booking_form if booking_form and booking_form[0] == cohort.id else None
        f = form[1] if form else BookingForm(prefix=f"c{cohort.id}")
        f.attendees.choices = _member_choices(org)
        forms[cohort.id] = f
    change_forms = {}
    for booking, _ in bookings:
        f = BookingForm(
            prefix=f"b{booking.id}", attendees=[str(a.user_id) for a in booking.attendees]
        )
        f.attendees.choices = _member_choices(org)
        change_forms[booking.id] = f
    return render_template(
        "immersion/team.html",
        bookings=bookings,
        open_cohorts=open_cohorts,
        forms=forms,
        change_forms=change_forms,
        verified=services.agreements_verified(org),
        current=current,
        held=held,
        refused_cohort=posted,
        now=now,
        **organisation_page(org),
    ), status


@bp.route("/organisations/<int:org_id>/immersion/<int:cohort_id>/book", methods=["POST"])
@access(COHORT_FOR_LEAD)
def book(org_id: int, cohort_id: int):
    org = g.organisation
    cohort = g.cohort
    form = BookingForm(prefix=f"c{cohort.id}")
    form.attendees.choices = _member_choices(org)
    held = None
    if form.validate_on_submit():
        try:
            booking = services.book(org, cohort, by=current_user, attendee_ids=form.attendees.data)
        except ServiceError as error:
            attach_error(form, error)
            held = getattr(error, "booking", None)
        else:
            flash(
                f"Booked on “{cohort.title}”: place confirmed."
                if booking.status == BookingStatus.CONFIRMED
                else f"“{cohort.title}” is full: you are on the waiting list.",
                "success",
            )
            return redirect(url_for("immersion.team_immersion", org_id=org.id))
    return team_immersion(
        org_id,
        booking_form=(cohort.id, form),
        status=400,
        held=db.session.get(Booking, held.id) if held is not None else None,
    )


@bp.route(
    "/organisations/<int:org_id>/immersion/bookings/<int:booking_id>/attendees", methods=["POST"]
)
@access(BOOKING_LEAD)
def change_attendees(org_id: int, booking_id: int):
    org = g.organisation
    booking = g.booking
    form = BookingForm(prefix=f"b{booking.id}")
    form.attendees.choices = _member_choices(org)
    if form.validate_on_submit():
        perform(
            lambda: services.change_attendees(
                booking, by=current_user, attendee_ids=form.attendees.data
            ),
            "Attendees updated.",
        )
    return redirect(url_for("immersion.team_immersion", org_id=org.id))


def _target_cohort(value):
    """The cohort a move names (`to` in the address, `cohort` in the form), if it exists."""
    cohort_id = _int(value)
    if cohort_id is None or not 0 < cohort_id < 2**31:
        return None
    return db.session.get(ImmersionCohort, cohort_id)


@bp.route(
    "/organisations/<int:org_id>/immersion/bookings/<int:booking_id>/move",
    methods=["GET", "POST"],
)
@access(BOOKING_LEAD)
def move_booking(org_id: int, booking_id: int):
    """Step 1 (GET, no `to`): choose the cohort. Step 2 (GET with `to`): what the move
    does, with the button. POST: move."""
    org = g.organisation
    booking = g.booking
    form = MoveBookingForm()
    status = 200
    if request.method == "POST":
        target = _target_cohort(request.form.get("cohort"))
        if form.validate_on_submit() and target is not None:
            try:
                moved, _promoted = services.move(
                    booking, target, by=current_user, accept_waiting=form.accept_waiting.data
                )
            except ServiceError as error:
                attach_error(form, error)
            else:
                flash(
                    f"Booking moved to “{moved.cohort.title}”: "
                    + (
                        "place confirmed."
                        if moved.status == BookingStatus.CONFIRMED
                        else "you are on its waiting list."
                    )
                    + " Your attendees have been told.",
                    "success",
                )
                return redirect(url_for("immersion.team_immersion", org_id=org.id))
        elif target is None:
            form.form_errors.append("Choose the cohort to move to.")
            refuse()
        status = 400
    else:
        target = _target_cohort(request.args.get("to"))
        if request.args.get("to") is not None and target is None:
            status = 404
    booking = db.session.get(Booking, booking.id)  # as stored (a refusal rolled back)
    if target is not None and form.cohort.data is None:
        form.cohort.data = target.id
    return render_template(
        "immersion/move_booking.html",
        booking=booking,
        targets=services.move_targets(booking),
        target=target,
        plan=services.plan_move(booking, target) if target is not None else None,
        form=form,
        **organisation_page(org),
    ), status


@bp.route(
    "/organisations/<int:org_id>/immersion/bookings/<int:booking_id>/cancel",
    methods=["GET", "POST"],
)
@access(BOOKING_LEAD)
def cancel_booking(org_id: int, booking_id: int):
    """GET: what cancelling does, and the button that confirms it. POST: cancel."""
    org = g.organisation
    booking = g.booking
    form = ConfirmForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.cancel(booking, by=current_user)
            except ServiceError as error:
                attach_error(form, error)
            else:
                flash(
                    f"Booking on “{booking.cohort.title}” cancelled. Your attendees have "
                    "been told.",
                    "success",
                )
                return redirect(url_for("immersion.team_immersion", org_id=org.id))
        booking = db.session.get(Booking, booking.id)
    return render_template(
        "immersion/cancel_booking.html", booking=booking, form=form, **organisation_page(org)
    ), (400 if request.method == "POST" else 200)


# --- trainees --------------------------------------------------------------------------


@bp.route("/immersion/mine")
@access(AUTHENTICATED)
def my_immersion():
    rows = services.upcoming_for(current_user)
    sessions = {s.id for s, _b, _l, _p in rows}
    from app.immersion.models import AttendanceRecord

    records = {
        r.session_id: r
        for r in db.session.scalars(
            db.select(AttendanceRecord).where(
                AttendanceRecord.user_id == current_user.id,
                AttendanceRecord.session_id.in_(sessions or {0}),
            )
        )
    }
    return render_template(
        "immersion/mine.html",
        rows=rows,
        records=records,
        pending=services.pending_evaluations(current_user),
    )


@bp.route("/immersion/mine.ics")
@access(AUTHENTICATED)
def my_calendar():
    sessions = [s for s, _b, _l, _p in services.upcoming_for(current_user)]
    response = Response(
        sessions_calendar("My ECHO Immersion sessions", sessions), mimetype="text/calendar"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="my-immersion.ics"'
    return response


# --- recordings, resources, library ----------------------------------------------------


@bp.route("/immersion/sessions/<int:session_id>/recording", methods=["POST"])
@access(SESSION_STAFF)
def set_recording(session_id: int):
    session = g.immersion_session
    form = RecordingForm()
    if form.validate_on_submit():
        perform(
            lambda: services.set_recording(session, by=current_user, url=form.url.data),
            f"Recording link saved for “{session.title}”.",
        )
    return redirect(url_for("immersion.show_library", cohort_id=session.cohort_id))


@bp.route("/immersion/sessions/<int:session_id>/resources", methods=["POST"])
@access(SESSION_STAFF)
def add_resource(session_id: int):
    session = g.immersion_session
    form = ResourceForm(prefix=f"s{session.id}")
    if form.validate_on_submit():
        try:
            services.add_resource(
                session,
                by=current_user,
                title=form.title.data,
                url=form.url.data,
                upload=form.file.data,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Resource added to the library.", "success")
            return redirect(url_for("immersion.show_library", cohort_id=session.cohort_id))
    return _render_library(session.cohort, 400, {session.id: form})


def _render_library(cohort, status=200, resource_forms=None):
    resource_forms = resource_forms or {}
    for session in cohort.sessions:
        resource_forms.setdefault(session.id, ResourceForm(prefix=f"s{session.id}"))
    return render_template(
        "immersion/library.html",
        cohort=cohort,
        library=services.library(cohort),
        resource_forms=resource_forms,
        recording_forms={s.id: RecordingForm(url=s.recording_url) for s in cohort.sessions},
        staff=current_user.has_role("trainer") or current_user.has_role("admin"),
    ), status


@bp.route("/immersion/cohorts/<int:cohort_id>/library")
@access(LIBRARY_USER)
def show_library(cohort_id: int):
    cohort = g.cohort
    return _render_library(cohort)


@bp.route("/immersion/resources/<int:resource_id>")
@access(RESOURCE_USER)
def download_resource(resource_id: int):
    from app.core.storage import send_stored_row

    resource = g.resource
    return send_stored_row(resource)


# --- evaluation ------------------------------------------------------------------------


@bp.route("/immersion/cohorts/<int:cohort_id>/evaluation", methods=["GET", "POST"])
@access(EVALUATOR)
def evaluate(cohort_id: int):
    cohort = g.cohort
    existing = services.my_evaluation(current_user, cohort)
    form = EvaluationForm(comments=existing.comments if existing else "")
    statements = programme().evaluation_statements
    chosen = dict(existing.ratings) if existing else {}
    error = None
    status = 200
    if form.validate_on_submit():
        ratings = {key: _int(request.form.get(f"rating-{key}")) for key, _ in statements}
        chosen = {k: v for k, v in ratings.items() if v}
        try:
            services.submit_evaluation(
                cohort, by=current_user, ratings=ratings, comments=form.comments.data
            )
        except ServiceError as exc:
            refuse()
            error, status = exc.message, 400
        else:
            flash(
                "Thank you: your evaluation is saved. You can change it until "
                f"{format_date(cohort.evaluation_closes_at)}.",
                "success",
            )
            return redirect(url_for("immersion.my_immersion"))
    elif form.is_submitted():
        status = 400
    return render_template(
        "immersion/evaluate.html",
        cohort=cohort,
        form=form,
        statements=statements,
        scale=services.AGREE_SCALE,
        chosen=chosen,
        error=error,
        existing=existing,
        is_open=services.evaluation_open(cohort),
    ), status


@bp.route("/immersion/cohorts/<int:cohort_id>/evaluation/results")
@access(COHORT_VIEWER)
def evaluation_results(cohort_id: int):
    cohort = g.cohort
    responses, rows = services.evaluation_results(cohort)
    return render_template(
        "immersion/evaluation_results.html", cohort=cohort, responses=responses, rows=rows
    )


@bp.route("/immersion/cohorts/<int:cohort_id>/evaluation/results.csv")
@access(COHORT_VIEWER)
def export_evaluation(cohort_id: int):
    cohort = g.cohort
    responses, _rows = services.evaluation_results(cohort)
    statements = programme().evaluation_statements

    def rows():
        yield ["response", "submitted", *[text for _k, text in statements], "comments"]
        for n, r in enumerate(responses, start=1):
            yield [
                n,
                r.submitted_at.isoformat(),
                *[services.AGREE_SCALE.get(r.ratings.get(k), "") for k, _t in statements],
                r.comments,
            ]

    return csv_response(rows(), f"immersion-cohort-{cohort.id}-evaluation.csv")
