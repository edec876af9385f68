"""The demo's agreement templates: two SAMPLE documents the portal renders itself with
WeasyPrint when the demo is seeded, marked on every page as not a legal document, and
published through the same service an administrator uses.

WeasyPrint is imported only here, when the seeder runs, and each sample is one short page
(rendering both takes a fraction of a second with HarfBuzz installed).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from markupsafe import escape
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.core import clock
from app.demo.people import DEMO_DOMAIN, person
from app.extensions import db
from app.readiness.models import AgreementTemplate

SAMPLE_MARK = "SAMPLE — not a legal document"
SAMPLE_VERSION = "2026.1 (sample)"

# (kind, title, file name, clauses): the wording is a sketch of what such a document covers.
SAMPLES = (
    (
        "ip_terms",
        "IP Terms of Use Agreement",
        "sample-ip-terms-of-use-agreement.pdf",
        (
            "The hub may use the ECHO model's name, methods and training materials to run "
            "its own tele-mentoring networks, and for no other purpose.",
            "Materials stay the property of their authors; the hub credits them and does not "
            "sell them or pass them on outside its networks.",
            "Case presentations are shared without details that identify a patient.",
            "Either party may end this agreement with three months' notice in writing.",
        ),
    ),
    (
        "collaboration",
        "Statement of Collaboration",
        "sample-statement-of-collaboration.pdf",
        (
            "The superhub and the hub agree to work together to launch and run ECHO networks "
            "for the hub's region or specialty.",
            "The superhub provides Immersion training, mentoring during the first year and "
            "access to shared resources; the hub names a team and sends it to Immersion.",
            "The hub shares anonymised participation and evaluation data with the superhub "
            "so the programme can learn what works.",
            "The statement is reviewed together once a year.",
        ),
    ),
)

_STYLE = (
    "@page { size: A4; margin: 2.2cm; @top-center { content: 'SAMPLE — not a legal document';"
    " color: #a00; font-size: 9pt; font-weight: bold } }"
    " body { font-family: 'DejaVu Sans', sans-serif; font-size: 10.5pt; line-height: 1.45 }"
    " .mark { border: 2px solid #a00; color: #a00; padding: .4em .6em; font-weight: bold }"
    " .sign { margin-top: 2.5em; border-top: 1px solid #333; width: 60%; padding-top: .3em }"
)


def sample_pdf(title: str, clauses: tuple[str, ...]) -> bytes:
    """One page: the title, the SAMPLE warning, numbered clauses and signature lines."""
    from weasyprint import HTML  # slow to import: only when a sample is made

    items = "".join(f"<li>{escape(c)}</li>" for c in clauses)
    html = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(title)} ({SAMPLE_MARK})</title><style>{_STYLE}</style></head><body>"
        f'<p class="mark">{SAMPLE_MARK}. This page shows what the portal does with an '
        "agreement template; it is not the superhub's agreement and binds nobody.</p>"
        f"<h1>{escape(title)}</h1><p>Version {escape(SAMPLE_VERSION)}</p><ol>{items}</ol>"
        '<p class="sign">Signed for the hub (name, role, date)</p>'
        '<p class="sign">Signed for the superhub (name, role, date)</p></body></html>'
    )
    return HTML(string=html).write_pdf()


def seed_agreement_templates(log: Callable[[str], None]) -> None:
    """Publish the two sample templates, unless templates are already published."""
    from app.admin.services import publish_template

    if db.session.scalar(select(AgreementTemplate.id).limit(1)) is not None:
        return
    admin = person(f"admin@{DEMO_DOMAIN}")
    for kind, title, filename, clauses in SAMPLES:
        publish_template(
            kind,
            by=admin,
            upload=FileStorage(stream=io.BytesIO(sample_pdf(title, clauses)), filename=filename),
            version_label=SAMPLE_VERSION,
            issued_on=clock.today() - timedelta(days=120),
            sample=True,
        )
    log("published the sample agreement templates (marked SAMPLE, not legal documents)")
