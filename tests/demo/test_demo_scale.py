"""`flask demo seed --scale`: a large synthetic programme, built with bulk inserts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.certificates import services as certificates
from app.certificates.models import Certificate
from app.core.audit import AuditEvent, verify_chain
from app.demo.scale import Counts, ScaleError, parse_scale
from app.extensions import db
from app.organisations.models import Organisation


@pytest.mark.parametrize("value", ["0", "-2", "abc", "", "nan", "inf"])
def test_a_scale_that_is_not_a_positive_number_is_refused(value):
    with pytest.raises(ScaleError):
        parse_scale(value)


def test_large_is_one_and_numbers_multiply():
    assert parse_scale("large") == 1.0
    assert Counts.for_factor(2).organisations == 2000
    assert Counts.for_factor(1).audit_events == 200_000


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_the_command_explains_a_bad_scale_and_adds_nothing(runner, value):
    result = runner.invoke(args=["demo", "seed", "--scale", value])
    assert result.exit_code == 2
    assert "--scale" in result.output
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_a_small_scale_run_builds_every_stage_real_certificates_and_one_chain(app, runner):
    result = runner.invoke(args=["demo", "seed", "--scale", "0.02"])
    assert result.exit_code == 0, result.output
    assert "Synthetic programme (scale 0.02)" in result.output
    synthetic = db.session.execute(
        select(Organisation.stage, func.count())
        .where(Organisation.name.like("Synthetic Hospice %"))
        .group_by(Organisation.stage)
    ).all()
    assert sum(n for _stage, n in synthetic) == 20
    assert {"draft", "in_training", "approved"} <= {stage for stage, _n in synthetic}
    certs = db.session.scalars(
        select(Certificate).where(Certificate.organisation_name.like("Synthetic Hospice %"))
    ).all()
    assert len(certs) == 8
    from tests.factories.certificates import pdf_bytes_of, pdf_text

    sample = certs[0]
    assert certificates.check_pdf(pdf_bytes_of(sample)).certificate.id == sample.id
    assert sample.serial in pdf_text(pdf_bytes_of(sample))
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 4000
    assert verify_chain().intact
