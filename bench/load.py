"""Load benchmark: the key pages under gunicorn, each as a ratio to a bare "hello" page.

    DATABASE_URL=sqlite:////abs/path/portal.db .venv/bin/python bench/load.py [--seconds 10]

The database must hold the demo data and the large synthetic programme:

    DATABASE_URL=... .venv/bin/flask --app wsgi db upgrade
    DATABASE_URL=... .venv/bin/flask --app wsgi demo seed --scale large

It starts gunicorn on 127.0.0.1 with `gunicorn.conf.py` (2 sync workers, rate limits off
so the load is not throttled), signs in as each role the way a browser does, and drives
each page with wrk (16 connections, 2 threads) for the given time. Every page is reported
as requests per second, p50/p95/p99 latency, and its throughput as a ratio to `/hello`
measured just before it (absolute numbers drift between runs, machines and even minutes). The
table is printed and written to bench/results/load-<date>.md and .json.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "hospice-echo-demo-2026"  # noqa: S105 - the published demo password
DEMO = "demo.echo-hub.org.uk"
SEED_HINT = (
    "Seed it first:\n"
    "  DATABASE_URL=... .venv/bin/flask --app wsgi db upgrade\n"
    "  DATABASE_URL=... .venv/bin/flask --app wsgi demo seed --scale large"
)
TARGET_RATIO = 0.3
HALF_HELLO = ("verify JSON", "landing page", "directory")  # these must reach 0.5
HALF_HELLO_TARGET = 0.5
TARGET_P95_MS = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lookups(database_url: str) -> dict:
    """IDs of the pages to load, from the database; exits with a hint if it is not seeded."""
    os.environ["DATABASE_URL"] = database_url
    from sqlalchemy import func, select

    from app import create_app
    from app.auth.models import User
    from app.certificates.models import Certificate
    from app.extensions import db
    from app.immersion.models import ImmersionCohort
    from app.organisations.models import Organisation

    app = create_app()
    with app.app_context():
        try:
            synthetic = db.session.scalar(
                select(func.count(Organisation.id)).where(
                    Organisation.name.like("Synthetic Hospice %")
                )
            )
        except Exception as error:  # no tables: not migrated
            sys.exit(
                f"The database at DATABASE_URL is not set up ({type(error).__name__}).\n"
                + SEED_HINT
            )
        lead = db.session.scalar(select(User).where(User.email == f"morag.macleod@{DEMO}"))
        if not synthetic or lead is None:
            sys.exit("The database has no demo data or no synthetic programme.\n" + SEED_HINT)
        glen = db.session.scalar(
            select(Organisation).where(Organisation.name == "Glen Affric Hospice")
        )
        cohort = db.session.scalar(
            select(ImmersionCohort.id)
            .where(ImmersionCohort.title.like("Synthetic Immersion cohort %"))
            .order_by(ImmersionCohort.id)
        )
        code = db.session.scalar(
            select(Certificate.code)
            .where(Certificate.kind == "hub", Certificate.revoked_at.is_(None))
            .order_by(Certificate.id.desc())
        )
        return {"org": glen.id, "cohort": cohort, "code": code, "organisations": synthetic}


class Browser:
    """Signs in like a browser (CSRF token from the form) and keeps the session cookie."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self, email: str) -> str:
        page = self.opener.open(f"{self.base}/account/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "email": email, "password": PASSWORD}
        ).encode()
        self.opener.open(f"{self.base}/account/login", data=data).read()
        cookie = next((c for c in self.jar if c.name == "session"), None)
        if cookie is None:
            sys.exit(f"Could not sign in as {email}.")
        return f"{cookie.name}={cookie.value}"


def _wrk(url: str, cookie: str | None, seconds: int, connections: int) -> dict:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(ROOT / "bench" / "wrk_report.lua"),
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("JSON "))
    result = json.loads(line[5:])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _miss(row: dict, target: float) -> str:
    reasons = []
    if row["ratio"] < target:
        reasons.append(f"ratio ≥ {target}")
    if row["p95_us"] / 1000 >= TARGET_P95_MS:
        reasons.append(f"p95 < {TARGET_P95_MS} ms")
    return f"no ({', '.join(reasons)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per page (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--only", default="", help="measure only pages whose label contains this text"
    )
    parser.add_argument(
        "--check", action="store_true", help="only check the database is seeded (exit 1 if not)"
    )
    args = parser.parse_args()
    if args.check:
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url:
            sys.exit("Set DATABASE_URL to the database to measure.\n" + SEED_HINT)
        _lookups(database_url)  # exits with the hint when it is not seeded
        print("The database holds the demo data and a synthetic programme.")
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: sudo apt-get install -y wrk")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        sys.exit("Set DATABASE_URL to the database to measure.\n" + SEED_HINT)
    ids = _lookups(database_url)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "APP_ENV": "development",
        "RATELIMIT_ENABLED": "0",
        # The yardstick page exists only where a setting asks for it.
        "HELLO_ROUTE": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "PUBLIC_BASE_URL": base,
        # Two workers must share the page-cache generations, as production servers do.
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/1"),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/hello", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        cookies = {
            role: Browser(base).login(email)
            for role, email in (
                ("lead", f"morag.macleod@{DEMO}"),
                ("trainee", f"trainee@{DEMO}"),
                ("trainer", f"trainer@{DEMO}"),
                ("auditor", f"auditor@{DEMO}"),
            )
        }
        pages = [
            ("hello (yardstick)", "/hello", None),
            # The same page for a signed-in trainee: what every signed-in page pays before
            # doing any work of its own (session, account and roles, access check).
            ("hello, signed in (floor)", "/hello", "trainee"),
            ("organisation home (hub lead)", f"/organisations/{ids['org']}", "lead"),
            ("My training (trainee)", "/training", "trainee"),
            ("organisation list (trainer)", "/organisations", "trainer"),
            ("review queue (trainer)", "/readiness/queue", "trainer"),
            ("attendance grid (trainer)", f"/immersion/cohorts/{ids['cohort']}", "trainer"),
            ("certificate register (auditor)", "/audit/certificates", "auditor"),
            ("audit log (auditor)", "/audit/events", "auditor"),
            ("verify page (public)", f"/verify/{ids['code']}", None),
            ("verify JSON (public)", f"/verify/{ids['code']}.json", None),
            ("landing page (public)", "/", None),
            ("directory (public)", "/hubs", None),
        ]
        rows = []
        for label, path, role in pages:
            if args.only and args.only not in label:
                continue
            check = urllib.request.Request(base + path)
            if role:
                check.add_header("Cookie", cookies[role])
            status = urllib.request.urlopen(check, timeout=30).status
            # This machine's speed drifts by a third over minutes, so every page is compared
            # with hello measured just before it, not with one hello for the whole run.
            hello = _wrk(base + "/hello", None, args.seconds, args.connections)
            result = _wrk(base + path, cookies.get(role), args.seconds, args.connections)
            result["hello_rps"] = hello["rps"]
            result["ratio"] = result["rps"] / hello["rps"]
            rows.append({"page": label, "path": path, "status": status, **result})
            print(f"  {label}: {result['rps']:.0f} req/s, hello {hello['rps']:.0f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    stamp = datetime.now(UTC)
    header = (
        f"Load benchmark, {stamp:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"gunicorn 2 sync workers, wrk {args.connections} connections × {args.seconds} s, "
        f"{'PostgreSQL' if database_url.startswith('postgresql') else 'SQLite'}, "
        f"{ids['organisations']} synthetic organisations. Each ratio is to hello measured "
        f"just before that page (hello ranged {min(r['hello_rps'] for r in rows):.0f}-"
        f"{max(r['hello_rps'] for r in rows):.0f} req/s in this run)."
    )
    lines = [
        header,
        "",
        "| page | req/s | hello req/s | ratio | p50 ms | p95 ms | p99 ms | errors | target met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        target = HALF_HELLO_TARGET if row["page"].startswith(HALF_HELLO) else TARGET_RATIO
        yardstick = row["page"].startswith("hello")
        met = row["ratio"] >= target and row["p95_us"] / 1000 < TARGET_P95_MS
        lines.append(
            f"| {row['page']} | {row['rps']:.0f} | {row['hello_rps']:.0f} | {row['ratio']:.2f} | "
            f"{row['p50_us'] / 1000:.1f} | {row['p95_us'] / 1000:.1f} | "
            f"{row['p99_us'] / 1000:.1f} | {row['errors'] + row['non_2xx']} | "
            f"{'—' if yardstick else ('yes' if met else _miss(row, target))} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.only:
        return  # a partial run is for looking, not for the results folder
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    name = f"load-{stamp:%Y%m%d-%H%M}-{'pg' if database_url.startswith('postgresql') else 'sqlite'}"
    (results / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    (results / f"{name}.json").write_text(
        json.dumps({"header": header, "rows": rows}, indent=2),
        encoding="utf-8",
    )
    print(f"written to bench/results/{name}.md and .json")


if __name__ == "__main__":
    main()
