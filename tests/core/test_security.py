"""Cross-cutting security: CSRF, headers, safe redirects, error pages, health check, config."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.core import audit
from app.core.policy import PUBLIC, access
from app.core.security import is_safe_next, safe_next
from app.extensions import db
from tests.conftest import PASSWORD, build_app, unbound_sessions
from tests.helpers import events, is_signed_in, page_text, reload

# --- CSRF ---------------------------------------------------------------------------------


def csrf_token(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token on " + path
    return match.group(1)


def login_with_token(client, email):
    token = csrf_token(client, "/account/login")
    response = client.post(
        "/account/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return response


def assert_form_expired(response):
    assert response.status_code == 400
    text = page_text(response)
    assert "Form expired" in text
    assert "nothing was changed" in text


class TestCSRF:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_login_without_token_is_refused(self, client, make_user):
        user = make_user()
        response = client.post("/account/login", data={"email": user.email, "password": PASSWORD})
        assert_form_expired(response)
        assert not is_signed_in(client)
        assert events("auth.login") == [] and events("auth.login_failed") == []

    def test_login_with_token_works(self, client, make_user):
        user = make_user()
        login_with_token(client, user.email)
        assert is_signed_in(client)

    def test_token_from_another_session_is_refused(self, app, make_user):
        user = make_user()
        foreign = csrf_token(app.test_client(), "/account/login")
        client = app.test_client()
        client.get("/account/login")
        response = client.post(
            "/account/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": foreign},
        )
        assert_form_expired(response)
        assert not is_signed_in(client)

    def test_logout_without_token_is_refused(self, client, make_user):
        user = make_user()
        login_with_token(client, user.email)
        response = client.post("/account/logout")
        assert_form_expired(response)
        assert is_signed_in(client)
        assert reload(user.id).session_version == 1
        assert events("auth.logout") == []

    def test_logout_with_token_works(self, client, make_user):
        user = make_user()
        login_with_token(client, user.email)
        token = csrf_token(client, "/account/profile")
        assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302
        assert not is_signed_in(client)

    def test_role_change_without_token_is_refused(self, client, make_user):
        admin = make_user(roles=("admin",))
        target = make_user(roles=("applicant",))
        login_with_token(client, admin.email)
        response = client.post(
            f"/admin/users/{target.id}/roles", data={"roles": ["applicant", "admin"]}
        )
        assert_form_expired(response)
        assert reload(target.id).roles == {"applicant"}
        assert events("user.roles_changed") == []

        token = csrf_token(client, f"/admin/users/{target.id}")
        ok = client.post(
            f"/admin/users/{target.id}/roles",
            data={"roles": ["applicant", "trainer"], "csrf_token": token},
        )
        assert ok.status_code == 302
        assert reload(target.id).roles == {"applicant", "trainer"}

    def test_deactivate_without_token_is_refused(self, client, make_user):
        admin = make_user(roles=("admin",))
        target = make_user()
        login_with_token(client, admin.email)
        response = client.post(f"/admin/users/{target.id}/deactivate", data={"reason": "x"})
        assert_form_expired(response)
        assert reload(target.id).is_active_account is True

    def test_registration_without_token_is_refused(self, client):
        response = client.post(
            "/account/register",
            data={
                "name": "No Token",
                "email": "nt@example.org",
                "password": PASSWORD,
                "confirm": PASSWORD,
            },
        )
        assert_form_expired(response)
        db.session.expire_all()
        assert db.session.scalars(select(User)).all() == []

    def test_every_page_form_carries_a_token(self, client, make_user):
        for path in ("/account/login", "/account/register", "/account/forgot-password"):
            csrf_token(client, path)


# --- headers and page markup --------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize("path", ["/", "/account/login", "/account/register"])
def test_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {
        "same-origin",
        "no-referrer",
        "strict-origin-when-cross-origin",
    }
    assert "Strict-Transport-Security" not in response.headers  # not in development


def test_headers_also_on_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/account/profile", "/admin/users"])
def test_signed_in_pages_are_not_cached(client, login_as, path):
    login_as("admin")
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def _check_markup(body: str, path: str) -> None:
    lowered = body.lower()
    for cdn in ("cdn.jsdelivr", "cdnjs", "unpkg.com", "googleapis", "bootstrapcdn"):
        assert cdn not in lowered, f"{path} loads from {cdn}"
    scripts = re.findall(r"<script\b[^>]*>", body, re.I)
    assert scripts, f"{path} has no scripts at all (Bootstrap's JS should be served locally)"
    for tag in scripts:
        src = re.search(r'\bsrc="([^"]+)"', tag)
        assert src, f"inline script on {path}: {tag}"
        assert src.group(1).startswith("/") and not src.group(1).startswith("//"), tag
    for href in re.findall(r'<link\b[^>]*\bhref="([^"]+)"', body, re.I):
        assert href.startswith("/") and not href.startswith("//"), f"{path}: {href}"
    # CSP blocks inline event handlers and javascript: URLs as well.
    assert not re.search(r"\son[a-z]+\s*=", body, re.I), f"inline event handler on {path}"
    assert "javascript:" not in lowered


@pytest.mark.parametrize(
    "path",
    ["/", "/account/login", "/account/register", "/account/forgot-password", "/no-such-page"],
)
def test_anonymous_pages_use_only_local_scripts(client, path):
    _check_markup(client.get(path).get_data(as_text=True), path)


@pytest.mark.parametrize(
    "path", ["/", "/account/profile", "/account/password", "/admin/users", "/audit/events"]
)
def test_signed_in_pages_use_only_local_scripts(client, login_as, path):
    login_as("admin")
    response = client.get(path)
    assert response.status_code == 200
    _check_markup(response.get_data(as_text=True), path)


def test_local_assets_are_served(client):
    body = client.get("/").get_data(as_text=True)
    assets = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', body)
    assets += re.findall(r'<link\b[^>]*\bhref="([^"]+)"', body)
    assert len(assets) >= 3
    for url in assets:
        with client.get(url) as response:  # closes the served file
            assert response.status_code == 200, url
            assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- safe redirects -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/", "/admin/users", "/admin/users?page=2&q=a", "/account/profile#top"]
)
def test_local_paths_are_safe(target):
    assert is_safe_next(target)


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\t/evil.example",
        "/\r\nSet-Cookie: x=1",
        "/\r\nX: y",
        "///evil.example",
        "/\x00/evil.example",
        " /path",
        "data:text/html,x",
    ],
)
def test_off_site_targets_are_unsafe(app, target):
    assert not is_safe_next(target)
    with app.test_request_context():
        assert safe_next(target) == "/"


# --- error pages --------------------------------------------------------------------------


def test_unknown_url_is_404(client):
    response = client.get("/definitely/not/here")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)


def test_unknown_user_for_admin_is_404(client, login_as):
    login_as("admin")
    response = client.get("/admin/users/999999")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)


def test_404_as_json_when_asked(client):
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "Page not found",
        "message": "We could not find that page. Check the address.",
    }


def test_405_page(client):
    response = client.get("/account/logout")
    assert response.status_code == 405
    assert "Not allowed" in page_text(response)


def test_403_page_for_wrong_role(client, login_as):
    login_as("applicant")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Access denied" in page_text(response)


@pytest.mark.own_app
def test_unexpected_exception_gives_generic_500(app, client):
    @app.route("/test-boom")
    @access(PUBLIC)
    def boom():
        audit.record("test.should_not_persist", details={"note": "rolled back"})
        raise RuntimeError("secret internal detail /srv/app/db.py line 42")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/test-boom")

    assert response.status_code == 500
    text = page_text(response)
    assert "Something went wrong" in text
    assert "nothing was changed" in text
    for leak in ("secret internal detail", "Traceback", "RuntimeError", "db.py", 'File "'):
        assert leak not in text
    assert events("test.should_not_persist") == []


@pytest.mark.parametrize("path", ["/nowhere", "/account/logout"])
def test_error_pages_do_not_leak_internals(client, path):
    text = page_text(client.get(path))
    for leak in ("Traceback", "werkzeug", 'File "', "NotFound", "MethodNotAllowed"):
        assert leak not in text


# --- health check -------------------------------------------------------------------------


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["database"], body["queue"]["status"]) == ("ok", "ok", "ok")
    assert body["queue"]["waiting"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir/x.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2",
    ],
)
def test_healthz_reports_unreachable_database(app, url):
    broken = build_app(url)
    with unbound_sessions(), broken.app_context():
        try:
            response = broken.test_client().get("/healthz")
        finally:
            db.session.remove()
            db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["reason"]
    text = response.get_data(as_text=True)
    for leak in ("nonexistent-dir", "127.0.0.1", "OperationalError", "psycopg", "Traceback"):
        assert leak not in text


# --- configuration ------------------------------------------------------------------------

STRONG_KEY = "k" * 48


@pytest.fixture
def production_env(monkeypatch, database_url):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hubs.example.org")
    for name in ("SESSION_COOKIE_SECURE", "MAIL_BACKEND", "RATELIMIT_STORAGE_URI", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_without_secret_key_refuses_to_start(production_env):
    from app import ConfigError, create_app

    production_env.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_with_empty_secret_key_refuses_to_start(production_env):
    from app import ConfigError, create_app

    production_env.setenv("SECRET_KEY", "")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_with_short_secret_key_refuses_to_start(production_env):
    from app import ConfigError, create_app

    production_env.setenv("SECRET_KEY", "too-short")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_without_database_url_refuses_to_start(production_env):
    from app import ConfigError, create_app

    production_env.delenv("DATABASE_URL")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app()


def test_production_without_public_base_url_refuses_to_start(production_env):
    from app import ConfigError, create_app

    production_env.delenv("PUBLIC_BASE_URL")
    production_env.setenv("PORT", "5077")  # never a guess from the port in production
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        create_app()


@pytest.mark.parametrize("url", ["hubs.example.org", "https://hubs.example.org/x y"])
def test_a_malformed_public_base_url_refuses_to_start(production_env, url):
    from app import ConfigError, create_app

    production_env.setenv("PUBLIC_BASE_URL", url)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be a full"):
        create_app()


def test_production_keeps_rate_limits_in_redis_by_default(production_env, tmp_path):
    from app.config import load_config

    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    production_env.setenv("RATELIMIT_STORAGE_URI", "redis://cache.internal:6380/2")
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6380/2"


@pytest.mark.parametrize("env", ["development", "testing"])
def test_other_profiles_keep_rate_limits_in_memory_by_default(production_env, tmp_path, env):
    from app.config import load_config

    production_env.setenv("APP_ENV", env)
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.mark.parametrize("uri", ["memory://", " MEMORY:// "])
def test_production_with_rate_limits_in_memory_refuses_to_start(production_env, uri):
    from app import ConfigError, create_app

    production_env.setenv("RATELIMIT_STORAGE_URI", uri)
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI must not be memory://") as err:
        create_app()
    assert "each worker would keep its own counters" in str(err.value)


def test_production_config_is_hardened(production_env):
    from app import create_app

    prod = create_app()
    assert prod.config["APP_ENV"] == "production"
    assert prod.config["SECRET_KEY"] == STRONG_KEY
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True
    assert prod.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert prod.debug is False
    assert prod.testing is False

    with unbound_sessions(), prod.app_context():
        try:
            response = prod.test_client().get("/healthz", base_url="https://portal.example")
        finally:
            db.session.remove()
            db.engine.dispose()
    assert response.status_code == 200
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000


def test_testing_profile_does_not_send_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/(?:bootstrap/)?static/[^"]+)"', html)


def test_static_files_are_named_by_their_content_and_kept_for_a_year(client, login_as):
    """Signed-in pages are no-store; the CSS and JS they load are not personal, and a phone
    must not download Bootstrap again on every page."""
    login_as("admin")
    urls = _asset_urls(client.get("/account/profile").get_data(as_text=True))
    assert any("/static/css/app.css?v=" in url for url in urls)
    assert any(url.startswith("/bootstrap/static/") and "?v=" in url for url in urls)
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Content-Security-Policy" in response.headers


def test_a_static_url_without_its_current_hash_is_revalidated(client, login_as):
    login_as("admin")
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")
        assert response.headers.get("ETag")
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
