"""A staff role for someone on an applicant's hub team: the admin sees the conflict (the
organisations named) and must confirm it; the confirmation is audited."""

from __future__ import annotations

import pytest

from app.core.roles import STAFF
from app.extensions import db
from tests.helpers import events, page_text, reload


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def member(make_user, make_organisation):
    person = make_user(name="Tomos Team", email="tomos@example.org")
    make_organisation(name="Bracken Hospice", members={"coordinator": person})
    make_organisation(name="Alder Care", members={("specialist", "facilitator"): person})
    return person


def text(response) -> str:
    return " ".join(page_text(response).split())


def test_the_user_page_warns_of_the_teams(client, admin, member):
    page = text(client.get(f"/admin/users/{member.id}"))
    assert "On an applicant's hub team" in page
    assert "Alder Care (Draft application; Facilitator, Specialist)" in page
    assert "Bracken Hospice (Draft application; Coordinator)" in page
    assert "I have checked the conflict of interest" in page


@pytest.mark.parametrize("role", sorted(STAFF))
def test_a_staff_role_needs_the_confirmation(client, admin, member, role):
    refused = client.post(f"/admin/users/{member.id}/roles", data={"roles": ["applicant", role]})
    assert refused.status_code == 400
    page = text(refused)
    assert "Tomos Team is on the hub team of Alder Care, Bracken Hospice" in page
    assert "conflict of interest" in page
    assert reload(member.id).roles == {"applicant"}
    assert events("user.roles_changed") == []

    granted = client.post(
        f"/admin/users/{member.id}/roles",
        data={"roles": ["applicant", role], "confirm_conflict": "y"},
    )
    assert granted.status_code == 302
    assert reload(member.id).roles == {"applicant", role}
    [confirmed] = events("admin.staff_conflict_confirmed")
    assert confirmed.actor_id == admin.id and confirmed.subject_id == str(member.id)
    assert confirmed.details["granted"] == [role]
    assert confirmed.details["organisations"] == ["Alder Care", "Bracken Hospice"]
    from app.core.audit import describe

    assert "on the team of Alder Care, Bracken Hospice" in describe(confirmed)


def test_no_confirmation_for_someone_on_no_team_or_for_other_changes(
    client, admin, make_user, member
):
    loner = make_user(name="Lone Person")
    page = text(client.get(f"/admin/users/{loner.id}"))
    assert "On an applicant's hub team" not in page
    assert (
        client.post(
            f"/admin/users/{loner.id}/roles", data={"roles": ["applicant", "trainer"]}
        ).status_code
        == 302
    )
    assert reload(loner.id).roles == {"applicant", "trainer"}
    # Removing a role, or keeping the same ones, is no new conflict.
    assert (
        client.post(f"/admin/users/{member.id}/roles", data={"roles": ["applicant"]}).status_code
        == 302
    )
    assert events("admin.staff_conflict_confirmed") == []
    db.session.rollback()
