"""The demo's people: the accounts it makes (one per role; the password is published in the
README), the staff and hub teams it names, and how to find them once seeded.

A module of its own, so each demo seeder (organisations, Immersion, certificates) can name
people without importing the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.auth import services as auth_services
from app.auth.models import User
from app.core.roles import ADMIN, APPLICANT, AUDITOR, LEAD_TRAINER, TRAINER

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
        frozenset({TRAINER, LEAD_TRAINER}),
        "second trainer for four-eyes approvals; lead trainer (revokes, renews)",
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


LEAD = f"lead@{DEMO_DOMAIN}"
TRAINEE = f"trainee@{DEMO_DOMAIN}"
TRAINER_1 = f"trainer@{DEMO_DOMAIN}"
TRAINER_2 = f"trainer2@{DEMO_DOMAIN}"


def demo_email(name: str) -> str:
    """'Dr Niamh O'Neill' -> 'niamh.oneill@demo.echo-hub.org.uk'."""
    words = [w for w in name.split() if w not in {"Dr", "Prof"}]
    local = ".".join(re.sub(r"[^a-z]", "", w.lower()) for w in words)
    return f"{local}@{DEMO_DOMAIN}"


@dataclass(frozen=True)
class DemoPerson:
    name: str
    job_title: str

    @property
    def email(self) -> str:
        return demo_email(self.name)


DEMO_PEOPLE = [
    # St Aidan's Hospice Care, Newcastle upon Tyne
    DemoPerson("Fiona Robson", "Head of Education, St Aidan's Hospice Care"),
    DemoPerson("Liam Charlton", "Education Administrator"),
    DemoPerson("Aisha Khan", "Practice Development Nurse"),
    DemoPerson("Dr Gareth Milburn", "Consultant in Palliative Medicine"),
    # Glen Affric Hospice, Inverness
    DemoPerson("Dr Morag MacLeod", "Medical Director, Glen Affric Hospice"),
    DemoPerson("Iain Fraser", "Education and Training Coordinator"),
    DemoPerson("Catriona Munro", "Clinical Nurse Educator"),
    DemoPerson("Dr Ewan Grant", "Consultant in Palliative Medicine"),
    DemoPerson("Hamish Ross", "Digital Services Officer"),
    DemoPerson("Dr Eilidh Campbell", "Research and Evaluation Fellow"),
    # Cwm Taf Palliative Care Network, Pontypridd
    DemoPerson("Rhian Davies", "Macmillan Lead Nurse, Cwm Taf Palliative Care Network"),
    DemoPerson("Owain Jenkins", "Network Coordinator"),
    DemoPerson("Sian Morgan", "Community Palliative Care Nurse Specialist"),
    # Lough Erne Care Homes, Enniskillen
    DemoPerson("Ciara Maguire", "Director of Care, Lough Erne Care Homes"),
    DemoPerson("Declan McCaffrey", "Training Coordinator"),
    DemoPerson("Roisin Kelly", "Registered Manager, Belleek Road care home"),
    DemoPerson("Dr Niamh O'Neill", "GP with a special interest in palliative care"),
    # Riverside Care Homes Group, Nottingham
    DemoPerson("Mark Whitworth", "Operations Director, Riverside Care Homes Group"),
    DemoPerson("Janet Booth", "Learning and Development Lead"),
    # Mourne Coast Hospice, Newcastle, County Down
    DemoPerson("Dr Aoife Murphy", "Medical Director, Mourne Coast Hospice"),
    DemoPerson("Conor Doyle", "Education Coordinator"),
    DemoPerson("Bronagh Quinn", "Lead Nurse for Community Services"),
    DemoPerson("Dr Padraig Byrne", "Consultant in Palliative Medicine"),
    # Harbourside Hospice, Plymouth
    DemoPerson("Helen Pascoe", "Director of Care, Harbourside Hospice"),
    DemoPerson("Ben Trelawny", "Education Coordinator"),
]


def person(email: str) -> User:
    """The seeded demo account with `email` (LookupError if the seed has not run)."""
    user = auth_services.get_user_by_email(email)
    if user is None:
        raise LookupError(f"demo account {email} is missing")
    return user


def join_team(org, lead: User, user: User, roles) -> None:
    """`lead` invites `user` and `user` accepts, as in the portal: nobody is put on a team
    without accepting, the demo's people included. Needs a request context (emailed links)."""
    from app.organisations import services as org_services

    invited = org_services.invite_member(org, by=lead, email=user.email, roles=list(roles))
    org_services.accept_invitation_for(invited.invitation.id, user=user)
