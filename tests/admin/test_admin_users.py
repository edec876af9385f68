"""User administration: the user list, roles, deactivation, and the `users`/`demo` commands."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.demo.services import DEMO_ACCOUNTS, DEMO_ORGANISATIONS, DEMO_PASSWORD, DEMO_PEOPLE
from app.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import events, is_signed_in, login, page_text, reload


def listed_emails(response) -> list[str]:
    """Emails in the user table, in page order."""
    assert response.status_code == 200
    tbody = re.search(r"<tbody>(.*?)</tbody>", response.get_data(as_text=True), re.S)
    if tbody is None:
        return []
    return re.findall(r"<td>([^<@\s]+@[^<\s]+)</td>", tbody.group(1))


def found_count(response) -> int:
    return int(re.search(r"(\d+) users? found\.", page_text(response)).group(1))


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def people(make_user):
    """A small, varied population (besides the signed-in admin)."""
    return {
        "alice": make_user(roles=("trainer",), email="alice@example.org", name="Alice Archer"),
        "bob": make_user(
            roles=("applicant",), email="bob@hospice.org", name="Bob Baker", active=False
        ),
        "carol": make_user(roles=("auditor",), email="carol@example.org", name="Carol Cooper"),
        "dan": make_user(roles=("applicant",), email="aardvark@example.org", name="Dan Dyer"),
    }


# --- the list -----------------------------------------------------------------------------


def test_list_shows_everyone(client, admin, people):
    response = client.get("/admin/users")
    assert found_count(response) == 5
    assert set(listed_emails(response)) == {admin.email} | {p.email for p in people.values()}


@pytest.mark.parametrize(
    "q,expected",
    [
        ("alice", {"alice@example.org"}),
        ("ALICE", {"alice@example.org"}),  # case-insensitive on the name
        ("  Archer ", {"alice@example.org"}),
        ("hospice.org", {"bob@hospice.org"}),  # matches the email too
        ("CAROL@EXAMPLE", {"carol@example.org"}),
        ("zzz-nobody", set()),
    ],
)
def test_search(client, admin, people, q, expected):
    response = client.get("/admin/users", query_string={"q": q})
    assert set(listed_emails(response)) == expected
    assert found_count(response) == len(expected)


def test_search_text_is_not_sql(client, admin, people):
    response = client.get("/admin/users", query_string={"q": "' OR 1=1 --"})
    assert listed_emails(response) == []
    assert reload(people["alice"].id) is not None


@pytest.mark.parametrize(
    "q,expected",
    [
        ("john_smith", {"john_smith@example.org"}),
        ("%", {"percent%sign@example.org"}),
        ("\\", set()),
    ],
)
def test_search_wildcards_are_literal(client, admin, make_user, q, expected):
    make_user(email="john_smith@example.org", name="John Smith")
    make_user(email="johnxsmith@example.org", name="John X Smith")
    make_user(email="percent%sign@example.org", name="Percy Sign")
    response = client.get("/admin/users", query_string={"q": q})
    assert set(listed_emails(response)) == expected


def test_overlong_search_is_ignored_not_an_error(client, admin, people):
    response = client.get("/admin/users", query_string={"q": "x" * 10_000})
    assert response.status_code == 200
    assert found_count(response) == 5


@pytest.mark.parametrize(
    "role,expected",
    [
        ("trainer", {"alice@example.org"}),
        ("auditor", {"carol@example.org"}),
        ("applicant", {"bob@hospice.org", "aardvark@example.org"}),
    ],
)
def test_role_filter(client, admin, people, role, expected):
    response = client.get("/admin/users", query_string={"role": role})
    assert set(listed_emails(response)) == expected


def test_admin_role_filter_finds_the_admin(client, admin, people):
    response = client.get("/admin/users", query_string={"role": "admin"})
    assert listed_emails(response) == [admin.email]


def test_unknown_role_filter_is_ignored(client, admin, people):
    response = client.get("/admin/users", query_string={"role": "superuser"})
    assert found_count(response) == 5


def test_status_filter(client, admin, people):
    deactivated = client.get("/admin/users", query_string={"status": "deactivated"})
    assert listed_emails(deactivated) == ["bob@hospice.org"]
    active = client.get("/admin/users", query_string={"status": "active"})
    assert "bob@hospice.org" not in listed_emails(active)
    assert found_count(active) == 4


def test_filters_combine(client, admin, people):
    response = client.get("/admin/users", query_string={"role": "applicant", "status": "active"})
    assert listed_emails(response) == ["aardvark@example.org"]


def test_sort_by_name_and_email(client, admin, people):
    by_name = listed_emails(
        client.get("/admin/users", query_string={"sort": "name", "role": "applicant"})
    )
    assert by_name == ["bob@hospice.org", "aardvark@example.org"]  # Bob Baker, Dan Dyer
    by_email = listed_emails(
        client.get("/admin/users", query_string={"sort": "email", "role": "applicant"})
    )
    assert by_email == ["aardvark@example.org", "bob@hospice.org"]


def test_sort_by_created_and_last_login(app, client, admin, people):
    created = listed_emails(client.get("/admin/users", query_string={"sort": "created"}))
    assert (
        created.index(admin.email)
        < created.index("alice@example.org")
        < created.index("aardvark@example.org")
    )
    assert login(app.test_client(), people["carol"].email).status_code == 302
    by_login = listed_emails(client.get("/admin/users", query_string={"sort": "last_login"}))
    assert len(by_login) == 5
    # Never-logged-in users sort first or last depending on the database; the two who
    # have logged in come in login order.
    assert by_login.index(admin.email) < by_login.index("carol@example.org")


@pytest.mark.parametrize(
    "sort", ["bogus", "password_hash", "name; DROP TABLE user", "id desc", "", "__class__"]
)
def test_unknown_sort_falls_back_to_name(client, admin, people, sort):
    response = client.get("/admin/users", query_string={"sort": sort, "role": "applicant"})
    assert response.status_code == 200
    assert listed_emails(response) == ["bob@hospice.org", "aardvark@example.org"]
    assert reload(people["alice"].id) is not None


def test_pagination(client, admin, make_user):
    for n in range(30):
        make_user(email=f"member{n:02d}@example.org", name=f"Member {n:02d}")
    first = client.get("/admin/users", query_string={"q": "member"})
    second = client.get("/admin/users", query_string={"q": "member", "page": 2})
    assert found_count(first) == 30
    assert len(listed_emails(first)) == 25
    assert len(listed_emails(second)) == 5
    assert set(listed_emails(first)).isdisjoint(listed_emails(second))
    assert "Page 1 of 2" in page_text(first)
    # The "Next" link keeps the filter.
    next_link = re.search(r'href="([^"]*page=2[^"]*)"', page_text(first)).group(1)
    assert "q=member" in next_link


# Not named `page`: that is pytest-playwright's browser-page fixture.
@pytest.mark.parametrize("page_number", ["999", "abc", "0", "-3", "1.5", "9" * 30])
def test_odd_page_numbers_are_not_errors(client, admin, people, page_number):
    response = client.get("/admin/users", query_string={"page": page_number})
    assert response.status_code == 200
    if page_number in {"999", "9" * 30}:
        assert listed_emails(response) == []
        assert "No users match" in page_text(response)
    else:
        assert len(listed_emails(response)) == 5


def test_names_are_escaped_in_the_list(client, admin, make_user):
    make_user(name='<script>alert("x")</script>', email="xss@example.org")
    body = client.get("/admin/users").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in body
    assert "&lt;script&gt;" in body


# --- one user's page ----------------------------------------------------------------------


def test_user_page_shows_account_and_history(client, admin, people):
    alice = people["alice"]
    response = client.get(f"/admin/users/{alice.id}")
    assert response.status_code == 200
    text = page_text(response)
    assert alice.email in text and "Alice Archer" in text
    assert "Recent account history" in text
    assert "created an account" in text


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/admin/users/999999"),
        ("POST", "/admin/users/999999/roles"),
        ("POST", "/admin/users/999999/deactivate"),
        ("POST", "/admin/users/999999/reactivate"),
    ],
)
def test_unknown_user_is_404(client, admin, method, path):
    response = client.open(path, method=method, data={"roles": ["trainer"], "reason": "x"})
    assert response.status_code == 404
    assert "Page not found" in page_text(response)


# --- roles --------------------------------------------------------------------------------


def test_grant_trainer_role(app, client, admin, make_user):
    target = make_user(roles=("applicant",))
    target_client = app.test_client()
    assert login(target_client, target.email).status_code == 302

    response = client.post(
        f"/admin/users/{target.id}/roles", data={"roles": ["applicant", "trainer"]}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{target.id}"
    assert reload(target.id).roles == {"applicant", "trainer"}

    (event,) = events("user.roles_changed")
    assert event.actor_id == admin.id
    assert event.subject_type == "user" and event.subject_id == str(target.id)
    assert event.details["added"] == ["trainer"]
    assert event.details["removed"] == []
    # Adding a role does not sign the user out.
    assert is_signed_in(target_client)
    assert reload(target.id).session_version == 1


def test_saving_unchanged_roles_writes_nothing(client, admin, make_user):
    target = make_user(roles=("trainer",))
    response = client.post(f"/admin/users/{target.id}/roles", data={"roles": ["trainer"]})
    assert response.status_code == 302
    assert events("user.roles_changed") == []


def test_removing_a_role_ends_the_users_sessions(app, client, admin, make_user):
    target = make_user(roles=("trainer", "applicant"))
    target_client = app.test_client()
    assert login(target_client, target.email).status_code == 302
    assert is_signed_in(target_client)

    response = client.post(f"/admin/users/{target.id}/roles", data={"roles": ["applicant"]})
    assert response.status_code == 302
    assert reload(target.id).roles == {"applicant"}
    assert not is_signed_in(target_client)
    (event,) = events("user.roles_changed")
    assert event.details == {"added": [], "removed": ["trainer"], "ip": "127.0.0.1"}
    # They can sign in again, now without the role.
    assert login(target_client, target.email).status_code == 302
    assert target_client.get("/audit/events").status_code == 403


def test_admin_cannot_remove_own_admin_role(client, admin):
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["trainer"]})
    assert response.status_code == 400
    assert "You cannot remove your own administrator role" in page_text(response)
    assert reload(admin.id).roles == {"admin"}
    assert events("user.roles_changed") == []
    assert is_signed_in(client)


def test_admin_may_add_roles_to_self(client, admin):
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["admin", "auditor"]})
    assert response.status_code == 302
    assert reload(admin.id).roles == {"admin", "auditor"}


def test_admin_can_remove_another_admins_admin_role(app, client, admin, make_user):
    other_admin = make_user(roles=("admin",))
    response = client.post(f"/admin/users/{other_admin.id}/roles", data={"roles": ["auditor"]})
    assert response.status_code == 302
    assert reload(other_admin.id).roles == {"auditor"}


@pytest.mark.parametrize("roles", [["superuser"], ["trainer", "root"], ["ADMIN"]])
def test_unknown_role_is_refused(client, admin, make_user, roles):
    target = make_user(roles=("applicant",))
    response = client.post(f"/admin/users/{target.id}/roles", data={"roles": roles})
    assert response.status_code == 400
    assert "not a valid choice" in page_text(response)
    assert reload(target.id).roles == {"applicant"}
    assert events("user.roles_changed") == []


def test_roles_change_requires_admin(app, make_user):
    trainer = make_user(roles=("trainer",))
    target = make_user(roles=("applicant",))
    client = app.test_client()
    login(client, trainer.email)
    response = client.post(f"/admin/users/{target.id}/roles", data={"roles": ["admin"]})
    assert response.status_code == 403
    assert reload(target.id).roles == {"applicant"}
    # A trainer cannot make themselves an admin either.
    assert (
        client.post(f"/admin/users/{trainer.id}/roles", data={"roles": ["admin"]}).status_code
        == 403
    )
    assert reload(trainer.id).roles == {"trainer"}


# --- deactivation -------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_deactivation_requires_a_reason(client, admin, make_user, reason):
    target = make_user()
    data = {} if reason is None else {"reason": reason}
    response = client.post(f"/admin/users/{target.id}/deactivate", data=data)
    assert response.status_code == 400
    assert "Give a reason for deactivating this account." in page_text(response)
    assert reload(target.id).is_active_account is True
    assert events("user.deactivated") == []


def test_overlong_reason_is_refused(client, admin, make_user):
    target = make_user()
    response = client.post(f"/admin/users/{target.id}/deactivate", data={"reason": "r" * 10_000})
    assert response.status_code == 400
    assert "Use at most 500 characters." in page_text(response)
    assert reload(target.id).is_active_account is True


def test_deactivation_ends_sessions_and_blocks_login(app, client, admin, make_user):
    target = make_user()
    target_client = app.test_client()
    assert login(target_client, target.email).status_code == 302

    response = client.post(
        f"/admin/users/{target.id}/deactivate", data={"reason": "Left the organisation"}
    )
    assert response.status_code == 302
    fresh = reload(target.id)
    assert fresh.is_active_account is False
    assert fresh.deactivated_at is not None

    assert not is_signed_in(target_client)
    again = login(target_client, target.email)
    assert again.status_code == 200
    assert "This account has been deactivated." in page_text(again)
    assert not is_signed_in(target_client)

    (event,) = events("user.deactivated")
    assert event.actor_id == admin.id and event.subject_id == str(target.id)
    assert event.details["reason"] == "Left the organisation"
    assert "Deactivated" in page_text(client.get(f"/admin/users/{target.id}"))


def test_deactivating_twice_is_refused(client, admin, make_user):
    target = make_user(active=False)
    response = client.post(f"/admin/users/{target.id}/deactivate", data={"reason": "again"})
    assert response.status_code == 400
    assert "already deactivated" in page_text(response)
    assert events("user.deactivated") == []


def test_reactivation(app, client, admin, make_user):
    target = make_user(active=False)
    response = client.post(f"/admin/users/{target.id}/reactivate")
    assert response.status_code == 302
    fresh = reload(target.id)
    assert fresh.is_active_account is True and fresh.deactivated_at is None
    assert len(events("user.reactivated")) == 1
    assert login(app.test_client(), target.email).status_code == 302


def test_reactivating_an_active_account_is_refused(client, admin, make_user):
    target = make_user()
    response = client.post(f"/admin/users/{target.id}/reactivate", follow_redirects=True)
    assert "This account is already active." in page_text(response)
    assert events("user.reactivated") == []


def test_admin_cannot_deactivate_self(client, admin):
    response = client.post(f"/admin/users/{admin.id}/deactivate", data={"reason": "Testing"})
    assert response.status_code == 400
    assert "You cannot deactivate your own account." in page_text(response)
    assert reload(admin.id).is_active_account is True
    assert is_signed_in(client)


# --- command line -------------------------------------------------------------------------


def test_cli_create_user_with_generated_password(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "New.Trainer@Example.org",
            "--name",
            "New Trainer",
            "--role",
            "trainer",
            "--generate-password",
        ]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"Password: (\S+)", result.output).group(1)
    assert len(password) >= 20

    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "new.trainer@example.org"))
    assert user is not None and user.roles == {"trainer"}
    assert password not in user.password_hash
    assert [e.subject_id for e in events("user.created")] == [str(user.id)]
    assert login(app.test_client(), "new.trainer@example.org", password).status_code == 302


def test_cli_create_user_with_several_roles_and_prompted_password(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "two@example.org",
            "--name",
            "Two Roles",
            "--role",
            "trainer",
            "--role",
            "auditor",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password: " + PASSWORD not in result.output
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "two@example.org"))
    assert user.roles == {"trainer", "auditor"}


def test_cli_create_user_duplicate_email_fails(runner, make_user):
    make_user(email="taken@example.org")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "TAKEN@example.org",
            "--name",
            "Someone",
            "--role",
            "trainer",
            "--generate-password",
        ]
    )
    assert result.exit_code == 1
    assert "Error: An account with this email already exists" in result.output
    assert "Password:" not in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_cli_create_user_weak_password_fails(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "weak@example.org", "--name", "Weak"],
        input="password1234\npassword1234\n",
    )
    assert result.exit_code == 1
    assert "too common" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_cli_create_user_unknown_role_fails(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--role",
            "root",
            "--generate-password",
        ]
    )
    assert result.exit_code != 0
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_seed_is_idempotent(app, runner, tmp_path):
    from tests.factories.certificates import use_own_signing_dir

    use_own_signing_dir(app, tmp_path / "signing")  # the seed rotates the signing key once
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output
    # Accounts for every site role, the organisations' team members, the organisations,
    # and the four Immersion cohorts (completed, in progress, open, and the copy for next quarter).
    assert first.output.count("created ") == (
        len(DEMO_ACCOUNTS) + len(DEMO_PEOPLE) + len(DEMO_ORGANISATIONS) + 4
    )

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert DEMO_PASSWORD in second.output
    assert "created " not in second.output

    db.session.expire_all()
    users = db.session.scalars(select(User)).all()
    from app.demo.certificates import hub_people_emails

    expected = [a.email for a in [*DEMO_ACCOUNTS, *DEMO_PEOPLE]] + hub_people_emails()
    assert sorted(u.email for u in users) == sorted(expected)
    for account in DEMO_ACCOUNTS:
        user = next(u for u in users if u.email == account.email)
        assert user.roles == set(account.roles)
    assert len(events("user.created")) == len(expected)

    admin_email = next(a.email for a in DEMO_ACCOUNTS if "admin" in a.roles)
    client = app.test_client()
    assert login(client, admin_email, DEMO_PASSWORD).status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_admin_cannot_leave_a_user_without_roles(client, make_user, auth):
    from app.auth.models import User

    admin = make_user(roles=("admin",))
    target = make_user(roles=("trainer",))
    auth.login(admin.email)
    response = client.post(f"/admin/users/{target.id}/roles", data={})
    assert response.status_code == 400
    assert b"Choose at least one role" in response.data
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == {"trainer"}


def test_simultaneous_duplicate_registration_is_a_message_not_a_crash(app, monkeypatch):
    """If the duplicate check races, the unique index still refuses with the same message."""
    from app.auth import services
    from app.core.errors import ServiceError

    services.create_user(email="race@example.org", name="First", password=PASSWORD)
    db.session.commit()
    monkeypatch.setattr(services, "get_user_by_email", lambda email: None)
    with pytest.raises(ServiceError) as excinfo:
        services.create_user(email="race@example.org", name="Second", password=PASSWORD)
    db.session.rollback()
    assert "already exists" in excinfo.value.message
    assert excinfo.value.field == "email"
