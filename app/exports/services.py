"""Exports prepared by a job: an area registers a builder for each kind of export; asking
for one writes an `Export` row and queues the job once that commits; the job writes the
file, marks the export ready and tells the person; they download it (an audit event) from
"My exports" for seven days, after which a periodic job removes the file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import url_for
from sqlalchemy import select

from app.auth.models import User
from app.core import audit, clock, jobs, storage
from app.core.boundary import after_commit
from app.core.errors import ServiceError
from app.exports.models import Export, ExportStatus
from app.extensions import db
from app.notifications.services import notify

KEEP_DAYS = 7


@dataclass(frozen=True)
class Builder:
    label: str
    content_type: str
    build: Callable[[dict], Iterable[bytes]]


BUILDERS: dict[str, Builder] = {}


def builder(kind: str, label: str, content_type: str):
    """Register `fn(params) -> iterable of bytes` as the builder of exports of `kind`."""

    def register(fn: Callable[[dict], Iterable[bytes]]):
        BUILDERS[kind] = Builder(label, content_type, fn)
        return fn

    return register


def request_export(user: User, kind: str, *, params: dict, filename: str) -> Export:
    """Ask for an export; the job starts once this request commits."""
    spec = BUILDERS[kind]
    export = Export(
        user_id=user.id,
        kind=kind,
        label=spec.label,
        params=params,
        filename=filename,
        content_type=spec.content_type,
    )
    db.session.add(export)
    db.session.flush()
    export_id = export.id
    after_commit(lambda: jobs.enqueue("exports.build", export_id))
    return export


@jobs.task("exports.build")
def build(export_id: int) -> None:
    """The job: build the file, mark the export ready (or failed) and tell its owner."""
    export = db.session.get(Export, export_id)
    if export is None or export.status != ExportStatus.PREPARING:
        return  # already built by a duplicate delivery of this job
    owner = db.session.get(User, export.user_id)
    try:
        stored = storage.store_stream(
            BUILDERS[export.kind].build(export.params),
            area="exports",
            original_name=export.filename,
            content_type=export.content_type,
        )
    except Exception as exc:
        db.session.rollback()
        export = db.session.get(Export, export_id)
        export.status = ExportStatus.FAILED
        export.error = f"{type(exc).__name__}: {exc}"[:2000]
        _tell(owner, export, f"Your export could not be prepared: {export.label}")
        raise
    now = clock.now()
    export.storage_key, export.size = stored.key, stored.size
    export.status, export.ready_at = ExportStatus.READY, now
    export.expires_at = now + timedelta(days=KEEP_DAYS)
    _tell(owner, export, f"Your export is ready: {export.label}")


def _tell(owner: User, export: Export, subject: str) -> None:
    link = url_for("exports.list_exports", _external=True)
    notify([owner], template="export_ready", subject=subject, link=link, export=export)
    db.session.commit()


def mine(user: User) -> list[Export]:
    return list(
        db.session.scalars(
            select(Export)
            .where(Export.user_id == user.id)
            .order_by(Export.created_at.desc(), Export.id.desc())
            .limit(50)
        )
    )


def downloadable(export: Export) -> Export:
    """The export, if its file can be downloaded now; ServiceError saying why not."""
    if export.status == ExportStatus.PREPARING:
        raise ServiceError(
            "This export is still being prepared. You will be told when it is ready."
        )
    if export.status == ExportStatus.FAILED:
        raise ServiceError("This export could not be prepared. Ask for it again.")
    if export.status == ExportStatus.EXPIRED or not export.storage_key:
        raise ServiceError(
            f"Exports are kept for {KEEP_DAYS} days; this one has been removed. Ask for it again."
        )
    return export


def record_download(export: Export, *, by: User) -> None:
    audit.record(
        "exports.downloaded",
        actor=by,
        subject_type="export",
        subject_id=str(export.id),
        details={"kind": export.kind, "filename": export.filename, "filters": export.params},
    )


@jobs.periodic("exports.cleanup", every_seconds=3600)
def remove_expired() -> int:
    """Remove the files of exports older than KEEP_DAYS."""
    expired = list(
        db.session.scalars(
            select(Export).where(
                Export.status == ExportStatus.READY, Export.expires_at <= clock.now()
            )
        )
    )
    for export in expired:
        storage.discard(export.storage_key)
        export.status, export.storage_key = ExportStatus.EXPIRED, None
    db.session.commit()
    return len(expired)
