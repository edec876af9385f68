"""The demo's sample agreement templates: made by the portal with WeasyPrint, marked SAMPLE,
passing the same upload checks as an administrator's file, published once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.storage import active_pdf_content_in, path_for
from app.demo.agreements import SAMPLE_MARK, sample_pdf, seed_agreement_templates
from app.demo.services import seed_accounts
from app.extensions import db
from app.readiness.facts import current_templates
from app.readiness.models import AgreementTemplate


@pytest.fixture
def app_config(tmp_path):
    return {"STORAGE_DIR": str(tmp_path / "storage")}


def test_a_sample_is_a_plain_pdf_marked_as_a_sample(app):
    data = sample_pdf("Statement of Collaboration", ("We agree to work together.",))
    assert data.startswith(b"%PDF-")
    assert active_pdf_content_in(data) == []
    import io

    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "SAMPLE" in text and "not a legal document" in text
    assert SAMPLE_MARK.startswith("SAMPLE")


def test_the_demo_publishes_both_samples_once(app):
    logged = []
    seed_accounts(logged.append)
    seed_agreement_templates(logged.append)
    seed_agreement_templates(logged.append)  # a second seed adds nothing
    db.session.commit()
    current = current_templates()
    assert set(current) == {"ip_terms", "collaboration"}
    for template in current.values():
        assert template.sample and "sample" in template.version_label
        assert path_for(template.storage_key).read_bytes().startswith(b"%PDF-")
    assert db.session.scalar(select(func.count(AgreementTemplate.id))) == 2
    assert sum("sample agreement templates" in line for line in logged) == 1
