"""Benchmark: issuing a hub certificate vs rendering the same HTML alone with WeasyPrint.

    .venv/bin/python bench/certificate_issue.py [runs]

Side by side, in one process, on a throwaway SQLite database and instance folder:

- render only: WeasyPrint turns the certificate's finished HTML and CSS into a PDF;
- issue (render + sign + store): the template rendered with a new QR code, WeasyPrint,
  the PAdES signature, and the file stored with its SHA-256 — the goal in the certificates
  issue is at most 1.5 times "render only";
- issue with the database: all that plus what an approval adds around it: the next serial
  (locked counter row), the register row and the hash-chained audit event (rolled back
  each run, so the serial stays the same and the database does not grow). Reported too.
- the Open Badges credential, beside render and sign: building and signing the VC-JWT
  (ES256, with the query for a free status-list index) and attaching it to the PDF before
  signing — the issue's goal is under 5 ms added to an issue.

Prints the median of each and the ratios. Install `libharfbuzz-subset0` first
(`make install-test` does), or WeasyPrint falls back to slow font subsetting and every
number grows.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import time
from datetime import date

from setup_app import bench_app, hub_request


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    app, _workdir, lead_id, org_id = bench_app("bench-certificates-")

    from app.auth.models import User
    from app.certificates import credentials, render, services, signing
    from app.core.storage import discard, store_bytes
    from app.extensions import db
    from app.organisations.models import Organisation

    with app.app_context():
        lead = db.session.get(User, lead_id)
        org = db.session.get(Organisation, org_id)
        today = date.today()
        request = hub_request(org)
        template = render.template_for("hub")
        html = render.render_html(
            template, services._context(request, "HUB-2026-0001", "x" * 32, today)
        )
        with app.test_request_context():
            services.issue(request, by=lead)  # warm-up: fonts, key creation, caches
            db.session.rollback()
            render.html_to_pdf(template, html)

            render_times, pipeline_times, issue_times = [], [], []
            sign_times, credential_times, attach_times = [], [], []
            for n in range(runs):  # interleaved, so drift affects all alike
                started = time.perf_counter()
                render.html_to_pdf(template, html)
                render_times.append(time.perf_counter() - started)

                started = time.perf_counter()
                code = secrets.token_urlsafe(services.CODE_BYTES)
                context = services._context(request, f"HUB-2026-{n:04d}", code, today)
                pdf = render.render_pdf(template, context)
                signing_started = time.perf_counter()
                signed = signing.sign_pdf(pdf, reason="bench")
                sign_times.append(time.perf_counter() - signing_started)
                stored = store_bytes(
                    signed, area="bench", original_name="c.pdf", content_type="application/pdf"
                )
                pipeline_times.append(time.perf_counter() - started)
                discard(stored.key)

                started = time.perf_counter()
                prepared = credentials.prepare(
                    kind="hub",
                    serial=f"HUB-2026-{n:04d}",
                    code=code,
                    verify_url=services.verify_url(code),
                    organisation_id=org.id,
                    organisation_name=org.name,
                    person_name="",
                    email=None,
                    issued_at=services.utcnow(),
                    expires_on=request.expires_on,
                )
                credential_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                credentials.embed_in_pdf(pdf, prepared.jwt)
                attach_times.append(time.perf_counter() - started)

                started = time.perf_counter()
                cert = services.issue(request, by=lead)
                db.session.flush()
                issue_times.append(time.perf_counter() - started)
                db.session.rollback()
                discard(cert.storage_key)

    render_ms = statistics.median(render_times) * 1000
    pipeline_ms = statistics.median(pipeline_times) * 1000
    issue_ms = statistics.median(issue_times) * 1000
    print(f"{runs} runs each (median):")
    print(f"  render only (WeasyPrint):              {render_ms:7.1f} ms")
    print(
        f"  issue: render + sign + store           {pipeline_ms:7.1f} ms"
        f"   ratio {pipeline_ms / render_ms:.2f} (goal <= 1.5)"
    )
    print(
        f"  issue with serial, register and audit  {issue_ms:7.1f} ms"
        f"   ratio {issue_ms / render_ms:.2f}"
    )
    sign_ms = statistics.median(sign_times) * 1000
    credential_ms = statistics.median(credential_times) * 1000
    attach_ms = statistics.median(attach_times) * 1000
    added = credential_ms + attach_ms
    print(f"  sign (PAdES)                           {sign_ms:7.1f} ms")
    print(f"  credential: build + sign VC-JWT        {credential_ms:7.1f} ms")
    print(f"  credential: attach to the PDF          {attach_ms:7.1f} ms")
    print(f"  credential added to an issue           {added:7.1f} ms   (goal < 5)")


if __name__ == "__main__":
    main()
