"""Immersion: cohorts, sessions, bookings, attendance (by hand and from Zoom reports)."""
