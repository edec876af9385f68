"""Benchmark: two app servers and two workers on one PostgreSQL and one Redis; 1,000
notifications raised at once over HTTP, each delivered exactly once.

    .venv/bin/python bench/scale_out.py [people] [postgresql+psycopg://postgres@127.0.0.1:5432/echo_scale]

It creates (and drops) the database, migrates it, adds `people` accounts (1,000 by default),
starts an SMTP sink in a process of its own, two gunicorn servers (production settings, rate
limits off for the run) and two `flask jobs worker` processes, then asks for a password reset
for every account at once, half through each server, eight requests at a time. It waits until
the outbox has sent everything and reports the time, the requests' median latency, and
whether every person received exactly one message.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.smtp import free_port  # noqa: E402

BIN = Path(sys.executable).parent


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def forgot(base: str, email: str) -> float:
    """GET the form (session and CSRF token), POST the address; seconds for the POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/account/forgot-password", timeout=30).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": email}).encode()
    started = time.perf_counter()
    opener.open(f"{base}/account/forgot-password", data=data, timeout=30).read()
    return time.perf_counter() - started


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    url = (
        sys.argv[2]
        if len(sys.argv) > 2
        else "postgresql+psycopg://postgres@127.0.0.1:5432/echo_scale"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    smtp_port = free_port()
    env = {
        **os.environ,
        # Production's session cookie is Secure (__Host-), which plain HTTP here cannot carry:
        # the development profile, with production's delivery (SMTP, RQ) set explicitly.
        "APP_ENV": "development",
        "MAIL_BACKEND": "smtp",
        "JOBS_BACKEND": "rq",
        "SECRET_KEY": "bench-" + "x" * 40,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(work / "instance"),
        "STORAGE_DIR": str(work / "storage"),
        "RATELIMIT_ENABLED": "0",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/12",
        "CACHE_URL": "redis://127.0.0.1:6379/12",
        "JOBS_REDIS_URL": "redis://127.0.0.1:6379/13",
        "JOBS_QUEUE": f"scale-{uuid.uuid4().hex[:8]}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "0",
        "GUNICORN_WORKERS": "2",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    fresh_database(url)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)

    from werkzeug.security import generate_password_hash

    engine = create_engine(url)
    digest = generate_password_hash("not-used-here", method="pbkdf2:sha256:1000")
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "user" (email, name, job_title, password_hash, is_active_account, '
                "session_version, created_at) VALUES (:e, :n, '', :h, true, 1, now())"
            ),
            [
                {"e": f"person{i}@example.org", "n": f"Person {i}", "h": digest}
                for i in range(people)
            ],
        )

    processes = []
    sink = subprocess.Popen(
        [sys.executable, "-m", "tests.smtp", str(smtp_port)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout.readline().strip() == "ready"
    ports = [free_port(), free_port()]
    for port in ports:
        server_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        processes.append(
            subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT,
                env=server_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [*flask, "jobs", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            latencies = list(
                pool.map(lambda i: forgot(bases[i % 2], f"person{i}@example.org"), range(people))
            )
        raised = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                sent = conn.execute(
                    text("SELECT count(*) FROM outbox_message WHERE status = 'sent'")
                ).scalar()
            if sent >= people:
                break
            time.sleep(0.5)
        delivered = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    out, _err = sink.communicate("", timeout=30)
    counts = json.loads(out.strip().splitlines()[-1])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM outbox_message")).scalar()
    engine.dispose()
    drop_database(url)
    print(
        f"{people} resets asked through 2 servers in {raised:.1f} s "
        f"(POST median {statistics.median(latencies) * 1000:.0f} ms); all {sent} sent after "
        f"{delivered:.1f} s by 2 workers; outbox rows {rows}; the sink received "
        f"{counts['received']} for {counts['distinct_recipients']} people; exactly once each: "
        f"{rows == counts['received'] == counts['distinct_recipients'] == people}"
    )


if __name__ == "__main__":
    main()
