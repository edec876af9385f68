"""Benchmark: mail delivery off the request, with a real SMTP server and a real Redis.

    .venv/bin/python bench/delivery.py [messages]

Three measurements, each a ratio within one run (absolute figures drift between machines):

1. Page latency: the median of `POST /account/forgot-password` (an email raised and queued
   on RQ) with SMTP answering after 200 ms per command, against SMTP answering at once. The
   request never talks to SMTP, so the goal is a ratio within 1.10.
2. Forgot-password for a registered and for an unknown address: medians and their ratio
   (the goal: the same within noise, so the answer does not tell who has an account).
3. One RQ worker (the `flask jobs worker` code, in burst mode) delivering `messages` queued
   messages (500 by default) to a local SMTP sink: messages per second (goal >= 100), and
   each delivered exactly once.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

from setup_app import ROOT, bench_app

sys.path.insert(0, str(ROOT))

from tests.smtp import SmtpSink  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/14"


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    count = int(numbers[0]) if numbers else 500
    sink = SmtpSink().start()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    app, _workdir, _lead_id, _org_id = bench_app(
        "bench-delivery-",
        JOBS_BACKEND="rq",
        JOBS_REDIS_URL=REDIS_URL,
        JOBS_QUEUE=queue,
        RATELIMIT_ENABLED=False,
        WTF_CSRF_ENABLED=False,
        **sink.config(),
    )
    from sqlalchemy import func, select

    from app.core import jobs, mail
    from app.core.outbox import MessageStatus, OutboxMessage
    from app.extensions import db

    client = app.test_client()

    def forgot(email):
        return lambda: client.post("/account/forgot-password", data={"email": email})

    for _ in range(20):  # warm up: templates compiled, connections open
        forgot("lead@example.org")()
    # Interleaved, so that drift (a growing outbox, the machine's load) falls on both sides.
    runs = 100
    instant_runs, slow_runs = [], []
    for _ in range(runs):
        sink.delay = 0.0
        instant_runs.append(median_ms(forgot("lead@example.org"), 1))
        sink.delay = 0.2
        slow_runs.append(median_ms(forgot("lead@example.org"), 1))
    sink.delay = 0.0
    instant, slow = statistics.median(instant_runs), statistics.median(slow_runs)
    print(
        f"forgot-password, SMTP instant: {instant:.2f} ms; SMTP 200 ms per command: "
        f"{slow:.2f} ms; ratio {slow / instant:.2f} (goal <= 1.10)"
    )
    unknown_runs, registered_runs = [], []
    for _ in range(runs):
        unknown_runs.append(median_ms(forgot("nobody-here@example.org"), 1))
        registered_runs.append(median_ms(forgot("lead@example.org"), 1))
    unknown, registered = statistics.median(unknown_runs), statistics.median(registered_runs)
    print(
        f"forgot-password, registered: {registered:.2f} ms; unknown: {unknown:.2f} ms; "
        f"ratio {registered / unknown:.2f} (goal: 1.0 within noise)"
    )

    sink.stop()
    # The worker's sink runs in a process of its own, as a mail server would.
    import json
    import subprocess

    from tests.smtp import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.smtp", str(port)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout.readline().strip() == "ready"
    app.config["MAIL_PORT"] = app.extensions["mailman"].port = port
    with app.app_context():
        jobs.rq_queue().empty()
        db.session.query(OutboxMessage).delete()
        db.session.commit()
        with app.test_request_context():
            for i in range(count):
                mail.send_email(
                    f"person{i}@example.org",
                    f"Bench {i}",
                    "password_reset",
                    user={"name": f"Person {i}"},
                    link=f"http://x/{i}",
                    hours=2,
                )
                if i % 50 == 49:
                    db.session.commit()  # one job per commit of 50, as the relay makes them
            db.session.commit()
        started = time.perf_counter()
        if "--profile" in sys.argv:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(jobs.work, burst=True)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        else:
            jobs.work(burst=True)
        elapsed = time.perf_counter() - started
        sent = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.status == MessageStatus.SENT)
        )
    out, _err = server.communicate("", timeout=30)
    counts = json.loads(out.strip().splitlines()[-1])
    print(
        f"one worker: {count} messages in {elapsed:.2f} s = {count / elapsed:.0f} messages/s "
        f"(goal >= 100); sent {sent}, received {counts['received']}, each once: "
        f"{counts['received'] == counts['distinct_recipients'] == count}"
    )


if __name__ == "__main__":
    main()
