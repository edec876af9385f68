"""The Immersion area's public surface: what routes, the demo and other areas call.

The rules live in one module per sub-domain, each saying what it offers:
`cohorts` (cohorts and sessions, changing, cancelling and copying them, who is booked),
`bookings` (places, waiting list, my sessions), `attendance` (recording, the grid, the
standing readiness reads), `library` (recordings and resources) and `evaluation`. Import
from here, or from the sub-module when working inside the area.
"""

from __future__ import annotations

from app.immersion.attendance import (  # noqa: F401
    AttendanceRefused,
    AttendanceRow,
    AttendanceStanding,
    AttendeeSummary,
    GridAttendee,
    attendance_grid,
    attendance_open,
    attendance_standing,
    grid_attendees,
    organisation_attendance,
    record_attendance,
    record_from_report,
    record_session_attendance,
    session_stamp,
    status_for_minutes,
)
from app.immersion.bookings import (  # noqa: F401
    BOOKABLE,
    AlreadyBooked,
    MovePlan,
    active_booking,
    agreements_verified,
    book,
    bookable_cohorts,
    cancel,
    change_attendees,
    cohort_bookings,
    current_booking,
    move,
    move_targets,
    plan_move,
    ready_to_book,
    unbooked_ready_organisations,
    upcoming_for,
)
from app.immersion.cohorts import (  # noqa: F401
    ACTIVE,
    PAST_TICK,
    add_session,
    booked_attendees,
    cancel_cohort,
    cancel_session,
    cohort_history,
    confirmed_count,
    copyable_sessions,
    create_cohort,
    delete_session,
    duplicate_cohort,
    list_cohorts,
    set_cohort_status,
    update_cohort,
    update_session,
)
from app.immersion.evaluation import (  # noqa: F401
    AGREE_SCALE,
    evaluation_open,
    evaluation_results,
    is_attendee,
    my_evaluation,
    pending_evaluations,
    submit_evaluation,
)
from app.immersion.library import (  # noqa: F401
    add_resource,
    can_use_library,
    library,
    set_recording,
)
