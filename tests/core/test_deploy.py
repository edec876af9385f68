"""The production configuration: gunicorn with `gunicorn.conf.py` serves the portal, and
an unsafe environment stops it before it serves anything."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.paths import ROOT

GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path, port, **overrides) -> dict:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "a-production-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "STORAGE_DIR": str(tmp_path / "storage"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PUBLIC_BASE_URL": "https://hubs.example.org",
        "RATELIMIT_STORAGE_URI": None,  # the production default: Redis on 127.0.0.1:6379
    }
    env.pop("TEST_DATABASE_URL", None)
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _start(env):
    return subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in this venv")
@pytest.mark.skipif(
    not _redis_is_up(), reason="production keeps rate limits in Redis: none on 127.0.0.1:6379"
)
def test_gunicorn_serves_the_portal_with_the_production_config(tmp_path):
    port = _free_port()
    env = _env(tmp_path, port)
    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    server = _start(env)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                    headers = dict(r.headers)
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.2)
        assert body is not None, server.stderr.read() if server.poll() is not None else ""
        assert '"status":"ok"' in body.replace(" ", "")
        assert "max-age" in headers.get("Strict-Transport-Security", "")
        assert headers.get("Server") == "gunicorn"  # not the development server
        with pytest.raises(urllib.error.HTTPError):  # a malformed code: 400, logged
            urllib.request.urlopen(f"http://127.0.0.1:{port}/verify?code=secret", timeout=2)
        for path in ("/verify/K7PQ-SECRET-CODE", "/account/reset-password/tok3n-SECRET-xyz"):
            # An unknown code or token: a page all the same, and a log line.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    log = out + err
    assert '"GET /healthz HTTP/1.1" 200' in log  # the access log
    assert '"GET /verify HTTP/1.1" 400' in log
    assert "code=secret" not in log  # no query strings (codes, tokens) in the log
    assert "SECRET" not in log  # nor secrets in paths
    assert '"GET /verify/[redacted] HTTP/1.1"' in log
    assert '"GET /account/reset-password/[redacted] HTTP/1.1"' in log


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in this venv")
@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set"),
        ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG must not be on"),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL must be set"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI must not be memory://"),
    ],
)
def test_gunicorn_refuses_an_unsafe_production_environment(tmp_path, overrides, reason):
    server = _start(_env(tmp_path, _free_port(), **overrides))
    _out, err = server.communicate(timeout=60)
    assert server.returncode != 0
    assert reason in err
