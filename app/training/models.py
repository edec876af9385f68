"""Progress through the curriculum. Records name a module by slug *and* version, so
editing content never rewrites anyone's history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, utcnow
from app.extensions import db


class TrainingModule(db.Model):
    """A module as last synced from `modules/`."""

    __tablename__ = "training_module"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    order: Mapped[int] = mapped_column(Integer)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModuleVersion(db.Model):
    """Every version of a module the portal has seen, with the hash of its files."""

    __tablename__ = "module_version"
    __table_args__ = (
        UniqueConstraint("module_slug", "version", name="uq_module_version_module_slug_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_slug: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    requires_recompletion: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LessonRead(db.Model):
    __tablename__ = "lesson_read"
    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "module_slug",
            "module_version",
            "lesson_slug",
            name="uq_lesson_read_user_id_module_slug_module_version_lesson_slug",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    module_slug: Mapped[str] = mapped_column(String(80))
    module_version: Mapped[int] = mapped_column(Integer)
    lesson_slug: Mapped[str] = mapped_column(String(80))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Seconds the lesson page was open before "mark as read", summed over each time it was
    # marked (each visit capped); None for reads recorded before the time was kept.
    seconds_open: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When it was last marked read: a page served before this was counted already.
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CheckDraw(db.Model):
    """The questions one attempt asks, drawn from the module's bank, and the order each
    question's choices are shown in. Made when the trainee starts the check, so the page,
    a reload and the marking all read the same attempt; submitted at most once."""

    __tablename__ = "check_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    module_slug: Mapped[str] = mapped_column(String(80))
    module_version: Mapped[int] = mapped_column(Integer)
    # [{"id": question id, "order": [bank choice index shown first, second, …]}, …]
    questions: Mapped[list] = mapped_column(JSON)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def order_of(self, question_id: str) -> list[int] | None:
        return next((q["order"] for q in self.questions if q["id"] == question_id), None)

    @property
    def question_ids(self) -> list[str]:
        return [q["id"] for q in self.questions]


class CheckAttempt(db.Model):
    """One submitted knowledge check, kept whether passed or not."""

    __tablename__ = "check_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    module_slug: Mapped[str] = mapped_column(String(80), index=True)
    module_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)  # percent
    passed: Mapped[bool] = mapped_column(Boolean)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # question id -> chosen indexes
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The draw answered (None for attempts from before checks were drawn: they asked the
    # whole bank in file order); unique, so one draw is never marked twice.
    draw_id: Mapped[int | None] = mapped_column(
        ForeignKey("check_draw.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    # The questions asked, as marked: [{"id", "order", "lesson", "correct"}, …] (None before).
    questions: Mapped[list | None] = mapped_column(JSON, nullable=True)


class ModuleCompletion(db.Model):
    """A module completed: every lesson read and the check passed, for one version."""

    __tablename__ = "module_completion"
    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "module_slug",
            "module_version",
            name="uq_module_completion_user_id_module_slug_module_version",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    module_slug: Mapped[str] = mapped_column(String(80), index=True)
    module_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
