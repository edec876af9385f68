"""Configuration read from the environment, with safe defaults for development.

`APP_ENV` chooses the profile: `development` (default), `testing` or `production`.
Production refuses to start without `SECRET_KEY`, `DATABASE_URL` and `PUBLIC_BASE_URL`,
and keeps its rate limits in Redis (`RATELIMIT_STORAGE_URI`, default
`redis://127.0.0.1:6379/0`). Elsewhere `PUBLIC_BASE_URL` follows the server: when unset it
is `http://HOST:PORT` from the same variables `make demo` and `make run` serve on.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

# Where production keeps rate-limit counters unless RATELIMIT_STORAGE_URI says otherwise.
PRODUCTION_RATELIMIT_STORAGE = "redis://127.0.0.1:6379/0"
# Where production keeps the page-cache generations unless CACHE_URL says otherwise.
PRODUCTION_CACHE_URL = "redis://127.0.0.1:6379/1"
# Where production queues its jobs (outbox delivery, exports) unless JOBS_REDIS_URL says.
PRODUCTION_JOBS_URL = "redis://127.0.0.1:6379/2"


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete; the app refuses to start."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


# Addresses a server binds to that no browser can open: links use the loopback instead.
_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 (recognised, not bound)


def public_base_url(production: bool) -> str:
    """The address links that leave the site start with (certificates, QR codes, emails).

    Production must say it (`PUBLIC_BASE_URL`): only the operator knows the name the public
    uses. Elsewhere, unset, it is derived from `HOST` and `PORT`, the address the development
    server listens on (the Makefile passes both to `flask run`), so `PORT=5077 make demo`
    prints links to port 5077 rather than to a port where nothing answers."""
    explicit = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if explicit:
        if not explicit.startswith(("http://", "https://")) or any(
            c in explicit for c in " \r\n\t"
        ):
            raise ConfigError(
                "PUBLIC_BASE_URL must be a full http:// or https:// address with no spaces, "
                f"got {explicit!r}"
            )
        return explicit.rstrip("/")
    if production:
        raise ConfigError(
            "PUBLIC_BASE_URL must be set when APP_ENV=production (the address the public "
            "opens, e.g. https://hubs.example.org: certificates, QR codes and emails link there)"
        )
    port = _int("PORT", 5000)
    if not 0 < port < 65536:
        raise ConfigError(f"PORT must be from 1 to 65535, got {port}")
    host = os.environ.get("HOST", "").strip()
    if host in _ANY_ADDRESS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


def _dev_secret_key(instance_path: Path) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping for `APP_ENV` from environment variables."""
    env = os.environ.get("APP_ENV", "development").strip().lower()
    if env not in {"development", "testing", "production"}:
        raise ConfigError(f"APP_ENV must be development, testing or production, got {env!r}")
    production = env == "production"
    instance = Path(instance_path)

    if production and _bool(os.environ.get("FLASK_DEBUG")):
        raise ConfigError("FLASK_DEBUG must not be on when APP_ENV=production (debug exposes code)")
    secret_key = os.environ.get("SECRET_KEY", "")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        secret_key = _dev_secret_key(instance)
    elif production and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        if production:
            raise ConfigError("DATABASE_URL must be set when APP_ENV=production")
        database_url = f"sqlite:///{instance / 'portal.db'}"

    storage = os.environ.get("STORAGE_DIR") or str(instance / "storage")

    # Rate-limit counters: in memory each gunicorn worker (and each server) would count on
    # its own, so a limit of 5 would allow 5 per worker; production shares them in Redis.
    ratelimit_storage = os.environ.get("RATELIMIT_STORAGE_URI", "").strip()
    if not ratelimit_storage:
        ratelimit_storage = PRODUCTION_RATELIMIT_STORAGE if production else "memory://"
    if production and ratelimit_storage.lower().startswith("memory://"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must not be memory:// when APP_ENV=production (each worker "
            "would keep its own counters, so the login and verification limits would not "
            f"hold); use Redis, e.g. {PRODUCTION_RATELIMIT_STORAGE}"
        )
    # Generations of the cached public pages (app/core/cache.py): shared in Redis so that
    # every worker sees a change at once; in-process only for a single development server.
    cache_url = os.environ.get("CACHE_URL", "").strip()
    if not cache_url and production:
        cache_url = PRODUCTION_CACHE_URL

    jobs_backend = os.environ.get("JOBS_BACKEND", "rq" if production else "inline").strip().lower()
    if jobs_backend not in {"inline", "rq"}:
        raise ConfigError(f"JOBS_BACKEND must be inline or rq, got {jobs_backend!r}")

    return {
        "APP_ENV": env,
        "SECRET_KEY": secret_key,
        "DEBUG": False,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "STORAGE_DIR": storage,
        # Curriculum and programme rules (see modules/README.md).
        "CONTENT_DIR": os.environ.get("CONTENT_DIR")
        or str(Path(__file__).resolve().parent.parent / "modules"),
        # Certificate templates (see certificates/README.md).
        "CERTIFICATE_TEMPLATES_DIR": os.environ.get("CERTIFICATE_TEMPLATES_DIR")
        or str(Path(__file__).resolve().parent.parent / "certificates"),
        # The superhub's PDF signing key and certificate: made on first use in SIGNING_DIR,
        # or loaded from SIGNING_KEY_PATH / SIGNING_CERT_PATH when both are set.
        "SIGNING_DIR": os.environ.get("SIGNING_DIR") or str(instance / "signing"),
        "SIGNING_KEY_PATH": os.environ.get("SIGNING_KEY_PATH", ""),
        "SIGNING_CERT_PATH": os.environ.get("SIGNING_CERT_PATH", ""),
        "SIGNING_KEY_PASSWORD": os.environ.get("SIGNING_KEY_PASSWORD", ""),
        # The Open Badges credential signing key (ES256), separate from the PDF key: made on
        # first use in CREDENTIAL_DIR, or CREDENTIAL_KEY_PATH (app/certificates/credentials.py).
        "CREDENTIAL_DIR": os.environ.get("CREDENTIAL_DIR") or str(instance / "credentials"),
        "CREDENTIAL_KEY_PATH": os.environ.get("CREDENTIAL_KEY_PATH", ""),
        # Public verification: guesses of codes are throttled per address.
        "VERIFY_LIMIT_PER_IP": os.environ.get("VERIFY_LIMIT_PER_IP", "30 per minute; 300 per hour"),
        # How many reverse proxies in front of the portal append to X-Forwarded-For (and set
        # X-Forwarded-Proto): 0 (the default) trusts no such header; 1 for one TLS proxy
        # such as nginx. Per-address limits then key on the visitor, not on the proxy.
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", 0),
        # Expressions of interest sent from the public directory, per address.
        "INTEREST_LIMIT_PER_IP": os.environ.get("INTEREST_LIMIT_PER_IP", "5 per hour"),
        "IMPACT_CACHE_SECONDS": _int("IMPACT_CACHE_SECONDS", 300),
        # Exports larger than these are prepared by a job and downloaded from My exports.
        "EXPORT_ASYNC_ROWS": _int("EXPORT_ASYNC_ROWS", 200),
        "EXPORT_ASYNC_CERTIFICATES": _int("EXPORT_ASYNC_CERTIFICATES", 50),
        "EXPORT_ASYNC_DOSSIER_EVENTS": _int("EXPORT_ASYNC_DOSSIER_EVENTS", 150),
        "DISPLAY_TIMEZONE": os.environ.get("DISPLAY_TIMEZONE", "Europe/London"),
        "SITE_NAME": os.environ.get("SITE_NAME", "ECHO Hub Onboarding Portal"),
        "SUPERHUB_NAME": os.environ.get("SUPERHUB_NAME", "National Hospice ECHO Superhub"),
        # Links that leave the site; jobs run outside a request use it too (core/jobs.py).
        "PUBLIC_BASE_URL": public_base_url(production),
        # Uploads: a hard ceiling for any request; areas set tighter per-item limits.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024),
        # Each evidence file; the request limit above leaves room for the form around it.
        "EVIDENCE_MAX_BYTES": _int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024),
        # Mail: SMTP in production; in development the log-and-keep backend prints messages.
        "MAIL_BACKEND": os.environ.get(
            "MAIL_BACKEND", "smtp" if production else "app.core.mail.LogAndKeepEmailBackend"
        ),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(os.environ.get("MAIL_USE_SSL")),
        # A mail server that stops answering fails a delivery after this many seconds.
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 20),
        # Jobs (app/core/jobs.py): `inline` runs them in this process after the response
        # (no Redis); `rq` queues them in Redis for `flask jobs worker` processes.
        "JOBS_BACKEND": jobs_backend,
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL", PRODUCTION_JOBS_URL),
        "JOBS_QUEUE": os.environ.get("JOBS_QUEUE", "echo-hub"),
        # Inline backend: run the work at the commit, inside the request, instead of after the
        # response (the end-to-end tests' server, so a page that says "sent" has sent).
        "JOBS_INLINE_AT_COMMIT": _bool(os.environ.get("JOBS_INLINE_AT_COMMIT")),
        # Inline backend: how often a request may also sweep for due work (0 = never).
        "JOBS_SWEEP_SECONDS": _int("JOBS_SWEEP_SECONDS", 60),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "ECHO Hub Portal <no-reply@echo-hub.example.org>"
        ),
        # Rate limits (Flask-Limiter syntax). Storage: memory:// by default, Redis in production.
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        "CACHE_URL": cache_url,
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 10 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 10 minutes"),
        "REGISTER_LIMIT_PER_IP": os.environ.get("REGISTER_LIMIT_PER_IP", "10 per hour"),
        "REGISTER_LIMIT_PER_ACCOUNT": os.environ.get("REGISTER_LIMIT_PER_ACCOUNT", "5 per hour"),
        "RESET_LIMIT_PER_IP": os.environ.get("RESET_LIMIT_PER_IP", "10 per hour"),
        "RESET_LIMIT_PER_ACCOUNT": os.environ.get("RESET_LIMIT_PER_ACCOUNT", "3 per hour"),
        # Sessions: idle and absolute timeouts are enforced server-side on every request.
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        "SESSION_ABSOLUTE_HOURS": _int("SESSION_ABSOLUTE_HOURS", 12),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _bool(os.environ.get("SESSION_COOKIE_SECURE")),
        "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # TOTP for trainers, auditors and admins: always in production; opt-in elsewhere.
        "MFA_REQUIRED_FOR_PRIVILEGED": _bool(
            os.environ.get("MFA_REQUIRED_FOR_PRIVILEGED"), production
        ),
        "MFA_PENDING_MINUTES": _int("MFA_PENDING_MINUTES", 5),
        "MFA_LIMIT_PER_ACCOUNT": os.environ.get("MFA_LIMIT_PER_ACCOUNT", "5 per 10 minutes"),
        "MFA_LIMIT_PER_IP": os.environ.get("MFA_LIMIT_PER_IP", "20 per 10 minutes"),
        "PASSWORD_RESET_HOURS": _int("PASSWORD_RESET_HOURS", 2),
        "EMAIL_VERIFY_HOURS": _int("EMAIL_VERIFY_HOURS", 48),
        "VERIFY_EMAIL_LIMIT_PER_ACCOUNT": os.environ.get(
            "VERIFY_EMAIL_LIMIT_PER_ACCOUNT", "3 per hour"
        ),
        "VERIFY_EMAIL_LIMIT_PER_IP": os.environ.get("VERIFY_EMAIL_LIMIT_PER_IP", "10 per hour"),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "HSTS": production,
        "WTF_CSRF_TIME_LIMIT": None,  # the session's own lifetime bounds the token
        "BOOTSTRAP_SERVE_LOCAL": True,
        # `/hello`, the benchmarks' yardstick (bench/load.py sets HELLO_ROUTE=1): a bare
        # public page that has no place on a production portal, so off unless asked for.
        "HELLO_ROUTE": _bool(os.environ.get("HELLO_ROUTE")),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }


def engine_options(database_url: str) -> dict:
    """Engine options per backend: SQLite waits for locks instead of failing at once."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # A ping before each checkout costs one round trip per request; it makes a restarted
    # database invisible to users (DATABASE_PRE_PING=0 trades that for speed).
    return {"pool_pre_ping": _bool(os.environ.get("DATABASE_PRE_PING"), True)}


def testing_overrides() -> dict:
    """Settings the test suite applies on top of the environment profile."""
    return {
        "APP_ENV": "testing",
        "TESTING": True,
        "MAIL_BACKEND": "app.core.mail.LogAndKeepEmailBackend",
        # A cheap hash keeps the suite fast; production uses scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "RATELIMIT_STORAGE_URI": "memory://",
        "CACHE_URL": "",
        "SERVER_NAME": None,
        "JOBS_BACKEND": "inline",
        "JOBS_SWEEP_SECONDS": 0,
    }
