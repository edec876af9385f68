"""What the readiness area tells other areas: each organisation's current agreements and
whether both are verified (Immersion books only organisations whose agreements are), and the
agreement templates the superhub publishes (the newest version of each kind is current).

Built on the models alone, so any area may import it without importing readiness's
services (which read Immersion's attendance in turn).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.organisations.models import Organisation
from app.readiness.models import AGREEMENT_KINDS, Agreement, AgreementTemplate, ReviewStatus


def current_agreements(org: Organisation) -> dict[str, Agreement | None]:
    """The latest agreement of each kind (None when never uploaded)."""
    current: dict[str, Agreement | None] = dict.fromkeys(AGREEMENT_KINDS)
    for agreement in db.session.scalars(
        select(Agreement)
        .where(Agreement.organisation_id == org.id, Agreement.status != ReviewStatus.SUPERSEDED)
        .options(
            selectinload(Agreement.file),
            selectinload(Agreement.reviewed_by),
            selectinload(Agreement.template),
        )
        .order_by(Agreement.id)
    ):
        current[agreement.kind] = agreement
    return current


def _all_verified(current: dict) -> bool:
    return all(a is not None and a.status == ReviewStatus.ACCEPTED for a in current.values())


def agreements_verified(org: Organisation) -> bool:
    """Both partnership agreements verified by a trainer."""
    return _all_verified(current_agreements(org))


def verified_organisation_ids(org_ids: Iterable[int]) -> set[int]:
    """Of `org_ids`, those whose both current agreements are verified (`agreements_verified`
    for many organisations, in one query)."""
    current: dict[int, dict] = {i: dict.fromkeys(AGREEMENT_KINDS) for i in set(org_ids)}
    if not current:
        return set()
    for row in db.session.execute(
        select(Agreement.organisation_id, Agreement.kind, Agreement.status)
        .where(Agreement.organisation_id.in_(current), Agreement.status != ReviewStatus.SUPERSEDED)
        .order_by(Agreement.id)
    ):
        if row.kind in AGREEMENT_KINDS:
            current[row.organisation_id][row.kind] = row
    return {i for i, agreements in current.items() if _all_verified(agreements)}


def current_templates() -> dict[str, AgreementTemplate | None]:
    """The current (newest) template of each agreement kind, None where none is published."""
    current: dict[str, AgreementTemplate | None] = dict.fromkeys(AGREEMENT_KINDS)
    for template in db.session.scalars(
        select(AgreementTemplate)
        .where(AgreementTemplate.kind.in_(AGREEMENT_KINDS))
        .order_by(AgreementTemplate.issued_on, AgreementTemplate.id)
    ):
        current[template.kind] = template
    return current


def template_history() -> list[AgreementTemplate]:
    """Every published template version, newest first within each kind."""
    return list(
        db.session.scalars(
            select(AgreementTemplate)
            .options(selectinload(AgreementTemplate.uploaded_by))
            .order_by(
                AgreementTemplate.kind,
                AgreementTemplate.issued_on.desc(),
                AgreementTemplate.id.desc(),
            )
        )
    )
