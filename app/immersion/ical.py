"""iCalendar files for Immersion sessions (RFC 5545, via the icalendar library).

Each session is one event whose UID never changes; its SEQUENCE is the session's own
counter, raised by every change sent to the attendees, so a calendar that already holds the
entry replaces it. A change is sent as METHOD:PUBLISH (the same as the booking's file, which
names no method), a cancellation as METHOD:CANCEL with STATUS:CANCELLED (RFC 5546), which
calendars that understand it use to remove the entry.
"""

from __future__ import annotations

from email.utils import parseaddr

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from app.core.db import utcnow


def _calendar(name: str, method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//ECHO Hub Onboarding Portal//Immersion//EN")
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    return calendar


def session_uid(session) -> str:
    """The event's UID: the same in every file ever sent for this session."""
    host = current_app.config["PUBLIC_BASE_URL"].split("://")[-1].split("/")[0] or "localhost"
    return f"immersion-session-{session.id}@{host}"


def _organizer() -> vCalAddress:
    # iTIP asks for an ORGANIZER on a CANCEL; the superhub, at the address mail comes from.
    address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")[1]
    organizer = vCalAddress(f"mailto:{address or 'no-reply@localhost'}")
    organizer.params["cn"] = vText(current_app.config.get("SUPERHUB_NAME", "Superhub"))
    return organizer


def _event(session, cancelled: bool | None = None) -> Event:
    cancelled = session.is_cancelled if cancelled is None else cancelled
    event = Event()
    event.add("uid", session_uid(session))
    event.add("dtstamp", utcnow())
    event.add("sequence", session.sequence)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", f"{session.cohort.title}: {session.title}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", _organizer())
    description = [session.cohort.title]
    if cancelled:
        description.insert(0, "Cancelled.")
        reason = session.cancellation_reason or session.cohort.cancellation_reason
        if reason:
            description.insert(1, f"Reason: {reason}")
    if session.facilitators:
        description.append(f"Facilitators: {session.facilitators}")
    if session.join_url and not cancelled:
        description.append(f"Join: {session.join_url}")
        event.add("location", session.join_url)
    event.add("description", "\n".join(description))
    return event


def cohort_calendar(cohort) -> bytes:
    """Every session of a cohort (a cancelled one marked so), for booking confirmations and
    the cohort's download."""
    calendar = _calendar(cohort.title)
    for session in cohort.sessions:
        calendar.add_component(_event(session))
    return calendar.to_ical()


def sessions_calendar(name: str, sessions) -> bytes:
    calendar = _calendar(name)
    for session in sessions:
        calendar.add_component(_event(session))
    return calendar.to_ical()


def session_update(session) -> bytes:
    """One session as it now stands, to replace the entry an attendee's calendar holds."""
    calendar = _calendar(session.cohort.title, method="PUBLISH")
    calendar.add_component(_event(session, cancelled=False))
    return calendar.to_ical()


def session_cancellation(session) -> bytes:
    """One session's cancellation (METHOD:CANCEL, STATUS:CANCELLED, the same UID)."""
    calendar = _calendar(session.cohort.title, method="CANCEL")
    calendar.add_component(_event(session, cancelled=True))
    return calendar.to_ical()
