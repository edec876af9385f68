"""Benchmark: computing one organisation's five readiness requirements.

    .venv/bin/python bench/readiness.py [runs]

On a throwaway SQLite database it seeds the demo programme through the services (accounts,
organisations, training, readiness evidence, Immersion; no certificates), so Glen Affric
Hospice is in training with verified agreements, checklist answers with evidence under
review, training progress and a completed Immersion cohort with attendance. Three more
members with partial training progress join its team (ten in all). Then it times
`app.readiness.services.requirements()` — what the readiness panel and the assessment page
compute live on every view — each run on a fresh session with the organisation loaded
first, as a request would. Prints the median and p95 and the SQL queries one computation
issues (counted with a `before_cursor_execute` listener).
"""

from __future__ import annotations

import statistics
import sys
import time

from setup_app import PASSWORD, bench_app

EXTRA_MEMBERS = (  # (name, hub roles, modules completed, lessons read in the next one)
    ("Morven Sinclair", ("facilitator",), 3, 2),
    ("Callum Mackay", ("specialist",), 1, 4),
    ("Shona Urquhart", ("it_support",), 0, 1),
)


def build_organisation() -> int:
    """Demo seeders up to Immersion, plus three members; returns Glen Affric's id."""
    from flask import current_app
    from sqlalchemy import select

    from app.auth import services as auth_services
    from app.core.mail import mail_kept_in_memory
    from app.demo import services as demo
    from app.demo.immersion import seed_immersion
    from app.extensions import db
    from app.organisations.models import Organisation
    from app.training import services as training

    with mail_kept_in_memory():
        for seeder in (
            demo.seed_accounts,
            demo.seed_organisations,
            demo.seed_training,
            demo.seed_readiness,
            seed_immersion,
        ):
            seeder(lambda _msg: None)
        org = db.session.scalar(
            select(Organisation).where(Organisation.name == "Glen Affric Hospice")
        )
        lead = demo._person(demo.demo_email("Dr Morag MacLeod"))
        modules = training.curriculum().modules
        with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
            for name, roles, complete, partial in EXTRA_MEMBERS:
                user = auth_services.create_user(
                    email=demo.demo_email(name), name=name, password=PASSWORD
                )
                demo.join_team(org, lead, user, roles)
                for n, module in enumerate(modules[: complete + 1]):
                    lessons = module.lessons if n < complete else module.lessons[:partial]
                    for lesson in lessons:
                        training.mark_read(user, module, lesson.slug)
                    if n < complete:
                        right = {q.id: q.answers for q in module.check.questions}
                        training.submit_check(user, module, right)
    db.session.commit()
    return org.id


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    app, _workdir, _lead_id, _org_id = bench_app("bench-readiness-")

    from sqlalchemy import event

    from app.extensions import db
    from app.organisations import services as org_services
    from app.organisations.models import Organisation
    from app.readiness import services as readiness

    with app.app_context():
        started = time.perf_counter()
        org_id = build_organisation()
        built = time.perf_counter() - started

        queries = []

        def count(_conn, _cursor, statement, *_args):
            queries.append(statement)

        def fresh() -> Organisation:  # a new request's session: nothing cached
            db.session.expunge_all()
            return db.session.get(Organisation, org_id)

        org = fresh()
        team = len(org_services.team_members(org))
        result = readiness.requirements(org)  # warm-up: content, statement caches

        org = fresh()
        event.listen(db.engine, "before_cursor_execute", count)
        readiness.requirements(org)
        event.remove(db.engine, "before_cursor_execute", count)

        times = []
        for _ in range(runs):
            org = fresh()
            started = time.perf_counter()
            readiness.requirements(org)
            times.append(time.perf_counter() - started)

    times.sort()
    median_ms = statistics.median(times) * 1000
    p95_ms = times[min(len(times) - 1, round(0.95 * len(times)) - 1)] * 1000
    met = sum(r.met for r in result)
    print(f"Glen Affric Hospice: {team} members, {met} of {len(result)} requirements met")
    print(f"  (seeded in {built:.1f} s)")
    for r in result:
        print(f"    {'met    ' if r.met else 'not met'}  {r.title}: {r.summary}")
    print(f"requirements(), {runs} runs on a fresh session each:")
    print(f"  median {median_ms:6.2f} ms   p95 {p95_ms:6.2f} ms   {len(queries)} SQL queries")


if __name__ == "__main__":
    main()
