"""The last step of the journey: the hub lead records the date of the network's first ECHO
session, and the approved hub becomes launched."""

from __future__ import annotations

from datetime import date

from app.auth.models import User
from app.core import clock
from app.core.errors import ServiceError
from app.core.filters import long_date
from app.organisations import journey
from app.organisations.access import is_hub_lead
from app.organisations.models import Organisation, Stage


def record_launch(org: Organisation, *, by: User, first_session_on: date | None) -> None:
    """approved → launched, with the date of the network's first ECHO session: not in the
    future, and not before the day the hub was approved."""
    if not is_hub_lead(by, org):
        raise ServiceError("Only the organisation's hub lead can record the launch.")
    if org.stage != Stage.APPROVED:
        raise ServiceError(
            f"Only an approved hub can record its launch; {org.name} is at "
            f"“{journey.stage_label(org.stage)}”."
        )
    if first_session_on is None:
        raise ServiceError("Give the date of the first ECHO session.", field="first_session_on")
    if first_session_on > clock.today():
        raise ServiceError(
            "Record the launch once the first session has happened: that date is in the future.",
            field="first_session_on",
        )
    # The organisation is at "approved": its last stage change is the approval.
    approved_on = (
        org.stage_changed_at.astimezone(clock.zone()).date() if org.stage_changed_at else None
    )
    if approved_on is not None and first_session_on < approved_on:
        raise ServiceError(
            f"The first session must be on or after the approval date ({long_date(approved_on)}).",
            field="first_session_on",
        )
    journey.move(
        org, "launch", by=by, reason=f"First ECHO session on {long_date(first_session_on)}"
    )
    org.first_session_on = first_session_on
