"""Access to readiness pages: the organisation's policy first, then the agreement kind or
checklist item the URL names (unknown ones are 404), and evidence files, which only those
who may see their organisation may download."""

from __future__ import annotations

from app.core.policy import object_policy
from app.extensions import db
from app.organisations import services as org_services
from app.organisations.models import Organisation
from app.organisations.policies import ORG_HUB_LEAD, ORG_TRAINER, ORG_VIEWER
from app.readiness import services
from app.readiness.models import AGREEMENT_KINDS, EvidenceFile


def _kind(value) -> str | None:
    return value if value in AGREEMENT_KINDS else None


def _evidence(key) -> EvidenceFile | None:
    return db.session.get(EvidenceFile, key) if isinstance(key, int) else None


def _organisation_visible(user, evidence: EvidenceFile) -> int | None:
    org = db.session.get(Organisation, evidence.organisation_id)
    return None if org is not None and org_services.can_view(user, org) else 404


AGREEMENT_UPLOAD = object_policy(
    "readiness:agreement-upload",
    arg="kind",
    load=_kind,
    store="agreement_kind",
    within=ORG_HUB_LEAD,
)
AGREEMENT_REVIEW = object_policy(
    "readiness:agreement-review", arg="kind", load=_kind, store="agreement_kind", within=ORG_TRAINER
)
ITEM_VIEWER = object_policy(
    "readiness:item",
    arg="item_key",
    load=services.checklist_item,
    store="checklist_item",
    within=ORG_VIEWER,
)
ITEM_TRAINER = object_policy(
    "readiness:item-review",
    arg="item_key",
    load=services.checklist_item,
    store="checklist_item",
    within=ORG_TRAINER,
)


def _published_template(kind):
    from app.readiness.facts import current_templates

    return current_templates().get(kind) if kind in AGREEMENT_KINDS else None


# The current blank template of an agreement, for the lead who is to have it signed.
AGREEMENT_TEMPLATE = object_policy(
    "readiness:agreement-template",
    arg="kind",
    load=_published_template,
    store="agreement_template",
    within=ORG_HUB_LEAD,
)
EVIDENCE_VIEWER = object_policy(
    "evidence:viewer", arg="file_id", load=_evidence, store="evidence", check=_organisation_visible
)
