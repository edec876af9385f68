"""Two-step verification: set-up, sign-in with a code, single use, recovery codes, enforcement."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from app.auth import mfa
from app.auth.models import User
from app.core import clock
from app.core.audit import AuditEvent
from app.extensions import db
from tests.conftest import PASSWORD


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _enrol(client) -> tuple[str, list[str]]:
    """Walk the set-up page as the signed-in user; returns the secret and recovery codes."""
    page = client.get("/account/two-step")
    assert page.status_code == 200
    secret = re.search(r'class="[^"]*setup-key[^"]*">([A-Z2-7]+)<', page.get_data(as_text=True))
    assert secret, "the set-up page shows the key for manual entry"
    secret = secret.group(1)
    done = client.post("/account/two-step/enable", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(
        r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", done.get_data(as_text=True)
    )
    assert len(codes) == 10
    return secret, codes


def _next_step_code(secret: str) -> str:
    """A valid code from the next time step (the current one is spent by enrolment)."""
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30))


def test_accepted_step_is_single_use_and_tolerates_drift():
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    step = mfa.accepted_step(secret, totp.at(now), None, now=now)
    assert step == totp.timecode(now)
    assert mfa.accepted_step(secret, totp.at(now), step, now=now) is None  # replay
    earlier = now - timedelta(seconds=30)
    assert mfa.accepted_step(secret, totp.at(earlier), None, now=now) == step - 1
    assert mfa.accepted_step(secret, totp.at(now - timedelta(minutes=5)), None, now=now) is None
    assert mfa.accepted_step(secret, "12345", None, now=now) is None
    assert mfa.accepted_step(secret, "", None, now=now) is None


def test_enrolment_turns_mfa_on_and_ends_other_sessions(app, make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    other = app.test_client()
    other.post("/account/login", data={"email": user.email, "password": PASSWORD})
    assert other.get("/account/profile").status_code == 200

    secret, _codes = _enrol(client)

    assert _fresh(user.id).mfa_enabled
    assert _fresh(user.id).totp_secret == secret
    assert "auth.mfa_enabled" in _actions()
    assert client.get("/account/profile").status_code == 200  # this session continues
    assert other.get("/account/profile").status_code == 302  # the other one ended


def test_wrong_code_at_enrolment_changes_nothing(make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    client.get("/account/two-step")
    response = client.post("/account/two-step/enable", data={"code": "000000"})
    assert response.status_code == 400
    assert b"That code is not right" in response.data
    assert not _fresh(user.id).mfa_enabled


def test_sign_in_needs_the_code_and_each_code_works_once(app, make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    secret, _ = _enrol(client)
    auth.logout()

    first = auth.login(user.email)
    assert first.headers["Location"] == "/account/login/verify"
    assert client.get("/account/profile").status_code == 302  # not signed in yet

    wrong = client.post("/account/login/verify", data={"code": "123456"})
    assert wrong.status_code == 200
    assert b"not right or was already used" in wrong.data
    assert "auth.mfa_failed" in _actions()

    code = _next_step_code(secret)
    ok = client.post("/account/login/verify", data={"code": code})
    assert ok.status_code == 302
    assert client.get("/account/profile").status_code == 200
    login = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.seq.desc())
    ).first()
    assert login.details.get("second_factor") == "totp"

    # The same code cannot be used again, even moments later in another sign-in.
    auth.logout()
    auth.login(user.email)
    replay = client.post("/account/login/verify", data={"code": code})
    assert replay.status_code == 200
    assert client.get("/account/profile").status_code == 302


def test_recovery_code_signs_in_once(make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    _secret, codes = _enrol(client)
    auth.logout()

    auth.login(user.email)
    used = client.post("/account/login/verify", data={"code": codes[0].upper()})
    assert used.status_code == 302
    assert "auth.mfa_recovery_code_used" in _actions()
    auth.logout()

    auth.login(user.email)
    again = client.post("/account/login/verify", data={"code": codes[0]})
    assert again.status_code == 200
    assert client.get("/account/profile").status_code == 302


def test_verify_page_without_password_step_goes_back_to_login(client):
    response = client.get("/account/login/verify")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")


def test_pending_sign_in_expires(app, make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    secret, _ = _enrol(client)
    auth.logout()
    auth.login(user.email)
    with client.session_transaction() as sess:
        sess["mfa_pending"]["at"] -= 3600
        sess.modified = True
    response = client.post("/account/login/verify", data={"code": _next_step_code(secret)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")
    assert client.get("/account/profile").status_code == 302


@pytest.fixture
def mfa_required_config():
    return {"MFA_REQUIRED_FOR_PRIVILEGED": True}


class TestEnforcement:
    @pytest.fixture
    def app_config(self, mfa_required_config):
        return mfa_required_config

    def test_privileged_user_must_set_up_before_anything_else(self, make_user, auth, client):
        trainer = make_user(roles=("trainer",))
        auth.login(trainer.email)
        for path in ("/", "/account/profile", "/account/password"):
            response = client.get(path)
            assert response.status_code == 302
            assert response.headers["Location"] == "/account/two-step"
        page = client.get("/account/two-step")
        assert b"requires two-step verification" in page.data
        _enrol(client)
        assert client.get("/").status_code == 200

    def test_applicant_is_not_forced(self, make_user, auth, client):
        applicant = make_user()
        auth.login(applicant.email)
        assert client.get("/").status_code == 200

    def test_required_mfa_cannot_be_turned_off(self, make_user, auth, client):
        admin = make_user(roles=("admin",))
        auth.login(admin.email)
        _enrol(client)
        response = client.post("/account/two-step/disable", data={"password": PASSWORD})
        assert response.status_code == 400
        assert b"cannot be turned off" in response.data
        assert _fresh(admin.id).mfa_enabled


def test_turning_off_needs_the_password(make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    _enrol(client)
    wrong = client.post("/account/two-step/disable", data={"password": "not-my-password-at-all"})
    assert wrong.status_code == 400
    assert _fresh(user.id).mfa_enabled
    right = client.post("/account/two-step/disable", data={"password": PASSWORD})
    assert right.status_code == 302
    assert not _fresh(user.id).mfa_enabled
    assert "auth.mfa_disabled" in _actions()


def test_new_recovery_codes_replace_the_old(make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    secret, old_codes = _enrol(client)
    response = client.post(
        "/account/two-step/recovery-codes", data={"code": _next_step_code(secret)}
    )
    assert response.status_code == 200
    new_codes = re.findall(r"<code>([a-z2-9-]{14})</code>", response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    auth.logout()
    auth.login(user.email)
    assert client.post("/account/login/verify", data={"code": old_codes[1]}).status_code == 200
    assert client.post("/account/login/verify", data={"code": new_codes[1]}).status_code == 302


def test_admin_resets_a_lost_phone(app, make_user, auth, client):
    user = make_user()
    auth.login(user.email)
    _enrol(client)
    auth.logout()

    admin = make_user(roles=("admin",))
    admin_client = app.test_client()
    admin_client.post("/account/login", data={"email": admin.email, "password": PASSWORD})
    page = admin_client.get(f"/admin/users/{user.id}")
    assert b"Reset two-step verification" in page.data
    refused = admin_client.post(f"/admin/users/{user.id}/reset-two-step", data={"reason": ""})
    assert refused.status_code == 400
    assert _fresh(user.id).mfa_enabled
    done = admin_client.post(
        f"/admin/users/{user.id}/reset-two-step", data={"reason": "Lost phone; confirmed by call"}
    )
    assert done.status_code == 302
    assert not _fresh(user.id).mfa_enabled
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.mfa_reset")
    ).one()
    assert event.actor_id == admin.id and event.details["reason"].startswith("Lost phone")
    # The user signs in with the password alone again.
    assert auth.login(user.email).headers["Location"] == "/"


class TestCodeGuessingIsThrottled:
    @pytest.fixture
    def app_config(self):
        return {"MFA_LIMIT_PER_ACCOUNT": "3 per 10 minutes"}

    def test_fourth_wrong_code_is_throttled(self, make_user, auth, client):
        user = make_user()
        auth.login(user.email)
        _enrol(client)
        auth.logout()
        auth.login(user.email)
        for _ in range(3):
            assert client.post("/account/login/verify", data={"code": "000000"}).status_code == 200
        throttled = client.post("/account/login/verify", data={"code": "000000"})
        assert throttled.status_code == 429
        assert b"Too many attempts, try again in" in throttled.data
