"""A large synthetic programme for measuring the portal at the size of a national superhub.

`flask --app wsgi demo seed --scale large` (factor 1) adds 1,000 organisations across every
stage, 20,000 users on their teams, module progress and knowledge-check attempts, 50
Immersion cohorts with bookings and attendance, 400 certificates with real, signed PDFs
(each rendered for its own serial) and synthetic audit events that bring the log to at
least 200,000 events in one valid hash chain. `--scale N` multiplies every count (N may be
a fraction, e.g. 0.01 for a quick run). Rows go in with bulk inserts, in batches.

The synthetic people share one password hash (the demo password) and use `.example`
addresses; every run adds a new batch with its own prefix.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, insert, select, update
from werkzeug.security import generate_password_hash

from app.auth.models import User, UserRole
from app.core import audit, clock
from app.core.db import utcnow
from app.extensions import db
from app.organisations.models import HubApplication, Membership, Organisation, TeamRole

BASE = {
    "organisations": 1000,
    "users": 20000,
    "cohorts": 50,
    "certificates": 400,
    "audit_events": 200_000,
}
# Share of organisations per stage (sums to 1).
STAGE_MIX = (
    ("draft", 0.15),
    ("submitted", 0.08),
    ("in_training", 0.30),
    ("readiness_review", 0.07),
    ("approved", 0.22),
    ("launched", 0.13),
    ("rejected", 0.03),
    ("withdrawn", 0.02),
)
TRAINED_STAGES = {"in_training", "readiness_review", "approved", "launched"}
THEMES = (
    "Palliative care in care homes",
    "Bereavement support",
    "Dementia at the end of life",
    "Heart failure and palliative care",
    "Children's palliative care",
    "Symptom management at home",
    "Advance care planning",
    "Motor neurone disease",
)
NATIONS = ("england", "scotland", "wales", "northern_ireland")
BATCH = 5000


class ScaleError(ValueError):
    """A --scale value that is not a positive number."""


def parse_scale(value: str) -> float:
    text = (value or "").strip().lower()
    if text == "large":
        return 1.0
    try:
        factor = float(text)
    except ValueError:
        raise ScaleError(
            f"--scale must be 'large' or a positive number (a multiplier), not {value!r}"
        ) from None
    if not math.isfinite(factor) or factor <= 0:
        raise ScaleError(f"--scale must be greater than zero, not {value!r}")
    return factor


@dataclass(frozen=True)
class Counts:
    organisations: int
    users: int
    cohorts: int
    certificates: int
    audit_events: int

    @classmethod
    def for_factor(cls, factor: float) -> Counts:
        return cls(**{k: max(1, round(v * factor)) for k, v in BASE.items()})


def _batches(rows: Iterable[dict], size: int = BATCH):
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _bulk(model, rows: Iterable[dict]) -> int:
    count = 0
    for chunk in _batches(rows):
        db.session.execute(insert(model), chunk)
        count += len(chunk)
    return count


def seed_scale(factor: float, log: Callable[[str], None] = lambda _m: None) -> dict[str, int]:
    """Add one synthetic programme of `factor` × the base counts; flushes, caller commits."""
    counts = Counts.for_factor(factor)
    rng = random.Random(20261127)  # noqa: S311 - synthetic data, not security
    run = secrets.token_hex(3)
    now = utcnow()
    made: dict[str, int] = {}

    # People: one password hash for all (hashing 20,000 passwords would take minutes).
    password_hash = generate_password_hash(
        "hospice-echo-demo-2026", method=current_app.config["PASSWORD_HASH_METHOD"]
    )
    made["users"] = _bulk(
        User,
        (
            {
                "email": f"person{i}.{run}@scale.example",
                "name": f"Synthetic Person {run}-{i}",
                "job_title": "Team member",
                "password_hash": password_hash,
                "created_at": now - timedelta(days=rng.randint(1, 900)),
            }
            for i in range(counts.users)
        ),
    )
    user_ids = list(
        db.session.scalars(
            select(User.id).where(User.email.like(f"%.{run}@scale.example")).order_by(User.id)
        )
    )
    _bulk(UserRole, ({"user_id": uid, "role": "applicant"} for uid in user_ids))
    log(f"added {len(user_ids)} synthetic people")

    # Organisations across every stage, each with a filled application.
    stages = []
    for stage, share in STAGE_MIX:
        stages += [stage] * round(share * counts.organisations)
    stages = (stages + ["in_training"] * counts.organisations)[: counts.organisations]
    rng.shuffle(stages)
    made["organisations"] = _bulk(
        Organisation,
        (
            {
                "name": f"Synthetic Hospice {run}-{i:05d}",
                "org_type": "hospice",
                "nation": NATIONS[i % len(NATIONS)],
                "stage": stage,
                "created_at": now - timedelta(days=400 + i % 300),
                "stage_changed_at": now - timedelta(days=rng.randint(1, 300)),
                "last_activity_at": now - timedelta(days=rng.randint(0, 60)),
            }
            for i, stage in enumerate(stages)
        ),
    )
    orgs = db.session.execute(
        select(Organisation.id, Organisation.stage)
        .where(Organisation.name.like(f"Synthetic Hospice {run}-%"))
        .order_by(Organisation.id)
    ).all()
    _bulk(
        HubApplication,
        (
            {
                "organisation_id": org_id,
                "network_name": f"Synthetic ECHO network {n}",
                "theme": THEMES[n % len(THEMES)],
                "target_audience": "Community nurses and care home teams.",
                "expected_spokes": 10 + n % 40,
                "motivation": "Bring specialist support to teams far from it.",
                "sponsor_name": "Executive Sponsor",
                "sponsor_role": "Chief Executive",
                "sponsor_email": f"sponsor{n}.{run}@scale.example",
                "vc_licence": "yes",
                "delivery_notes": "Zoom, monthly.",
                "heard_about": "The superhub.",
                "submitted_at": None if stage == "draft" else now - timedelta(days=300),
                "submission_count": 0 if stage == "draft" else 1,
            }
            for n, (org_id, stage) in enumerate(orgs)
        ),
    )

    # Teams: the people shared out across organisations; the first four hold the required roles.
    per_org = max(1, len(user_ids) // max(1, len(orgs)))
    membership_rows, team = [], {}
    for n, (org_id, _stage) in enumerate(orgs):
        members = user_ids[n * per_org : (n + 1) * per_org]
        team[org_id] = members
        membership_rows += [{"organisation_id": org_id, "user_id": uid} for uid in members]
    made["memberships"] = _bulk(Membership, membership_rows)
    memberships = db.session.execute(
        select(Membership.id, Membership.organisation_id, Membership.user_id)
        .where(Membership.organisation_id.in_([o for o, _ in orgs]))
        .order_by(Membership.id)
    ).all()
    required = ("hub_lead", "coordinator", "facilitator", "specialist")
    position: dict[int, int] = {}
    role_rows = []
    for membership_id, org_id, _uid in memberships:
        index = position.get(org_id, 0)
        position[org_id] = index + 1
        role = (
            required[index]
            if index < len(required)
            else rng.choice(("specialist", "facilitator", "it_support", "evaluation"))
        )
        role_rows.append({"membership_id": membership_id, "role": role})
    _bulk(TeamRole, role_rows)
    log(f"added {len(orgs)} organisations with {len(memberships)} team members")

    made.update(_training(rng, orgs, team, now, log))
    made.update(_immersion(rng, counts, orgs, team, now, log))
    made["certificates"] = _certificates(counts, orgs, log)
    made["listings"] = _listings(orgs, now)
    made["audit_events"] = _audit(counts, user_ids, orgs, now, log)
    db.session.flush()
    return made


def _training(rng, orgs, team, now, log) -> dict[str, int]:
    from app.training.models import CheckAttempt, LessonRead, ModuleCompletion
    from app.training.services import curriculum

    modules = curriculum().modules
    reads, attempts, completions = [], [], []
    for org_id, stage in orgs:
        if stage not in TRAINED_STAGES:
            continue
        complete_all = stage != "in_training"
        for uid in team[org_id]:
            for module in modules:
                if not complete_all and rng.random() < 0.4:
                    continue
                when = now - timedelta(days=rng.randint(30, 400))
                reads += [
                    {
                        "user_id": uid,
                        "module_slug": module.slug,
                        "module_version": module.version,
                        "lesson_slug": lesson.slug,
                        "read_at": when,
                    }
                    for lesson in module.lessons
                ]
                if not complete_all and rng.random() < 0.15:
                    attempts.append(
                        {
                            "user_id": uid,
                            "module_slug": module.slug,
                            "module_version": module.version,
                            "score": 50,
                            "passed": False,
                            "answers": {},
                            "submitted_at": when,
                        }
                    )
                attempts.append(
                    {
                        "user_id": uid,
                        "module_slug": module.slug,
                        "module_version": module.version,
                        "score": 100,
                        "passed": True,
                        "answers": {},
                        "submitted_at": when + timedelta(hours=1),
                    }
                )
                completions.append(
                    {
                        "user_id": uid,
                        "module_slug": module.slug,
                        "module_version": module.version,
                        "score": 100,
                        "completed_at": when + timedelta(hours=1),
                    }
                )
    made = {
        "lesson_reads": _bulk(LessonRead, reads),
        "check_attempts": _bulk(CheckAttempt, attempts),
        "module_completions": _bulk(ModuleCompletion, completions),
    }
    log(f"added {made['module_completions']} module completions")
    return made


def _immersion(rng, counts, orgs, team, now, log) -> dict[str, int]:
    from app.immersion.models import (
        AttendanceRecord,
        Booking,
        BookingAttendee,
        ImmersionCohort,
        ImmersionSession,
    )

    run_start = now - timedelta(days=20 * counts.cohorts)
    cohort_rows = [
        {
            "title": f"Synthetic Immersion cohort {n + 1}",
            "description": "Partner launch training.",
            "capacity": 40,
            "booking_deadline": run_start + timedelta(days=20 * n),
            "status": "completed" if n < counts.cohorts - 2 else "open",
            "created_at": run_start + timedelta(days=20 * n - 30),
        }
        for n in range(counts.cohorts)
    ]
    _bulk(ImmersionCohort, cohort_rows)
    cohorts = list(
        db.session.scalars(
            select(ImmersionCohort.id)
            .where(ImmersionCohort.title.like("Synthetic Immersion cohort %"))
            .order_by(ImmersionCohort.id.desc())
            .limit(counts.cohorts)
        )
    )[::-1]
    session_rows = []
    for n, cohort_id in enumerate(cohorts):
        first = run_start + timedelta(days=20 * n + 7)
        session_rows += [
            {
                "cohort_id": cohort_id,
                "title": f"Session {k + 1}",
                "starts_at": first + timedelta(days=2 * k),
                "duration_minutes": 90,
            }
            for k in range(8)
        ]
    _bulk(ImmersionSession, session_rows)
    sessions: dict[int, list] = {}
    for session_id, cohort_id, starts_at in db.session.execute(
        select(ImmersionSession.id, ImmersionSession.cohort_id, ImmersionSession.starts_at).where(
            ImmersionSession.cohort_id.in_(cohorts)
        )
    ):
        sessions.setdefault(cohort_id, []).append((session_id, starts_at))
    booked = [(o, s) for o, s in orgs if s in TRAINED_STAGES]
    booking_rows = [
        {
            "cohort_id": cohorts[n % len(cohorts)],
            "organisation_id": org_id,
            "status": "confirmed",
            "queued_at": now - timedelta(days=200),
            "confirmed_at": now - timedelta(days=200),
        }
        for n, (org_id, _stage) in enumerate(booked)
    ]
    _bulk(Booking, booking_rows)
    bookings = db.session.execute(
        select(Booking.id, Booking.cohort_id, Booking.organisation_id).where(
            Booking.organisation_id.in_([o for o, _ in booked])
        )
    ).all()
    attendees, records = [], []
    for booking_id, cohort_id, org_id in bookings:
        for uid in team[org_id][:4]:
            attendees.append({"booking_id": booking_id, "user_id": uid})
            for session_id, starts_at in sessions.get(cohort_id, []):
                if starts_at > now:
                    continue
                present = rng.random() < 0.9
                records.append(
                    {
                        "session_id": session_id,
                        "user_id": uid,
                        "status": "present" if present else "absent",
                        "minutes": 90 if present else 0,
                        "recorded_at": starts_at + timedelta(hours=2),
                    }
                )
    made = {
        "cohorts": len(cohorts),
        "bookings": len(bookings),
        "booking_attendees": _bulk(BookingAttendee, attendees),
        "attendance_records": _bulk(AttendanceRecord, records),
    }
    log(f"added {len(cohorts)} cohorts with {made['attendance_records']} attendance records")
    return made


def _listings(orgs, now) -> int:
    """A published directory listing for most approved and launched hubs (a hub is listed
    only once its lead publishes one), so the directory is as full as a real programme's."""
    from app.public.models import HubListing

    return _bulk(
        HubListing,
        (
            {
                "organisation_id": org_id,
                "summary": "Case-based sessions for teams supporting people near the end of life.",
                "audience": "Community nurses and care home teams.",
                "session_rhythm": "Monthly, first Thursday, 12:30–13:30",
                "contact_email": f"echo{n}@scale.example",
                "join_url": "",
                "published": True,
                "published_at": now,
                "hidden_reason": "",
                "updated_at": now,
            }
            for n, (org_id, stage) in enumerate(orgs)
            if stage in ("approved", "launched") and n % 5 != 4
        ),
    )


def _certificates(counts, orgs, log) -> int:
    """Real certificates through the issuing service: each PDF rendered for its serial."""
    from app.certificates import services as certificates
    from app.certificates.models import Certificate

    hubs = [o for o, s in orgs if s in ("approved", "launched")]
    trainees = [o for o, s in orgs if s in TRAINED_STAGES]
    issued = 0
    today = clock.today()
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        for n in range(counts.certificates):
            if n % 3 != 2 and hubs:
                org = db.session.get(Organisation, hubs[n % len(hubs)])
                request = certificates.hub_request(
                    org,
                    approvers=["Synthetic Assessor", "Synthetic Approver"],
                    single_person=False,
                    approved_on=today,
                    expires_on=certificates.add_years(today, 3),
                    reason="approval",
                )
            else:
                org = db.session.get(Organisation, trainees[n % len(trainees)])
                member = db.session.scalar(
                    select(Membership).where(Membership.organisation_id == org.id).limit(1)
                )
                request = certificates.IssueRequest(
                    kind="trainee",
                    organisation=org,
                    approved_on=today,
                    expires_on=certificates.add_years(today, 3),
                    reason="completion",
                    organisation_name=org.name,
                    user=member.user,
                    person_name=member.user.name,
                    details={"roles": ["Coordinator"], "modules": [], "attendance_percent": 90},
                )
            certificates.issue(request, by=None)
            issued += 1
            if issued % 100 == 0:
                db.session.flush()
                log(f"issued {issued} certificates")
        db.session.flush()
    # A few revoked and expired ones, as status changes (never deletions).
    recent = list(
        db.session.scalars(
            select(Certificate.id).order_by(Certificate.id.desc()).limit(counts.certificates)
        )
    )
    revoked = recent[::10]
    expired = recent[5::10]
    if revoked:
        db.session.execute(
            update(Certificate)
            .where(Certificate.id.in_(revoked))
            .values(revoked_at=utcnow(), revocation_reason="Synthetic: the network closed.")
        )
    if expired:
        db.session.execute(
            update(Certificate)
            .where(Certificate.id.in_(expired))
            .values(expires_on=today - timedelta(days=30))
        )
    log(f"issued {issued} certificates ({len(revoked)} revoked, {len(expired)} expired)")
    return issued


ACTIONS = (
    ("auth.login", "user"),
    ("application.saved", "organisation"),
    ("team.invited", "organisation"),
    ("checklist.submitted", "organisation"),
    ("agreement.uploaded", "organisation"),
)


def _audit(counts, user_ids, orgs, now, log) -> int:
    """Synthetic events appended to the chain until it holds `audit_events`, hashes and all."""
    total = db.session.scalar(select(func.count(audit.AuditEvent.id))) or 0
    wanted = max(0, counts.audit_events - total)
    if not wanted:
        return 0
    return append_audit_events(wanted, user_ids, [o for o, _ in orgs], now, log)


def append_audit_events(wanted, user_ids, org_ids, now, log=lambda _m: None) -> int:
    """Append `wanted` synthetic events to the hash chain (bulk inserted, correctly linked)."""
    # Take the chain lock, as every writer does.
    db.session.execute(
        update(audit.AuditChainHead)
        .where(audit.AuditChainHead.id == 1)
        .values(seq=audit.AuditChainHead.seq)
    )
    head = db.session.get(audit.AuditChainHead, 1)
    if head is None:
        head = audit.AuditChainHead(id=1, seq=0, last_hash=audit.GENESIS_HASH)
        db.session.add(head)
        db.session.flush()
    seq, last = head.seq, head.last_hash
    start = now - timedelta(seconds=wanted)
    emails = {
        row.id: row.email
        for row in db.session.execute(
            select(User.id, User.email).where(User.id.in_(user_ids[:2000]))
        )
    }
    actor_ids = list(emails)

    def rows():
        nonlocal seq, last
        for n in range(wanted):
            seq += 1
            action, subject_type = ACTIONS[n % len(ACTIONS)]
            actor = actor_ids[n % len(actor_ids)]
            org_id = org_ids[n % len(org_ids)]
            event = {
                "seq": seq,
                "occurred_at": start + timedelta(seconds=n),
                "actor_id": actor,
                "actor_label": emails[actor],
                "action": action,
                "subject_type": subject_type,
                "subject_id": str(actor if subject_type == "user" else org_id),
                "organisation_id": None if subject_type == "user" else org_id,
                "details": {"synthetic": True},
                "prev_hash": last,
            }
            event["hash"] = audit.event_hash(**{k: event[k] for k in HASHED})
            last = event["hash"]
            yield event

    inserted = _bulk(audit.AuditEvent, rows())
    db.session.execute(
        update(audit.AuditChainHead)
        .where(audit.AuditChainHead.id == 1)
        .values(seq=seq, last_hash=last)
    )
    log(f"appended {inserted} synthetic audit events (chain now {seq} events)")
    return inserted


HASHED = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "subject_type",
    "subject_id",
    "organisation_id",
    "details",
    "prev_hash",
)
