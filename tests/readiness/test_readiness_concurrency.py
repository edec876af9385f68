"""Two trainers deciding the same evidence at the same moment: exactly one decision counts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEvent, verify_chain
from app.extensions import db
from app.organisations.models import Organisation
from app.readiness import services
from app.readiness.models import Agreement, ChecklistComment
from tests.factories.readiness import agreement, answer
from tests.helpers import race

# Threads that must see each other's commits.
pytestmark = pytest.mark.commits


def _race(app, calls):
    return race(app, calls)


def test_two_trainers_deciding_one_agreement_record_one_decision(app, make_organisation, make_user):
    lead = make_user()
    org = make_organisation(stage="in_training", lead=lead)
    with app.test_request_context():
        uploaded = agreement(org, lead)
    org_id, agreement_id = org.id, uploaded.id
    trainers = [make_user(roles=("trainer",)) for _ in range(2)]

    def decide(trainer, decision):
        def call():
            current_org = db.session.get(Organisation, org_id)
            services.review_agreement(
                current_org,
                by=db.session.merge(trainer),
                agreement_id=agreement_id,
                decision=decision,
                reason="" if decision == "accept" else "Unsigned page",
            )

        return call

    outcomes = _race(app, [decide(trainers[0], "accept"), decide(trainers[1], "reject")])
    assert outcomes == ["ok", "refused"]
    db.session.expire_all()
    decisions = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action.in_(["agreement.accepted", "agreement.rejected"]))
    )
    assert decisions == 1
    assert db.session.get(Agreement, agreement_id).status in {"accepted", "rejected"}
    assert verify_chain().intact


def test_two_trainers_reviewing_one_answer_record_one_decision(app, make_organisation, make_user):
    lead = make_user()
    org = make_organisation(stage="in_training", lead=lead)
    with app.test_request_context():
        submitted = answer(org, lead, "spoke-recruitment")
    org_id, answer_id = org.id, submitted.id
    trainers = [make_user(roles=("trainer",)) for _ in range(2)]

    def decide(trainer, decision):
        def call():
            current_org = db.session.get(Organisation, org_id)
            services.review_answer(
                current_org,
                by=db.session.merge(trainer),
                item_key="spoke-recruitment",
                answer_id=answer_id,
                decision=decision,
                comment="" if decision == "accept" else "Say how many homes",
            )

        return call

    outcomes = _race(app, [decide(trainers[0], "accept"), decide(trainers[1], "changes")])
    assert outcomes == ["ok", "refused"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ChecklistComment)) == 1
