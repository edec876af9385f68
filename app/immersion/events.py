"""The audit actions of Immersion cohorts, bookings, attendance and the library, in plain words."""

from __future__ import annotations

from app.core import audit
from app.immersion.models import ATTENDANCE_STATUSES

COHORTS = {
    "immersion.cohort_created": "created an Immersion cohort",
    "immersion.cohort_status": "changed an Immersion cohort's status",
    "immersion.cohort_changed": "edited an Immersion cohort",
    "immersion.cohort_cancelled": "cancelled an Immersion cohort",
    "immersion.cohort_duplicated": "made a new Immersion cohort as a copy of another",
}
SESSIONS = {
    "immersion.session_added": "added a session to an Immersion cohort",
    "immersion.session_changed": "edited an Immersion session",
    "immersion.session_moved": "moved an Immersion session",
    "immersion.session_cancelled": "cancelled an Immersion session",
    "immersion.session_deleted": "deleted an Immersion session",
}
BOOKINGS = {
    "immersion.booked": "booked places in an Immersion cohort",
    "immersion.attendees_changed": "changed who attends an Immersion booking",
    "immersion.cancelled": "cancelled an Immersion booking",
    "immersion.moved": "moved an Immersion booking to another cohort",
    "immersion.promoted": "moved an Immersion booking from the waiting list to a place",
}
ATTENDANCE = {
    "immersion.attendance_recorded": "recorded Immersion attendance",
    "immersion.attendance_changed": "corrected Immersion attendance",
}
LIBRARY = {
    "immersion.recording_set": "linked a session recording",
    "immersion.resource_added": "added a resource to a cohort's library",
    "immersion.evaluated": "answered a cohort's evaluation",
}


def _attendance_words(value) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:
        status, minutes = value
        label = ATTENDANCE_STATUSES.get(status, status)
        return f"{label.lower()}, {minutes} min" if minutes is not None else label.lower()
    return str(value)


def _changes(details: dict) -> list[str]:
    """ "capacity 10 → 12" for each change a trainer made (the values already in words)."""
    changes = details.pop("changes", None) or {}
    return [f"{name} {old} → {new}" for name, (old, new) in changes.items()]


def _count(n, one: str) -> str:
    return f"{n} {one}{'' if n == 1 else 's'}"


def _cohort(details: dict) -> list[str]:
    words = []
    title = details.pop("title", "")
    if title:
        words.append(title)
    if "from" in details and "to" in details:
        words.append(f"{details.pop('from')} → {details.pop('to')}")
    words += _changes(details)
    source = details.pop("copied_from_title", "")
    if source:
        words.append(f"copy of {source}")
    if "sessions" in details:
        words.append(_count(details.pop("sessions"), "session"))
    if "first" in details:
        words.append(f"first session {details.pop('first')}")
    if "deadline" in details:
        words.append(f"booking deadline {details.pop('deadline')}")
    if "bookings" in details:
        words.append(f"{_count(details.pop('bookings'), 'booking')} released")
    if details.get("promoted"):
        words.append(
            f"{_count(details.pop('promoted'), 'organisation')} given a place from the waiting list"
        )
    return words


def _session(details: dict) -> list[str]:
    words = [details.pop("title", "")]
    if "when" in details:
        words.append(details.pop("when"))
    words += _changes(details)
    if details.pop("already_took_place", False):
        words.append("a session that already took place")
    return words


_HELD = {"confirmed": "a confirmed place", "waiting": "a waiting-list place"}


def _booking(details: dict) -> list[str]:
    words = []
    title = details.pop("title", "")
    status = details.pop("status", "")
    was = details.pop("was", "")
    from_title = details.pop("from_title", "")
    for key in ("cohort", "from_cohort", "to_cohort", "old_booking"):
        details.pop(key, None)
    if from_title:  # a move
        words.append(f"from “{from_title}” ({_HELD.get(was, was)}) to “{title}”")
        if status:
            words.append("place confirmed" if status == "confirmed" else "on the waiting list")
    else:
        if title:
            words.append(f"“{title}”")
        if was:
            words.append(f"gave up {_HELD.get(was, was)}")
        if status:
            words.append(status.replace("_", " "))
    attendees = details.pop("attendees", None)
    if attendees is not None:
        words.append(f"{len(attendees)} attendee{'s' if len(attendees) != 1 else ''}")
    if "after" in details:
        details.pop("before", None)
        after = details.pop("after") or []
        words.append(f"now {len(after)} attendee{'s' if len(after) != 1 else ''}")
    return words


def _attendance(details: dict) -> list[str]:
    words = []
    for key in ("session", "user"):
        details.pop(key, None)
    person, title = details.pop("person", ""), details.pop("session_title", "")
    if person or title:
        words.append(" at ".join(f"{w}" for w in (person, f"“{title}”" if title else "") if w))
    status = details.pop("status", "")
    if status:
        minutes = details.pop("minutes", None)
        words.append(_attendance_words([status, minutes]))
    if "from" in details and "to" in details:
        words.append(
            f"{_attendance_words(details.pop('from'))} → {_attendance_words(details.pop('to'))}"
        )
    source = details.pop("source", "")
    if source:
        words.append(SOURCES.get(source, f"from {source.replace('_', ' ')}"))
    return words


SOURCES = {"hand": "entered by hand", "zoom": "from the Zoom participants report"}


def _library(details: dict) -> list[str]:
    return [details.pop("title", "")]


audit.register_actions(COHORTS, _cohort)
audit.register_actions(SESSIONS, _session)
audit.register_actions(BOOKINGS, _booking)
audit.register_actions(ATTENDANCE, _attendance)
audit.register_actions(LIBRARY, _library)
