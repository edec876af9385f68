"""Idempotent demo data. Each area adds a seeder to `SEEDERS`; running twice changes nothing."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.auth import services as auth_services
from app.auth.models import User
from app.core import clock
from app.demo.agreements import seed_agreement_templates
from app.demo.certificates import seed_certificates
from app.demo.immersion import seed_immersion
from app.demo.people import (  # noqa: F401 (re-exported: the CLI and tests name the demo's people)
    DEMO_ACCOUNTS,
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    DEMO_PEOPLE,
    LEAD,
    TRAINEE,
    TRAINER_1,
    TRAINER_2,
    DemoAccount,
    DemoPerson,
    demo_email,
    join_team,
    person,
)
from app.extensions import db
from app.organisations import journey
from app.organisations import services as org_services
from app.organisations.models import Organisation
from app.organisations.services import OrganisationDetails


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


@dataclass(frozen=True)
class DaysAgo:
    """A date given relative to the day the demo is seeded (not the day it was imported)."""

    days: int

    def date(self) -> date:
        return clock.today() - timedelta(days=self.days)


def _ago(days: int) -> DaysAgo:
    return DaysAgo(days)


def _dated(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.date() if isinstance(v, DaysAgo) else v for k, v in data.items()}


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
            name="Mourne Coast Hospice",
            org_type="hospice",
            nation="northern_ireland",
            address="Shore Road\nNewcastle\nCounty Down BT33 9ZS",
            website="https://www.mournecoasthospice.example",
            phone="028 9649 6345",
        ),
        lead=demo_email("Dr Aoife Murphy"),
        team=(
            (demo_email("Conor Doyle"), ("coordinator",)),
            (demo_email("Bronagh Quinn"), ("facilitator",)),
            (demo_email("Dr Padraig Byrne"), ("specialist",)),
        ),
        application=dict(
            network_name="South Down Palliative Care in the Community ECHO",
            theme="Recognising dying and care in the last days of life",
            target_audience="District nurses, GP practices, care homes and domiciliary care "
            "teams across Newry, Mourne and Down.",
            expected_spokes=22,
            motivation="Most people in our area die at home or in a care home, cared for by "
            "teams who see few deaths a year. Fortnightly case discussions with our specialist "
            "team would give them confidence and a network to call on.",
            sponsor_name="Siobhan McKenna",
            sponsor_role="Chief Executive",
            sponsor_email="siobhan.mckenna@mournecoasthospice.example",
            vc_licence="yes",
            delivery_notes="Zoom, fortnightly on Wednesday afternoons; recorded teaching "
            "segments only.",
            heard_about="A Northern Ireland hospice education forum.",
            intro_session_date=_ago(75),
        ),
        steps=(
            Step("submit"),
            Step(
                "accept",
                by=TRAINER_1,
                text="A clear need and a complete team. Welcome aboard; the partnership "
                "agreements are your first step.",
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


def _run_step(org: Organisation, step: Step, lead: User) -> None:
    by = person(step.by) if step.by else lead
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
    for someone in DEMO_PEOPLE:
        if auth_services.get_user_by_email(someone.email) is None:
            auth_services.create_user(
                email=someone.email,
                name=someone.name,
                job_title=someone.job_title,
                password=DEMO_PASSWORD,
                audit_action="user.created",
            )
            log(f"created {someone.email} (applicant)")
    existing = set(db.session.scalars(select(Organisation.name)))
    # Services build emailed links with url_for(_external=True): they need a request.
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        for demo in DEMO_ORGANISATIONS:
            if demo.details.name in existing:
                continue
            lead = person(demo.lead)
            org = org_services.create_organisation(lead, demo.details)
            for email, roles in demo.team:
                join_team(org, lead, person(email), roles)
            for email, roles in demo.invitations:
                org_services.invite_member(org, by=lead, email=email, roles=roles)
            org_services.save_application(org, by=lead, data=_dated(demo.application))
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
    trainee = person(f"trainee@{DEMO_DOMAIN}")
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        if org_services.membership_of(trainee, org.id) is None:
            lead = person(demo_email("Dr Morag MacLeod"))
            join_team(org, lead, trainee, ["specialist"])
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
        learner = person(email)
        lessons = module.lessons
        if how_far.startswith("lessons:"):
            lessons = lessons[: int(how_far.split(":")[1])]
        for lesson in lessons:
            training_services.mark_read(learner, module, lesson.slug)
        if how_far == "retried":
            wrong = {
                q.id: frozenset({next(i for i in range(len(q.choices)) if i not in q.answers)})
                for q in module.check.questions
            }
            training_services.submit_check(learner, module, wrong)
        if how_far in ("complete", "retried"):
            right = {q.id: q.answers for q in module.check.questions}
            training_services.submit_check(learner, module, right)
    db.session.flush()
    log(f"recorded training progress for {org.name}'s team")


# --- readiness: agreements and checklist evidence ---------------------------------------
#
# Organisations in training at different points of the checklist, with real (small) PDF and
# PNG evidence files made here and passed through the real upload, answer and review
# services, so files are type-checked, hashed and stored exactly like an upload.


@dataclass(frozen=True)
class DemoDocument:
    """A one-page PDF (rendered with WeasyPrint) or, with `qr`, a PNG QR code."""

    filename: str
    title: str
    paragraphs: tuple[str, ...] = ()
    signed_by: str = ""  # "Name, Role" printed under a signature line
    qr: str = ""  # PNG: the QR code of this address


@dataclass(frozen=True)
class AgreementStep:
    kind: str
    document: DemoDocument
    signatory_name: str
    signatory_role: str
    signed_days_ago: int
    decision: str = ""  # "", "accept" or "reject"
    by: str = TRAINER_1
    reason: str = ""


@dataclass(frozen=True)
class AnswerStep:
    item: str
    by: str  # the member answering (the hub lead or the member with the item's role)
    text: str = ""
    days: int | None = None  # date answers: days from today (negative: in the past)
    attested_by: tuple[str, str] | None = None  # (name, role)
    document: DemoDocument | None = None
    decision: str = ""  # "", "accept" or "changes"
    reviewer: str = TRAINER_1
    comment: str = ""


@dataclass(frozen=True)
class DemoReadiness:
    agreements: tuple[AgreementStep, ...]
    answers: tuple[AnswerStep, ...]


def _letter(filename: str, title: str, signed_by: str, *paragraphs: str) -> DemoDocument:
    return DemoDocument(filename, title, paragraphs, signed_by)


GLEN_AFFRIC_CEO = ("Alasdair Mackay", "Chief Executive")
MOURNE_CEO = ("Siobhan McKenna", "Chief Executive")

DEMO_READINESS: dict[str, DemoReadiness] = {
    # Both agreements verified (one after a rejected first upload); most items accepted,
    # one with changes requested, one waiting for review, the optional one not started.
    "Glen Affric Hospice": DemoReadiness(
        agreements=(
            AgreementStep(
                "ip_terms",
                _letter(
                    "IP Terms of Use Agreement - Glen Affric Hospice.pdf",
                    "IP Terms of Use Agreement",
                    "",
                    "Glen Affric Hospice agrees to the Project ECHO IP Terms of Use for the "
                    "Highland Remote and Rural Palliative Care ECHO.",
                    "Signature page to follow.",
                ),
                *GLEN_AFFRIC_CEO,
                signed_days_ago=40,
                decision="reject",
                by=TRAINER_1,
                reason="This copy has no signature on the final page. Please upload the "
                "fully signed agreement.",
            ),
            AgreementStep(
                "ip_terms",
                _letter(
                    "IP Terms of Use Agreement - signed.pdf",
                    "IP Terms of Use Agreement",
                    ", ".join(GLEN_AFFRIC_CEO),
                    "Glen Affric Hospice agrees to the Project ECHO IP Terms of Use for the "
                    "Highland Remote and Rural Palliative Care ECHO, including the use of the "
                    "ECHO name and the sharing of de-identified session data.",
                ),
                *GLEN_AFFRIC_CEO,
                signed_days_ago=35,
                decision="accept",
                by=TRAINER_1,
            ),
            AgreementStep(
                "collaboration",
                _letter(
                    "Statement of Collaboration - signed.pdf",
                    "Statement of Collaboration",
                    ", ".join(GLEN_AFFRIC_CEO),
                    "Glen Affric Hospice and the National Hospice ECHO Superhub will work "
                    "together to launch the Highland Remote and Rural Palliative Care ECHO.",
                    "The hospice commits hub team time for fortnightly sessions, and the "
                    "superhub commits training, Immersion and launch support.",
                ),
                *GLEN_AFFRIC_CEO,
                signed_days_ago=35,
                decision="accept",
                by=TRAINER_2,
            ),
        ),
        answers=(
            AnswerStep(
                "sponsor-letter",
                demo_email("Dr Morag MacLeod"),
                text="Signed by our chief executive after the board meeting.",
                document=_letter(
                    "Executive sponsor letter - Alasdair Mackay.pdf",
                    "Executive sponsor letter",
                    ", ".join(GLEN_AFFRIC_CEO),
                    "I confirm Glen Affric Hospice's commitment to running the Highland Remote "
                    "and Rural Palliative Care ECHO.",
                    "The board has agreed protected time for the hub team, the "
                    "videoconferencing licence, and funding for at least the first year of "
                    "fortnightly sessions.",
                ),
                decision="accept",
                comment="Clear commitment to time, licence and the first year.",
            ),
            AnswerStep(
                "network-design",
                demo_email("Dr Ewan Grant"),
                document=_letter(
                    "Network theme, audience and curriculum outline.pdf",
                    "Network theme, audience and curriculum outline",
                    "",
                    "Theme: palliative care in remote and rural communities. Audience: "
                    "district nurses, GP practices, community hospitals and care homes.",
                    "First cycle (12 sessions): recognising deterioration; breathlessness; "
                    "pain at home; anticipatory medicines; care after death; bereavement.",
                    "Shaped by a needs survey of 64 community staff and two workshops in "
                    "Portree and Stornoway.",
                ),
                decision="accept",
                reviewer=TRAINER_2,
            ),
            AnswerStep(
                "spoke-recruitment",
                demo_email("Iain Fraser"),
                text="We will invite every district nursing team and care home in the "
                "Highlands, Skye and the Western Isles through NHS Highland's community "
                "nursing leads and the Scottish Care forum.\n\nEach spoke is asked to attend "
                "fortnightly and present at least two cases a year. We expect 30 spokes at "
                "launch.",
                decision="accept",
            ),
            AnswerStep(
                "videoconferencing",
                demo_email("Hamish Ross"),
                attested_by=("Hamish Ross", "Digital Services Officer"),
                text="Teams through NHS Highland, with a Zoom licence for care homes.",
                decision="accept",
            ),
            AnswerStep(
                "case-form",
                demo_email("Iain Fraser"),
                text="Spokes scan this code to open the online case form.",
                document=DemoDocument(
                    "Case presentation form - QR code.png",
                    "Case presentation form",
                    qr="https://forms.glenaffrichospice.example/echo-case",
                ),
                decision="changes",
                reviewer=TRAINER_2,
                comment="The QR code opens the form, but we also need your written "
                "de-identification process: who checks each case, when, and what happens if "
                "identifiable details are shared. Please upload it as a PDF.",
            ),
            AnswerStep(
                "governance-policies",
                demo_email("Dr Morag MacLeod"),
                document=_letter(
                    "Information governance and safeguarding policies.pdf",
                    "Information governance and safeguarding",
                    "",
                    "Extracts from the hospice's data protection policy (section 4, case "
                    "information) and safeguarding adults policy (section 2, concerns raised "
                    "by partners).",
                    "Facilitators follow the safeguarding flowchart if a case raises a concern.",
                ),
                decision="accept",
            ),
            AnswerStep(
                "evaluation-plan",
                demo_email("Dr Eilidh Campbell"),
                document=_letter(
                    "Evaluation plan v1.pdf",
                    "Data collection and evaluation plan (draft)",
                    "",
                    "Attendance from Teams reports; a short survey after each session; a "
                    "confidence survey at 0, 6 and 12 months.",
                ),
                decision="changes",
                comment="Please add the lawful basis for the survey data and how long you keep it.",
            ),
            AnswerStep(
                "evaluation-plan",
                demo_email("Dr Eilidh Campbell"),
                text="Version 2 adds the lawful basis and retention.",
                document=_letter(
                    "Evaluation plan v2.pdf",
                    "Data collection and evaluation plan",
                    "",
                    "Attendance from Teams reports; a short survey after each session; a "
                    "confidence survey at 0, 6 and 12 months.",
                    "Lawful basis: legitimate interests (education). Survey responses are kept "
                    "for three years, then deleted. Results go to participants and the board "
                    "every six months.",
                ),
                decision="accept",
            ),
            AnswerStep(
                "dry-run",
                demo_email("Iain Fraser"),
                days=-6,
                text="Rehearsed with two community hospital teams; Teams audio dropped once and "
                "the backup dial-in worked.",
                decision="accept",
                reviewer=TRAINER_2,
            ),
            AnswerStep(
                "first-session",
                demo_email("Iain Fraser"),
                days=35,
                text="Invitations go out after Immersion.",
            ),
        ),
    ),
    # Just starting: one agreement verified, the other rejected with a reason; a few
    # checklist items submitted and waiting for review.
    "Mourne Coast Hospice": DemoReadiness(
        agreements=(
            AgreementStep(
                "ip_terms",
                _letter(
                    "Mourne Coast - IP Terms of Use Agreement.pdf",
                    "IP Terms of Use Agreement",
                    ", ".join(MOURNE_CEO),
                    "Mourne Coast Hospice agrees to the Project ECHO IP Terms of Use for the "
                    "South Down Palliative Care in the Community ECHO.",
                ),
                *MOURNE_CEO,
                signed_days_ago=12,
                decision="accept",
                by=TRAINER_2,
            ),
            AgreementStep(
                "collaboration",
                _letter(
                    "Mourne Coast - Statement of Collaboration.pdf",
                    "Statement of Collaboration",
                    "Dr Aoife Murphy, Medical Director",
                    "Mourne Coast Hospice and the National Hospice ECHO Superhub will work "
                    "together to launch the South Down Palliative Care in the Community ECHO.",
                ),
                "Dr Aoife Murphy",
                "Medical Director",
                signed_days_ago=10,
                decision="reject",
                by=TRAINER_2,
                reason="The Statement of Collaboration must be signed by someone who can commit "
                "the whole organisation, usually the chief executive. Please ask Siobhan "
                "McKenna to sign it and upload the new copy.",
            ),
        ),
        answers=(
            AnswerStep(
                "sponsor-letter",
                demo_email("Dr Aoife Murphy"),
                document=_letter(
                    "Sponsor letter - Siobhan McKenna.pdf",
                    "Executive sponsor letter",
                    ", ".join(MOURNE_CEO),
                    "Mourne Coast Hospice commits hub team time, a Zoom licence and the first "
                    "year of fortnightly sessions to the South Down ECHO network.",
                ),
            ),
            AnswerStep(
                "spoke-recruitment",
                demo_email("Conor Doyle"),
                text="We will start with the 14 care homes we already support and the district "
                "nursing teams in Newry and Downpatrick, reaching them through our community "
                "team and the Southern Trust's care home support team. We expect 22 spokes.",
            ),
            AnswerStep(
                "case-form",
                demo_email("Conor Doyle"),
                text="The online case form; our de-identification checklist is on page 2.",
                document=DemoDocument(
                    "Case form QR code.png",
                    "Case presentation form",
                    qr="https://www.mournecoasthospice.example/echo/case-form",
                ),
            ),
        ),
    ),
}


@functools.lru_cache(maxsize=32)
def _document_bytes(document: DemoDocument, org_name: str) -> bytes:
    """The file's bytes: a QR-code PNG, or a one-page A4 PDF letter rendered by WeasyPrint."""
    if document.qr:
        import segno

        buffer = io.BytesIO()
        segno.make(document.qr, error="m").save(buffer, kind="png", scale=4)
        return buffer.getvalue()
    from markupsafe import escape
    from weasyprint import HTML

    body = "".join(f"<p>{escape(p)}</p>" for p in document.paragraphs)
    signature = (
        f'<p class="signature">Signed: {escape(document.signed_by)}</p>'
        if document.signed_by
        else ""
    )
    html = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(document.title)}</title>"
        "<style>@page { size: A4; margin: 2.5cm }"
        " body { font-family: sans-serif; font-size: 11pt; line-height: 1.4 }"
        " .org { color: #005b8c; font-weight: bold } .signature { margin-top: 3em;"
        " border-top: 1px solid #333; padding-top: .3em; width: 60% }</style></head><body>"
        f'<p class="org">{escape(org_name)}</p><h1>{escape(document.title)}</h1>'
        f"{body}{signature}</body></html>"
    )
    return HTML(string=html).write_pdf()


def _upload(document: DemoDocument, org_name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(
        stream=io.BytesIO(_document_bytes(document, org_name)),
        filename=document.filename,
        content_type="image/png" if document.qr else "application/pdf",
    )


def seed_readiness(log: Callable[[str], None]) -> None:
    """Agreements and checklist answers with evidence; an organisation with agreements is
    skipped (its readiness data exists already)."""
    from app.readiness import services as readiness
    from app.readiness.models import Agreement

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        for name, plan in DEMO_READINESS.items():
            org = db.session.scalar(select(Organisation).where(Organisation.name == name))
            if org is None or org.stage not in readiness.EDITABLE_STAGES:
                continue
            if db.session.scalar(
                select(Agreement.id).where(Agreement.organisation_id == org.id).limit(1)
            ):
                continue
            lead = next(m.user for m in org.memberships if m.has_role("hub_lead"))
            for step in plan.agreements:
                current = readiness.current_agreements(org)[step.kind]
                agreement = readiness.upload_agreement(
                    org,
                    by=lead,
                    kind=step.kind,
                    upload=_upload(step.document, org.name),
                    signatory_name=step.signatory_name,
                    signatory_role=step.signatory_role,
                    signed_on=_ago(step.signed_days_ago).date(),
                    based_on=current.id if current else None,
                )
                if step.decision:
                    readiness.review_agreement(
                        org,
                        by=person(step.by),
                        agreement_id=agreement.id,
                        decision=step.decision,
                        reason=step.reason,
                    )
            for step in plan.answers:
                current = readiness.current_answers(org).get(step.item)
                attested = step.attested_by or ("", "")
                answer = readiness.submit_answer(
                    org,
                    by=person(step.by),
                    item_key=step.item,
                    based_on=current.id if current else None,
                    given=readiness.AnswerInput(
                        text=step.text,
                        date_value=(
                            clock.today() + timedelta(days=step.days)
                            if step.days is not None
                            else None
                        ),
                        attested_by_name=attested[0],
                        attested_by_role=attested[1],
                        confirmed=step.attested_by is not None,
                        upload=_upload(step.document, org.name) if step.document else None,
                    ),
                )
                if step.decision:
                    readiness.review_answer(
                        org,
                        by=person(step.reviewer),
                        item_key=step.item,
                        answer_id=answer.id,
                        decision=step.decision,
                        comment=step.comment,
                    )
            db.session.flush()
            status = [r.met for r in readiness.requirements(org)]
            log(
                f"recorded readiness evidence for {org.name} "
                f"({sum(status)} of {len(status)} requirements met)"
            )


# Later areas append their seeders here, in dependency order.
SEEDERS: list[Callable[[Callable[[str], None]], None]] = [
    seed_accounts,
    seed_organisations,
    seed_training,
    seed_agreement_templates,
    seed_readiness,
    seed_immersion,
    seed_certificates,
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
