"""A trainer's readiness assessment of one organisation, and the decision on it.

An assessment records the requirements exactly as they stood when it was written
(`requirements_snapshot`), the rubric scores and the recommendation. A recommendation to
approve waits for a decision by a second trainer (four-eyes); the decision is stored on
the same row and never edited afterwards.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import EnumText, UTCDateTime, utcnow
from app.extensions import db

RECOMMENDATIONS: dict[str, str] = {
    "approve": "Approve as a hub",
    "request_changes": "Request changes (back to training)",
    "reject": "Reject",
}


class AssessmentStatus(StrEnum):
    """awaiting_decision → approved | sent_back; request_changes and reject are final at once."""

    AWAITING_DECISION = "awaiting_decision"
    APPROVED = "approved"
    SENT_BACK = "sent_back"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"


ASSESSMENT_STATUSES: dict[str, str] = {
    "awaiting_decision": "Awaiting a second trainer's decision",
    "approved": "Approved",
    "sent_back": "Sent back by the second trainer",
    "changes_requested": "Changes requested",
    "rejected": "Rejected",
}

SCORE_LABELS: dict[int, str] = {
    1: "1 — Not yet",
    2: "2 — Partly in place",
    3: "3 — In place",
    4: "4 — Strong",
}


class Assessment(db.Model):
    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # [{"key", "title", "met", "summary", "details", "done", "total"}] as it stood then.
    requirements_snapshot: Mapped[list] = mapped_column(JSON, default=list)
    # [{"key", "title", "score", "comment"}] in rubric order.
    rubric: Mapped[list] = mapped_column(JSON, default=list)
    overall_notes: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(String(20))
    changes_list: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[AssessmentStatus] = mapped_column(EnumText(AssessmentStatus), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_notes: Mapped[str] = mapped_column(Text, default="")
    single_person: Mapped[bool] = mapped_column(Boolean, default=False)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    organisation = relationship("Organisation")

    @property
    def recommendation_label(self) -> str:
        return RECOMMENDATIONS.get(self.recommendation, self.recommendation)

    @property
    def status_label(self) -> str:
        return ASSESSMENT_STATUSES.get(self.status, self.status)

    @property
    def total_score(self) -> int:
        return sum(int(c.get("score") or 0) for c in self.rubric)

    @property
    def max_score(self) -> int:
        return 4 * len(self.rubric)
