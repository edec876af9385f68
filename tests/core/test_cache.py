"""Cached public pages (app/core/cache.py): served from the cache until a change that shows on
them is committed, never stale, and never at the cost of a page when Redis is down."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from app.certificates import services as certificates
from app.core import cache
from app.extensions import db
from app.organisations.models import Organisation
from tests.conftest import build_app
from tests.factories.certificates import approved_hub, reload
from tests.helpers import login, page_text
from tests.querycount import count_queries


@pytest.fixture
def hub(app, make_user, make_organisation):
    from app.public import services as public

    org, cert, lead, *_ = approved_hub(
        app, make_user, make_organisation, name="Merlin Hospice", nation="wales"
    )
    with app.test_request_context():  # approval alone lists nothing: the lead publishes
        public.save_listing(
            org,
            by=lead,
            text=public.ListingText(
                summary="Sessions.", audience="Nurses.", contact_email="m@x.org"
            ),
            publish=True,
        )
        db.session.commit()
    return org, cert, lead


def _queries(client, url):
    with count_queries(db.engine) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements), page_text(response)


def test_the_directory_is_served_from_the_cache_until_a_certificate_is_revoked(
    app, client, hub, make_user
):
    org, cert, _lead = hub
    built, text = _queries(client, "/hubs")
    assert built > 0 and "Merlin Hospice" in text
    again, text = _queries(client, "/hubs")
    assert again == 0 and "Merlin Hospice" in text  # no database work at all
    with app.test_request_context():
        certificates.revoke(cert, by=make_user(roles=("admin",)), reason="Closed")
        db.session.commit()
    _count, text = _queries(client, "/hubs")
    assert "Merlin Hospice" not in text


def test_a_rolled_back_change_keeps_the_cache_and_a_committed_rename_replaces_it(app, client, hub):
    org, _cert, _lead = hub
    _queries(client, "/hubs")
    org = db.session.get(Organisation, org.id)
    org.name = "Renamed Hospice"
    db.session.flush()
    db.session.rollback()
    again, text = _queries(client, "/hubs")
    assert again == 0 and "Merlin Hospice" in text
    org = db.session.get(Organisation, org.id)
    org.name = "Renamed Hospice"
    db.session.commit()
    _count, text = _queries(client, "/hubs")
    assert "Renamed Hospice" in text and "Merlin Hospice" not in text


def test_activity_that_does_not_show_in_the_directory_keeps_the_cache(app, client, hub):
    org, _cert, _lead = hub
    _queries(client, "/hubs")
    org = db.session.get(Organisation, org.id)
    org.last_activity_at = org.last_activity_at + timedelta(minutes=5)
    db.session.commit()
    assert _queries(client, "/hubs")[0] == 0


def test_the_verify_page_and_json_show_a_revocation_at_once(app, client, hub, make_user):
    _org, cert, _lead = hub
    assert "Valid" in _queries(client, f"/verify/{cert.code}")[1]
    assert client.get(f"/verify/{cert.code}.json").get_json()["status"] == "valid"
    assert _queries(client, f"/verify/{cert.code}")[0] == 0
    with app.test_request_context():
        certificates.revoke(reload(cert.id), by=make_user(roles=("admin",)), reason="Closed")
        db.session.commit()
    assert "Revoked" in _queries(client, f"/verify/{cert.code}")[1]
    assert client.get(f"/verify/{cert.code}.json").get_json()["status"] == "revoked"


def test_signed_in_people_get_their_own_page_not_a_visitors_copy(client, hub, make_user):
    _org, cert, _lead = hub
    _queries(client, f"/verify/{cert.code}")  # a visitor's copy is now cached
    person = make_user(name="Nia Visitor")
    login(client, person.email)
    count, text = _queries(client, f"/verify/{cert.code}")
    assert count > 0 and "Nia Visitor" in text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_listening() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_listening(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_a_change_made_by_one_server_reaches_every_server(app, database_url):
    """Two apps stand for two gunicorn workers: a bump in one invalidates the other's copy."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(url).flushdb()
    first = build_app(database_url, CACHE_URL=url)
    second = build_app(database_url, CACHE_URL=url)
    builds = []

    def build():
        builds.append(1)
        return len(builds)

    with second.test_request_context():
        assert cache.cached("verify", "k", build) == 1
        assert cache.cached("verify", "k", build) == 1
    with first.test_request_context():
        cache.bump("verify")
    with second.test_request_context():
        assert cache.cached("verify", "k", build) == 2
    redis.Redis.from_url(url).flushdb()


def test_when_redis_is_down_pages_are_built_uncached(app, database_url):
    down = build_app(database_url, CACHE_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    builds = []
    with down.test_request_context():
        for _ in range(2):
            cache.cached("directory", "k", lambda: builds.append(1))
    assert len(builds) == 2
    try:
        assert down.test_client().get("/hubs").status_code == 200
    finally:
        with down.app_context():
            db.session.remove()
            db.engine.dispose()  # this second app's own connections


def test_a_stage_change_moves_the_directory_on_through_the_session_alone(
    app, make_organisation, make_user
):
    """`journey.move` changes the stage with a guarded bulk UPDATE and then on the object;
    the session sees the second, so no special call is needed for the directory."""
    from app.organisations import journey

    org = make_organisation(stage="draft", name="Osprey Hospice")
    with app.test_request_context():
        before = cache._store().generation("directory")
        journey.move(org, "withdraw", by=make_user(roles=("admin",)), reason="Closing")
        db.session.commit()
        assert cache._store().generation("directory") == before + 1
