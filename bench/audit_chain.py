"""Benchmark: verifying the audit log's hash chain of 200,000 events.

    .venv/bin/python bench/audit_chain.py [events]

On a throwaway SQLite database it appends the events with `app.demo.scale` (bulk inserts,
each linked to the previous hash), then times `verify_chain()` — what the auditor's
"Verify integrity" and `flask audit verify` run. The goal in the scale issue is under 10 s.
"""

from __future__ import annotations

import sys
import time

from setup_app import bench_app


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    app, _workdir, lead_id, org_id = bench_app("bench-audit-")

    from app.core.audit import verify_chain
    from app.core.db import utcnow
    from app.demo.scale import append_audit_events
    from app.extensions import db

    with app.app_context():
        started = time.perf_counter()
        append_audit_events(events, [lead_id], [org_id], utcnow())
        db.session.commit()
        built = time.perf_counter() - started
        started = time.perf_counter()
        result = verify_chain()
        elapsed = time.perf_counter() - started
    assert result.intact, result
    print(f"{result.checked} events (appended in {built:.1f} s)")
    print(f"  verify_chain: {elapsed:.2f} s (goal < 10 s)")


if __name__ == "__main__":
    main()
