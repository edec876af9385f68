"""Passwords: the policy, hashing, changing a password and resetting it by emailed link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth import passwords, services
from app.auth.models import PasswordResetToken, User
from app.core import mail
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import events, field_errors, is_signed_in, login, page_text, reload

NEW_PASSWORD = "lantern-orchard-river-maple"


def register(client, password, confirm=None, email="robin@hospice.example.org", name="Robin Ashby"):
    return client.post(
        "/account/register",
        data={
            "name": name,
            "email": email,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def user_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


# --- the policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "correct-horse-battery-staple",
        "sunflower-pebble",
        "twelve chars",  # exactly 12, spaces allowed
        "Ünïcödé-pässwörd-çhårs",
        "x7#Lq!2mZ@9v",
        "long passphrase of several unrelated words " * 2,  # 86 characters
        "q" + "lantern orchard river maple " * 7,  # 197 characters
        ("lantern-orchard-river-maple-" * 10)[:256],  # exactly the maximum
    ],
)
def test_acceptable_passwords(password):
    assert passwords.password_problems(password) == []


@pytest.mark.parametrize("length", [0, 1, 8, 11])
def test_short_passwords_are_refused(length):
    problems = passwords.password_problems(("k9#Tqz" * 3)[:length])
    assert problems and "at least 12 characters" in problems[0]


def test_overlong_password_is_refused():
    problems = passwords.password_problems(("lantern-orchard-river-maple-" * 10)[:257])
    assert problems == ["Use at most 256 characters."]


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password2024!!",
        "qwertyuiopas",
        "PASSWORD1234",
        "iloveyou1234567",
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "121212121212",
    ],
)
def test_common_or_repetitive_passwords_are_refused(password):
    problems = passwords.password_problems(password)
    assert problems and "too common" in problems[0]


def test_password_containing_email_local_part_is_refused():
    problems = passwords.password_problems(
        "my-robin.ashby-password", email="Robin.Ashby@example.org"
    )
    assert problems == ["Your password must not contain your email address."]
    # A very short local part is not treated as personal information.
    assert passwords.password_problems("jo-lantern-orchard", email="jo@example.org") == []


def test_password_containing_name_is_refused():
    problems = passwords.password_problems("ROBINASHBY-lantern", name="Robin Ashby")
    assert problems == ["Your password must not contain your name."]


def test_hash_is_salted_and_verifies(app):
    first = passwords.hash_password(PASSWORD)
    second = passwords.hash_password(PASSWORD)
    assert first != second
    assert PASSWORD not in first
    assert passwords.verify_password(first, PASSWORD)
    assert not passwords.verify_password(first, PASSWORD + "x")
    assert not passwords.verify_password(first, "")


def test_production_hash_method_is_a_tuned_kdf(app):
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    hashed = passwords.hash_password(PASSWORD)
    assert hashed.startswith("scrypt:")
    assert passwords.verify_password(hashed, PASSWORD)


# --- the policy at registration -----------------------------------------------------------


def test_registration_refuses_short_password(client):
    response = register(client, "short-pw")
    assert response.status_code == 200
    assert "Use at least 12 characters" in field_errors(response, "password")
    assert user_count() == 0


@pytest.mark.parametrize("password", ["password1234", "Password2024!!", "qwertyuiopas"])
def test_registration_refuses_common_password(client, password):
    response = register(client, password)
    assert response.status_code == 200
    assert "too common or easy to guess" in field_errors(response, "password")
    assert user_count() == 0


def test_registration_refuses_password_with_email_local_part(client):
    response = register(client, "robin-secret-garden", email="robin@hospice.example.org")
    assert response.status_code == 200
    assert "must not contain your email address" in field_errors(response, "password")
    assert user_count() == 0


def test_registration_refuses_mismatched_confirmation(client):
    response = register(client, PASSWORD, confirm=NEW_PASSWORD)
    assert response.status_code == 200
    assert "The two passwords do not match." in field_errors(response, "confirm")
    assert user_count() == 0


@pytest.mark.parametrize("length", [64, 100, 200, 256])
def test_registration_accepts_long_passphrases(app, length):
    passphrase = ("lantern orchard river maple " * 10)[:length]
    client = app.test_client()
    response = register(client, passphrase)
    assert response.status_code == 302, field_errors(response, "password")
    assert user_count() == 1
    # ... and the whole passphrase is what counts: no silent truncation.
    client.post("/account/logout")
    assert login(client, "robin@hospice.example.org", passphrase).status_code == 302
    other = app.test_client()
    assert login(other, "robin@hospice.example.org", passphrase[:-1]).status_code == 200


def test_registration_refuses_257_characters(client):
    response = register(client, ("lantern orchard river maple " * 10)[:257])
    assert response.status_code == 200
    assert "Use at most 256 characters." in field_errors(response, "password")
    assert user_count() == 0


def test_service_refuses_weak_password_too(app):
    """The rule lives in the service, so the CLI and any other caller are held to it."""
    with pytest.raises(ServiceError) as info:
        services.create_user(email="cli@example.org", name="Cli User", password="password1234")
    assert info.value.field == "password"
    db.session.rollback()
    assert user_count() == 0


# --- changing the password ----------------------------------------------------------------


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def test_change_password_refuses_wrong_current_password(client, login_as):
    user = login_as("applicant")
    old_hash = reload(user.id).password_hash
    response = change(client, current="not-my-password-at-all")
    assert response.status_code == 200
    assert "Your current password is incorrect." in field_errors(response, "current_password")
    assert reload(user.id).password_hash == old_hash
    assert events("auth.password_changed") == []
    assert is_signed_in(client)


def test_change_password_refuses_same_or_weak_new_password(client, login_as):
    user = login_as("applicant")
    old_hash = reload(user.id).password_hash
    same = change(client, new=PASSWORD)
    assert "different from your current one" in field_errors(same, "password")
    weak = change(client, new="Password2024!!")
    assert "too common" in field_errors(weak, "password")
    mismatch = change(client, new=NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert "do not match" in field_errors(mismatch, "confirm")
    assert reload(user.id).password_hash == old_hash


def test_change_password_ends_other_sessions_but_keeps_this_one(app, make_user):
    user = make_user()
    this_device, other_device = app.test_client(), app.test_client()
    assert login(this_device, user.email).status_code == 302
    assert login(other_device, user.email).status_code == 302

    response = change(this_device)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile"

    assert is_signed_in(this_device)
    assert not is_signed_in(other_device)

    changed = events("auth.password_changed")
    assert len(changed) == 1 and changed[0].actor_id == user.id
    assert NEW_PASSWORD not in str(changed[0].details)

    assert login(app.test_client(), user.email, PASSWORD).status_code == 200
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_change_password_requires_login(client):
    response = change(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")


# --- resetting the password ---------------------------------------------------------------


def request_reset(client, email):
    return client.post("/account/forgot-password", data={"email": email}, follow_redirects=True)


def reset_links() -> list[str]:
    return [
        match
        for message in mail.outbox()
        for match in re.findall(r"/account/reset-password/[A-Za-z0-9_\-]+", message.body)
    ]


def flash_without_email(response, email) -> str:
    text = page_text(response)
    match = re.search(r"If an account exists for .*? hours\.", text, re.S)
    assert match, text
    return match.group(0).replace(email, "<email>")


def test_reset_request_does_not_reveal_whether_an_account_exists(client, make_user):
    user = make_user()
    unknown = request_reset(client, "nobody@example.org")
    assert mail.outbox() == []
    known = request_reset(client, user.email)

    assert unknown.status_code == known.status_code == 200
    assert flash_without_email(unknown, "nobody@example.org") == flash_without_email(
        known, user.email
    )
    assert len(mail.outbox()) == 1
    assert [e.details.get("account") for e in events("auth.password_reset_requested")] == [
        "none or inactive",
        None,
    ]


def test_reset_request_for_deactivated_account_sends_nothing(client, make_user):
    user = make_user(active=False)
    request_reset(client, user.email)
    assert mail.outbox() == []


def test_reset_mail_contains_single_link(client, make_user):
    user = make_user()
    request_reset(client, user.email)
    outbox = mail.outbox()
    assert len(outbox) == 1
    assert outbox[0].to == [user.email]
    links = reset_links()
    assert len(links) == 1
    token = links[0].rsplit("/", 1)[1]
    assert len(token) >= 32  # 256 bits from `secrets`, URL-safe
    # Only a hash of the token is stored.
    db.session.expire_all()
    stored = db.session.scalars(select(PasswordResetToken)).all()
    assert len(stored) == 1 and token not in stored[0].token_hash


def test_reset_flow_works_once_and_ends_sessions(app, make_user):
    user = make_user()
    signed_in_elsewhere = app.test_client()
    assert login(signed_in_elsewhere, user.email).status_code == 302

    client = app.test_client()
    request_reset(client, user.email)
    (link,) = reset_links()

    form = client.get(link)
    assert form.status_code == 200
    assert user.email in page_text(form)
    assert form.headers["Cache-Control"] == "no-store"

    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    assert "Your password has been changed" in page_text(client.get("/account/login"))

    assert not is_signed_in(signed_in_elsewhere)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 200
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    reset = events("auth.password_reset")
    assert len(reset) == 1 and reset[0].subject_id == str(user.id)

    reused = app.test_client().post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert reused.status_code == 400
    assert "already been used" in page_text(reused)
    assert app.test_client().get(link).status_code == 400
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_reset_with_weak_password_keeps_the_link_usable(client, make_user):
    user = make_user()
    request_reset(client, user.email)
    (link,) = reset_links()
    weak = client.post(link, data={"password": "qwertyuiopas", "confirm": "qwertyuiopas"})
    assert weak.status_code == 200
    assert "too common" in field_errors(weak, "password")
    ok = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 302
    assert login(client, user.email, NEW_PASSWORD).status_code == 302


def test_using_one_link_invalidates_earlier_links(app, make_user):
    user = make_user()
    client = app.test_client()
    request_reset(client, user.email)
    request_reset(client, user.email)
    first, second = reset_links()
    assert first != second
    assert (
        client.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 302
    )
    stale = app.test_client().get(first)
    assert stale.status_code == 400
    assert "already been used" in page_text(stale)


def test_expired_reset_link_is_refused(app, make_user):
    user = make_user()
    client = app.test_client()
    request_reset(client, user.email)
    (link,) = reset_links()
    db.session.expire_all()
    token = db.session.scalars(select(PasswordResetToken)).one()
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    for response in (
        client.get(link),
        client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ):
        assert response.status_code == 400
        assert "expired" in page_text(response)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 302
    assert events("auth.password_reset") == []


def test_reset_link_expires_after_the_configured_hours(app, make_user):
    user = make_user()
    request_reset(app.test_client(), user.email)
    db.session.expire_all()
    token = db.session.scalars(select(PasswordResetToken)).one()
    hours = app.config["PASSWORD_RESET_HOURS"]
    remaining = token.expires_at - utcnow()
    assert timedelta(hours=hours) - timedelta(minutes=5) < remaining <= timedelta(hours=hours)


@pytest.mark.parametrize("token", ["garbage", "x" * 43, "a" * 500])
def test_garbage_reset_token_is_refused(client, token):
    response = client.get(f"/account/reset-password/{token}")
    assert response.status_code == 400
    assert "not valid" in page_text(response)
    post = client.post(
        f"/account/reset-password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert post.status_code == 400


def test_reset_link_of_deactivated_account_is_refused(client, make_user):
    user = make_user()
    request_reset(client, user.email)
    (link,) = reset_links()
    reload(user.id).is_active_account = False
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 400
    assert "deactivated" in page_text(response)


def test_configured_mail_backend_logs_and_keeps_the_mail(app, make_user, caplog):
    """The development/testing backend from the config (not one a test injects) works."""
    user = make_user()
    with caplog.at_level("INFO", logger=app.logger.name):
        response = app.test_client().post("/account/forgot-password", data={"email": user.email})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox()] == [[user.email]]
    assert "/account/reset-password/" in caplog.text


class TestResetRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RESET_LIMIT_PER_ACCOUNT": "2 per hour", "RESET_LIMIT_PER_IP": "4 per hour"}

    def test_reset_requests_for_one_account_are_throttled(self, app, make_user):
        user, other = make_user(), make_user()
        assert request_reset(app.test_client(), user.email).status_code == 200
        assert request_reset(app.test_client(), user.email.upper()).status_code == 200
        blocked = request_reset(app.test_client(), user.email)
        assert blocked.status_code == 429
        assert "Too many attempts, try again in" in page_text(blocked)
        assert "minute" in page_text(blocked)
        assert len(mail.outbox()) == 2
        # Another account from the same address is still served.
        assert request_reset(app.test_client(), other.email).status_code == 200
        assert len(mail.outbox()) == 3

    def test_reset_requests_from_one_address_are_throttled(self, app, make_user):
        emails = [make_user().email for _ in range(5)]
        client = app.test_client()
        for email in emails[:4]:
            assert request_reset(client, email).status_code == 200
        assert request_reset(client, emails[4]).status_code == 429
        assert len(mail.outbox()) == 4
