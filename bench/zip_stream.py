"""Benchmark: the streamed ZIP of N certificates and the server's memory growth.

    .venv/bin/python bench/zip_stream.py [certificates]

On a throwaway SQLite database and storage folder it issues one real hub certificate,
then registers N-1 more whose stored files are real signed PDFs of the same size (copies
of the first, each under its own key and serial: what is measured is streaming, not
rendering). It then downloads `/audit/certificates.zip` as an auditor through the WSGI
app, reading the response chunk by chunk as a client would, and reports:

- the ZIP's size and how long it took;
- the growth of the process's peak RSS while streaming, and Python's own peak
  allocation during the request (tracemalloc), against the goal of under 50 MB;
- that the manifest lists every certificate (the archive is checked afterwards).
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
import tracemalloc
import zipfile

from setup_app import PASSWORD, bench_app, hub_request


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    if count < 1:
        sys.exit("certificates: give a whole number of at least 1")
    app, workdir, lead_id, org_id = bench_app("bench-zip-", WTF_CSRF_ENABLED=False)

    from app.auth import services as auth_services
    from app.auth.models import User
    from app.certificates import services
    from app.certificates.models import Certificate
    from app.core.storage import path_for, storage_root
    from app.extensions import db
    from app.organisations.models import Organisation

    with app.app_context():
        auth_services.create_user(
            email="auditor@example.org", name="Bench Auditor", password=PASSWORD, roles={"auditor"}
        )
        lead = db.session.get(User, lead_id)
        with app.test_request_context():
            first = services.issue(hub_request(db.session.get(Organisation, org_id)), by=lead)
            db.session.commit()
        source = path_for(first.storage_key)
        root = storage_root()
        rows = []
        for n in range(2, count + 1):
            key = f"certificates/bench{n:06d}"
            shutil.copyfile(source, root / key)
            rows.append(
                {
                    c.name: getattr(first, c.name)
                    for c in Certificate.__table__.columns
                    if c.name != "id"
                }
                | {"serial": f"HUB-2026-{n:05d}", "code": f"bench-{n:026d}", "storage_key": key}
            )
        if rows:
            db.session.execute(Certificate.__table__.insert(), rows)
        db.session.commit()

    client = app.test_client()
    client.post("/account/login", data={"email": "auditor@example.org", "password": PASSWORD})
    rss_before = _rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/audit/certificates.zip", buffered=False)
    size = 0
    received = workdir / "received.zip"  # on disk, so the client holds no body in memory
    with received.open("wb") as out:
        for chunk in response.response:
            size += len(chunk)
            out.write(chunk)
    elapsed = time.perf_counter() - started
    _current, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    rss_growth = _rss_mb() - rss_before
    with zipfile.ZipFile(received) as archive:
        names = archive.namelist()
    assert len(names) == count + 1 and "manifest.csv" in names, "the archive is incomplete"
    print(f"{count} certificates, ZIP {size / 1024 / 1024:.1f} MB in {elapsed:.1f} s")
    print(f"  Python peak allocation during the request: {python_peak / 1024 / 1024:.1f} MB")
    print(f"  process peak RSS growth while streaming: {rss_growth:.1f} MB (goal < 50 MB)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
