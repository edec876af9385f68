"""Directory listing by choice: an approved hub is in "Join a network" only once its lead
has written a listing and published it; the lead edits and unpublishes it; staff hide it
(moderation, audited, the lead told) and let it be shown again."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.public import services
from app.public.models import HubListing
from tests.factories.certificates import approved_hub
from tests.factories.organisations import clear_outbox, outbox_to
from tests.helpers import events, field_errors, login, page_text

CONTACT = "echo@plover.example.org"
NETWORK = "Bereavement Support ECHO for the North East"  # from the application factory

LISTING_FORM = {
    "summary": "Monthly case discussions about grief after a death in a care home.",
    "audience": "Care home staff and community nurses in the North East.",
    "session_rhythm": "Monthly, second Tuesday, 13:00–14:00",
    "contact_email": CONTACT,
    "join_url": "",
}


@pytest.fixture
def hub(app, make_user, make_organisation):
    """An approved hub with a valid certificate and no listing yet."""
    return approved_hub(app, make_user, make_organisation, name="Plover Hospice")


def url(org):
    return f"/organisations/{org.id}/listing"


def record_of(org) -> HubListing | None:
    db.session.expire_all()
    return db.session.query(HubListing).filter_by(organisation_id=org.id).one_or_none()


def directory_text(client) -> str:
    return page_text(client.get("/hubs"))


def publish(client, org, **overrides):
    return client.post(url(org), data={**LISTING_FORM, **overrides, "publish": "Save and publish"})


def test_approval_alone_lists_nothing_and_the_lead_is_told(app, client, hub):
    assert "Plover Hospice" not in directory_text(client)
    assert client.get(f"/hubs/{hub.org.id}").status_code == 404
    (approved,) = [m for m in outbox_to(hub.lead.email) if "approved" in m.subject]
    assert 'not in the public "Join a network" directory yet' in approved.body
    login(client, hub.lead.email)
    page = page_text(client.get(url(hub.org)))
    assert "Not in the directory yet" in page
    # The form starts with the application's target audience, for the lead to edit.
    assert "Community nurses, care home staff and hospice volunteers." in page


def test_a_draft_is_kept_but_not_listed(client, hub):
    login(client, hub.lead.email)
    response = client.post(url(hub.org), data={"summary": "Half written", "save": "Save draft"})
    assert response.status_code == 302
    assert record_of(hub.org).summary == "Half written"
    assert record_of(hub.org).published is False
    assert "Draft saved" in page_text(client.get(url(hub.org)))
    client.post("/account/logout")
    assert "Plover Hospice" not in directory_text(client)


def test_publishing_lists_the_hub_with_what_the_lead_wrote(client, hub):
    anonymous = client.application.test_client()
    assert "Plover Hospice" not in directory_text(anonymous)  # cached while empty
    login(client, hub.lead.email)
    response = publish(client, hub.org)
    assert response.status_code == 302
    assert "Listing published" in page_text(client.get(url(hub.org)))
    # The visitor's cached directory is dropped by the commit that published.
    text = directory_text(anonymous)
    assert NETWORK in text and "Monthly case discussions about grief" in text
    listing = page_text(anonymous.get(f"/hubs/{hub.org.id}"))
    assert "Care home staff and community nurses in the North East." in listing
    assert CONTACT in listing and "Monthly, second Tuesday, 13:00–14:00" in listing
    [event] = events("listing.published")
    assert event.organisation_id == hub.org.id


@pytest.mark.parametrize(
    "missing,field,message",
    [
        ("summary", "summary", "Write a short summary of the network"),
        ("audience", "audience", "Say who the network is for"),
        ("contact_email", "contact_email", "Give a contact email or a joining link"),
    ],
)
def test_an_incomplete_listing_cannot_be_published(client, hub, missing, field, message):
    login(client, hub.lead.email)
    response = publish(client, hub.org, **{missing: ""})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert record_of(hub.org) is None  # nothing saved


def test_a_joining_link_alone_is_enough_contact(client, hub):
    login(client, hub.lead.email)
    response = publish(
        client, hub.org, contact_email="", join_url="https://plover.example.org/join"
    )
    assert response.status_code == 302
    assert record_of(hub.org).published is True


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"contact_email": "not-an-email"}, "contact_email", "That contact email is not valid"),
        ({"join_url": "http://plover.example.org"}, "join_url", "full https:// address"),
        ({"join_url": "https://"}, "join_url", "full https:// address"),
        ({"join_url": "javascript:alert(1)"}, "join_url", "full https:// address"),
        # A line break in a single-line field is cleaned by every form (app.core.forms), so
        # two addresses become one invalid address; the service's own refusals of line
        # breaks and control characters are tested without the form below.
        ({"contact_email": "a@example.org\nb@example.org"}, "contact_email", "not valid"),
        ({"audience": "x" * 501}, "audience", "at most 500 characters"),
        ({"summary": "x" * 1001}, "summary", "at most 1000 characters"),
        ({"session_rhythm": "x" * 121}, "session_rhythm", "at most 120 characters"),
    ],
)
def test_bad_listing_input_is_refused_next_to_the_field_and_changes_nothing(
    client, hub, overrides, field, message
):
    login(client, hub.lead.email)
    publish(client, hub.org)
    before = record_of(hub.org)
    snapshot = (before.summary, before.audience, before.session_rhythm, before.contact_email)
    response = client.post(url(hub.org), data={**LISTING_FORM, **overrides, "save": "Save"})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    after = record_of(hub.org)
    assert (after.summary, after.audience, after.session_rhythm, after.contact_email) == snapshot


def test_the_service_refuses_the_same_without_the_form(app, hub):
    with app.test_request_context(), pytest.raises(services.ServiceError) as error:
        services.save_listing(
            hub.org,
            by=hub.lead,
            text=services.ListingText(summary="a" * 1001, audience="b", contact_email=CONTACT),
            publish=True,
        )
    assert error.value.field == "summary"


def test_markup_in_a_listing_is_shown_as_text(client, hub):
    login(client, hub.lead.email)
    publish(client, hub.org, summary="<script>alert(1)</script> **bold**")
    client.post("/account/logout")
    body = client.get(f"/hubs/{hub.org.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**" in body


def test_the_lead_edits_a_published_listing_and_it_must_stay_complete(client, hub):
    login(client, hub.lead.email)
    publish(client, hub.org)
    response = client.post(
        url(hub.org), data={**LISTING_FORM, "summary": "Now fortnightly.", "save": "Save"}
    )
    assert response.status_code == 302
    assert record_of(hub.org).published is True
    assert "Now fortnightly." in page_text(client.get(f"/hubs/{hub.org.id}"))
    emptied = client.post(url(hub.org), data={**LISTING_FORM, "audience": "", "save": "Save"})
    assert emptied.status_code == 400
    assert "Say who the network is for" in field_errors(emptied, "audience")
    assert [e.action for e in events("listing.updated")] == ["listing.updated"]


def test_unpublishing_takes_it_out_and_keeps_the_words(client, hub):
    anonymous = client.application.test_client()
    login(client, hub.lead.email)
    publish(client, hub.org)
    assert NETWORK in directory_text(anonymous)
    response = client.post(url(hub.org) + "/unpublish")
    assert response.status_code == 302
    assert "Listing unpublished" in page_text(client.get(url(hub.org)))
    assert NETWORK not in directory_text(anonymous)
    assert anonymous.get(f"/hubs/{hub.org.id}").status_code == 404
    assert record_of(hub.org).summary == LISTING_FORM["summary"]
    assert len(events("listing.unpublished")) == 1
    again = client.post(url(hub.org) + "/unpublish")  # nothing to take down: a message
    assert again.status_code == 302
    assert "not published" in page_text(client.get(url(hub.org)))
    publish(client, hub.org)
    assert NETWORK in directory_text(anonymous)


def test_only_the_lead_of_an_approved_hub_writes_a_listing(app, client, hub, make_organisation):
    org = make_organisation(stage="in_training")
    with app.test_request_context():
        lead = org.memberships[0].user
        with pytest.raises(services.ServiceError, match="Only an approved hub"):
            services.save_listing(org, by=lead, text=services.ListingText(), publish=False)
        with pytest.raises(services.ServiceError, match="Only the hub lead"):
            services.save_listing(hub.org, by=hub.author, text=services.ListingText())


def test_staff_hide_a_listing_with_a_reason_the_lead_is_told(app, client, hub, make_user):
    anonymous = client.application.test_client()
    login(client, hub.lead.email)
    publish(client, hub.org)
    client.post("/account/logout")
    trainer = make_user(roles=("trainer",), name="Mo Moderator")
    login(client, trainer.email)
    refused = client.post(url(hub.org) + "/hide", data={"hide-reason": ""})
    assert refused.status_code == 400
    assert "Say why the listing is hidden" in field_errors(refused, "hide-reason")
    assert record_of(hub.org).hidden_at is None
    clear_outbox()
    response = client.post(
        url(hub.org) + "/hide", data={"hide-reason": "The contact address bounces."}
    )
    assert response.status_code == 302
    assert NETWORK not in directory_text(anonymous)
    assert anonymous.get(f"/hubs/{hub.org.id}").status_code == 404
    [event] = events("listing.hidden")
    assert event.details["reason"] == "The contact address bounces."
    (mail,) = outbox_to(hub.lead.email)
    assert "The contact address bounces." in mail.body
    client.post("/account/logout")

    # The lead sees why, can still edit, but cannot show it again.
    login(client, hub.lead.email)
    page = page_text(client.get(url(hub.org)))
    assert "Hidden by the superhub" in page and "The contact address bounces." in page
    assert "Mo Moderator" in page
    edited = client.post(
        url(hub.org),
        data={**LISTING_FORM, "contact_email": "new@plover.example.org", "save": "Save"},
    )
    assert edited.status_code == 302
    assert "The superhub has hidden it" in page_text(client.get(url(hub.org)))
    assert NETWORK not in directory_text(anonymous)
    client.post("/account/logout")

    login(client, trainer.email)
    clear_outbox()
    assert client.post(url(hub.org) + "/restore").status_code == 302
    assert NETWORK in directory_text(anonymous)
    assert "new@plover.example.org" in page_text(anonymous.get(f"/hubs/{hub.org.id}"))
    assert len(events("listing.restored")) == 1
    assert len(outbox_to(hub.lead.email)) == 1


def test_moderation_is_for_trainers_and_admins_only(app, client, hub, make_user):
    login(client, hub.lead.email)
    publish(client, hub.org)
    client.post("/account/logout")
    for roles, status in ((("auditor",), 403), (("applicant",), 403)):
        person = make_user(roles=roles)
        login(client, person.email)
        response = client.post(url(hub.org) + "/hide", data={"hide-reason": "No."})
        assert response.status_code == status
        client.post("/account/logout")
    # The lead is not staff: refused too.
    login(client, hub.lead.email)
    assert client.post(url(hub.org) + "/hide", data={"hide-reason": "No."}).status_code == 403
    assert record_of(hub.org).hidden_at is None
    client.post("/account/logout")
    admin = make_user(roles=("admin",))
    login(client, admin.email)
    page = page_text(client.get(url(hub.org)))
    assert "Moderation" in page and "Hide from the directory" in page
    assert client.post(url(hub.org) + "/hide", data={"hide-reason": "Checking."}).status_code == 302


def test_a_trainer_reading_the_public_listing_has_a_moderation_link(client, hub, make_user):
    login(client, hub.lead.email)
    publish(client, hub.org)
    client.post("/account/logout")
    assert "Moderate this listing" not in page_text(client.get(f"/hubs/{hub.org.id}"))
    login(client, make_user(roles=("trainer",)).email)
    body = client.get(f"/hubs/{hub.org.id}").get_data(as_text=True)
    assert "Moderate this listing" in body and f'href="{url(hub.org)}"' in body


def test_a_published_listing_of_a_revoked_hub_is_not_shown(app, client, hub, make_user):
    from app.certificates import services as certificates

    login(client, hub.lead.email)
    publish(client, hub.org)
    with app.test_request_context():
        certificates.revoke(hub.cert, by=make_user(roles=("admin",)), reason="Closed")
        db.session.commit()
    assert NETWORK not in directory_text(client.application.test_client())
    assert "Published, but not shown" in page_text(client.get(url(hub.org)))


def test_a_line_break_in_the_schedule_is_cleaned_to_one_line(client, hub):
    login(client, hub.lead.email)
    publish(client, hub.org)
    form = {**LISTING_FORM, "session_rhythm": "Monthly\r\nBcc: x@example.org", "save": "Save"}
    assert client.post(url(hub.org), data=form).status_code == 302
    assert record_of(hub.org).session_rhythm == "Monthly  Bcc: x@example.org"


def test_a_nul_character_is_refused_before_the_form(client, hub):
    login(client, hub.lead.email)
    publish(client, hub.org)
    before = record_of(hub.org).summary
    response = client.post(url(hub.org), data={**LISTING_FORM, "summary": "Nul\x00byte"})
    assert response.status_code == 400 and record_of(hub.org).summary == before
