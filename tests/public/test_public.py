"""The public face: landing page, directory, listings, expressions of interest, sitemap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.certificates import services as certificates
from app.core import clock
from app.extensions import db
from app.public import services
from app.public.models import ExpressionOfInterest
from tests.factories.certificates import approved_hub, reload
from tests.factories.organisations import (
    clear_outbox,
    count,
    outbox_to,
)
from tests.helpers import events, login, page_text
from tests.querycount import count_queries

CONTACT = "echo@kestrel.example.org"


@pytest.fixture
def app_config():
    return {"IMPACT_CACHE_SECONDS": 0}


@pytest.fixture
def publish(app):
    def run(org, lead, publish=True, **values):
        data = {
            "summary": "Monthly case discussions.",
            "audience": "Community nurses, care home staff and hospice volunteers.",
            "session_rhythm": "Monthly, second Tuesday",
            "contact_email": CONTACT,
            "join_url": "",
        }
        data.update(values)
        with app.test_request_context():
            record = services.save_listing(
                org, by=lead, text=services.ListingText(**data), publish=publish
            )
            db.session.commit()
        return record

    return run


@pytest.fixture
def hub(app, make_user, make_organisation, publish):
    org, cert, lead, *_ = approved_hub(
        app, make_user, make_organisation, name="Kestrel Hospice", nation="wales"
    )
    publish(org, lead)
    return org, cert, lead


def test_the_landing_page_explains_echo_and_the_path(client, hub):
    response = client.get("/")
    text = page_text(response)
    for expected in (
        "What Project ECHO is",
        "The four principles",
        "What a session looks like",
        "Becoming a hub with us",
        "Register and start an application",
        "Our programme in numbers",
        "hubs approved",
    ):
        assert expected in text, expected
    for step in ("Learn", "Apply", "Agree", "Train", "Ready", "Approved", "Launched"):
        assert f"</span> {step}</h3>" in response.get_data(as_text=True)
    assert '<meta name="description"' in text
    assert client.get("/about").status_code == 200


def test_impact_figures_are_computed_from_the_data(app, hub, make_organisation):
    make_organisation(stage="in_training")
    with app.test_request_context():
        figures = services.impact()
    assert figures.hubs_approved == 1
    assert figures.networks_launched == 0
    assert figures.in_training == 1


def test_the_landing_page_and_directory_use_a_fixed_number_of_queries(
    app, client, make_user, make_organisation, publish
):
    first = approved_hub(app, make_user, make_organisation, name="One Hospice")
    publish(first[0], first[2])
    with count_queries(db.engine) as landing_one:
        client.get("/")
    with count_queries(db.engine) as directory_one:
        client.get("/hubs")
    for name in ("Two Hospice", "Three Hospice", "Four Hospice"):
        org, _cert, lead, *_ = approved_hub(app, make_user, make_organisation, name=name)
        publish(org, lead)
    with count_queries(db.engine) as landing_many:
        client.get("/")
    with count_queries(db.engine) as directory_many:
        assert "4 networks" in page_text(client.get("/hubs"))
    assert len(landing_many) == len(landing_one)
    assert len(directory_many) == len(directory_one)


def test_the_directory_lists_approved_hubs_with_a_valid_certificate(
    app, client, hub, make_organisation
):
    make_organisation(stage="in_training", name="Trainee Hospice")
    text = page_text(client.get("/hubs"))
    assert "Bereavement Support ECHO for the North East" in text
    assert "Kestrel Hospice" in text and "Trainee Hospice" not in text
    assert f"/verify/{hub[1].code}" in text


def test_search_and_filters(client, hub):
    assert "1 network match" in page_text(client.get("/hubs?q=bereavement"))
    assert "0 networks match" in page_text(client.get("/hubs?q=dementia"))
    assert "1 network match" in page_text(client.get("/hubs?theme=Bereavement+support"))
    assert "1 network match" in page_text(client.get("/hubs?nation=wales"))
    assert "0 networks match" in page_text(client.get("/hubs?nation=scotland"))


@pytest.mark.parametrize(
    "query,message",
    [
        ("theme=Astrology", "No listed network has that theme"),
        ("nation=atlantis", "That nation or region is not one we know"),
        ("q=" + "x" * 300, "Use at most 100 characters"),
    ],
)
def test_unknown_or_overlong_filters_get_a_message(client, hub, query, message):
    response = client.get(f"/hubs?{query}")
    assert response.status_code == 200 and message in page_text(response)


def test_markup_in_a_search_is_shown_as_text(client, hub):
    response = client.get("/hubs", query_string={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_a_revoked_or_expired_certificate_removes_the_hub(app, client, hub, make_user):
    org, cert, _lead = hub
    assert client.get(f"/hubs/{org.id}").status_code == 200
    with app.test_request_context():
        certificates.revoke(cert, by=make_user(roles=("admin",)), reason="Closed")
        db.session.commit()
    assert client.get(f"/hubs/{org.id}").status_code == 404
    assert "Kestrel Hospice" not in page_text(client.get("/hubs"))


def test_an_expired_certificate_removes_the_hub(client, hub):
    org, cert, _lead = hub
    cert = reload(cert.id)
    cert.expires_on = clock.today() - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/hubs/{org.id}").status_code == 404


def _interest(**overrides):
    data = {
        "name": "Dawn Pritchard",
        "email": "dawn@example.org",
        "role": "Deputy manager",
        "organisation": "Malvern View",
        "message": "Could two of our carers join?",
        "website": "",
    }
    data.update(overrides)
    return data


def test_an_expression_of_interest_reaches_the_published_contact(client, hub):
    org, _cert, lead = hub
    clear_outbox()
    response = client.post(f"/hubs/{org.id}/interest", data=_interest())
    assert response.status_code == 302 and "sent=1" in response.headers["Location"]
    (mail,) = outbox_to(CONTACT)
    assert "Dawn Pritchard" in mail.body and "Could two of our carers join?" in mail.body
    assert lead.email not in mail.to  # nothing private is revealed or used
    assert count(ExpressionOfInterest) == 1
    assert len(events("listing.interest_received")) == 1
    login(client, lead.email)
    assert "Dawn Pritchard" in page_text(client.get(f"/organisations/{org.id}/listing"))


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"email": "dawn@"}, "Enter a valid email address"),
        ({"message": "x" * 2001}, "Use at most 2000 characters"),
        ({"name": ""}, "Enter your name."),
        ({"website": "http://spam.example"}, "Your message could not be sent"),
    ],
)
def test_bad_expressions_of_interest_send_nothing(client, hub, overrides, message):
    org, _cert, _lead = hub
    clear_outbox()
    response = client.post(f"/hubs/{org.id}/interest", data=_interest(**overrides))
    assert response.status_code == 400 and message in page_text(response)
    assert outbox_to(CONTACT) == [] and count(ExpressionOfInterest) == 0


@pytest.mark.parametrize("app_config", [{"INTEREST_LIMIT_PER_IP": "2 per minute"}])
def test_too_many_expressions_from_one_address_are_refused(client, hub):
    org, _cert, _lead = hub
    statuses = [
        client.post(f"/hubs/{org.id}/interest", data=_interest()).status_code for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert count(ExpressionOfInterest) == 2


def test_the_sitemap_lists_public_pages_and_hubs(client, hub):
    org, _cert, _lead = hub
    body = client.get("/sitemap.xml").get_data(as_text=True)
    assert "<urlset" in body and "/about" in body and "/hubs" in body
    assert f"/hubs/{org.id}" in body
    assert "Sitemap:" in client.get("/robots.txt").get_data(as_text=True)


def test_the_directory_is_paged_and_a_page_past_the_end_shows_the_last(
    app, client, make_user, make_organisation, publish
):
    for name in ("Page One Hospice", "Page Two Hospice", "Page Three Hospice"):
        org, _cert, lead, *_ = approved_hub(app, make_user, make_organisation, name=name)
        publish(org, lead)
    last = services.directory_page(page=99, per_page=2)
    assert (last.page, last.pages, last.total, len(last.items)) == (2, 2, 3, 1)
    assert client.get("/hubs?page=999999999999").status_code == 200
