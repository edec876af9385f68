"""Idempotent demo data. Each area adds a seeder to `SEEDERS`; running twice changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.auth import services as auth_services
from app.auth.models import User
from app.auth.roles import ADMIN, APPLICANT, AUDITOR, TRAINER
from app.core.db import utcnow
from app.extensions import db
from app.organisations import journey
from app.organisations import services as org_services
from app.organisations.models import Organisation
from app.organisations.services import OrganisationDetails

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


# --- organisations ---------------------------------------------------------------------
#
# Fictional UK organisations, one or more in every stage implemented so far, built through
# the real services (so stage changes, history, audit events and emails are all genuine).
# Phone numbers are from Ofcom's ranges reserved for drama; websites use the reserved
# `.example` domain.

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
    # Harbourside Hospice, Plymouth
    DemoPerson("Helen Pascoe", "Director of Care, Harbourside Hospice"),
    DemoPerson("Ben Trelawny", "Education Coordinator"),
]


@dataclass(frozen=True)
class Step:
    """One move after the application is filled in, by the hub lead unless `by` is given."""

    action: str  # submit, revise, request_changes, accept, decline, withdraw
    by: str = ""
    text: str = ""
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DemoOrganisation:
    details: OrganisationDetails
    lead: str
    team: tuple[tuple[str, tuple[str, ...]], ...]  # (email, hub roles): existing accounts
    application: Mapping[str, Any]
    steps: tuple[Step, ...] = ()
    invitations: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (email, roles): no account


def _ago(days: int) -> date:
    return utcnow().date() - timedelta(days=days)


DEMO_ORGANISATIONS = [
    DemoOrganisation(
        details=OrganisationDetails(
            name="Willow Hospice",
            org_type="hospice",
            nation="england",
            address="Willow House\n2 Orchard Rise\nSheffield S11 9ZW",
            website="https://www.willowhospice.example",
            phone="0114 496 0123",
        ),
        lead=LEAD,
        team=((TRAINEE, ("coordinator",)),),
        invitations=((f"dev.sharma@{DEMO_DOMAIN}", ("facilitator", "specialist")),),
        application=dict(
            network_name="South Yorkshire Bereavement Support ECHO",
            theme="Bereavement support",
            target_audience="Community nurses, care home staff and GP practice teams across "
            "Sheffield, Rotherham and Barnsley who support bereaved families.",
            expected_spokes=20,
            motivation="Families tell us the support they get after a death depends on "
            "where they live.",
        ),
    ),
    DemoOrganisation(
        details=OrganisationDetails(
            name="St Aidan's Hospice Care",
            org_type="hospice",
            nation="england",
            address="St Aidan's House\n40 Jesmond Vale Terrace\nNewcastle upon Tyne NE6 9ZX",
            website="https://www.staidanshospice.example",
            phone="0191 498 0456",
        ),
        lead=demo_email("Fiona Robson"),
        team=(
            (demo_email("Liam Charlton"), ("coordinator",)),
            (demo_email("Aisha Khan"), ("facilitator",)),
            (demo_email("Dr Gareth Milburn"), ("specialist",)),
        ),
        application=dict(
            network_name="North East Hospice at Home ECHO",
            theme="Symptom management at home",
            target_audience="District nurses, hospice at home teams and out-of-hours GPs "
            "in Newcastle, North Tyneside and Northumberland.",
            expected_spokes=25,
            motivation="More people in the North East want to die at home, and the "
            "community teams caring for them ask us for quick, practical advice on "
            "symptoms. ECHO lets our specialists share that with every team at once.",
            sponsor_name="Margaret Dodds",
            sponsor_role="Chief Executive",
            sponsor_email="margaret.dodds@staidanshospice.example",
            vc_licence="yes",
            delivery_notes="Fortnightly one-hour sessions on Zoom, Thursday lunchtimes.",
            heard_about="An ECHO introduction webinar run by the superhub.",
            intro_session_date=_ago(60),
        ),
        steps=(Step("submit"),),
    ),
    DemoOrganisation(
        details=OrganisationDetails(
            name="Glen Affric Hospice",
            org_type="hospice",
            nation="scotland",
            address="Old Edinburgh Road\nInverness IV2 9ZY",
            website="https://www.glenaffrichospice.example",
            phone="01632 960 111",
        ),
        lead=demo_email("Dr Morag MacLeod"),
        team=(
            (demo_email("Iain Fraser"), ("coordinator",)),
            (demo_email("Catriona Munro"), ("facilitator",)),
            (demo_email("Dr Ewan Grant"), ("specialist",)),
            (demo_email("Hamish Ross"), ("it_support",)),
            (demo_email("Dr Eilidh Campbell"), ("evaluation",)),
        ),
        application=dict(
            network_name="Highland Remote and Rural Palliative Care ECHO",
            theme="Palliative care in remote and rural communities",
            target_audience="District nurses, GP practices, community hospitals and care "
            "homes across the Highlands, Skye and the Western Isles.",
            expected_spokes=30,
            motivation="Our community teams work hours from the nearest specialist. "
            "Case-based ECHO sessions bring the specialist team to them every fortnight, "
            "without the travel.",
            sponsor_name="Alasdair Mackay",
            sponsor_role="Chief Executive",
            sponsor_email="alasdair.mackay@glenaffrichospice.example",
            vc_licence="yes",
            delivery_notes="Microsoft Teams through NHS Highland; Zoom for care homes.",
            heard_about="A colleague's network in Ireland, then the superhub's Immersion open day.",
            intro_session_date=_ago(120),
        ),
        steps=(
            Step("submit"),
            Step(
                "accept",
                by=TRAINER_2,
                text="A strong team with a clear rural need. Welcome to the programme.",
            ),
        ),
    ),
    DemoOrganisation(
        details=OrganisationDetails(
            name="Cwm Taf Palliative Care Network",
            org_type="nhs_trust",
            nation="wales",
            address="Unit 3, Taff Vale Court\nPontypridd CF37 9ZQ",
            website="https://www.cwmtafpalliative.example",
            phone="029 2018 0789",
        ),
        lead=demo_email("Rhian Davies"),
        team=(
            (demo_email("Owain Jenkins"), ("coordinator",)),
            (demo_email("Sian Morgan"), ("facilitator",)),
        ),
        application=dict(
            network_name="Valleys Palliative Care ECHO",
            theme="Advance care planning",
            target_audience="Care homes and community nursing teams in Rhondda, Cynon, "
            "Taf and Merthyr Tydfil.",
            expected_spokes=18,
            motivation="We want every care home in the valleys to have an advance care "
            "plan conversation with each resident, in Welsh or English.",
            sponsor_name="Gwyneth Price",
            sponsor_role="Director of Nursing",
            sponsor_email="gwyneth.price@cwmtafpalliative.example",
            vc_licence="planned",
            heard_about="The Wales palliative care conference.",
        ),
        steps=(
            Step("submit"),
            Step(
                "request_changes",
                by=TRAINER_1,
                text="Please name the specialist who will give the short teaching talks "
                "(the team has none yet), and tell us when your videoconferencing licence "
                "will be in place.",
            ),
        ),
    ),
    DemoOrganisation(
        details=OrganisationDetails(
            name="Lough Erne Care Homes",
            org_type="care_home_provider",
            nation="northern_ireland",
            address="12 Belleek Road\nEnniskillen BT74 9ZR",
            website="https://www.lougherne-carehomes.example",
            phone="028 9649 6234",
        ),
        lead=demo_email("Ciara Maguire"),
        team=(
            (demo_email("Declan McCaffrey"), ("coordinator",)),
            (demo_email("Roisin Kelly"), ("facilitator",)),
            (demo_email("Dr Niamh O'Neill"), ("specialist",)),
        ),
        application=dict(
            network_name="Fermanagh Care Home Palliative ECHO",
            theme="Care home education: end-of-life care",
            target_audience="Nurses and senior carers in our six homes and in independent "
            "care homes across Fermanagh and South Tyrone.",
            expected_spokes=15,
            motivation="Our staff want confidence in recognising dying and in talking to "
            "families, and we want to share what we learn with neighbouring homes.",
            sponsor_name="Patrick Gallagher",
            sponsor_role="Managing Director",
            sponsor_email="patrick.gallagher@lougherne-carehomes.example",
            vc_licence="no",
            heard_about="Our local hospice's ECHO network, which two of our homes join.",
            intro_session_date=_ago(45),
        ),
        steps=(
            Step("submit"),
            Step(
                "request_changes",
                by=TRAINER_2,
                text="Without a videoconferencing licence sessions cannot start. Please "
                "tell us how you will run them.",
            ),
            Step(
                "revise",
                data={
                    "vc_licence": "planned",
                    "delivery_notes": "Zoom licence approved by the board; in place before "
                    "Immersion. Sessions on the first Tuesday of each month.",
                },
            ),
            Step("submit"),
        ),
    ),
    DemoOrganisation(
        details=OrganisationDetails(
            name="Riverside Care Homes Group",
            org_type="care_home_provider",
            nation="england",
            address="Riverside Court\n8 Trent Embankment Walk\nNottingham NG2 9ZT",
            website="https://www.riversidecarehomes.example",
            phone="0115 496 0345",
        ),
        lead=demo_email("Mark Whitworth"),
        team=((demo_email("Janet Booth"), ("coordinator",)),),
        application=dict(
            network_name="Riverside Dementia Care ECHO",
            theme="Dementia care",
            target_audience="Care assistants in the group's care homes.",
            expected_spokes=8,
            motivation="To standardise dementia training across our homes.",
            sponsor_name="Karen Holt",
            sponsor_role="Chief Operating Officer",
            sponsor_email="karen.holt@riversidecarehomes.example",
            vc_licence="yes",
            heard_about="A care sector newsletter.",
        ),
        steps=(
            Step("submit"),
            Step(
                "decline",
                by=TRAINER_1,
                text="Hubs in this programme need palliative care specialists to lead the "
                "teaching, and the proposal relies on external speakers only. We would "
                "welcome a joint application with your local hospice.",
            ),
        ),
    ),
    DemoOrganisation(
        details=OrganisationDetails(
            name="Harbourside Hospice",
            org_type="hospice",
            nation="england",
            address="The Barbican Quay\nPlymouth PL1 9ZU",
            website="https://www.harbourside-hospice.example",
            phone="01632 960 222",
        ),
        lead=demo_email("Helen Pascoe"),
        team=((demo_email("Ben Trelawny"), ("coordinator",)),),
        application=dict(
            network_name="South West Coastal Hospice ECHO",
            theme="Outcome measures",
            target_audience="Hospice and community teams in Plymouth and South East Cornwall.",
            expected_spokes=12,
            motivation="To help teams use outcome measures consistently.",
            sponsor_name="Jonathan Rowe",
            sponsor_role="Chief Executive",
            sponsor_email="jonathan.rowe@harbourside-hospice.example",
            vc_licence="yes",
            heard_about="A regional hospice education leads meeting.",
        ),
        steps=(
            Step("submit"),
            Step(
                "withdraw",
                text="Our board has paused new programmes while we merge with a "
                "neighbouring hospice. We hope to apply again next year.",
            ),
        ),
    ),
]


def _person(email: str) -> User:
    user = auth_services.get_user_by_email(email)
    if user is None:
        raise LookupError(f"demo account {email} is missing")
    return user


def _run_step(org: Organisation, step: Step, lead: User) -> None:
    by = _person(step.by) if step.by else lead
    if step.action == "submit":
        org_services.submit_application(org, by=by)
    elif step.action == "revise":
        org_services.save_application(org, by=by, data=dict(step.data or {}))
    elif step.action == "request_changes":
        org_services.request_changes(org, by=by, message=step.text)
    elif step.action == "accept":
        org_services.accept_application(org, by=by, note=step.text)
    elif step.action == "decline":
        org_services.decline_application(org, by=by, reason=step.text)
    elif step.action == "withdraw":
        org_services.withdraw(org, by=by, reason=step.text)
    else:
        raise ValueError(f"unknown demo step {step.action!r}")


def seed_organisations(log: Callable[[str], None]) -> None:
    """Demo organisations in every stage so far; one that already exists (by name) is skipped."""
    for person in DEMO_PEOPLE:
        if auth_services.get_user_by_email(person.email) is None:
            auth_services.create_user(
                email=person.email,
                name=person.name,
                job_title=person.job_title,
                password=DEMO_PASSWORD,
                audit_action="user.created",
            )
            log(f"created {person.email} (applicant)")
    existing = set(db.session.scalars(select(Organisation.name)))
    # Services build emailed links with url_for(_external=True): they need a request.
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        for demo in DEMO_ORGANISATIONS:
            if demo.details.name in existing:
                continue
            lead = _person(demo.lead)
            org = org_services.create_organisation(lead, demo.details)
            for email, roles in (*demo.team, *demo.invitations):
                org_services.invite_member(org, by=lead, email=email, roles=roles)
            org_services.save_application(org, by=lead, data=dict(demo.application))
            for step in demo.steps:
                _run_step(org, step, lead)
            db.session.flush()
            log(f"created organisation {org.name} ({journey.stage_label(org.stage)})")


# Training progress in Glen Affric Hospice (in training): (person, module slug, how far).
# "complete": every lesson read and the check passed; "retried": the check failed once,
# then passed; "lessons:N": the first N lessons read, no check yet.
DEMO_TRAINING: tuple[tuple[str, str, str], ...] = (
    (demo_email("Iain Fraser"), "echo-model", "complete"),
    (demo_email("Iain Fraser"), "hub-team", "complete"),
    (demo_email("Iain Fraser"), "session-format", "complete"),
    (demo_email("Iain Fraser"), "case-based-learning", "complete"),
    (demo_email("Iain Fraser"), "curriculum-co-design", "complete"),
    (demo_email("Iain Fraser"), "technology", "complete"),
    (demo_email("Iain Fraser"), "data-evaluation", "complete"),
    (demo_email("Iain Fraser"), "launching-network", "complete"),
    (demo_email("Dr Morag MacLeod"), "echo-model", "complete"),
    (demo_email("Dr Morag MacLeod"), "hub-team", "lessons:2"),
    (demo_email("Catriona Munro"), "echo-model", "complete"),
    (demo_email("Catriona Munro"), "hub-team", "complete"),
    (demo_email("Catriona Munro"), "facilitation", "lessons:3"),
    (demo_email("Dr Ewan Grant"), "echo-model", "retried"),
    (demo_email("Dr Ewan Grant"), "hub-team", "lessons:1"),
    (f"trainee@{DEMO_DOMAIN}", "echo-model", "complete"),
    (f"trainee@{DEMO_DOMAIN}", "hub-team", "lessons:3"),
)


def seed_training(log: Callable[[str], None]) -> None:
    """Glen Affric's team at various points; the demo trainee joins it as a specialist."""
    from app.organisations.models import Membership
    from app.training import services as training_services
    from app.training.models import LessonRead

    org = db.session.scalar(select(Organisation).where(Organisation.name == "Glen Affric Hospice"))
    if org is None or org.stage not in training_services.TRAINING_STAGES:
        return
    trainee = _person(f"trainee@{DEMO_DOMAIN}")
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        if org_services.membership_of(trainee, org.id) is None:
            lead = _person(demo_email("Dr Morag MacLeod"))
            org_services.invite_member(org, by=lead, email=trainee.email, roles=["specialist"])
    member_ids = db.session.scalars(
        select(Membership.user_id).where(Membership.organisation_id == org.id)
    ).all()
    if db.session.scalar(select(LessonRead.id).where(LessonRead.user_id.in_(member_ids))):
        return  # progress already seeded
    curriculum = training_services.curriculum()
    for email, slug, how_far in DEMO_TRAINING:
        module = curriculum.get(slug)
        if module is None:
            continue
        person = _person(email)
        lessons = module.lessons
        if how_far.startswith("lessons:"):
            lessons = lessons[: int(how_far.split(":")[1])]
        for lesson in lessons:
            training_services.mark_read(person, module, lesson.slug)
        if how_far == "retried":
            wrong = {
                q.id: frozenset({next(i for i in range(len(q.choices)) if i not in q.answers)})
                for q in module.check.questions
            }
            training_services.submit_check(person, module, wrong)
        if how_far in ("complete", "retried"):
            right = {q.id: q.answers for q in module.check.questions}
            training_services.submit_check(person, module, right)
    db.session.flush()
    log(f"recorded training progress for {org.name}'s team")


# Later areas append their seeders here, in dependency order.
SEEDERS: list[Callable[[Callable[[str], None]], None]] = [
    seed_accounts,
    seed_organisations,
    seed_training,
]


def seed_demo(log: Callable[[str], None] = lambda _msg: None) -> None:
    """Create the demo data that is missing; flushes, the caller commits.

    The services send their usual emails; here they are kept in memory, never sent,
    even on a portal configured with a real mail server.
    """
    from app.core.mail import mail_kept_in_memory

    with mail_kept_in_memory():
        for seeder in SEEDERS:
            seeder(log)
