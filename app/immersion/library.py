"""Immersion recordings and the cohort's resource library: who may use it, what it holds."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.core import audit
from app.core.errors import ServiceError
from app.core.roles import ADMIN, TRAINER
from app.extensions import db
from app.immersion.cohorts import _require_staff
from app.immersion.models import (
    Booking,
    BookingStatus,
    ImmersionCohort,
    ImmersionSession,
    SessionResource,
)
from app.organisations.models import Membership


def set_recording(session: ImmersionSession, *, by: User, url: str) -> None:
    _require_staff(by)
    url = (url or "").strip()
    if url and not url.startswith("https://"):
        raise ServiceError("The recording link must start with https://.", field="url")
    session.recording_url = url
    audit.record("immersion.recording_set", actor=by, subject=session, details={"url": url})


def add_resource(
    session: ImmersionSession, *, by: User, title: str, url: str = "", upload=None
) -> SessionResource:
    """A link or an uploaded file (same checks as evidence) for the cohort's library."""
    from app.core.storage import store_upload

    _require_staff(by)
    title = (title or "").strip()
    if not title:
        raise ServiceError("Give the resource a title.", field="title")
    url = (url or "").strip()
    has_file = upload is not None and getattr(upload, "filename", "")
    if bool(url) == bool(has_file):
        raise ServiceError("Give either a link or a file.", field="url")
    resource = SessionResource(session_id=session.id, title=title, added_by_id=by.id)
    if url:
        if not url.startswith("https://"):
            raise ServiceError("The link must start with https://.", field="url")
        resource.url = url
    else:
        stored = store_upload(upload, area=f"immersion-{session.cohort_id}")
        resource.storage_key = stored.key
        resource.original_name = stored.original_name
        resource.content_type = stored.content_type
        resource.size = stored.size
        resource.sha256 = stored.sha256
    db.session.add(resource)
    db.session.flush()
    audit.record(
        "immersion.resource_added",
        actor=by,
        subject=resource,
        details={"session": session.id, "title": title},
    )
    return resource


def can_use_library(user: User, cohort: ImmersionCohort) -> bool:
    """Trainers, admins, and members of organisations with a confirmed place on the cohort."""
    if not user.is_authenticated:
        return False
    if user.has_role(TRAINER) or user.has_role(ADMIN):
        return True
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Membership, Membership.organisation_id == Booking.organisation_id)
            .where(
                Booking.cohort_id == cohort.id,
                Booking.status == BookingStatus.CONFIRMED,
                Membership.user_id == user.id,
            )
        )
        > 0
    )


def library(cohort: ImmersionCohort) -> list[tuple[ImmersionSession, list[SessionResource]]]:
    resources: dict[int, list[SessionResource]] = {}
    for resource in db.session.scalars(
        select(SessionResource)
        .join(ImmersionSession)
        .where(ImmersionSession.cohort_id == cohort.id)
        .order_by(SessionResource.id)
    ):
        resources.setdefault(resource.session_id, []).append(resource)
    return [(s, resources.get(s.id, [])) for s in cohort.sessions]
