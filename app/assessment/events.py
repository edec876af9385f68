"""The audit actions of readiness assessments, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "assessment.written": "wrote a readiness assessment",
    "assessment.approved": "approved a readiness assessment (second trainer)",
    "assessment.sent_back": "sent a readiness assessment back",
}


def _assessment(details: dict) -> list[str]:
    recommendation = details.pop("recommendation", "")
    return [f"recommending {recommendation.replace('_', ' ')}"] if recommendation else []


audit.register_actions(ACTIONS, _assessment)
