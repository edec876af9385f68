"""The approval dossier: everything behind one hub certificate, on one page and as a PDF.

The application as submitted, the team at approval (snapshotted on the certificate), the
agreements with signatories and verifiers, each checklist item with its evidence and
review trail, module completion per member, Immersion attendance, the assessment and its
rubric, the four-eyes decision, and the certificate's later lifecycle. For a trainee
certificate the dossier is the certificate and its lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import render_template
from sqlalchemy import select
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

from app.assessment.models import Assessment
from app.certificates import services as certificates
from app.certificates.models import Certificate
from app.core import audit, clock
from app.core.db import utcnow
from app.core.storage import path_for
from app.extensions import db
from app.organisations.models import Organisation


@dataclass
class StoredCheck:
    present: bool
    hash_matches: bool
    signature: str  # the PdfCheck result: valid, expired, revoked, superseded, tampered…
    message: str


@dataclass
class Dossier:
    cert: Certificate
    status: str
    org: Organisation
    stored: StoredCheck
    lineage: list[Certificate]
    events: list[audit.AuditEvent]
    today: date
    team: list[dict] = field(default_factory=list)
    assessment: Assessment | None = None
    agreements: list = field(default_factory=list)
    checklist: list = field(default_factory=list)  # (item, answers, comments)
    training: list = field(default_factory=list)
    # Completion per member at approval (snapshotted with the certificate) beside now;
    # None for certificates issued before the snapshot was kept.
    completion: list[dict] | None = None
    history: list = field(default_factory=list)  # the organisation's events, oldest first
    replaced_by: dict = field(default_factory=dict)  # agreement id -> the copy that replaced it
    attendance: list = field(default_factory=list)


def check_stored(cert: Certificate) -> StoredCheck:
    """Is the stored file there, with its recorded hash and an intact signature?"""
    import hashlib

    try:
        data = path_for(cert.storage_key).read_bytes()
    except (FileNotFoundError, OSError):
        return StoredCheck(False, False, "missing", "The stored PDF is missing.")
    matches = hashlib.sha256(data).hexdigest() == cert.sha256
    result = certificates.check_pdf(data)
    return StoredCheck(True, matches, result.result, result.message)


def _lineage(cert: Certificate) -> list[Certificate]:
    """Every certificate of the same kind for the same organisation (and person)."""
    stmt = select(Certificate).where(
        Certificate.organisation_id == cert.organisation_id, Certificate.kind == cert.kind
    )
    if cert.kind == "trainee":
        stmt = stmt.where(Certificate.user_id == cert.user_id)
    return list(db.session.scalars(stmt.order_by(Certificate.issued_at, Certificate.id)))


def build(cert: Certificate) -> Dossier:
    from app.immersion.services import organisation_attendance
    from app.organisations import services as org_services
    from app.readiness import services as readiness
    from app.training.services import team_progress

    org = db.session.get(Organisation, cert.organisation_id)
    lineage = _lineage(cert)
    serials = {c.id for c in lineage}
    events = [
        e
        for e in db.session.scalars(
            select(audit.AuditEvent)
            .where(
                audit.AuditEvent.subject_type == "certificate",
                audit.AuditEvent.organisation_id == org.id,
            )
            .order_by(audit.AuditEvent.seq)
        )
        if e.subject_id is not None and int(e.subject_id) in serials
    ]
    dossier = Dossier(
        cert=cert,
        status=certificates.status_of(cert),
        org=org,
        stored=check_stored(cert),
        lineage=lineage,
        events=events,
        today=clock.today(),
    )
    if cert.kind != "hub":
        return dossier
    dossier.team = (cert.details or {}).get("team") or [
        {"name": m.user.name, "email": m.user.email, "roles": sorted(m.roles)}
        for m in org_services.team_members(org)
    ]
    if cert.assessment_id:
        dossier.assessment = db.session.get(Assessment, cert.assessment_id)
    dossier.agreements = readiness.agreement_history(org)
    dossier.replaced_by = _successors(dossier.agreements)
    dossier.checklist = [
        (item, *readiness.item_history(org, item.key)) for item in readiness.checklist().items
    ]
    dossier.training = team_progress(org_services.team_members(org))
    dossier.completion = completion_then_and_now(cert, dossier.training)
    dossier.history = _organisation_events(org)
    audit.preload_people(dossier.events + dossier.history)
    dossier.attendance = organisation_attendance(org)
    return dossier


def _successors(agreements) -> dict:
    """For each agreement that was replaced, the next copy of the same kind."""
    following: dict = {}
    latest: dict = {}
    for agreement in sorted(agreements, key=lambda a: a.id, reverse=True):
        if agreement.kind in latest:
            following[agreement.id] = latest[agreement.kind]
        latest[agreement.kind] = agreement
    return following


def _organisation_events(org: Organisation) -> list[audit.AuditEvent]:
    """Everything recorded about the organisation, oldest first."""
    return list(
        db.session.scalars(
            select(audit.AuditEvent)
            .where(audit.AuditEvent.organisation_id == org.id)
            .order_by(audit.AuditEvent.seq)
        )
    )


def completion_then_and_now(cert: Certificate, now_rows) -> list[dict] | None:
    """One row per person on the team at approval or now: required modules completed then
    (from the certificate's snapshot) and now, with what is missing in words."""
    then = (cert.details or {}).get("training")
    if then is None:
        return None
    rows: dict[int, dict] = {}
    for entry in then:
        rows[entry["user_id"]] = {
            "name": entry["name"],
            "then": f"{entry['completed']} of {entry['required']}",
            "then_missing": entry["missing"],
            "now": "No longer on the team",
            "now_missing": [],
        }
    for row in now_rows:
        required = [p for p, needed in row.cells if needed]
        done = sum(p.status == "complete" for p in required)
        entry = rows.setdefault(
            row.membership.user_id,
            {"name": row.membership.user.name, "then": "Not on the team", "then_missing": []},
        )
        entry["now"] = f"{done} of {len(required)}"
        entry["now_missing"] = [m.title for m in row.missing]
    return list(rows.values())


class _NoFetch(URLFetcher):
    """The dossier PDF fetches nothing at all: not even data: URIs are needed."""

    def __init__(self):
        super().__init__(allowed_protocols=set(), allow_redirects=False, timeout=1)

    def fetch(self, url, headers=None):
        raise ValueError(f"blocked URL in a dossier: {url[:80]}")


DOSSIER_CSS = """
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: "Page " counter(page) " of "
  counter(pages); font-size: 8pt; color: #555; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #111; }
h1 { font-size: 16pt; margin: 0 0 4pt; } h2 { font-size: 12pt; margin: 14pt 0 4pt;
  border-bottom: 1px solid #999; } h3 { font-size: 10pt; margin: 8pt 0 2pt; }
table { width: 100%; border-collapse: collapse; margin: 4pt 0; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: left; vertical-align: top; }
th { background: #eee; } .muted { color: #555; } .mono { font-family: "DejaVu Sans Mono",
  monospace; font-size: 8pt; overflow-wrap: anywhere; } .nowrap { white-space: nowrap; }
"""


# Archivable and accessible at once: PDF/A-3b (fonts embedded, sRGB output intent, XMP
# metadata) with WeasyPrint's tags added (structure tree, /MarkInfo, /Lang, title). PDF/A-3
# rather than -2 so that files attached later stay allowed.
PDF_VARIANT = "pdf/a-3b"


def render_pdf(dossier: Dossier) -> bytes:
    """The dossier as a tagged PDF/A-3b (the same facts as the page, printable and
    archivable)."""
    html = render_template(
        "audit/dossier_pdf.html", d=dossier, status_label=certificates.status_label, now=utcnow()
    )
    fetcher = _NoFetch()
    return HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=DOSSIER_CSS, url_fetcher=fetcher)],
        pdf_variant=PDF_VARIANT,
        pdf_tags=True,
    )
