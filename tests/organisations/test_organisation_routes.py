"""Organisation pages through the test client: registration, the application form, the team
and invitations, trainer screening, withdrawal, lists and the queue, and bad input."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import func, select

from app.auth.services import get_user_by_email
from app.core import mail
from app.core.db import utcnow
from app.core.programme import load_programme_settings, programme
from app.extensions import db
from app.organisations import services
from app.organisations.models import HubApplication, Invitation, Membership, Organisation
from tests import helpers
from tests.conftest import PASSWORD
from tests.factories.organisations import (
    COMPLETE_APPLICATION_FORM,
    DETAILS_FORM,
    clear_outbox,
    join_team,
    membership,
    outbox_to,
    reload_org,
    snapshot,
    stage_changes,
)
from tests.helpers import confirm_email, events, field_errors, login
from tests.querycount import count_queries


@pytest.fixture
def lead(make_user):
    return make_user(roles=("applicant",), name="Lena Lead")


@pytest.fixture
def lead_client(client, lead):
    assert login(client, lead.email).status_code == 302
    return client


def page_text(response) -> str:
    """The page's text with runs of whitespace (template line breaks) made single spaces."""
    return " ".join(helpers.page_text(response).split())


def client_for(app, user):
    """A second browser, signed in as `user`."""
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    return other


def token_in(message) -> str:
    match = re.search(r"/organisations/invitations/([A-Za-z0-9_\-]+)", message.body)
    assert match, message.body
    return match.group(1)


def org_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Organisation))


# --- registering an organisation --------------------------------------------------------


def test_register_an_organisation_and_become_its_hub_lead(app, lead_client, lead):
    assert lead_client.get("/organisations/new").status_code == 200
    response = lead_client.post("/organisations/new", data=DETAILS_FORM)
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation))
    assert response.headers["Location"] == f"/organisations/{org.id}"
    assert org.website == "https://www.heronvale.example.org"
    assert org.registration_number == "1234567"
    assert org.phone == "0191 496 0000"
    assert membership(org.id, lead).roles == {"hub_lead"}
    assert [e.actor_id for e in events("organisation.created")] == [lead.id]

    page = lead_client.get(response.headers["Location"])
    text = page_text(page)
    assert "Heron Vale Hospice is registered and you are its hub lead" in text
    assert "Working in" in text
    assert "Your roles: Hub lead" in text
    assert 'aria-current="step"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "number,stored",
    [
        ("1234567", "1234567"),
        ("123456", "123456"),
        ("SC012345", "SC012345"),
        ("NIC100001", "NIC100001"),
        ("01234567", "01234567"),
        ("OC123456", "OC123456"),
        ("oc 123 456", "OC123456"),
    ],
)
def test_registration_number_formats_accepted(lead_client, number, stored):
    response = lead_client.post(
        "/organisations/new", data={**DETAILS_FORM, "registration_number": number}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Organisation.registration_number)) == stored


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("registration_number", "12345", "Enter a charity number (e.g. 1234567"),
        ("registration_number", "ABC", "or a company number"),
        ("registration_number", "123456789", "or leave it blank"),
        ("website", "not a website", "Enter a website address like"),
        ("website", "https://[::1", "Enter a website address like"),
        ("phone", "12345", "Enter a phone number like"),
        ("phone", "ring reception", "Enter a phone number like"),
        ("name", "", "Enter the organisation's name."),
        ("name", "x" * 201, "Use at most 200 characters."),
        ("org_type", "", "Choose the type of organisation."),
        ("org_type", "pub", "Not a valid choice"),
        ("nation", "", "Choose the nation or country."),
    ],
)
def test_bad_details_are_refused_next_to_the_field(lead_client, field, value, message):
    response = lead_client.post("/organisations/new", data={**DETAILS_FORM, field: value})
    assert response.status_code in (200, 400)
    assert message in field_errors(response, field)
    assert "There is a problem" in page_text(response)
    assert org_count() == 0
    assert events("organisation.created") == []


def test_another_country_needs_naming(lead_client):
    data = {**DETAILS_FORM, "nation": "other", "other_country": ""}
    response = lead_client.post("/organisations/new", data=data)
    assert field_errors(response, "other_country") == "Error: Enter the country."
    assert org_count() == 0
    response = lead_client.post(
        "/organisations/new", data={**data, "other_country": "Republic of Ireland"}
    )
    assert response.status_code == 302
    page = page_text(lead_client.get(response.headers["Location"]))
    assert "Republic of Ireland" in page


def test_only_applicants_register_organisations(client, login_as):
    login_as("trainer")
    assert client.post("/organisations/new", data=DETAILS_FORM).status_code == 403
    assert org_count() == 0


def test_one_user_in_two_organisations_sees_both_and_can_switch(
    make_organisation, make_user, lead_client, lead
):
    alder = make_organisation(lead=lead, name="Alder Hospice")
    birch = make_organisation(
        lead=make_user(), name="Birch Care Homes", members={"coordinator": lead}
    )
    home = page_text(lead_client.get("/"))
    assert "Alder Hospice" in home and "Birch Care Homes" in home
    assert "Your roles: Hub lead" in home and "Your roles: Coordinator" in home

    page = lead_client.get(f"/organisations/{alder.id}")
    html = page.get_data(as_text=True)
    assert "Working in" in page_text(page)
    assert "Switch to:" in page_text(page)
    assert f'href="/organisations/{birch.id}">Birch Care Homes</a>' in html
    assert f'href="/organisations/{alder.id}">Alder Hospice</a>' not in html

    page = lead_client.get(f"/organisations/{birch.id}")
    assert f'href="/organisations/{alder.id}">Alder Hospice</a>' in page.get_data(as_text=True)
    assert "Your roles: Coordinator" in page_text(page)


def test_edit_details(make_organisation, lead_client, lead):
    org = make_organisation(lead=lead, name="Alder Hospice")
    form = lead_client.get(f"/organisations/{org.id}/details")
    assert form.status_code == 200 and 'value="Alder Hospice"' in form.get_data(as_text=True)
    response = lead_client.post(
        f"/organisations/{org.id}/details",
        data={**DETAILS_FORM, "name": "Alder Hospice", "website": "alder.example.org"},
    )
    assert response.status_code == 302
    assert reload_org(org.id).website == "https://alder.example.org"
    [event] = events("organisation.details_updated")
    assert "website" in event.details["fields"]

    before = snapshot()
    response = lead_client.post(
        f"/organisations/{org.id}/details", data={**DETAILS_FORM, "website": "not a website"}
    )
    assert response.status_code == 400
    assert "Enter a website address" in field_errors(response, "website")
    assert snapshot() == before


# --- the application -------------------------------------------------------------------


def app_url(org) -> str:
    return f"/organisations/{org.id}/application"


def test_save_a_partial_draft(make_organisation, lead_client, lead):
    org = make_organisation(lead=lead, complete=False)
    response = lead_client.post(
        app_url(org), data={"network_name": "Care Home ECHO", "save": "Save draft"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == app_url(org)
    page = lead_client.get(app_url(org))
    assert "Draft saved" in page_text(page)
    assert 'value="Care Home ECHO"' in page.get_data(as_text=True)
    assert "0 of 5 parts complete" in page_text(page)
    org = reload_org(org.id)
    assert org.application.network_name == "Care Home ECHO"
    assert org.stage == "draft"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("network_name", "N" * 201, "Use at most 200 characters."),
        ("theme", "T" * 201, "Use at most 200 characters."),
        ("motivation", "M" * 5001, "Use at most 5000 characters."),
        ("target_audience", "A" * 2001, "Use at most 2000 characters."),
        ("sponsor_email", "s" * 250 + "@x.org", "Use at most 254 characters."),
        ("expected_spokes", "501", "Enter a number of spokes from 1 to 500."),
        ("expected_spokes", "0", "Enter a whole number."),
        ("expected_spokes", "-4", "Enter a whole number."),
        ("expected_spokes", "lots", "Not a valid integer value."),
        ("intro_session_date", "2999-01-01", "cannot be in the future"),
        ("intro_session_date", "yesterday", "Not a valid date value."),
        ("vc_licence", "maybe", "Choose yes, planned or no."),
    ],
)
def test_bad_application_input_is_refused_and_nothing_is_saved(
    make_organisation, lead_client, lead, field, value, message
):
    org = make_organisation(lead=lead, complete=False)
    before = snapshot()
    data = {"network_name": "Care Home ECHO", "theme": "Care homes", field: value}
    response = lead_client.post(app_url(org), data={**data, "save": "Save draft"})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert snapshot() == before


def test_a_future_date_from_the_service_uses_the_programme_clock(
    make_organisation, lead_client, lead
):
    org = make_organisation(lead=lead, complete=False)
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    response = lead_client.post(
        app_url(org), data={"intro_session_date": tomorrow, "save": "Save draft"}
    )
    assert response.status_code == 400
    assert "cannot be in the future" in field_errors(response, "intro_session_date")


def test_submit_with_missing_fields_lists_each_and_keeps_the_draft(
    make_organisation, make_user, lead_client, lead
):
    make_user(roles=("trainer",))
    org = make_organisation(lead=lead, complete=False)
    clear_outbox()
    response = lead_client.post(
        app_url(org),
        data={
            "network_name": "Care Home ECHO",
            "expected_spokes": "12",
            "submit_application": "Submit application",
        },
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "Your draft is saved, but it cannot be submitted until these are filled in." in text
    filled = {"network_name", "expected_spokes"}
    for name, label in services.REQUIRED_ON_SUBMIT:
        if name in filled:
            assert field_errors(response, name) == ""
        else:
            assert f"{label} is needed before you submit." in field_errors(response, name), name
    org = reload_org(org.id)
    assert org.stage == "draft"
    assert org.application.network_name == "Care Home ECHO"
    assert org.application.expected_spokes == 12
    assert org.application.submitted_at is None
    assert events("organisation.submit") == []
    assert mail.outbox() == []


def test_complete_submit_notifies_trainers_and_locks_the_application(
    make_organisation, make_user, lead_client, lead
):
    trainers = [make_user(roles=("trainer",)) for _ in range(2)]
    org = make_organisation(lead=lead, complete=False)
    clear_outbox()
    response = lead_client.post(
        app_url(org), data={**COMPLETE_APPLICATION_FORM, "submit_application": "Submit"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{org.id}"
    org = reload_org(org.id)
    assert org.stage == "submitted"
    assert org.application.submitted_at is not None
    assert org.application.submission_count == 1
    [event] = events("organisation.submit")
    assert event.actor_id == lead.id
    messages = mail.outbox()
    # One message per trainer, none showing the others' addresses.
    assert sorted(m.to[0] for m in messages) == sorted(t.email for t in trainers)
    assert all(len(m.to) == 1 and org.name in m.subject for m in messages)

    overview = page_text(lead_client.get(f"/organisations/{org.id}"))
    assert "Application submitted" in overview
    assert "A superhub trainer is reviewing it" in overview

    page = lead_client.get(app_url(org))
    assert "locked while the superhub reviews it" in page_text(page)
    assert 'name="save"' not in page.get_data(as_text=True)

    before = snapshot()
    response = lead_client.post(
        app_url(org), data={**COMPLETE_APPLICATION_FORM, "theme": "Changed", "save": "Save"}
    )
    assert response.status_code == 400
    assert "The application has been submitted and is locked" in page_text(response)
    assert snapshot() == before


def test_application_in_training_is_locked_with_a_message(make_organisation, lead_client, lead):
    org = make_organisation(stage="in_training", lead=lead)
    before = snapshot()
    response = lead_client.post(
        app_url(org), data={**COMPLETE_APPLICATION_FORM, "theme": "Changed", "save": "Save"}
    )
    assert response.status_code == 400
    assert "The application has been submitted and is locked" in page_text(response)
    assert snapshot() == before


def test_members_who_are_not_the_lead_read_but_cannot_save(app, make_organisation, make_user):
    coordinator = make_user()
    org = make_organisation(members={"coordinator": coordinator})
    browser = client_for(app, coordinator)
    page = browser.get(app_url(org))
    assert page.status_code == 200
    assert "Bereavement Support ECHO for the North East" in page_text(page)
    assert f'action="{app_url(org)}"' not in page.get_data(as_text=True)
    before = snapshot()
    response = browser.post(app_url(org), data={"theme": "Hijacked", "save": "Save"})
    assert response.status_code == 403
    assert snapshot() == before
    assert browser.get(f"/organisations/{org.id}/details").status_code == 403


# --- the team and invitations ----------------------------------------------------------


def team_url(org) -> str:
    return f"/organisations/{org.id}/team"


def invite(client, org, email, roles=("coordinator",)):
    return client.post(f"{team_url(org)}/invite", data={"email": email, "roles": list(roles)})


def test_inviting_an_existing_account_says_invitation_sent_and_adds_nobody(
    make_organisation, make_user, lead_client, lead
):
    sam = make_user(name="Sam Specialist")
    org = make_organisation(lead=lead)
    clear_outbox()
    response = invite(lead_client, org, sam.email.upper(), roles=("specialist",))
    assert response.status_code == 302
    page = page_text(lead_client.get(team_url(org)))
    assert f"Invitation sent to {sam.email}. They join the team once they accept it." in page
    assert "Sam Specialist" not in page  # no name until they accept
    assert membership(org.id, sam) is None
    [message] = outbox_to(sam.email)
    assert "/organisations/invitations/" in message.body


def test_inviting_a_new_email_sends_an_invitation_link(make_organisation, lead_client, lead):
    org = make_organisation(lead=lead)
    clear_outbox()
    response = invite(lead_client, org, "new.person@example.org", roles=("facilitator",))
    assert response.status_code == 302
    page = page_text(lead_client.get(team_url(org)))
    assert "Invitation sent to new.person@example.org" in page
    assert "Invitations waiting" in page
    [message] = outbox_to("new.person@example.org")
    link = r"http://localhost/organisations/invitations/[A-Za-z0-9_\-]{32,}"
    assert re.search(link, message.body)
    assert "Facilitator" in message.body


@pytest.mark.parametrize(
    "email,roles,field,message",
    [
        ("not-an-email", ("coordinator",), "email", "Enter a valid email address."),
        ("a@b", ("coordinator",), "email", "Enter a valid email address."),
        ("", ("coordinator",), "email", "Enter the person's email address."),
        ("ok@example.org", (), "roles", "Choose at least one hub role."),
        ("ok@example.org", ("overlord",), "roles", "valid choice"),
    ],
)
def test_bad_invitations_are_refused(
    make_organisation, lead_client, lead, email, roles, field, message
):
    org = make_organisation(lead=lead)
    before = snapshot()
    clear_outbox()
    response = invite(lead_client, org, email, roles)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert snapshot() == before
    assert mail.outbox() == []


def test_inviting_a_team_member_or_a_waiting_email_again_is_refused(
    make_organisation, make_user, lead_client, lead
):
    coordinator = make_user()
    org = make_organisation(lead=lead, members={"coordinator": coordinator})
    assert invite(lead_client, org, "waiting@example.org").status_code == 302
    before = snapshot()
    response = invite(lead_client, org, coordinator.email, roles=("specialist",))
    assert response.status_code == 400
    assert f"{coordinator.email} is already on the team." in field_errors(response, "email")
    response = invite(lead_client, org, "Waiting@Example.org", roles=("specialist",))
    assert response.status_code == 400
    assert "already has an invitation waiting" in field_errors(response, "email")
    assert snapshot() == before


def test_accepting_an_invitation_by_registering_from_the_link(
    app, make_organisation, lead_client, lead
):
    org = make_organisation(lead=lead, name="Kestrel Moor Hospice")
    clear_outbox()
    invite(lead_client, org, "callum@example.org", roles=("coordinator", "it_support"))
    token = token_in(outbox_to("callum@example.org")[0])
    path = f"/organisations/invitations/{token}"

    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200
    text = page_text(page)
    assert "Join Kestrel Moor Hospice's hub team" in text
    assert "Coordinator, IT support" in text and "callum@example.org" in text
    links = re.findall(r'href="(/account/(?:register|login)[^"]*)"', page_text(page))
    links = [link for link in links if "next=" in link]  # not the site navigation's
    register = next(link for link in links if link.startswith("/account/register"))
    login_link = next(link for link in links if link.startswith("/account/login"))
    assert parse_qs(urlsplit(register).query) == {"next": [path], "email": ["callum@example.org"]}
    assert parse_qs(urlsplit(login_link).query) == {"next": [path]}

    form = visitor.get(register)
    assert 'value="callum@example.org"' in form.get_data(as_text=True)
    registered = visitor.post(
        register,
        data={
            "name": "Callum Coordinator",
            "email": "callum@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert registered.status_code == 302
    assert registered.headers["Location"] == "/account/check-email"
    assert "We have sent an email to <strong>callum@example.org</strong>" in page_text(
        visitor.get("/account/check-email")
    )
    # Nobody is signed in until the address is confirmed and they log in.
    assert visitor.post(path).headers["Location"].startswith("/account/login")
    confirmed = confirm_email(visitor, "callum@example.org")
    assert confirmed.headers["Location"] == f"/account/login?next={path}"
    assert login(visitor, "callum@example.org", next_url=path).headers["Location"] == path
    assert "Join the team" in page_text(visitor.get(path))
    joined = visitor.post(path)
    assert joined.status_code == 302
    assert joined.headers["Location"] == f"/organisations/{org.id}"
    welcome = page_text(visitor.get(joined.headers["Location"]))
    assert "Welcome to Kestrel Moor Hospice's hub team" in welcome
    callum = get_user_by_email("callum@example.org")
    assert callum.name == "Callum Coordinator"
    assert membership(org.id, callum).roles == {"coordinator", "it_support"}

    # The link works once.
    used = visitor.get(path)
    assert used.status_code == 400
    assert "This invitation has already been used" in page_text(used)
    again = visitor.post(path, follow_redirects=True)
    assert "already been used" in page_text(again)
    assert len(events("team.joined")) == 1


def test_logging_in_from_the_link_returns_to_it(app, make_organisation, make_user, lead):
    org = make_organisation(lead=lead)
    clear_outbox()
    with app.test_request_context():
        services.invite_member(org, by=lead, email="later@example.org", roles=["specialist"])
        db.session.commit()
    token = token_in(outbox_to("later@example.org")[0])
    path = f"/organisations/invitations/{token}"
    later = make_user(email="later@example.org")  # registered separately in the meantime
    browser = app.test_client()
    response = login(browser, later.email, next_url=path)
    assert response.headers["Location"] == path
    assert browser.post(path).status_code == 302
    assert membership(org.id, later).roles == {"specialist"}


def test_signed_in_with_another_email_is_refused(app, make_organisation, make_user, lead):
    org = make_organisation(lead=lead)
    clear_outbox()
    with app.test_request_context():
        services.invite_member(org, by=lead, email="invited@example.org", roles=["specialist"])
        db.session.commit()
    token = token_in(outbox_to("invited@example.org")[0])
    path = f"/organisations/invitations/{token}"
    stranger = make_user(email="stranger@example.org")
    browser = client_for(app, stranger)
    page = page_text(browser.get(path))
    assert "You are signed in as stranger@example.org" in page
    assert "Join the team" not in page
    before = snapshot()
    refused = browser.post(path, follow_redirects=True)
    text = page_text(refused)
    assert "This invitation was sent to invited@example.org" in text
    assert "you are signed in as stranger@example.org" in text
    assert snapshot() == before
    assert membership(org.id, stranger) is None


def test_expired_cancelled_and_replaced_links(app, make_organisation, lead_client, lead):
    org = make_organisation(lead=lead)
    clear_outbox()
    for email in ("expired@example.org", "cancelled@example.org", "resent@example.org"):
        assert invite(lead_client, org, email).status_code == 302
    tokens = {m.to[0]: token_in(m) for m in mail.outbox()}
    by_email = {
        i.email: i
        for i in db.session.scalars(select(Invitation).where(Invitation.organisation_id == org.id))
    }

    by_email["expired@example.org"].expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    expired = app.test_client().get(f"/organisations/invitations/{tokens['expired@example.org']}")
    assert expired.status_code == 400
    assert "This invitation has expired" in page_text(expired)
    assert "Expired" in page_text(lead_client.get(team_url(org)))

    cancel = lead_client.post(
        f"/organisations/{org.id}/invitations/{by_email['cancelled@example.org'].id}/cancel",
        follow_redirects=True,
    )
    assert "The invitation to cancelled@example.org is cancelled" in page_text(cancel)
    cancelled = app.test_client().get(
        f"/organisations/invitations/{tokens['cancelled@example.org']}"
    )
    assert cancelled.status_code == 400
    assert "This invitation was cancelled" in page_text(cancelled)

    clear_outbox()
    resent = lead_client.post(
        f"/organisations/{org.id}/invitations/{by_email['resent@example.org'].id}/resend",
        follow_redirects=True,
    )
    assert "A new link was sent to resent@example.org; the old one no longer works" in page_text(
        resent
    )
    new_token = token_in(outbox_to("resent@example.org")[0])
    old = app.test_client().get(f"/organisations/invitations/{tokens['resent@example.org']}")
    assert old.status_code == 400
    assert "not valid" in page_text(old)
    assert app.test_client().get(f"/organisations/invitations/{new_token}").status_code == 200
    assert app.test_client().get("/organisations/invitations/garbage").status_code == 400

    # Cancelling twice: a clear message, nothing changes.
    before = snapshot()
    again = lead_client.post(
        f"/organisations/{org.id}/invitations/{by_email['cancelled@example.org'].id}/cancel",
        follow_redirects=True,
    )
    assert "already accepted, declined or cancelled" in page_text(again)
    assert snapshot() == before


def test_change_roles_remove_members_and_keep_a_lead(
    make_organisation, make_user, lead_client, lead
):
    coordinator = make_user(name="Cara Coordinator")
    org = make_organisation(lead=lead, members={"coordinator": coordinator})
    mine = membership(org.id, lead)
    theirs = membership(org.id, coordinator)

    response = lead_client.post(
        f"{team_url(org)}/{theirs.id}/roles",
        data={f"m{theirs.id}-roles": ["coordinator", "facilitator"]},
    )
    assert response.status_code == 302
    assert "Roles for Cara Coordinator saved" in page_text(lead_client.get(team_url(org)))
    assert membership(org.id, coordinator).roles == {"coordinator", "facilitator"}

    before = snapshot()
    response = lead_client.post(
        f"{team_url(org)}/{mine.id}/roles", data={f"m{mine.id}-roles": ["specialist"]}
    )
    assert response.status_code == 400
    assert "The team needs a hub lead. Make someone else hub lead first." in page_text(response)
    response = lead_client.post(f"{team_url(org)}/{mine.id}/roles", data={f"m{mine.id}-roles": []})
    assert response.status_code == 400
    assert "Choose at least one hub role." in page_text(response)
    response = lead_client.post(f"{team_url(org)}/{mine.id}/remove", follow_redirects=True)
    assert "You cannot remove the only hub lead" in page_text(response)
    assert snapshot() == before

    response = lead_client.post(f"{team_url(org)}/{theirs.id}/remove", follow_redirects=True)
    assert "Removed from the team" in page_text(response)
    assert membership(org.id, coordinator) is None
    assert "Cara Coordinator" not in page_text(lead_client.get(team_url(org)))


def test_unknown_member_and_invitation_ids_are_not_found(make_organisation, lead_client, lead):
    org = make_organisation(lead=lead)
    before = snapshot()
    for path in (
        f"{team_url(org)}/999999/roles",
        f"{team_url(org)}/999999/remove",
        f"/organisations/{org.id}/invitations/999999/resend",
        f"/organisations/{org.id}/invitations/999999/cancel",
    ):
        assert lead_client.post(path, data={"m999999-roles": ["specialist"]}).status_code == 404
    assert snapshot() == before


def test_composition_shows_what_is_missing(app, make_organisation, make_user, lead_client, lead):
    # The rule shown is the one in modules/programme.yaml.
    rule = load_programme_settings(Path(app.config["CONTENT_DIR"]) / "programme.yaml")
    assert rule.required_roles == ("hub_lead", "coordinator", "facilitator", "specialist")
    org = make_organisation(lead=lead)
    text = page_text(lead_client.get(team_url(org)))
    assert (
        "The programme asks for at least one of each: Hub lead, Coordinator, Facilitator, "
        "Specialist." in text
    )
    assert "Coordinator: missing" in text
    assert "Still needed: Coordinator, Facilitator, Specialist." in text
    overview = page_text(lead_client.get(f"/organisations/{org.id}"))
    assert "Still needed: Coordinator, Facilitator, Specialist." in overview

    with app.test_request_context():
        join_team(org, lead, make_user(), ("coordinator", "facilitator"))
        join_team(org, lead, make_user(), ("specialist",))
        db.session.commit()
    text = page_text(lead_client.get(team_url(org)))
    assert "The team meets the programme's rule." in text
    assert "Still needed" not in text

    # The rule is content, not code: a different programme asks for other roles.
    app.extensions["programme"] = dataclasses.replace(
        programme(), required_roles=("hub_lead", "evaluation")
    )
    text = page_text(lead_client.get(team_url(org)))
    assert "The programme asks for at least one of each: Hub lead, Evaluation." in text
    assert "Still needed: Evaluation." in text


# --- screening -------------------------------------------------------------------------


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer")


@pytest.fixture
def trainer_client(app, trainer):
    return client_for(app, trainer)


def decide(client, org, decision, message=""):
    return client.post(
        f"/organisations/{org.id}/decision", data={"decision": decision, "message": message}
    )


def test_trainer_screens_and_accepts(make_organisation, make_user, trainer_client, trainer, lead):
    coordinator = make_user(name="Cara Coordinator")
    org = make_organisation(stage="submitted", lead=lead, members={"coordinator": coordinator})
    queue = page_text(trainer_client.get("/organisations/queue"))
    assert org.name in queue and "Today" in queue
    screening = page_text(trainer_client.get(f"/organisations/{org.id}/screening"))
    assert "Bereavement Support ECHO for the North East" in screening
    assert "Cara Coordinator" in screening and "Dr Priya Raman" in screening
    assert "Still needed: Facilitator, Specialist." in screening

    clear_outbox()
    response = decide(trainer_client, org, "accept", "Welcome to the programme.")
    assert response.status_code == 302
    assert response.headers["Location"] == "/organisations/queue"
    assert "Decision recorded for" in page_text(trainer_client.get("/organisations/queue"))
    org = reload_org(org.id)
    assert org.stage == "in_training"
    assert stage_changes(org.id)[-1].actor_id == trainer.id
    [message] = outbox_to(lead.email)
    assert "Welcome to the programme." in message.body
    history = page_text(trainer_client.get(f"/organisations/{org.id}/history"))
    assert f"{trainer.name} accepted the application into the programme" in history
    assert "reason: Welcome to the programme." in history


def test_request_changes_needs_a_message_and_the_lead_sees_it(
    make_organisation, trainer_client, lead_client, lead
):
    org = make_organisation(stage="submitted", lead=lead)
    before = snapshot()
    response = decide(trainer_client, org, "request_changes", "   ")
    assert response.status_code == 400
    assert "Tell the applicant what to change." in field_errors(response, "message")
    assert snapshot() == before

    response = decide(trainer_client, org, "request_changes", "Please name the spoke care homes.")
    assert response.status_code == 302
    assert reload_org(org.id).stage == "draft"
    for path in (f"/organisations/{org.id}", app_url(org)):
        text = page_text(lead_client.get(path))
        assert "The superhub asked for changes:" in text
        assert "Please name the spoke care homes." in text

    response = lead_client.post(
        app_url(org),
        data={
            **COMPLETE_APPLICATION_FORM,
            "target_audience": "Twelve care homes in Cumbria.",
            "submit_application": "Submit",
        },
    )
    assert response.status_code == 302
    org = reload_org(org.id)
    assert org.stage == "submitted"
    assert org.application.submission_count == 2
    assert org.changes_requested == ""
    assert "asked for changes" not in page_text(lead_client.get(f"/organisations/{org.id}"))
    assert "resubmitted" in page_text(trainer_client.get("/organisations/queue"))


def test_decline_needs_a_reason(make_organisation, trainer_client, lead_client, lead):
    org = make_organisation(stage="submitted", lead=lead)
    before = snapshot()
    response = decide(trainer_client, org, "decline", "")
    assert response.status_code == 400
    assert "Give the reason for declining." in field_errors(response, "message")
    assert snapshot() == before
    assert decide(trainer_client, org, "decline", "Outside our region.").status_code == 302
    assert reload_org(org.id).stage == "rejected"
    text = page_text(lead_client.get(f"/organisations/{org.id}"))
    assert "The application was not accepted." in text and "Outside our region." in text


@pytest.mark.parametrize(
    "data,message",
    [
        ({"message": "x"}, "Choose a decision."),
        ({"decision": "approve", "message": "x"}, "Not a valid choice"),
    ],
)
def test_decision_form_input_is_checked(make_organisation, trainer_client, data, message):
    org = make_organisation(stage="submitted")
    before = snapshot()
    response = trainer_client.post(f"/organisations/{org.id}/decision", data=data)
    assert response.status_code == 400
    assert message in field_errors(response, "decision")
    assert snapshot() == before


@pytest.mark.parametrize("stage", ["draft", "in_training", "rejected", "withdrawn"])
def test_deciding_what_is_not_submitted_gets_a_clear_message(
    make_organisation, trainer_client, stage
):
    org = make_organisation(stage=stage)
    before = snapshot()
    clear_outbox()
    response = decide(trainer_client, org, "accept")
    assert response.status_code == 400
    text = page_text(response)
    assert "This cannot be accepted into the programme now" in text
    assert "Nothing to decide" in text
    assert snapshot() == before
    assert mail.outbox() == []


def test_the_second_trainer_is_told_someone_already_decided(
    app, make_organisation, make_user, trainer_client, lead
):
    org = make_organisation(stage="submitted", lead=lead)
    other = client_for(app, make_user(roles=("trainer",)))
    assert decide(trainer_client, org, "accept").status_code == 302
    before = snapshot()
    response = decide(other, org, "decline", "Too late.")
    assert response.status_code == 400
    assert "This cannot be declined now: the organisation is at “In training”" in page_text(
        response
    )
    assert snapshot() == before
    assert len(events("organisation.accept")) == 1 and events("organisation.decline") == []


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_only_trainers_decide(app, make_organisation, make_user, role):
    org = make_organisation(stage="submitted")
    browser = client_for(app, make_user(roles=(role,)))
    before = snapshot()
    for decision in ("accept", "request_changes", "decline"):
        assert decide(browser, org, decision, "Because.").status_code == 403
    assert browser.get(f"/organisations/{org.id}/screening").status_code == 403
    assert snapshot() == before


# --- withdrawing -----------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["draft", "submitted", "in_training", "readiness_review"])
def test_withdraw_from_each_open_stage(make_organisation, lead_client, lead, stage):
    org = make_organisation(stage=stage, lead=lead)
    url = f"/organisations/{org.id}/withdraw"
    before = snapshot()
    response = lead_client.post(url, data={"reason": "  "})
    assert response.status_code == 400
    assert "Tell us why you are withdrawing." in field_errors(response, "reason")
    assert snapshot() == before

    response = lead_client.post(url, data={"reason": "Our funding ended."})
    assert response.status_code == 302
    org = reload_org(org.id)
    assert org.stage == "withdrawn" and org.closed_reason == "Our funding ended."
    page = lead_client.get(f"/organisations/{org.id}")
    text = page_text(page)
    assert "has been withdrawn from the programme" in text
    assert "withdrew from the programme" in text and "Our funding ended." in text
    assert "Nothing more can be changed here" in text
    html = page.get_data(as_text=True)
    assert f'action="{url}"' not in html
    assert f'href="/organisations/{org.id}/details"' not in html
    assert "withdrew the organisation" in page_text(
        lead_client.get(f"/organisations/{org.id}/history")
    )


def test_nothing_can_change_after_withdrawal(
    app, make_organisation, make_user, lead_client, lead, trainer_client
):
    coordinator = make_user()
    org = make_organisation(lead=lead, members={"coordinator": coordinator}, complete=False)
    invite(lead_client, org, "waiting@example.org")
    invitation = db.session.scalar(select(Invitation).where(Invitation.organisation_id == org.id))
    member = membership(org.id, coordinator)
    assert (
        lead_client.post(f"/organisations/{org.id}/withdraw", data={"reason": "Merged."})
    ).status_code == 302
    before = snapshot()
    closed = "This organisation is withdrawn, so it can no longer be"

    response = lead_client.post(app_url(org), data={"theme": "Changed", "save": "Save"})
    assert response.status_code == 400
    assert f"{closed} edited." in page_text(response)

    response = lead_client.post(
        app_url(org), data={**COMPLETE_APPLICATION_FORM, "submit_application": "Submit"}
    )
    assert 400 <= response.status_code < 500
    assert closed in page_text(response)

    response = invite(lead_client, org, "late@example.org")
    assert response.status_code == 400
    assert f"{closed} changed." in page_text(response)

    response = lead_client.post(f"/organisations/{org.id}/details", data=DETAILS_FORM)
    assert response.status_code == 400
    assert f"{closed} edited." in page_text(response)

    response = lead_client.post(
        f"{team_url(org)}/{member.id}/roles", data={f"m{member.id}-roles": ["specialist"]}
    )
    assert response.status_code == 400
    assert f"{closed} changed." in page_text(response)

    for path in (
        f"{team_url(org)}/{member.id}/remove",
        f"/organisations/{org.id}/invitations/{invitation.id}/resend",
        f"/organisations/{org.id}/invitations/{invitation.id}/cancel",
    ):
        response = lead_client.post(path, follow_redirects=True)
        assert f"{closed} changed." in page_text(response), path

    response = lead_client.post(
        f"/organisations/{org.id}/withdraw", data={"reason": "Again"}, follow_redirects=True
    )
    assert "This cannot be withdrawn now" in page_text(response)
    assert snapshot() == before

    # Trainers still see everything about it.
    for path in ("", "/application", "/team", "/history", "/screening"):
        assert trainer_client.get(f"/organisations/{org.id}{path}").status_code == 200, path
    listed = page_text(trainer_client.get("/organisations?stage=withdrawn"))
    assert org.name in listed


# --- lists and the queue ---------------------------------------------------------------


def listed_names(response) -> list[str]:
    assert response.status_code == 200
    tbody = re.search(r"<tbody>(.*?)</tbody>", response.get_data(as_text=True), re.S)
    if tbody is None:
        return []
    return [
        html.unescape(name)
        for name in re.findall(r'<a href="/organisations/\d+">([^<]+)</a>', tbody.group(1))
    ]


def found(response) -> int:
    return int(re.search(r"(\d+) organisations? found\.", page_text(response)).group(1))


def stage_count(response, label) -> int:
    match = re.search(
        rf">{re.escape(label)} <span class=\"badge text-bg-light\">(\d+)</span>",
        page_text(response),
    )
    assert match, label
    return int(match.group(1))


@pytest.fixture
def population(make_organisation, make_user):
    return {
        "alder": make_organisation(name="Alder Hospice", nation="scotland"),
        "birch": make_organisation(name="Birch Home Care", nation="wales", stage="submitted"),
        "cedar": make_organisation(name="Cedar NHS Trust", nation="scotland", stage="submitted"),
        "damson": make_organisation(name="Damson Hospice", nation="england", stage="in_training"),
        "elm": make_organisation(
            name="Elm & <Ivy> Trust", nation="other", other_country="Ireland", stage="withdrawn"
        ),
    }


def test_trainer_list_search_filter_sort_and_counts(trainer_client, population):
    response = trainer_client.get("/organisations")
    assert found(response) == 5
    assert stage_count(response, "Draft application") == 1
    assert stage_count(response, "Submitted for screening") == 2
    assert stage_count(response, "In training") == 1
    assert stage_count(response, "Withdrawn") == 1
    assert stage_count(response, "Approved hub") == 0
    assert "Elm &amp; &lt;Ivy&gt; Trust" in response.get_data(as_text=True)

    assert listed_names(trainer_client.get("/organisations?q=hospice&sort=name")) == [
        "Alder Hospice",
        "Damson Hospice",
    ]
    assert set(listed_names(trainer_client.get("/organisations?stage=submitted"))) == {
        "Birch Home Care",
        "Cedar NHS Trust",
    }
    assert listed_names(trainer_client.get("/organisations?stage=submitted&nation=scotland")) == [
        "Cedar NHS Trust"
    ]
    assert listed_names(trainer_client.get("/organisations?nation=other")) == ["Elm & <Ivy> Trust"]
    by_name = listed_names(trainer_client.get("/organisations?sort=name"))
    assert by_name == sorted(by_name)
    by_activity = listed_names(trainer_client.get("/organisations"))
    assert by_activity[0] == "Elm & <Ivy> Trust"  # withdrawn last
    # Counts at the top stay for the whole population whatever the filter.
    filtered = trainer_client.get("/organisations?q=alder")
    assert found(filtered) == 1 and stage_count(filtered, "Submitted for screening") == 2
    assert found(trainer_client.get("/organisations?q=" + quote("%"))) == 0
    for junk in ("stage=bogus", "nation=mars", "sort=id;drop", "q=" + "x" * 5000):
        assert trainer_client.get(f"/organisations?{junk}").status_code == 200


def test_trainer_list_paginates(make_organisation, trainer_client):
    for i in range(27):
        make_organisation(name=f"Hospice {i:02d}", complete=False)
    first = trainer_client.get("/organisations?sort=name")
    assert found(first) == 27
    assert len(listed_names(first)) == 25
    assert "Page 1 of 2" in page_text(first)
    second = trainer_client.get("/organisations?sort=name&page=2")
    assert listed_names(second) == ["Hospice 25", "Hospice 26"]
    assert "Previous" in page_text(second)


@pytest.mark.parametrize("page", ["9" * 30, "-5", "0", "abc", "1e9", ""])
def test_absurd_page_numbers_do_not_break_the_list(trainer_client, population, page):
    response = trainer_client.get(f"/organisations?page={page}")
    assert response.status_code == 200


def test_queue_lists_submitted_applications_oldest_first(
    make_organisation, trainer_client, make_user
):
    newer = make_organisation(name="Newer Hospice", stage="submitted")
    older = make_organisation(name="Older Hospice", stage="submitted")
    make_organisation(name="Draft Hospice")
    application = db.session.scalar(
        select(HubApplication).where(HubApplication.organisation_id == older.id)
    )
    application.submitted_at = utcnow() - timedelta(days=9)
    db.session.commit()
    text = page_text(trainer_client.get("/organisations/queue"))
    assert text.index("Older Hospice") < text.index("Newer Hospice")
    assert "Draft Hospice" not in text
    assert "9 days" in text and "Today" in text
    assert newer.id != older.id

    admin = client_for(trainer_client.application, make_user(roles=("admin",)))
    assert admin.get("/organisations/queue").status_code == 200
    auditor = client_for(trainer_client.application, make_user(roles=("auditor",)))
    assert auditor.get("/organisations/queue").status_code == 403


def test_empty_queue_and_list(trainer_client):
    assert "No applications are waiting" in page_text(trainer_client.get("/organisations/queue"))
    assert "No organisations match these filters" in page_text(trainer_client.get("/organisations"))


# --- query counts ----------------------------------------------------------------------


def _queries_for(client, url):
    client.get(url)  # warm up: first-request work is not what we measure
    with count_queries(db.engine) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def _add_organisations(app, n, start):
    """`n` submitted organisations, each with a lead and two more members (3 in all)."""
    from app.auth import services as auth_services

    with app.test_request_context():
        for i in range(start, start + n):
            people = [
                auth_services.create_user(
                    email=f"org{i}-{k}@example.org", name=f"Person {i}-{k}", password=PASSWORD
                )
                for k in range(3)
            ]
            db.session.flush()
            org = services.create_organisation(
                people[0],
                services.OrganisationDetails(
                    name=f"Organisation {i:03d}", org_type="charity", nation="england"
                ),
            )
            services.save_application(
                org,
                by=people[0],
                data={
                    k: v for k, v in COMPLETE_APPLICATION_FORM.items() if k != "intro_session_date"
                }
                | {"expected_spokes": 10},
            )
            join_team(org, people[0], people[1], ["coordinator"])
            join_team(org, people[0], people[2], ["facilitator", "specialist"])
            services.submit_application(org, by=people[0])
        db.session.commit()


@pytest.mark.parametrize("url", ["/organisations", "/organisations/queue"])
def test_list_and_queue_query_counts_do_not_grow(app, trainer_client, url):
    _add_organisations(app, 5, 0)
    few = _queries_for(trainer_client, url)
    page = page_text(trainer_client.get(url))
    assert "Organisation 000" in page and "Organisation 004" in page
    _add_organisations(app, 45, 5)
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 50
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 150
    many = _queries_for(trainer_client, url)
    assert many == few
    assert few <= 10, few
