"""Immersion cohorts, their sessions, team bookings and attendance with its history."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import EnumText, UTCDateTime, utcnow
from app.extensions import db
from app.organisations.models import Organisation


class CohortStatus(StrEnum):
    OPEN = "open"
    FULL = "full"  # open, with a waiting list
    CLOSED = "closed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    PARTIAL = "partial"
    ABSENT = "absent"


COHORT_STATUSES = {
    "open": "Open for booking",
    "full": "Full (waiting list)",
    "closed": "Booking closed",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
ATTENDANCE_STATUSES = {"present": "Present", "partial": "Partly present", "absent": "Absent"}


class ImmersionCohort(db.Model):
    cache_groups = ("immersion-grid",)  # the cohort page's attendance grid (core/cache.py)
    __tablename__ = "immersion_cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer)  # organisations
    booking_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[CohortStatus] = mapped_column(
        EnumText(CohortStatus), default=CohortStatus.OPEN, index=True
    )
    # Attendance rules: a session counts at this % of its length; the cohort is met at
    # this % of sessions (programme defaults, adjustable per cohort).
    session_minimum_percent: Mapped[int] = mapped_column(Integer, default=75)
    attendance_threshold_percent: Mapped[int] = mapped_column(Integer, default=80)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    evaluation_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped by every trainer's change: an edit form carries the version it was opened at,
    # and a save against an older one is refused rather than merged (two trainers at once).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The cohort this one was duplicated from (a template for the next quarter).
    copied_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("immersion_cohort.id", ondelete="SET NULL")
    )

    sessions: Mapped[list[ImmersionSession]] = relationship(
        back_populates="cohort",
        order_by="ImmersionSession.starts_at",
        cascade="all, delete-orphan",
    )

    @property
    def status_label(self) -> str:
        return COHORT_STATUSES.get(self.status, self.status)

    @property
    def is_cancelled(self) -> bool:
        return self.status == CohortStatus.CANCELLED

    @property
    def held_sessions(self) -> list[ImmersionSession]:
        """The sessions that count (every one not cancelled), in order."""
        return [s for s in self.sessions if s.cancelled_at is None]


class ImmersionSession(db.Model):
    cache_groups = ("immersion-grid",)  # the cohort page's attendance grid (core/cache.py)
    __tablename__ = "immersion_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_cohort.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer)
    join_url: Mapped[str] = mapped_column(String(500), default="")
    facilitators: Mapped[str] = mapped_column(String(300), default="")
    prework_modules: Mapped[list[str]] = mapped_column(JSON, default=list)
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    # The edit form's optimistic lock, as on the cohort.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # iCalendar SEQUENCE (RFC 5545): raised with every change sent to the attendees, so a
    # calendar replaces the entry it holds (same UID) instead of keeping the old one.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A cancelled session stays on the cohort, marked, and no longer counts for attendance.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    cohort: Mapped[ImmersionCohort] = relationship(back_populates="sessions")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    def minimum_minutes(self, percent: int) -> int:
        return -(-self.duration_minutes * percent // 100)  # round up


class Booking(db.Model):
    """An organisation's place (or place in the queue) on a cohort."""

    cache_groups = ("immersion-grid",)  # the cohort page's attendance grid (core/cache.py)
    __tablename__ = "immersion_booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_cohort.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[BookingStatus] = mapped_column(EnumText(BookingStatus), index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    cohort: Mapped[ImmersionCohort] = relationship()
    organisation: Mapped[Organisation] = relationship()
    attendees: Mapped[list[BookingAttendee]] = relationship(
        back_populates="booking", cascade="all, delete-orphan", lazy="selectin"
    )


class BookingAttendee(db.Model):
    cache_groups = ("immersion-grid",)  # the cohort page's attendance grid (core/cache.py)
    __tablename__ = "immersion_booking_attendee"
    __table_args__ = (
        UniqueConstraint("booking_id", "user_id", name="uq_immersion_booking_attendee_booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_booking.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)

    booking: Mapped[Booking] = relationship(back_populates="attendees")
    user: Mapped[User] = relationship(lazy="selectin")


class AttendanceRecord(db.Model):
    cache_groups = ("immersion-grid",)  # the cohort page's attendance grid (core/cache.py)
    __tablename__ = "immersion_attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_immersion_attendance_session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_session.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(EnumText(AttendanceStatus, 10))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10), default="hand")  # hand or zoom
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def status_label(self) -> str:
        return ATTENDANCE_STATUSES.get(self.status, self.status)


class AttendanceChange(db.Model):
    """Every change to an existing attendance record, with its reason (kept for ever)."""

    __tablename__ = "immersion_attendance_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_attendance.id", ondelete="CASCADE"), index=True
    )
    old_status: Mapped[AttendanceStatus] = mapped_column(EnumText(AttendanceStatus, 10))
    old_minutes: Mapped[int] = mapped_column(Integer)
    new_status: Mapped[AttendanceStatus] = mapped_column(EnumText(AttendanceStatus, 10))
    new_minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    changed_by: Mapped[User | None] = relationship()


class SessionResource(db.Model):
    """A handout, slides or a link attached to a session, for the cohort's library."""

    __tablename__ = "immersion_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_session.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[ImmersionSession] = relationship()


class EvaluationResponse(db.Model):
    """One attendee's end-of-cohort evaluation (editable until the evaluation closes)."""

    __tablename__ = "immersion_evaluation"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id", name="uq_immersion_evaluation_cohort_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("immersion_cohort.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    ratings: Mapped[dict] = mapped_column(JSON, default=dict)  # statement key -> 1..5
    comments: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
