"""iCalendar files for Immersion sessions (RFC 5545, via the icalendar library)."""

from __future__ import annotations

from flask import current_app
from icalendar import Calendar, Event

from app.core.db import utcnow


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//ECHO Hub Onboarding Portal//Immersion//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(session) -> Event:
    event = Event()
    host = current_app.config["PUBLIC_BASE_URL"].split("://")[-1].split("/")[0] or "localhost"
    event.add("uid", f"immersion-session-{session.id}@{host}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", f"{session.cohort.title}: {session.title}")
    description = [session.cohort.title]
    if session.facilitators:
        description.append(f"Facilitators: {session.facilitators}")
    if session.join_url:
        description.append(f"Join: {session.join_url}")
        event.add("location", session.join_url)
    event.add("description", "\n".join(description))
    return event


def cohort_calendar(cohort) -> bytes:
    """Every session of a cohort, for booking confirmations."""
    calendar = _calendar(cohort.title)
    for session in cohort.sessions:
        calendar.add_component(_event(session))
    return calendar.to_ical()


def sessions_calendar(name: str, sessions) -> bytes:
    calendar = _calendar(name)
    for session in sessions:
        calendar.add_component(_event(session))
    return calendar.to_ical()
