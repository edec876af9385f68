"""Helpers for readiness tests: real minimal evidence files, uploads, and an organisation
brought to any point of readiness through the real services.

The files are genuine (a PDF with a catalogue, a PNG and JPEG made by Pillow, DOCX and
XLSX archives with `[Content_Types].xml` and `word/document.xml` / `xl/workbook.xml`),
so they pass the content checks for the right reasons.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from datetime import timedelta
from pathlib import Path

from PIL import Image
from werkzeug.datastructures import FileStorage

from app.core import clock
from app.demo.files import one_page_pdf
from app.extensions import db
from app.readiness import services
from app.training import services as training

# --- files -------------------------------------------------------------------------------

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def pdf_bytes(text: str = "Signed agreement") -> bytes:
    """A small valid one-page PDF (exact xref offsets)."""
    return one_page_pdf(text)


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (0x5B, 0x8C, 0x2A)).save(buffer, format=fmt)
    return buffer.getvalue()


def png_bytes() -> bytes:
    return _image("PNG")


def jpeg_bytes() -> bytes:
    return _image("JPEG")


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="{part}" ContentType="{type}"/></Types>'
)


def docx_bytes() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": CONTENT_TYPES.format(
                part="/word/document.xml",
                type=f"{DOCX_TYPE}.main+xml",
            ),
            "word/document.xml": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                '2006/main"><w:body><w:p><w:r><w:t>Sponsor letter</w:t></w:r></w:p>'
                "</w:body></w:document>"
            ),
        }
    )


def xlsx_bytes() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": CONTENT_TYPES.format(
                part="/xl/workbook.xml",
                type=f"{XLSX_TYPE}.main+xml",
            ),
            "xl/workbook.xml": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                '<sheets><sheet name="Plan" sheetId="1"/></sheets></workbook>'
            ),
        }
    )


def plain_zip_bytes() -> bytes:
    """A ZIP that is neither a Word document nor a spreadsheet."""
    return _zip({"notes.txt": "just a zip"})


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def upload(data: bytes, filename: str = "evidence.pdf") -> FileStorage:
    """What Flask hands a view for an uploaded file."""
    return FileStorage(stream=io.BytesIO(data), filename=filename)


def form_file(data: bytes, filename: str = "evidence.pdf"):
    """A file for the test client's `data=` (multipart)."""
    return (io.BytesIO(data), filename)


def stored_files(root: Path) -> list[Path]:
    """Every file under the storage folder (temporary upload files included)."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


# --- bringing an organisation along ---------------------------------------------------------


YESTERDAY = clock.today() - timedelta(days=1)


def complete_training(user) -> None:
    """Read every lesson and pass every knowledge check of the curriculum."""
    for module in training.curriculum().modules:
        for lesson in module.lessons:
            training.mark_read(user, module, lesson.slug)
        training.submit_check(user, module, {q.id: q.answers for q in module.check.questions})
    db.session.commit()


def agreement(org, lead, kind="ip_terms", based_on=None, data=None, filename=None, **kw):
    """Upload an agreement through the service (committed)."""
    result = services.upload_agreement(
        org,
        by=lead,
        kind=kind,
        upload=upload(data or pdf_bytes(kind), filename or f"{kind}-signed.pdf"),
        signatory_name=kw.get("signatory_name", "Dr Alex Morgan"),
        signatory_role=kw.get("signatory_role", "Chief executive"),
        signed_on=kw.get("signed_on", YESTERDAY),
        based_on=based_on,
    )
    db.session.commit()
    return result


def verify_agreements(org, lead, trainer=None, *, kinds=None, status="accepted"):
    """The one way tests put partnership agreements on file: each of `kinds` (both by
    default) uploaded by the hub lead through the services and, unless `status` is
    "submitted", accepted by `trainer` (a trainer made for the purpose if None).
    Agreements already accepted are left alone. Returns the agreements, committed."""
    from flask import current_app, has_request_context

    made = []
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # the services email absolute links
            stack.enter_context(current_app.test_request_context())
        current = services.current_agreements(org)
        for kind in kinds or list(current):
            existing = current[kind]
            if existing is not None and existing.status == "accepted":
                made.append(existing)
                continue
            a = agreement(org, lead, kind, based_on=existing.id if existing else None)
            if status == "accepted":
                services.review_agreement(
                    org, by=trainer or _agreements_trainer(), agreement_id=a.id, decision="accept"
                )
                db.session.commit()
            made.append(a)
    return made


def _agreements_trainer():
    from app.auth.services import get_user_by_email
    from tests.conftest import new_user

    email = "agreements.trainer@example.org"
    return get_user_by_email(email) or new_user(
        roles=("trainer",), email=email, name="Agreements Trainer"
    )


def answer_input(item) -> services.AnswerInput:
    """A valid answer for any kind of item."""
    if item.kind == "text":
        return services.AnswerInput(text=f"Our answer to {item.title}.")
    if item.kind == "date":
        return services.AnswerInput(date_value=YESTERDAY)
    if item.kind == "attestation":
        return services.AnswerInput(
            attested_by_name="Ifan Jones", attested_by_role="IT manager", confirmed=True
        )
    return services.AnswerInput(upload=upload(pdf_bytes(item.key), f"{item.key}.pdf"))


def answer(org, by, item_key, given=None, based_on="current"):
    """Submit an answer through the service (committed); based_on defaults to the current one."""
    if based_on == "current":
        current = services.current_answers(org).get(item_key)
        based_on = current.id if current else None
    result = services.submit_answer(
        org,
        by=by,
        item_key=item_key,
        based_on=based_on,
        given=given or answer_input(services.checklist().get(item_key)),
    )
    db.session.commit()
    return result


def accept_checklist(org, lead, trainer, required_only=True) -> None:
    """Every (required) item answered by the lead and accepted."""
    for item in services.checklist().items:
        if required_only and not item.required:
            continue
        a = answer(org, lead, item.key)
        services.review_answer(
            org, by=trainer, item_key=item.key, answer_id=a.id, decision="accept", comment=""
        )
        db.session.commit()


def readiness_snapshot(root) -> dict:
    """Every readiness row, the audit chain length and the stored files: to prove a refusal
    changed nothing."""
    from sqlalchemy import func, select

    from app.core.audit import AuditEvent
    from app.organisations.models import Organisation
    from app.readiness.models import Agreement, ChecklistAnswer, ChecklistComment, EvidenceFile

    db.session.expire_all()
    tables = {}
    for model in (EvidenceFile, Agreement, ChecklistAnswer, ChecklistComment):
        rows = db.session.execute(select(model.__table__).order_by(model.__table__.c.id)).all()
        tables[model.__tablename__] = [tuple(row) for row in rows]
    tables["stages"] = db.session.execute(select(Organisation.id, Organisation.stage)).all()
    tables["audit_events"] = db.session.scalar(select(func.count()).select_from(AuditEvent))
    tables["files"] = stored_files(root)
    return tables
