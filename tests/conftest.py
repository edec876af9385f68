"""Shared fixtures: `app`, `client`, `runner`, `auth`, and factories such as `make_user`.

The schema is built once per session by the real migrations, and the app once (unless a
test overrides `app_config` with a setting read at start-up: see PER_REQUEST_SETTINGS).
Every session of a test shares one connection and runs in a SAVEPOINT inside the test's
transaction, which is rolled back afterwards: tests see each other's nothing and cost no
DELETEs. Tests whose threads must see real commits are
marked `commits` and get a database of their own.
"""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient

from tests import dbutil

PASSWORD = "correct-horse-battery-staple"


def _register_test_audit_actions() -> None:
    # Actions the audit chain's own tests record; real ones come from each area's events.py.
    from app.core import audit

    audit.register_actions(
        {
            "test.event": "did a test thing",
            "test.parallel": "did a test thing in parallel",
            "test.should_not_persist": "did a test thing that is rolled back",
        }
    )


_register_test_audit_actions()

# Instants at which time-sensitive tests (marked `any_hour`) run, the clock ticking on from
# there: the hours and dates at which "today", "this week" and "before the deadline" go wrong.
INSTANTS = {
    "late-evening": "2026-12-02T23:45:00+00:00",
    "monday-morning": "2026-11-30T08:05:00+00:00",
    "last-day-of-month-after-midnight-bst": "2026-06-30T23:30:00+00:00",
    "clock-change": "2026-10-25T00:30:00+00:00",
}


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("any_hour"):
        metafunc.parametrize(
            "frozen_clock", list(INSTANTS.values()), ids=list(INSTANTS), indirect=True
        )


# The test files that take longest, with roughly their seconds on the 2-core machine with
# both workers busy (measured 2026-12-04). pytest-xdist's worksteal hands each worker one
# contiguous share of the collection and steals only from a share's end, so a long file late in a
# share can leave its worker finishing alone. These files go first in the shares instead,
# longest first and spread over the workers; every other file keeps its place and order.
SLOW_FILES = {
    "tests/e2e/test_readiness_journey.py": 37,
    "tests/e2e/test_every_page_fits_journey.py": 32,
    "tests/e2e/test_organisation_journey.py": 21,
    "tests/demo/test_demo_seed.py": 16,
    "tests/e2e/test_journeys.py": 14,
    "tests/e2e/test_immersion_journey.py": 14,
    "tests/e2e/test_layout_journey.py": 13,
    "tests/core/test_deploy.py": 12,
    "tests/demo/test_demo_immersion.py": 11,
    "tests/core/test_access_policy.py": 11,
    "tests/e2e/test_delivery_journey.py": 10,
    "tests/e2e/test_certificate_journey.py": 9,
    "tests/e2e/test_agreement_record_journey.py": 9,
    "tests/demo/test_demo_certificates.py": 8,
    "tests/e2e/test_guidance_directory_journey.py": 8,
}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Put SLOW_FILES at the heads of the workers' shares (see above): each in turn, longest
    first, goes to the share with the least slow work so far. Tests of one file stay
    together and in order (module fixtures are built once)."""
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    slow = sorted((f for f in files if f in SLOW_FILES), key=lambda f: -SLOW_FILES[f])
    heads: list[list] = [[] for _ in range(workers)]
    load = [0] * workers
    for name in slow:
        share = load.index(min(load))
        heads[share].extend(files[name])
        load[share] += SLOW_FILES[name]
    rest = [item for name, group in files.items() if name not in SLOW_FILES for item in group]
    # Shares as worksteal cuts them: each worker in turn gets len(left) // workers_left.
    ordered, left = [], len(items)
    for share in range(workers):
        size = left // (workers - share)
        fill = max(0, size - len(heads[share]))
        ordered += heads[share] + rest[:fill]
        rest = rest[fill:]
        left -= size
    items[:] = ordered + rest


@pytest.fixture
def frozen_clock(request):
    """The clock (app.core.clock, and every library's) moved to `request.param`, ticking."""
    from datetime import datetime

    import time_machine

    with time_machine.travel(datetime.fromisoformat(request.param), tick=True) as traveller:
        yield traveller


# A small, stable curriculum for tests; tests/training/test_training.py checks the shipped one.
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


# Settings the app reads while it serves, never while it is built: a test that changes only
# these runs on the shared app with them set (and put back afterwards, like everything a test
# changes there) rather than on an app of its own, which costs a build and a fresh template
# cache. Add a setting here only if nothing reads it in create_app or an extension's init_app.
PER_REQUEST_SETTINGS = frozenset(
    {"STORAGE_DIR", "EVIDENCE_MAX_BYTES", "MAX_CONTENT_LENGTH", "IMPACT_CACHE_SECONDS"}
)


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


@pytest.fixture(scope="session", autouse=True)
def _remember_password_estimates():
    """zxcvbn's guess estimate is a pure function of the password and costs ~10 ms; the
    suite makes thousands of accounts with the same password, so it is worked out once
    per password here. (The app keeps no password in memory.)"""
    import functools

    from app.auth import passwords

    original = passwords._estimated_guesses_log10
    passwords._estimated_guesses_log10 = functools.lru_cache(maxsize=256)(original)
    yield
    passwords._estimated_guesses_log10 = original


@pytest.fixture(scope="session")
def _shared_app(database_url):
    """The app every test uses unless it overrides `app_config`: built once per session."""
    app = build_app(database_url)
    app.test_client_class = IsolatedClient
    with app.app_context():
        from app.extensions import db

        _open_transactions_on_sqlite(db.engine)
    return app


def _open_transactions_on_sqlite(engine) -> None:
    """pysqlite opens no transaction before a SAVEPOINT; emit BEGIN ourselves (SQLAlchemy's
    recipe) so each test's outer transaction and savepoints mean what they say."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        # Still listen once, so listeners added later (query counts) see this connection.
        event.listen(engine, "begin", lambda conn: None)
        return

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def _connection(_shared_app):
    """The one connection every test's sessions share; each test's writes are rolled back."""
    from app.extensions import db

    with _shared_app.app_context():
        connection = db.engine.connect()
    yield connection
    connection.close()
    with _shared_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def commits_database_url(instance_dir, tmp_path_factory):
    """A database of its own for the tests marked `commits` (threads racing for real)."""
    url = dbutil.fresh_database("commits", tmp_path_factory.mktemp("commits"))
    dbutil.upgrade(build_app(url))
    yield url
    dbutil.drop_database(url)


def _bind_sessions(connection) -> None:
    from app.extensions import db

    factory = db.session.session_factory
    if connection is None:
        factory.kw.pop("bind", None)
        factory.kw.pop("join_transaction_mode", None)
    else:
        factory.configure(bind=connection, join_transaction_mode="create_savepoint")


@contextmanager
def bound_to(connection):
    """Every session made inside the block uses `connection`, each in its own SAVEPOINT:
    a commit releases the savepoint, a rollback returns to it, nothing reaches the disk."""
    from app.extensions import db

    db.session.remove()
    _bind_sessions(connection)
    try:
        yield
    finally:
        db.session.remove()
        _bind_sessions(None)


@contextmanager
def unbound_sessions():
    """Inside a test: sessions use their app's own engine again (for an app pointed at a
    database that is down, or a production-configured app)."""
    from app.extensions import db

    connection = db.session.session_factory.kw.get("bind")
    _bind_sessions(None)
    try:
        yield
    finally:
        _bind_sessions(connection)


def _reset_app_state(app, config: dict, extensions: dict) -> None:
    """Undo what a test left on a shared app: config, settings and content it replaced,
    caches, mail, rate-limit counters."""
    from app.core import cache
    from app.extensions import limiter

    app.config.clear()
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(extensions)
    for key in ("navigation_cache", "impact_cache", "certificate_signing", "certificate_trust"):
        app.extensions.pop(key, None)
    app.extensions.pop("recompletion_floors", None)
    cache.init_app(app)
    mailman = app.extensions["mailman"]
    if hasattr(mailman, "outbox"):
        mailman.outbox = []
    with app.app_context():
        limiter.reset()


@pytest.fixture
def app(request, database_url, app_config, _connection):
    """The app for one test, inside a transaction rolled back afterwards.

    Tests marked `commits` (threads that must see each other's commits) get an app of their
    own on the `commits` database instead, emptied before the test as the suite once did.
    """
    if request.node.get_closest_marker("commits"):
        yield from _committing_app(request.getfixturevalue("commits_database_url"), app_config)
        return
    own = request.node.get_closest_marker("own_app") is not None
    shared = not own and app_config.keys() <= PER_REQUEST_SETTINGS
    if own:
        app = build_app(database_url, **app_config)
        app.test_client_class = IsolatedClient
    elif shared:
        app = request.getfixturevalue("_shared_app")
    else:
        app = _app_built_with(database_url, app_config)
    saved_config, saved_extensions = dict(app.config), dict(app.extensions)
    if not own:
        app.config.update(app_config)
    outer = _connection.begin_nested() if _connection.in_transaction() else _connection.begin()
    try:
        with app.app_context(), bound_to(_connection):
            yield app
    finally:
        if outer.is_active:
            outer.rollback()
        if not own:
            _reset_app_state(app, saved_config, saved_extensions)
        if not shared:
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()


# Apps built for a configuration the shared app cannot take on per request (throttle limits,
# CSRF on...), one per distinct configuration, kept for the session and reset after each
# test as the shared app is. A test that needs an app nobody else has used is marked
# `own_app`.
_BUILT_WITH: dict[str, object] = {}


def _app_built_with(database_url: str, app_config: dict):
    key = repr(sorted(app_config.items()))
    if key not in _BUILT_WITH:
        app = build_app(database_url, **app_config)
        app.test_client_class = IsolatedClient
        with app.app_context():
            from app.extensions import db

            _open_transactions_on_sqlite(db.engine)
        _BUILT_WITH[key] = app
    return _BUILT_WITH[key]


def _committing_app(url, app_config):
    app = build_app(url, **app_config)
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


def new_user(roles=("applicant",), email=None, name=None, password=PASSWORD, active=True):
    """A committed user with `roles` (for fixtures of any scope; tests use `make_user`)."""
    from app.auth import services
    from app.extensions import db

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


@pytest.fixture
def make_user(app):
    """Factory: make_user(roles=("trainer",), email=None, active=True) -> committed User."""
    return new_user


@pytest.fixture(scope="module")
def module_world(_shared_app, _connection):
    """Opt-in for data a whole module reads (a "world", e.g. the access matrix's
    organisations with a rendered certificate): module-scoped fixtures that take this one
    build it once, inside a transaction each test of the module nests its own in; it is
    rolled back after the module. Yields the app, in a context, for building."""
    outer = _connection.begin()
    try:
        with _shared_app.app_context(), bound_to(_connection):
            yield _shared_app
    finally:
        outer.rollback()


@pytest.fixture
def make_organisation(app, make_user):
    """Factory: make_organisation(stage="submitted", lead=None, members=None, **details)
    -> Organisation, built through the services (tests/factories/organisations.py)."""
    from tests.factories.organisations import organisation_factory

    return organisation_factory(app, make_user)


@pytest.fixture
def make_team(app, make_user, make_organisation):
    """Factory: make_team(stage="in_training", verified=True) -> Team with every required
    role held by its own person (tests/factories/immersion.py)."""
    from tests.factories.immersion import team_factory

    return team_factory(app, make_user, make_organisation)


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


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1 for one test (tests/smtp.py); `app_config` may use
    `smtp_sink.config()` to send the app's mail there."""
    from tests.smtp import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()
