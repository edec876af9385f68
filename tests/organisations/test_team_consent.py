"""Consent and privacy on teams: nobody joins without accepting; the hub lead learns nothing
about who has an account; superhub staff cannot join; an unconfirmed address sees nothing.

Services first, then the pages (the lead's team page, the invitee's home page, the link)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.core.errors import NotFound, ServiceError
from app.extensions import db
from app.notifications.models import Notification
from app.organisations import services
from app.organisations.models import Invitation, Membership
from tests.factories.organisations import clear_outbox, membership, outbox_to, snapshot
from tests.helpers import events, login, page_text


@pytest.fixture
def lead(make_user):
    return make_user(roles=("applicant",), name="Lena Lead")


@pytest.fixture
def org(app, make_organisation, lead):
    return make_organisation(lead=lead, name="Curlew Hospice")


def invite(app, org, lead, email, roles=("coordinator",)) -> Invitation:
    with app.test_request_context():
        result = services.invite_member(org, by=lead, email=email, roles=list(roles))
        db.session.commit()
    return result.invitation


def token_for(email: str) -> str:
    [message] = [m for m in outbox_to(email) if "/organisations/invitations/" in m.body]
    return re.search(r"/organisations/invitations/([\w-]+)", message.body).group(1)


def notes(user, kind):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def team_size(org) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.organisation_id == org.id)
    )


def unconfirmed(make_user, **kwargs):
    user = make_user(**kwargs)
    user.email_verified_at = None
    db.session.commit()
    return user


# --- services ---------------------------------------------------------------------------


def test_an_existing_account_is_invited_and_joins_only_by_accepting(app, org, lead, make_user):
    sam = make_user(name="Sam Specialist", email="sam@example.org")
    clear_outbox()
    invitation = invite(app, org, lead, "SAM@example.org", roles=("specialist",))
    assert membership(org.id, sam) is None
    assert team_size(org) == 1
    [waiting] = services.invitations_waiting_for(sam)
    assert waiting.invitation.id == invitation.id and waiting.conflict is None

    with app.test_request_context():
        joined = services.accept_invitation_for(invitation.id, user=sam)
        db.session.commit()
    assert joined.roles == {"specialist"}
    assert team_size(org) == 2
    assert services.invitations_waiting_for(sam) == []
    [told] = notes(lead, "team_member_joined")
    assert told.title == f"Sam Specialist joined {org.name}'s hub team"
    [event] = events("team.joined")
    assert event.actor_id == sam.id


def test_accepting_twice_or_after_joining_makes_no_second_membership(app, org, lead, make_user):
    sam = make_user(email="sam@example.org")
    first = invite(app, org, lead, sam.email, roles=("specialist",))
    with app.test_request_context():
        services.accept_invitation_for(first.id, user=sam)
        db.session.commit()
        with pytest.raises(ServiceError, match="already been used"):
            services.accept_invitation_for(first.id, user=sam)
        db.session.rollback()
        # Already a member: a new invitation to the address is refused, not doubled.
        with pytest.raises(ServiceError, match="already on the team"):
            services.invite_member(org, by=lead, email=sam.email, roles=["coordinator"])
    assert team_size(org) == 2


def test_the_lead_sees_the_same_whoever_the_address_belongs_to(app, org, lead, make_user):
    """Staff, deactivated, unconfirmed, an ordinary account, and no account at all: the same
    invitation, the same email subject, the same (empty) change to the team."""
    addresses = {
        "nobody@example.org": None,
        "someone@example.org": make_user(email="someone@example.org"),
        "trainer@example.org": make_user(email="trainer@example.org", roles=("trainer",)),
        "gone@example.org": make_user(email="gone@example.org", active=False),
        "new@example.org": unconfirmed(make_user, email="new@example.org"),
    }
    clear_outbox()
    for email in addresses:
        invitation = invite(app, org, lead, email)
        assert invitation.email == email and invitation.roles == ["coordinator"]
        [message] = outbox_to(email)
        assert message.subject.endswith("Join Curlew Hospice's ECHO hub team")
    assert team_size(org) == 1
    assert [e.details["email"] for e in events("team.invited")] == list(addresses)
    assert notes(lead, "team_member_joined") == []


@pytest.mark.parametrize("role", ["trainer", "lead_trainer", "auditor", "admin"])
def test_superhub_staff_cannot_accept(app, org, lead, make_user, role):
    staff = make_user(email="staff@example.org", roles=(role,))
    invitation = invite(app, org, lead, staff.email)
    token = token_for(staff.email)
    [waiting] = services.invitations_waiting_for(staff)
    assert "conflict of interest" in waiting.conflict
    before = snapshot()
    with app.test_request_context():
        for accept in (
            lambda: services.accept_invitation(token, user=staff),
            lambda: services.accept_invitation_for(invitation.id, user=staff),
        ):
            with pytest.raises(ServiceError, match="superhub staff role") as refused:
                accept()
            assert "conflict of interest" in refused.value.message
            db.session.rollback()
    assert snapshot() == before


def test_an_unconfirmed_address_cannot_accept_and_sees_no_invitation(app, org, lead, make_user):
    new = unconfirmed(make_user, email="new@example.org")
    invitation = invite(app, org, lead, new.email)
    token = token_for(new.email)
    assert services.invitations_waiting_for(new) == []
    with app.test_request_context():
        with pytest.raises(ServiceError, match="Confirm your email address first"):
            services.accept_invitation(token, user=new)
        db.session.rollback()
        with pytest.raises(NotFound):
            services.accept_invitation_for(invitation.id, user=new)
        db.session.rollback()
    assert membership(org.id, new) is None


def test_someone_elses_invitation_is_not_found(app, org, lead, make_user):
    invitation = invite(app, org, lead, "intended@example.org")
    other = make_user(email="other@example.org")
    with app.test_request_context():
        for answer in (services.accept_invitation_for, services.decline_invitation_for):
            with pytest.raises(NotFound):
                answer(invitation.id, user=other)
            db.session.rollback()
    assert services.invitations_waiting_for(other) == []


def test_declining_tells_the_leads_without_naming_the_account(app, org, lead, make_user):
    dee = make_user(name="Dee Decliner", email="dee@example.org")
    invitation = invite(app, org, lead, dee.email, roles=("facilitator",))
    with app.test_request_context():
        services.decline_invitation_for(invitation.id, user=dee)
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).declined_at is not None
    [told] = notes(lead, "team_invitation_declined")
    assert told.title == "The invitation to dee@example.org was declined"
    mail = [m for m in outbox_to(lead.email) if "declined" in m.subject]
    assert mail and "Dee Decliner" not in mail[0].body
    assert services.invitations_waiting_for(dee) == []
    assert membership(org.id, dee) is None
    with app.test_request_context():
        with pytest.raises(ServiceError, match="declined"):
            services.accept_invitation_for(invitation.id, user=dee)
        db.session.rollback()
        # The lead may invite the address again later.
        services.invite_member(org, by=lead, email=dee.email, roles=["facilitator"])


def test_declining_from_the_link_needs_no_account(app, org, lead):
    invite(app, org, lead, "stranger@example.org")
    token = token_for("stranger@example.org")
    with app.test_request_context():
        services.decline_invitation(token)
        db.session.commit()
        with pytest.raises(ServiceError, match="declined"):
            services.invitation_for_token(token)
    [event] = events("team.invitation_declined")
    assert event.actor_id is None and event.details["email"] == "stranger@example.org"
    assert len(notes(lead, "team_invitation_declined")) == 1


# --- pages ------------------------------------------------------------------------------


def client_for(app, user):
    browser = app.test_client()
    assert login(browser, user.email).status_code == 302
    return browser


def flash_after_invite(browser, org, email) -> str:
    response = browser.post(
        f"/organisations/{org.id}/team/invite",
        data={"email": email, "roles": ["coordinator"]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    text = " ".join(page_text(response).split())
    return re.search(r"Invitation sent to \S+ They join the team once they accept it\.", text)[0]


def test_the_team_page_says_invitation_sent_for_every_address(app, org, lead, make_user):
    make_user(email="known@example.org", name="Known Person")
    make_user(email="staff@example.org", name="Staff Person", roles=("trainer",))
    make_user(email="gone@example.org", name="Gone Person", active=False)
    browser = client_for(app, lead)
    said = {
        email: flash_after_invite(browser, org, email).replace(email, "<address>")
        for email in (
            "unknown@example.org",
            "known@example.org",
            "staff@example.org",
            "gone@example.org",
        )
    }
    assert len(set(said.values())) == 1, said
    team = page_text(browser.get(f"/organisations/{org.id}/team"))
    for name in ("Known Person", "Staff Person", "Gone Person"):
        assert name not in team
    assert team_size(org) == 1


def test_accept_and_decline_from_the_home_page(app, org, lead, make_user):
    sam = make_user(email="sam@example.org")
    invitation = invite(app, org, lead, sam.email, roles=("specialist",))
    browser = client_for(app, sam)
    home = " ".join(page_text(browser.get("/")).split())
    assert "Invitations waiting for you" in home
    assert "Lena Lead invites you to join the hub team as <strong>Specialist</strong>" in home
    accepted = browser.post(f"/organisations/my-invitations/{invitation.id}/accept")
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == f"/organisations/{org.id}"
    assert membership(org.id, sam).roles == {"specialist"}
    assert "Invitations waiting for you" not in page_text(browser.get("/"))

    dee = make_user(email="dee@example.org")
    second = invite(app, org, lead, dee.email)
    other = client_for(app, dee)
    declined = other.post(
        f"/organisations/my-invitations/{second.id}/decline", follow_redirects=True
    )
    assert "You declined the invitation to Curlew Hospice's hub team" in page_text(declined)
    assert membership(org.id, dee) is None
    # An invitation that is not theirs is not found.
    assert other.post(f"/organisations/my-invitations/{invitation.id}/accept").status_code == 404


def test_staff_see_why_they_cannot_accept(app, org, lead, make_user):
    trainer = make_user(email="tess@example.org", roles=("trainer",))
    invitation = invite(app, org, lead, trainer.email)
    token = token_for(trainer.email)
    browser = client_for(app, trainer)
    home = page_text(browser.get("/"))
    assert "conflict of interest" in home
    assert f"/organisations/my-invitations/{invitation.id}/accept" not in home
    assert f"/organisations/my-invitations/{invitation.id}/decline" in home
    link = page_text(browser.get(f"/organisations/invitations/{token}"))
    assert "conflict of interest" in link and "Join the team" not in link
    refused = browser.post(
        f"/organisations/my-invitations/{invitation.id}/accept", follow_redirects=True
    )
    assert "superhub staff role (trainer)" in page_text(refused)
    assert membership(org.id, trainer) is None


def test_declining_from_the_link_signed_out(app, org, lead):
    invite(app, org, lead, "stranger@example.org")
    token = token_for("stranger@example.org")
    visitor = app.test_client()
    page = page_text(visitor.get(f"/organisations/invitations/{token}"))
    assert "Decline the invitation" in page
    declined = visitor.post(f"/organisations/invitations/{token}/decline", follow_redirects=True)
    assert "You declined the invitation" in page_text(declined)
    again = visitor.post(f"/organisations/invitations/{token}/decline")
    assert again.status_code == 400
    assert "declined" in page_text(again)


def test_an_unconfirmed_account_sees_only_check_your_email(app, org, lead, make_user):
    new = unconfirmed(make_user, email="new@example.org")
    invitation = invite(app, org, lead, new.email)
    token = token_for(new.email)
    browser = client_for(app, new)
    home = page_text(browser.get("/"))
    assert "Confirm your email address" in home and "Invitations waiting" not in home
    for method, path in (
        ("GET", f"/organisations/{org.id}"),
        ("GET", "/organisations/new"),
        ("GET", "/training"),
        ("POST", f"/organisations/invitations/{token}"),
        ("POST", f"/organisations/my-invitations/{invitation.id}/accept"),
    ):
        response = browser.open(path, method=method)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/check-email", path
    check = page_text(browser.get("/account/check-email"))
    assert "Check your email" in check and "Send a new link" in check
    # Their own account pages stay open.
    assert browser.get("/account/profile").status_code == 200
    assert browser.get("/notifications").status_code == 200
    assert membership(org.id, new) is None
