"""Accounts: registration, login, logout, `next` redirects, rate limits and session timeouts."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core import clock
from app.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import events, field_errors, is_signed_in, login, page_text

# --- helpers ------------------------------------------------------------------------------


def user_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


def get_user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def register(client, environ_base=None, **overrides):
    data = {
        "name": "Robin Ashby",
        "email": "robin@hospice.example.org",
        "job_title": "Education lead",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(overrides)
    if "confirm" not in overrides and "password" in overrides:
        data["confirm"] = overrides["password"]
    return client.post("/account/register", data=data, environ_base=environ_base or {})


# --- registration -------------------------------------------------------------------------


def test_register_creates_an_unconfirmed_applicant_and_audits(client):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/check-email"

    user = get_user("robin@hospice.example.org")
    assert user is not None
    assert user.roles == {"applicant"}
    assert user.name == "Robin Ashby"
    assert user.job_title == "Education lead"
    assert user.password_hash != PASSWORD and PASSWORD not in user.password_hash
    assert user.email_verified_at is None
    assert not is_signed_in(client)  # they log in once the address is confirmed (or before)

    registered = events("user.registered")
    assert len(registered) == 1
    assert registered[0].subject_type == "user"
    assert registered[0].subject_id == str(user.id)
    assert registered[0].actor_id == user.id
    assert registered[0].details["roles"] == ["applicant"]
    # No password (or hash) ever reaches the audit log.
    assert PASSWORD not in str(registered[0].details)


def test_register_stores_email_normalised(client):
    assert register(client, email="Robin.Ashby@Hospice.Example.ORG").status_code == 302
    assert get_user("robin.ashby@hospice.example.org") is not None


@pytest.mark.parametrize(
    "email",
    ["taken@example.org", "TAKEN@Example.org", " taken@example.org ", "Taken@EXAMPLE.org\t"],
)
def test_register_with_a_taken_email_answers_as_for_a_new_one(client, make_user, email):
    owner = make_user(email="taken@example.org")
    before = user_count()
    hash_before = owner.password_hash

    response = register(client, email=email, name="Someone Else")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/check-email"
    assert user_count() == before
    assert events("user.registered") == []
    assert not is_signed_in(client)
    db.session.expire_all()
    assert get_user("taken@example.org").password_hash == hash_before
    assert get_user("taken@example.org").name == owner.name


@pytest.mark.parametrize("field", ["name", "email", "job_title"])
def test_register_overlong_fields_are_refused_without_error(client, field):
    value = "x" * 10_000 if field != "email" else "a" * 10_000 + "@example.org"
    response = register(client, **{field: value})

    assert response.status_code == 200
    assert "Use at most" in field_errors(response, field)
    assert user_count() == 0
    assert events("user.registered") == []


def test_register_email_at_column_limit_is_accepted(client):
    # 254 characters is the longest email the column (and RFC 5321) allows; 255 is refused.
    email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"
    assert len(email) == 254
    too_long = register(client, email="a" + email)
    assert "Use at most 254 characters." in field_errors(too_long, "email")
    assert user_count() == 0

    response = register(client, email=email)
    assert response.status_code == 302
    assert get_user(email) is not None


def test_register_mismatched_confirmation(client):
    response = register(client, password=PASSWORD, confirm=PASSWORD + "x")
    assert response.status_code == 200
    assert "The two passwords do not match." in field_errors(response, "confirm")
    assert user_count() == 0


def test_register_requires_name_and_valid_email(client):
    response = register(client, name="   ", email="not-an-email")
    assert response.status_code == 200
    assert "Enter your name." in field_errors(response, "name")
    assert "Enter a valid email address" in field_errors(response, "email")
    assert user_count() == 0


def test_register_when_signed_in_redirects_home(client, login_as):
    login_as("applicant")
    before = user_count()
    response = register(client, email="someone.else@example.org")
    assert response.status_code == 302
    assert user_count() == before


# --- login --------------------------------------------------------------------------------


def test_login_success_audits_and_starts_session(client, make_user):
    user = make_user()
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_signed_in(client)

    logins = events("auth.login")
    assert len(logins) == 1 and logins[0].actor_id == user.id
    assert get_user(user.email).last_login_at is not None


def test_login_email_is_case_and_space_insensitive(client, make_user):
    user = make_user(email="casey@example.org")
    assert login(client, "  CASEY@Example.org ").status_code == 302
    assert is_signed_in(client)
    assert events("auth.login")[0].actor_id == user.id


def test_wrong_password_and_unknown_email_look_the_same(app, make_user):
    user = make_user()
    wrong = login(app.test_client(), user.email, password="not-the-password-at-all")
    unknown = login(app.test_client(), "nobody@example.org", password=PASSWORD)

    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Email or password is incorrect." in page_text(response)
    assert "deactivated" not in page_text(wrong)

    failed = events("auth.login_failed")
    assert [e.details["reason"] for e in failed] == ["wrong password", "unknown email"]
    assert failed[0].subject_id == str(user.id)
    assert failed[1].details["email"] == "nobody@example.org"
    assert events("auth.login") == []
    # The password tried is never written to the log.
    assert all("not-the-password" not in str(e.details) for e in failed)


def test_deactivated_account_cannot_log_in(client, make_user):
    user = make_user(active=False)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "This account has been deactivated." in page_text(response)
    assert not is_signed_in(client)
    assert [e.details["reason"] for e in events("auth.login_failed")] == ["deactivated"]
    assert events("auth.login") == []


def test_login_overlong_input_is_refused_without_error(client, make_user):
    make_user()
    response = login(client, "a" * 10_000 + "@example.org", password="p" * 10_000)
    assert response.status_code == 200
    assert "Use at most" in field_errors(response, "email")
    assert "Use at most" in field_errors(response, "password")
    assert not is_signed_in(client)


def test_login_clears_the_pre_login_session(client, make_user):
    user = make_user()
    with client.session_transaction() as session:
        session["planted"] = "attacker-chosen value"
        session["_user_id"] = "999:1"
    assert login(client, user.email).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:1"
        assert "auth_at" in session and "seen_at" in session


def test_login_sets_no_remember_cookie(client, make_user):
    user = make_user(roles=("admin",))
    assert login(client, user.email).status_code == 302
    assert client.get_cookie("remember_token") is None


def test_login_follows_local_next(client, make_user):
    user = make_user(roles=("admin",))
    response = login(client, user.email, next_url="/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"


def test_login_page_keeps_local_next_in_form_action(client):
    response = client.get("/account/login", query_string={"next": "/admin/users"})
    action = re.search(r'<form method="post" action="([^"]*)"', page_text(response)).group(1)
    assert unquote(action) == "/account/login?next=/admin/users"


EVIL_NEXT = [
    "//evil.example",
    "/\\evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
    "/\t/evil.example",
    "\\\\evil.example",
    "///evil.example",
    "evil.example",
]


@pytest.mark.parametrize("next_url", EVIL_NEXT)
def test_login_never_redirects_off_site(client, make_user, next_url):
    user = make_user()
    page = client.get("/account/login", query_string={"next": next_url})
    assert "evil.example" not in page.get_data(as_text=True)
    assert "alert(1)" not in page.get_data(as_text=True)

    response = login(client, user.email, next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "evil" not in response.headers["Location"]


@pytest.mark.parametrize("next_url", ["//evil.example", "/\\evil.example", "/admin/users"])
def test_login_page_when_signed_in_redirects_safely(client, login_as, next_url):
    login_as("admin")
    response = client.get("/account/login", query_string={"next": next_url})
    assert response.status_code == 302
    expected = next_url if next_url == "/admin/users" else "/"
    assert response.headers["Location"] == expected


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = login(client, user.email)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- logout -------------------------------------------------------------------------------


def test_logout_is_post_only(client, login_as):
    login_as("applicant")
    response = client.get("/account/logout")
    assert response.status_code == 405
    assert is_signed_in(client)


def test_logout_ends_every_session_of_the_user(app, make_user):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, user.email).status_code == 302
    assert login(phone, user.email).status_code == 302
    assert is_signed_in(laptop) and is_signed_in(phone)

    response = laptop.post("/account/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"

    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)  # the other device's cookie no longer works
    assert len(events("auth.logout")) == 1
    assert get_user(user.email).session_version == 2


def test_logout_does_not_end_other_users_sessions(app, make_user):
    alice, bob = make_user(), make_user()
    alice_client, bob_client = app.test_client(), app.test_client()
    login(alice_client, alice.email)
    login(bob_client, bob.email)
    alice_client.post("/account/logout")
    assert is_signed_in(bob_client)


def test_old_session_cookie_is_refused_after_logout(app, make_user):
    user = make_user()
    client = app.test_client()
    login(client, user.email)
    stolen = client.get_cookie("session").value
    client.post("/account/logout")

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not is_signed_in(replay)


def test_logout_when_anonymous_goes_to_login(client):
    response = client.post("/account/logout")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")
    assert events("auth.logout") == []


# --- profile ------------------------------------------------------------------------------


def test_profile_update_is_saved_and_audited(client, login_as):
    user = login_as("applicant")
    response = client.post("/account/profile", data={"name": "New Name", "job_title": "Nurse"})
    assert response.status_code == 302
    fresh = get_user(user.email)
    assert (fresh.name, fresh.job_title) == ("New Name", "Nurse")
    updated = events("user.profile_updated")
    assert len(updated) == 1 and updated[0].details["name"][1] == "New Name"


def test_profile_overlong_name_is_refused(client, login_as):
    user = login_as("applicant")
    response = client.post("/account/profile", data={"name": "n" * 10_000, "job_title": ""})
    assert response.status_code == 200
    assert "Use at most" in field_errors(response, "name")
    assert get_user(user.email).name == user.name


# --- rate limits --------------------------------------------------------------------------


class TestLoginRateLimitPerAccount:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes"}

    def test_failed_logins_for_one_account_are_throttled(self, app, make_user):
        user = make_user()
        for _ in range(3):
            response = login(app.test_client(), user.email, password="wrong-password-123")
            assert response.status_code == 200
        blocked = login(app.test_client(), user.email, password="wrong-password-123")
        assert blocked.status_code == 429
        text = page_text(blocked)
        assert "Too many attempts, try again in" in text
        assert "minute" in text
        # The lockout holds even for the right password, and for the email in other case.
        right = app.test_client()
        assert login(right, user.email).status_code == 429
        assert login(right, user.email.upper()).status_code == 429
        assert not is_signed_in(right)

    def test_other_accounts_are_not_affected(self, app, make_user):
        victim, other = make_user(), make_user()
        for _ in range(4):
            login(app.test_client(), victim.email, password="wrong-password-123")
        assert login(app.test_client(), other.email).status_code == 302

    def test_successful_logins_are_not_counted(self, app, make_user):
        user = make_user()
        assert (
            login(app.test_client(), user.email, password="wrong-password-123").status_code == 200
        )
        for _ in range(4):
            assert login(app.test_client(), user.email).status_code == 302
        for _ in range(2):
            response = login(app.test_client(), user.email, password="wrong-password-123")
            assert response.status_code == 200
        assert login(app.test_client(), user.email, password="x-wrong-again-x").status_code == 429


class TestLoginRateLimitPerAddress:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_LIMIT_PER_IP": "3 per 10 minutes"}

    def test_failed_logins_from_one_address_are_throttled(self, app, make_user):
        users = [make_user() for _ in range(4)]
        client = app.test_client()
        for user in users[:3]:
            assert login(client, user.email, password="wrong-password-123").status_code == 200
        assert login(client, users[3].email).status_code == 429
        # Another address is not affected.
        other = login(app.test_client(), users[3].email, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert other.status_code == 302


class TestRegisterRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"REGISTER_LIMIT_PER_IP": "2 per hour"}

    def test_registrations_from_one_address_are_throttled(self, app):
        client = app.test_client()
        assert register(client, email="first@example.org", password="short").status_code == 200
        assert register(client, email="second@example.org", password="short").status_code == 200
        blocked = register(app.test_client(), email="third@example.org")
        assert blocked.status_code == 429
        assert "Too many attempts, try again in" in page_text(blocked)
        assert user_count() == 0
        # GET is not throttled, and another address may still register.
        assert app.test_client().get("/account/register").status_code == 200
        other = register(
            app.test_client(), email="third@example.org", environ_base={"REMOTE_ADDR": "192.0.2.8"}
        )
        assert other.status_code == 302
        assert user_count() == 1


# --- session timeouts ---------------------------------------------------------------------


class TestSessionTimeouts:
    @pytest.fixture
    def app_config(self):
        return {"SESSION_IDLE_MINUTES": 5, "SESSION_ABSOLUTE_HOURS": 2}

    def test_active_session_is_kept_and_refreshed(self, client, login_as):
        login_as("applicant")
        now = clock.timestamp()
        with client.session_transaction() as session:
            session["seen_at"] = now - 4 * 60
            session["auth_at"] = now - 2 * 3600 + 120
        assert client.get("/account/profile").status_code == 200
        with client.session_transaction() as session:
            assert session["seen_at"] >= now

    def test_activity_is_recorded_once_a_minute_so_the_cookie_is_not_rewritten_each_time(
        self, client, login_as
    ):
        login_as("applicant")
        client.get("/account/profile")  # the first page also stores the CSRF secret
        now = clock.timestamp()
        with client.session_transaction() as session:
            session["seen_at"] = now - 20
        response = client.get("/account/profile")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers  # nothing in the session changed
        with client.session_transaction() as session:
            assert session["seen_at"] == now - 20
            session["seen_at"] = now - 61
        assert "Set-Cookie" in client.get("/account/profile").headers

    def test_idle_session_expires(self, client, login_as):
        login_as("applicant")
        with client.session_transaction() as session:
            session["seen_at"] = clock.timestamp() - 6 * 60
        response = client.get("/account/profile")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/account/login")
        assert unquote(response.headers["Location"]) == "/account/login?next=/account/profile"
        follow = client.get(response.headers["Location"])
        assert "Your session has expired" in page_text(follow)
        assert not is_signed_in(client)

    def test_absolute_limit_ends_a_busy_session(self, client, login_as):
        login_as("applicant")
        now = clock.timestamp()
        with client.session_transaction() as session:
            session["auth_at"] = now - 2 * 3600 - 60
            session["seen_at"] = now - 10
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/account/login")
        assert "Your session has expired" in page_text(client.get(response.headers["Location"]))
        assert not is_signed_in(client)

    def test_session_without_timestamps_is_refused(self, client, login_as):
        login_as("applicant")
        with client.session_transaction() as session:
            session.pop("auth_at")
            session.pop("seen_at")
        assert not is_signed_in(client)


class TestRegistrationPerAccountLimit:
    @pytest.fixture
    def app_config(self):
        return {"REGISTER_LIMIT_PER_ACCOUNT": "2 per hour", "REGISTER_LIMIT_PER_IP": "50 per hour"}

    def test_repeated_registration_for_one_email_is_throttled(self, client):
        data = {"name": "Same Person", "email": "same@example.org", "password": "x", "confirm": "x"}
        for _ in range(2):
            assert client.post("/account/register", data=data).status_code == 200
        throttled = client.post("/account/register", data=data)
        assert throttled.status_code == 429
        assert b"Too many attempts, try again in" in throttled.data
