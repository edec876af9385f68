"""Fixtures of the training tests."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.organisations import services as org_services
from tests.factories.organisations import join_team


@pytest.fixture
def team(app, make_user):
    """An organisation in training with a lead and a coordinator; returns (org, lead, coord)."""
    lead = make_user()
    coordinator = make_user()
    with app.test_request_context():
        org = org_services.create_organisation(
            lead,
            org_services.OrganisationDetails(
                name="Oak Hospice", org_type="hospice", nation="england"
            ),
        )
        join_team(org, lead, coordinator, ["coordinator"])
        org.stage = "in_training"
        db.session.commit()
    return org, lead, coordinator
