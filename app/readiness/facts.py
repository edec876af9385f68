"""What the readiness area tells other areas: each organisation's current agreements and
whether both are verified (Immersion books only organisations whose agreements are).

Built on the models alone, so any area may import it without importing readiness's
services (which read Immersion's attendance in turn).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.organisations.models import Organisation
from app.readiness.models import AGREEMENT_KINDS, Agreement, ReviewStatus


def current_agreements(org: Organisation) -> dict[str, Agreement | None]:
    """The latest agreement of each kind (None when never uploaded)."""
    current: dict[str, Agreement | None] = dict.fromkeys(AGREEMENT_KINDS)
    for agreement in db.session.scalars(
        select(Agreement)
        .where(Agreement.organisation_id == org.id, Agreement.status != ReviewStatus.SUPERSEDED)
        .options(selectinload(Agreement.file), selectinload(Agreement.reviewed_by))
        .order_by(Agreement.id)
    ):
        current[agreement.kind] = agreement
    return current


def agreements_verified(org: Organisation) -> bool:
    """Both partnership agreements verified by a trainer."""
    return all(
        a is not None and a.status == ReviewStatus.ACCEPTED
        for a in current_agreements(org).values()
    )
