"""The auditor console's reads: the certificate register, exports, the filtered audit log.

Everything here reads; nothing changes the data, except that auditors' exports and
downloads are themselves recorded in the audit log (by the routes).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import defer

from app.certificates.models import Certificate
from app.core import audit, clock
from app.core.csv import csv_lines, safe_cell
from app.core.db import contains_pattern
from app.core.pagination import Page
from app.core.storage import CHUNK, path_for
from app.exports import services as exports
from app.extensions import db
from app.organisations.models import Organisation

PER_PAGE = 25
EVENTS_PER_PAGE = 50


@dataclass(frozen=True)
class RegisterFilters:
    q: str = ""
    status: str = ""
    kind: str = ""
    nation: str = ""
    start: date | None = None
    to: date | None = None
    sort: str = "issued"
    organisation_id: int | None = None


def _status_clause(status: str, today: date):
    current = and_(Certificate.revoked_at.is_(None), Certificate.superseded_by_id.is_(None))
    return {
        "revoked": Certificate.revoked_at.is_not(None),
        "superseded": and_(
            Certificate.revoked_at.is_(None), Certificate.superseded_by_id.is_not(None)
        ),
        "expired": and_(current, Certificate.expires_on < today),
        "valid": and_(current, Certificate.expires_on >= today),
    }[status]


def _local_midnight(day: date) -> datetime:
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


SORTS = {
    "issued": (Certificate.issued_at.desc(), Certificate.id.desc()),
    "issued_asc": (Certificate.issued_at.asc(), Certificate.id.asc()),
    "expires": (Certificate.expires_on.asc(), Certificate.id.asc()),
    "serial": (Certificate.serial.asc(),),
    "organisation": (func.lower(Certificate.organisation_name).asc(), Certificate.id.asc()),
}


def register_query(filters: RegisterFilters) -> Select:
    """Certificates matching `filters`, in the chosen order (one SELECT)."""
    stmt = select(Certificate).join(Organisation, Organisation.id == Certificate.organisation_id)
    if filters.q:
        pattern = contains_pattern(filters.q)
        stmt = stmt.where(
            or_(
                func.lower(Certificate.serial).like(pattern, escape="\\"),
                func.lower(Certificate.organisation_name).like(pattern, escape="\\"),
                func.lower(Organisation.name).like(pattern, escape="\\"),
                func.lower(Certificate.person_name).like(pattern, escape="\\"),
                func.lower(Certificate.network_name).like(pattern, escape="\\"),
            )
        )
    if filters.status:
        stmt = stmt.where(_status_clause(filters.status, clock.today()))
    if filters.kind:
        stmt = stmt.where(Certificate.kind == filters.kind)
    if filters.nation:
        stmt = stmt.where(Organisation.nation == filters.nation)
    if filters.organisation_id:
        stmt = stmt.where(Certificate.organisation_id == filters.organisation_id)
    if filters.start:
        stmt = stmt.where(Certificate.issued_at >= _local_midnight(filters.start))
    if filters.to:
        stmt = stmt.where(Certificate.issued_at < _local_midnight(filters.to + timedelta(days=1)))
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["issued"]))


def register_page(filters: RegisterFilters, page: int):
    """One page of the register (a COUNT and a SELECT); a page past the end shows the last."""
    # The details (team snapshot, requirements) are for the dossier; the list never shows them.
    stmt = register_query(filters).options(defer(Certificate.details))
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    if pagination.pages and page > pagination.pages:
        pagination = db.paginate(stmt, page=pagination.pages, per_page=PER_PAGE, error_out=False)
    return pagination


REGISTER_COLUMNS = (
    "serial",
    "type",
    "status",
    "organisation",
    "network",
    "theme",
    "person",
    "issued",
    "approved",
    "expires",
    "approved_by",
    "single_person_approval",
    "revoked_on",
    "revocation_reason",
    "superseded_by",
    "sha256",
)


def register_rows(filters: RegisterFilters) -> Iterator[list]:
    """The filtered register as CSV rows (header first), read in batches."""
    yield list(REGISTER_COLUMNS)
    today = clock.today()
    successors = dict(
        db.session.execute(
            select(Certificate.id, Certificate.serial).where(
                Certificate.id.in_(
                    select(Certificate.superseded_by_id).where(
                        Certificate.superseded_by_id.is_not(None)
                    )
                )
            )
        ).all()
    )
    for cert in db.session.scalars(register_query(filters).execution_options(yield_per=500)):
        yield [
            cert.serial,
            cert.kind,
            cert.status_on(today),
            cert.organisation_name,
            cert.network_name,
            cert.theme,
            cert.person_name,
            cert.issued_at.date().isoformat(),
            cert.approved_on.isoformat(),
            cert.expires_on.isoformat(),
            "; ".join(cert.approvers or []),
            "yes" if cert.single_person else "",
            cert.revoked_at.date().isoformat() if cert.revoked_at else "",
            cert.revocation_reason,
            successors.get(cert.superseded_by_id, ""),
            cert.sha256,
        ]


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are collected and handed out between writes."""

    def __init__(self):
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


@dataclass(frozen=True)
class ZipEntry:
    serial: str
    organisation: str
    status: str
    sha256: str
    storage_key: str


def zip_entries(filters: RegisterFilters) -> list[ZipEntry]:
    """What the ZIP will hold, read before streaming starts (small rows, not files)."""
    today = clock.today()
    return [
        ZipEntry(c.serial, c.organisation_name, c.status_on(today), c.sha256, c.storage_key)
        for c in db.session.scalars(register_query(filters))
    ]


def stream_zip(entries: list[ZipEntry]) -> Iterator[bytes]:
    """A ZIP of the certificates' stored PDFs and a manifest.csv, produced piece by piece.

    Member names come from serials only. Files are copied in chunks, so memory stays flat
    whatever the number of certificates; nothing is built on disk.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(f"{entry.serial}.pdf", date_time=(2026, 1, 1, 0, 0, 0))
            with (
                archive.open(info, mode="w") as member,
                path_for(entry.storage_key).open("rb") as source,
            ):
                while chunk := source.read(CHUNK):
                    member.write(chunk)
                    yield sink.take()
            yield sink.take()
        manifest = io.StringIO()
        writer = csv.writer(manifest, dialect="excel")
        writer.writerow(["file", "serial", "organisation", "status", "sha256"])
        for entry in entries:
            writer.writerow(
                [
                    f"{entry.serial}.pdf",
                    entry.serial,
                    safe_cell(entry.organisation),
                    entry.status,
                    entry.sha256,
                ]
            )
        archive.writestr("manifest.csv", "\ufeff" + manifest.getvalue())
    yield sink.take()


# --- the audit log ------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilters:
    organisation: str = ""
    actor: str = ""
    action: str = ""
    start: date | None = None
    to: date | None = None


def events_query(filters: EventFilters) -> Select:
    stmt = select(audit.AuditEvent)
    if filters.organisation:
        matching = select(Organisation.id).where(
            func.lower(Organisation.name).like(contains_pattern(filters.organisation), escape="\\")
        )
        stmt = stmt.where(audit.AuditEvent.organisation_id.in_(matching))
    if filters.actor:
        stmt = stmt.where(
            func.lower(audit.AuditEvent.actor_label).like(
                contains_pattern(filters.actor), escape="\\"
            )
        )
    if filters.action:
        stmt = stmt.where(audit.AuditEvent.action == filters.action)
    if filters.start:
        stmt = stmt.where(audit.AuditEvent.occurred_at >= _local_midnight(filters.start))
    if filters.to:
        stmt = stmt.where(
            audit.AuditEvent.occurred_at < _local_midnight(filters.to + timedelta(days=1))
        )
    return stmt.order_by(audit.AuditEvent.seq.desc())


def events_page(filters: EventFilters, page: int):
    """One page of events, newest first. Unfiltered, the chain head gives the total and
    the page is a range of sequence numbers (no COUNT or OFFSET over the whole log)."""
    if filters == EventFilters():
        total = (
            db.session.scalar(select(audit.AuditChainHead.seq).where(audit.AuditChainHead.id == 1))
            or 0
        )
        page = min(page, max(1, -(-total // EVENTS_PER_PAGE)))
        top = total - (page - 1) * EVENTS_PER_PAGE
        items = list(
            db.session.scalars(
                select(audit.AuditEvent)
                .where(audit.AuditEvent.seq <= top)
                .order_by(audit.AuditEvent.seq.desc())
                .limit(EVENTS_PER_PAGE)
            )
        )
        audit.preload_people(items)
        return Page(items, total, page, EVENTS_PER_PAGE)
    stmt = events_query(filters)
    pagination = db.paginate(stmt, page=page, per_page=EVENTS_PER_PAGE, error_out=False)
    if pagination.pages and page > pagination.pages:
        pagination = db.paginate(
            stmt, page=pagination.pages, per_page=EVENTS_PER_PAGE, error_out=False
        )
    audit.preload_people(pagination.items)
    return pagination


def organisation_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    ).all()
    return {row.id: row.name for row in rows}


def event_rows(filters: EventFilters) -> Iterator[list]:
    yield [
        "seq",
        "time_utc",
        "actor",
        "action",
        "description",
        "subject",
        "organisation",
        "details",
    ]
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    for event in db.session.scalars(events_query(filters).execution_options(yield_per=1000)):
        yield [
            event.seq,
            event.occurred_at.astimezone(UTC).isoformat(timespec="seconds"),
            event.actor_label,
            event.action,
            audit.describe(event),
            f"{event.subject_type or ''} {event.subject_id or ''}".strip(),
            names.get(event.organisation_id, ""),
            audit.json_details(event),
        ]


# --- exports prepared off the request ---------------------------------------------------------


def filters_from(params: dict, cls):
    """Filters rebuilt from their JSON summary (dates as ISO strings)."""
    values = dict(params)
    for name in ("start", "to"):
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def count_register(filters: RegisterFilters) -> int:
    return db.session.scalar(select(func.count()).select_from(register_query(filters).subquery()))


def count_events(filters: EventFilters) -> int:
    return db.session.scalar(select(func.count()).select_from(events_query(filters).subquery()))


def _encoded(lines) -> Iterator[bytes]:
    for line in lines:
        yield line.encode("utf-8")


@exports.builder("audit.register_csv", "Certificate register (CSV)", "text/csv; charset=utf-8")
def _register_csv(params: dict) -> Iterator[bytes]:
    return _encoded(csv_lines(register_rows(filters_from(params, RegisterFilters))))


@exports.builder("audit.register_zip", "Certificates and manifest (ZIP)", "application/zip")
def _register_zip(params: dict) -> Iterator[bytes]:
    return stream_zip(zip_entries(filters_from(params, RegisterFilters)))


@exports.builder("audit.log_csv", "Audit log (CSV)", "text/csv; charset=utf-8")
def _log_csv(params: dict) -> Iterator[bytes]:
    return _encoded(csv_lines(event_rows(filters_from(params, EventFilters))))


@exports.builder("audit.dossier_pdf", "Approval dossier (PDF)", "application/pdf")
def _dossier_pdf(params: dict) -> Iterator[bytes]:
    from app.audit import dossier

    cert = db.session.get(Certificate, int(params["cert_id"]))
    if cert is None:
        raise LookupError("the certificate of this dossier no longer exists")
    yield dossier.render_pdf(dossier.build(cert))


def dossier_is_large(events: int) -> bool:
    """Whether a dossier with this many history events is prepared by a job (its PDF takes
    WeasyPrint seconds) rather than while the person waits."""
    return events > current_app.config["EXPORT_ASYNC_DOSSIER_EVENTS"]
