"""Factories for assessment and certificate tests: assess, approve, read a PDF.

with app.test_request_context():
    assessment = write(org, trainer_a)
    cert = approve(assessment, trainer_b)
"""

from __future__ import annotations

import io
from typing import NamedTuple

from app.assessment import services as assessment_services
from app.certificates import services as certificate_services
from app.certificates.models import Certificate
from app.core.storage import path_for
from app.extensions import db


def scores(score: int = 3, comment: str = "") -> dict:
    return {
        key: assessment_services.Score(key, score, comment)
        for key, _title, _guidance in assessment_services.criteria()
    }


def write(org, trainer, recommendation="approve", notes="Ready to run a network.", **kwargs):
    """A committed assessment of `org` (which must be in readiness review)."""
    assessment = assessment_services.write_assessment(
        org,
        by=trainer,
        scores=kwargs.pop("scores", None) or scores(),
        overall_notes=notes,
        recommendation=recommendation,
        **kwargs,
    )
    db.session.commit()
    return assessment


def approve(assessment, trainer, notes="") -> Certificate:
    cert = assessment_services.decide(assessment, by=trainer, decision="approve", notes=notes)
    db.session.commit()
    return cert


class ApprovedHub(NamedTuple):
    """An organisation approved by two trainers, with its certificate (unpacks as before)."""

    org: object
    cert: Certificate
    lead: object
    author: object
    approver: object


def approved_hub(app, make_user, make_organisation, **org_kwargs) -> ApprovedHub:
    """An organisation approved by two trainers: `.org`, `.cert`, `.lead`, `.author`,
    `.approver`."""
    lead = org_kwargs.pop("lead", None) or make_user(name="Hana Lead")
    org = make_organisation(stage="readiness_review", lead=lead, **org_kwargs)
    author = make_user(roles=("trainer",), name="Ada Assessor")
    approver = make_user(roles=("trainer",), name="Ben Approver")
    with app.test_request_context():
        cert = approve(write(org, author), approver)
    return ApprovedHub(org, cert, lead, author, approver)


def trainee_certificate(org, user, modules=("Welcome to ECHO",)) -> Certificate:
    """A committed trainee completion certificate for `user` of `org`, issued through the
    service as training completion issues it (needs a request context)."""
    from app.core import clock

    today = clock.today()
    cert = certificate_services.issue(
        certificate_services.IssueRequest(
            kind="trainee",
            organisation=org,
            approved_on=today,
            expires_on=certificate_services.add_years(today, 2),
            reason="completion",
            organisation_name=org.name,
            user=user,
            person_name=user.name,
            details={"roles": ["Coordinator"], "modules": list(modules)},
        ),
        by=user,
    )
    db.session.commit()
    return cert


def pdf_bytes_of(cert: Certificate) -> bytes:
    return path_for(cert.storage_key).read_bytes()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def qr_payloads(data: bytes) -> list[str]:
    """Every QR code on the PDF's first page, rendered at 200 dpi and decoded."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(data)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    return [result.text for result in zxingcpp.read_barcodes(image)]


def flip_byte(data: bytes, position: int | None = None) -> bytes:
    """A copy with one byte changed in the middle of the file (inside the signed range)."""
    index = len(data) // 3 if position is None else position
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def reload(cert_id: int) -> Certificate:
    db.session.expire_all()
    return db.session.get(Certificate, cert_id)


manager_roles = certificate_services.MANAGER_ROLES


def three_hubs(app, make_user, make_organisation) -> list:
    """The certificates of three approved hubs (the second revoked; the third's name is a
    spreadsheet formula), for the register and its exports."""
    from app.certificates import services as certificate_services

    made = [
        approved_hub(app, make_user, make_organisation, name=name, nation=nation)
        for name, nation in (
            ("Alder Hospice", "england"),
            ("Birch Hospice", "wales"),
            ('=HYPERLINK("http://x") Hospice', "scotland"),
        )
    ]
    admin = make_user(roles=("admin",))
    with app.test_request_context():
        certificate_services.revoke(made[1][1], by=admin, reason="Network closed")
        db.session.commit()
    return [cert for _org, cert, *_ in made]


def use_own_signing_dir(app, folder) -> None:
    """Keys (and the root a rotation makes) in `folder`, not the session's shared signing
    folder, whose files outlive the test's rolled-back rows."""
    app.config["SIGNING_DIR"] = str(folder)
    app.extensions.pop("certificate_signing", None)
