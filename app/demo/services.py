"""Idempotent demo data. Each area adds a seeder to `SEEDERS`; running twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.auth import services as auth_services
from app.auth.roles import ADMIN, APPLICANT, AUDITOR, TRAINER

# Published in the README on purpose: demo accounts exist only in demo databases.
DEMO_PASSWORD = "hospice-echo-demo-2026"  # noqa: S105
DEMO_DOMAIN = "demo.echo-hub.org.uk"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    job_title: str
    roles: frozenset[str]
    purpose: str


DEMO_ACCOUNTS = [
    DemoAccount(
        f"admin@{DEMO_DOMAIN}",
        "Alex Morgan",
        "Programme administrator",
        frozenset({ADMIN}),
        "manages users, roles and programme settings",
    ),
    DemoAccount(
        f"trainer@{DEMO_DOMAIN}",
        "Priya Shah",
        "ECHO trainer",
        frozenset({TRAINER}),
        "screens applications and assesses readiness",
    ),
    DemoAccount(
        f"trainer2@{DEMO_DOMAIN}",
        "Tom Evans",
        "Senior ECHO trainer",
        frozenset({TRAINER}),
        "second trainer for four-eyes approvals",
    ),
    DemoAccount(
        f"auditor@{DEMO_DOMAIN}",
        "Grace Okafor",
        "Governance auditor",
        frozenset({AUDITOR}),
        "read-only: certificates, evidence, audit log",
    ),
    DemoAccount(
        f"lead@{DEMO_DOMAIN}",
        "Sam Taylor",
        "Director of Education, Willow Hospice",
        frozenset({APPLICANT}),
        "hub lead of an applicant organisation",
    ),
    DemoAccount(
        f"trainee@{DEMO_DOMAIN}",
        "Jo Williams",
        "Clinical nurse specialist",
        frozenset({APPLICANT}),
        "team member completing training",
    ),
]


def seed_accounts(log: Callable[[str], None]) -> None:
    for account in DEMO_ACCOUNTS:
        if auth_services.get_user_by_email(account.email) is not None:
            continue
        auth_services.create_user(
            email=account.email,
            name=account.name,
            job_title=account.job_title,
            password=DEMO_PASSWORD,
            roles=set(account.roles),
            audit_action="user.created",
        )
        log(f"created {account.email} ({', '.join(sorted(account.roles))})")


# Later areas append their seeders here, in dependency order.
SEEDERS: list[Callable[[Callable[[str], None]], None]] = [seed_accounts]


def seed_demo(log: Callable[[str], None] = lambda _msg: None) -> None:
    """Create the demo data that is missing; flushes, the caller commits."""
    for seeder in SEEDERS:
        seeder(log)
