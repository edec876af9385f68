"""Shared fixtures: `app`, `client`, `runner`, `auth`, and factories such as `make_user`.

The schema is built once per session by the real migrations; each test then starts
from empty tables.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient

from tests import dbutil

PASSWORD = "correct-horse-battery-staple"
# A small, stable curriculum for tests; tests/test_content.py checks the shipped one.
TEST_CONTENT_DIR = str(Path(__file__).parent / "fixtures" / "content")


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["INSTANCE_PATH"] = str(path)
    os.environ.setdefault("APP_ENV", "testing")
    return path


@pytest.fixture(scope="session")
def database_url(instance_dir, tmp_path_factory):
    url = dbutil.fresh_database("unit", tmp_path_factory.mktemp("db"))
    dbutil.upgrade(build_app(url))
    yield url
    dbutil.drop_database(url)


def build_app(database_url: str, **overrides):
    from app import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_BASE_URL": "http://localhost",
        "CONTENT_DIR": TEST_CONTENT_DIR,
    }
    config.update(overrides)
    return create_app(test_config=config)


@pytest.fixture
def app_config():
    """Override to change the test app's configuration for one module or test."""
    return {}


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The `app` fixture keeps an app context pushed for the test body; Flask would reuse it
    for requests, sharing `g` (Flask-Login's current user) and the database session
    between every request and every client.
    """

    def open(self, *args, **kwargs):
        # Buffer streamed responses so they are consumed inside this request's own context.
        kwargs.setdefault("buffered", True)
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def app(database_url, app_config):
    app = build_app(database_url, **app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        from app.extensions import db

        dbutil.empty_all_tables(db)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_user(app):
    """Factory: make_user(roles=("trainer",), email=None, active=True) -> committed User."""
    from app.auth import services
    from app.extensions import db

    def make(roles=("applicant",), email=None, name=None, password=PASSWORD, active=True):
        n = next(_counter)
        user = services.create_user(
            email=email or f"user{n}@example.org",
            name=name or f"Test User {n}",
            password=password,
            roles=set(roles),
        )
        if not active:
            user.is_active_account = False
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=PASSWORD, next_url=None):
        url = "/account/login" + (f"?next={next_url}" if next_url else "")
        return self.client.post(url, data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/account/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login_as(make_user, auth):
    """login_as("admin") -> a freshly made user with that role, signed in on `client`."""

    def do(*roles):
        user = make_user(roles=roles or ("applicant",))
        response = auth.login(user.email)
        assert response.status_code == 302, response.data
        return user

    return do
