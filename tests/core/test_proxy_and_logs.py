"""Behind a real reverse proxy: per-address limits key on the visitor only when the portal
is told how many proxies to trust, and a forged X-Forwarded-For changes nothing. Logs hold
no secrets: tokens and verification codes in paths are blanked out."""

from __future__ import annotations

import logging

import pytest

from app.core import logs

CODE = "A" * 32


def get(client, remote: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return client.get(
        f"/verify/{CODE}", headers=headers, environ_base={"REMOTE_ADDR": remote}
    ).status_code


class TestNoProxyTrusted:
    """The default: X-Forwarded-For is ignored, the connecting address is the visitor."""

    @pytest.fixture
    def app_config(self):
        return {"VERIFY_LIMIT_PER_IP": "3 per minute"}

    def test_a_forged_forwarded_for_cannot_reset_a_throttle(self, client):
        statuses = [get(client, "198.51.100.7", forwarded=f"10.0.0.{i}") for i in range(5)]
        assert statuses == [404, 404, 404, 429, 429]

    def test_the_connecting_address_is_the_key(self, client):
        assert [get(client, "198.51.100.7") for _ in range(4)] == [404, 404, 404, 429]
        assert get(client, "198.51.100.8") == 404  # someone else is not throttled


class TestOneProxyTrusted:
    """TRUSTED_PROXY_HOPS=1: a TLS proxy on 127.0.0.1 appends the visitor's address."""

    @pytest.fixture
    def app_config(self):
        return {"VERIFY_LIMIT_PER_IP": "3 per minute", "TRUSTED_PROXY_HOPS": 1}

    def test_visitors_behind_the_proxy_are_throttled_one_by_one(self, client):
        # Every request arrives from the proxy; the proxy appends who connected to it.
        first = [get(client, "127.0.0.1", forwarded="203.0.113.9") for _ in range(4)]
        assert first == [404, 404, 404, 429]
        assert get(client, "127.0.0.1", forwarded="203.0.113.10") == 404  # not site-wide

    def test_a_visitor_forging_forwarded_for_through_the_proxy_changes_nothing(self, client):
        # The visitor sends its own X-Forwarded-For; the proxy appends the real address, and
        # only the value the trusted proxy added counts.
        statuses = [
            get(client, "127.0.0.1", forwarded=f"10.9.8.{i}, 203.0.113.9") for i in range(5)
        ]
        assert statuses == [404, 404, 404, 429, 429]


def test_a_negative_number_of_proxies_stops_start_up(database_url):
    from app import ConfigError
    from tests.conftest import build_app

    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        build_app(database_url, TRUSTED_PROXY_HOPS=-1)


# --- secrets in logs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line,expected",
    [
        ('"GET /verify/K7PQ2M HTTP/1.1" 404 -', '"GET /verify/[redacted] HTTP/1.1" 404 -'),
        ('"GET /verify/K7PQ2M.json HTTP/1.1" 200', '"GET /verify/[redacted].json HTTP/1.1" 200'),
        ("/account/reset-password/abc-DEF_123", "/account/reset-password/[redacted]"),
        (
            '"POST /organisations/invitations/tok?x=1 HTTP/1.1"',
            '"POST /organisations/invitations/[redacted]?x=1 HTTP/1.1"',
        ),
        (
            "/notifications/unsubscribe/WzYsImNlcnRpZmljYXRlcyJd.2VBB6p",
            "/notifications/unsubscribe/[redacted]",
        ),
        ('"GET /verify HTTP/1.1" 400', '"GET /verify HTTP/1.1" 400'),  # no code in it
        (  # a secret path as the value of a query parameter, plain and percent-encoded
            '"GET /account/login?next=/organisations/invitations/tok&email=a HTTP/1.1"',
            '"GET /account/login?next=/organisations/invitations/[redacted]&email=a HTTP/1.1"',
        ),
        (
            '"GET /account/login?next=%2Forganisations%2Finvitations%2Ftok HTTP/1.1"',
            '"GET /account/login?next=%2Forganisations%2Finvitations%2F%5Bredacted%5D HTTP/1.1"',
        ),
        ('"GET /x?next=%2Forganisations%2F12"', '"GET /x?next=%2Forganisations%2F12"'),
        ('"GET /verify/pdf HTTP/1.1" 200', '"GET /verify/[redacted] HTTP/1.1" 200'),
        ('"GET /organisations/12/team HTTP/1.1" 200', '"GET /organisations/12/team HTTP/1.1" 200'),
    ],
)
def test_secret_segments_are_blanked_out_of_log_lines(app, line, expected):
    assert logs.redact(line) == expected


def test_every_route_with_a_token_or_code_is_covered(app):
    """A new route whose argument is called `token` or `code` is redacted by its name."""
    secret_rules = [
        r.rule for r in app.url_map.iter_rules() if logs.SECRET_ARGUMENTS & set(r.arguments)
    ]
    assert len(secret_rules) >= 4
    for rule in secret_rules:
        sample = rule
        for name in ("<token>", "<code>", "<string:token>", "<string:code>"):
            sample = sample.replace(name, "s3cr3t-VALUE")
        sample = sample.replace("<int:org_id>", "12")
        assert "s3cr3t-VALUE" not in logs.redact(f'"GET {sample} HTTP/1.1"'), rule


def test_the_development_server_log_holds_no_token(app, client, caplog):
    """The werkzeug logger (the development and e2e servers) passes through the filter."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    logging.getLogger("werkzeug").info(
        '%s - - [%s] "%s" %s %s',
        "127.0.0.1",
        "now",
        "GET /account/reset-password/abcDEF123 HTTP/1.1",
        200,
        "-",
    )
    assert "abcDEF123" not in caplog.text
    assert "/account/reset-password/[redacted]" in caplog.text


# --- full URLs name the portal, not the Host header ---------------------------------------


def test_a_forged_host_header_does_not_reach_the_reset_link(app, client, make_user):
    from app.core import mail

    user = make_user()
    mail.outbox().clear()
    response = client.post(
        "/account/forgot-password",
        data={"email": user.email},
        headers={"Host": "attacker.example"},
    )
    assert response.status_code in (302, 303)
    (message,) = mail.outbox()
    assert "attacker.example" not in message.body
    assert f"{app.config['PUBLIC_BASE_URL']}/account/reset-password/" in message.body


def test_full_urls_start_with_the_public_address_under_any_host(app):
    app.config["PUBLIC_BASE_URL"] = "https://hubs.example.org"
    with app.test_request_context("/", base_url="http://evil.example"):
        from flask import url_for

        assert url_for("public.about", _external=True) == "https://hubs.example.org/about"
        assert url_for("public.about") == "/about"  # paths are untouched
        assert url_for("public.about", _external=True, _scheme="http").startswith(
            "http://evil.example"
        )  # an explicit scheme is Flask's own answer
