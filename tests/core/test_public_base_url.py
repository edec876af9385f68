"""PUBLIC_BASE_URL follows the server: `PORT=5077 make demo` links to port 5077 (verify URL,
QR code, JSON, emails, jobs run outside a request); production must set it explicitly (its
refusal is tested with the other production rules in test_security.py and test_deploy.py)."""

from __future__ import annotations

import pytest

from app.config import ConfigError, load_config
from app.core import jobs, mail
from app.extensions import db
from app.organisations import services as org_services
from tests.conftest import TEST_CONTENT_DIR
from tests.factories.certificates import approve, pdf_bytes_of, qr_payloads, write
from tests.factories.organisations import reload_org


@pytest.fixture
def server_env(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    for name in ("PUBLIC_BASE_URL", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, "http://127.0.0.1:5000"),
        ({"PORT": "5077"}, "http://127.0.0.1:5077"),
        ({"HOST": "portal.local", "PORT": "8080"}, "http://portal.local:8080"),
        ({"HOST": "0.0.0.0", "PORT": "5077"}, "http://127.0.0.1:5077"),  # noqa: S104
        ({"HOST": "::1", "PORT": "5077"}, "http://[::1]:5077"),
        (
            {"PORT": "5077", "PUBLIC_BASE_URL": "https://hubs.example.org/"},
            "https://hubs.example.org",
        ),
    ],
)
def test_outside_production_the_base_url_follows_host_and_port(server_env, tmp_path, env, expected):
    for name, value in env.items():
        server_env.setenv(name, value)
    assert load_config(str(tmp_path))["PUBLIC_BASE_URL"] == expected


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_port_that_is_not_one_stops_start_up(server_env, tmp_path, port):
    server_env.setenv("PORT", port)
    with pytest.raises(ConfigError, match="PORT"):
        load_config(str(tmp_path))


def test_production_ignores_the_port_and_requires_the_base_url(server_env, tmp_path):
    server_env.setenv("APP_ENV", "production")
    server_env.setenv("SECRET_KEY", "k" * 48)
    server_env.setenv("DATABASE_URL", "sqlite:///unused.db")
    server_env.setenv("PORT", "5077")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        load_config(str(tmp_path))
    server_env.setenv("PUBLIC_BASE_URL", "https://hubs.example.org")
    assert load_config(str(tmp_path))["PUBLIC_BASE_URL"] == "https://hubs.example.org"


def test_an_app_built_with_port_5077_links_to_5077_everywhere(
    server_env, app, database_url, make_user, make_organisation
):
    """Built like `PORT=5077 make demo` builds it (no PUBLIC_BASE_URL), the portal links to
    port 5077: the certificate's QR code, the verify JSON and the approval email, which a
    job renders after the commit, outside any request."""
    from app import create_app

    server_env.setenv("PORT", "5077")
    built = create_app(
        test_config={"SQLALCHEMY_DATABASE_URI": database_url, "CONTENT_DIR": TEST_CONTENT_DIR}
    )
    assert built.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5077"
    # The rest runs on the test app (its database transaction is rolled back afterwards),
    # configured as that build was.
    app.config["PUBLIC_BASE_URL"] = built.config["PUBLIC_BASE_URL"]
    lead = make_user(name="Hana Lead")
    org = make_organisation(stage="readiness_review", lead=lead)
    author = make_user(roles=("trainer",))
    approver = make_user(roles=("trainer",))
    mail.outbox().clear()
    with app.test_request_context():  # a trainer's request, on whatever address they used
        cert = approve(write(org, author), approver)
    expected = f"http://127.0.0.1:5077/verify/{cert.code}"
    assert qr_payloads(pdf_bytes_of(cert)) == [expected]
    body = app.test_client().get(f"/verify/{cert.code}.json").get_json()
    assert body["verify_url"] == expected
    (approval,) = [m for m in mail.outbox() if lead.email in m.to]
    assert expected in approval.body

    # Work done by a job, outside any request (reminders, digests), links to 5077 too.
    mail.outbox().clear()
    with jobs.job_context():
        org_services.notify_leads(
            reload_org(org.id), "Your hub", "hub_approved", cert=cert, verify_link=expected
        )
        db.session.commit()
    (later,) = [m for m in mail.outbox() if lead.email in m.to]
    assert f"http://127.0.0.1:5077/organisations/{org.id}" in later.body
    assert "http://127.0.0.1:5077/notifications/unsubscribe/" in later.body
    assert "localhost" not in later.body and ":5000" not in later.body
