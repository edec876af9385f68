"""Demo hubs with certificates in every state: launched, approved, revoked, superseded,
expired, and a trainee's certificate of completion.

Each hub is registered, applies, is accepted, goes to readiness review, and is assessed
by one demo trainer and approved by the other through the real services, so the
assessment, four-eyes decision, stage history, audit events and signed PDFs are genuine.
The later lifecycle (launch, revocation, re-issue) also runs through the services. The
expired certificate is an older approval whose dates are set in the past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.assessment import services as assessment_services
from app.auth import services as auth_services
from app.certificates import credentials
from app.certificates import services as certificates
from app.certificates.models import Certificate
from app.core import clock
from app.demo.people import join_team
from app.extensions import db
from app.organisations import journey
from app.organisations import services as org_services
from app.organisations.models import Organisation
from app.organisations.services import OrganisationDetails


@dataclass(frozen=True)
class DemoHub:
    details: OrganisationDetails
    people: tuple[tuple[str, str, tuple[str, ...]], ...]  # (name, job title, hub roles)
    network_name: str
    theme: str
    audience: str
    outcome: str  # launched, approved, revoked, reissued, expired
    lead_email: str = ""  # an existing demo account to lead the hub instead of people[0]


def _hubs() -> list[DemoHub]:
    from app.demo.people import LEAD

    return [
        DemoHub(
            OrganisationDetails(
                name="Severn Vale Hospice",
                org_type="hospice",
                nation="england",
                address="Riverside Lane\nWorcester WR1 9ZZ",
                website="https://www.severnvalehospice.example",
                phone="01905 496 0777",
            ),
            (
                ("Dr Rachel Hughes", "Medical Director, Severn Vale Hospice", ("hub_lead",)),
                ("Paul Bennett", "Education Coordinator", ("coordinator", "it_support")),
                ("Nadia Hussain", "Community Nurse Educator", ("facilitator",)),
                ("Dr Simon Cole", "Consultant in Palliative Medicine", ("specialist",)),
            ),
            "Severn Vale Care Home Palliative Care ECHO",
            "Palliative care in care homes",
            "Care home nurses and senior carers across Worcestershire and Herefordshire.",
            "launched",
        ),
        DemoHub(
            OrganisationDetails(
                name="Harbour Lights Hospice",
                org_type="hospice",
                nation="wales",
                address="Quay Street\nSwansea SA1 9ZX",
                website="https://www.harbourlightshospice.example",
                phone="01792 496 0333",
            ),
            (
                ("Gwen Price", "Education Coordinator, Harbour Lights Hospice", ("coordinator",)),
                ("Rhys Powell", "Clinical Nurse Specialist", ("facilitator",)),
                ("Dr Eleri Thomas", "Consultant in Palliative Medicine", ("specialist",)),
            ),
            "West Wales Heart Failure Palliative Care ECHO",
            "Heart failure and palliative care",
            "Heart failure nurses, GPs and community teams in west Wales.",
            "reissued",
            lead_email=LEAD,
        ),
        DemoHub(
            OrganisationDetails(
                name="Fenland Palliative Care Network",
                org_type="charity",
                nation="england",
                address="Market Place\nWisbech PE13 9ZY",
                website="https://www.fenlandpalliative.example",
                phone="01945 496 0444",
            ),
            (
                ("Karen Lowe", "Network Manager, Fenland Palliative Care Network", ("hub_lead",)),
                ("Dean Marsh", "Administrator", ("coordinator",)),
                ("Julie Fenn", "Palliative Care Nurse", ("facilitator",)),
                ("Dr Omar Farouk", "GP with a special interest", ("specialist",)),
            ),
            "Fenland Dementia End of Life ECHO",
            "Dementia at the end of life",
            "District nurses and care homes in the Fens.",
            "revoked",
        ),
        DemoHub(
            OrganisationDetails(
                name="Ashgrove Hospice",
                org_type="hospice",
                nation="scotland",
                address="Ashgrove Road\nAberdeen AB25 9ZW",
                website="https://www.ashgrovehospice.example",
                phone="01224 496 0555",
            ),
            (
                ("Moira Duncan", "Head of Learning, Ashgrove Hospice", ("hub_lead",)),
                ("Callum Reid", "Learning Coordinator", ("coordinator",)),
                ("Shona Gray", "Senior Staff Nurse", ("facilitator",)),
                ("Dr Neil Forbes", "Consultant in Palliative Medicine", ("specialist",)),
            ),
            "North East Scotland Symptom Management ECHO",
            "Symptom management at home",
            "Community nurses and GP practices in Aberdeenshire.",
            "expired",
        ),
        DemoHub(
            OrganisationDetails(
                name="Peak District Hospice",
                org_type="hospice",
                nation="england",
                address="Station Road\nBakewell DE45 9ZV",
                website="https://www.peakdistricthospice.example",
                phone="01629 496 0666",
            ),
            (
                ("Dr Hannah Wright", "Medical Director, Peak District Hospice", ("hub_lead",)),
                ("Luke Barker", "Education Coordinator", ("coordinator",)),
                ("Emma Slater", "Senior Nurse, Community Team", ("facilitator",)),
                ("Dr Arjun Mehta", "Consultant in Palliative Medicine", ("specialist",)),
            ),
            "Rural Derbyshire Palliative Care ECHO",
            "Palliative care in rural communities",
            "District nurses, GP practices and care homes in the Peak District.",
            "awaiting_decision",
        ),
        DemoHub(
            OrganisationDetails(
                name="Tayside Children's Hospice",
                org_type="hospice",
                nation="scotland",
                address="Riverside Drive\nDundee DD1 9ZU",
                website="https://www.taysidechildrenshospice.example",
                phone="01382 496 0888",
            ),
            (
                ("Fiona Baxter", "Head of Care, Tayside Children's Hospice", ("hub_lead",)),
                ("Kirsty Adams", "Family Support Coordinator", ("coordinator",)),
                ("Euan Paterson", "Children's Nurse Specialist", ("facilitator",)),
                ("Dr Lorna Bell", "Consultant Paediatrician", ("specialist",)),
            ),
            "Scottish Children's Palliative Care ECHO",
            "Palliative care for children and young people",
            "Children's community nurses and paediatric teams across Scotland.",
            "in_review",
        ),
    ]


def hub_people_emails() -> list[str]:
    """The demo accounts this seeder creates for the hubs' teams."""
    from app.demo.people import demo_email

    return [demo_email(name) for hub in _hubs() for name, _title, _roles in hub.people]


def hub_names() -> list[str]:
    return [hub.details.name for hub in _hubs()]


def hub_summaries() -> list[tuple[str, str, str]]:
    """(name prefix, what its certificate shows, hub lead's email) for the seed command."""
    from app.demo.people import demo_email

    shows = {
        "launched": "launched; valid certificate; a trainee certificate",
        "reissued": "approved; renamed, certificate re-issued",
        "revoked": "approved; certificate revoked",
        "expired": "approved three years ago; certificate expired",
        "awaiting_decision": "assessed by Priya Shah; awaiting a second trainer",
        "in_review": "in readiness review; not yet assessed",
    }
    return [
        (hub.details.name, shows[hub.outcome], hub.lead_email or demo_email(hub.people[0][0]))
        for hub in _hubs()
    ]


def person(name: str, job_title: str):
    from app.demo.people import DEMO_PASSWORD, demo_email

    email = demo_email(name)
    user = auth_services.get_user_by_email(email)
    if user is None:
        user = auth_services.create_user(
            email=email,
            name=name,
            job_title=job_title,
            password=DEMO_PASSWORD,
            audit_action="user.created",
        )
    return user


def _assess(org: Organisation, lead, author):
    """in_training → readiness review → assessed by `author`, recommending approval."""
    journey.move(org, "submit_for_review", by=lead)
    scores = {
        key: assessment_services.Score(key, 3 if index % 2 else 4, "")
        for index, (key, _title, _guidance) in enumerate(assessment_services.criteria())
    }
    assessment = assessment_services.write_assessment(
        org,
        by=author,
        scores=scores,
        overall_notes="A committed team with a clear first curriculum and an executive sponsor.",
        recommendation="approve",
    )
    db.session.flush()
    return assessment


def _approve(org: Organisation, lead, author, approver) -> Certificate:
    """Assessed by `author`, approved by `approver`: the hub certificate is issued."""
    assessment = _assess(org, lead, author)
    cert = assessment_services.decide(
        assessment, by=approver, decision="approve", notes="Agreed: ready to launch."
    )
    db.session.flush()
    return cert


def _backdate(cert: Certificate, org: Organisation, years_ago: float) -> None:
    """Make an approval look as if it happened `years_ago` (its expiry is then past)."""
    from datetime import UTC, datetime, time

    approved = clock.today() - timedelta(days=round(365.25 * years_ago))
    cert.approved_on = approved
    cert.expires_on = certificates.add_years(approved, 3)
    cert.issued_at = datetime.combine(approved, time(11, 0), tzinfo=UTC)
    org.stage_changed_at = cert.issued_at
    credentials.restamp(cert)


# What the approved demo hubs publish in the "Join a network" directory (by outcome).
DEMO_LISTINGS = {
    "launched": {
        "summary": "Monthly case discussions for care home teams caring for residents in "
        "their last months of life, with a short teaching slot from our specialists.",
        "session_rhythm": "Monthly, second Tuesday, 13:00–14:15",
        "contact_email": "echo@severnvalehospice.example",
    },
    "reissued": {
        "summary": "Heart failure nurses, GPs and community teams bring cases about "
        "advanced heart failure and planning ahead.",
        "session_rhythm": "Every other Thursday, 12:30–13:30",
        "contact_email": "echo@harbourlightshospice.example",
    },
}


def _publish(org: Organisation, lead, **listing) -> None:
    from app.public import services as public_services

    public_services.save_listing(
        org, by=lead, text=public_services.ListingText(**listing), publish=True
    )
    if org.name.startswith("Severn Vale"):
        public_services.send_interest(
            org.id,
            public_services.Interest(
                name="Dawn Pritchard",
                email="dawn.pritchard@example.org",
                role="Deputy manager",
                organisation="Malvern View Care Home",
                message="We have 40 residents, many near the end of life. Could two of our "
                "senior carers join from next month?",
            ),
        )


def _rotate_signing_key(log: Callable[[str], None]) -> None:
    """Once: a new signing key before the re-issue, so the how-to-verify page lists a retired
    key (which signed the older certificates, still verifying) and the current one."""
    from app.certificates import keys

    if len(keys.all_keys()) >= 2:
        return
    try:
        new = keys.rotate(note="Demo: the yearly signing-key rotation.")
    except keys.RotationRefused:
        return  # a configured key is rotated by configuration
    log(f"rotated the signing key: key {new.id} signs from now on")


def seed_certificates(log: Callable[[str], None]) -> None:
    """Four approved hubs, their certificates in every state, and one trainee certificate."""
    from app.demo.people import DEMO_DOMAIN, TRAINER_1, TRAINER_2
    from app.demo.people import person as account

    existing = list(db.session.scalars(select(Organisation.name)))
    author, approver = account(TRAINER_1), account(TRAINER_2)
    admin = account(f"admin@{DEMO_DOMAIN}")
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        for hub in _hubs():
            if any(name.startswith(hub.details.name) for name in existing):
                continue  # seeded before (a re-issued hub has a longer name now)
            people = [(person(n, t), roles) for n, t, roles in hub.people]
            lead = account(hub.lead_email) if hub.lead_email else people[0][0]
            org = org_services.create_organisation(lead, hub.details)
            for user, roles in people:
                if user.id == lead.id:
                    continue
                join_team(org, lead, user, roles)
            application = {
                "network_name": hub.network_name,
                "theme": hub.theme,
                "target_audience": hub.audience,
                "expected_spokes": 20,
                "motivation": "Clinicians far from specialist teams ask for regular, "
                "case-based support; ECHO lets us give it at scale.",
                "sponsor_name": people[0][0].name,
                "sponsor_role": "Executive sponsor",
                "sponsor_email": people[0][0].email,
                "vc_licence": "yes",
                "delivery_notes": "Zoom, monthly, 90 minutes.",
                "heard_about": "The superhub's introduction webinar.",
                "intro_session_date": clock.today() - timedelta(days=700),
            }
            org_services.save_application(org, by=lead, data=application)
            org_services.submit_application(org, by=lead)
            org_services.accept_application(org, by=author, note="Welcome to the programme.")
            if hub.outcome == "in_review":
                journey.move(org, "submit_for_review", by=lead)
                log(f"submitted {org.name} for readiness review")
                continue
            if hub.outcome == "awaiting_decision":
                _assess(org, lead, author)
                log(f"assessed {org.name}: waiting for a second trainer")
                continue
            cert = _approve(org, lead, author, approver)
            if hub.outcome == "launched":
                org_services.record_launch(org, by=lead, first_session_on=clock.today())
                coordinator = people[1][0]
                trainee = certificates.issue(
                    certificates.IssueRequest(
                        kind="trainee",
                        organisation=org,
                        approved_on=clock.today(),
                        expires_on=certificates.add_years(clock.today(), 3),
                        reason="completion",
                        organisation_name=org.name,
                        user=coordinator,
                        person_name=coordinator.name,
                        details={
                            "roles": ["Coordinator", "IT support"],
                            "modules": ["The ECHO model", "The hub team", "Running a session"],
                            "attendance_percent": 90,
                        },
                    ),
                    by=coordinator,
                )
                log(f"issued trainee certificate {trainee.serial} to {coordinator.name}")
            elif hub.outcome == "revoked":
                certificates.revoke(
                    cert,
                    by=admin,
                    reason="The network stopped meeting and the hub asked to withdraw.",
                )
            elif hub.outcome == "reissued":
                _rotate_signing_key(log)
                org.name = f"{org.name} & Community Care"
                db.session.flush()
                new = certificates.reissue(
                    cert,
                    by=admin,
                    reason="The organisation changed its name.",
                )
                log(f"re-issued {cert.serial} as {new.serial}")
            elif hub.outcome == "expired":
                _backdate(cert, org, 3.4)
            if hub.outcome in DEMO_LISTINGS:
                _publish(org, lead, audience=hub.audience, **DEMO_LISTINGS[hub.outcome])
            db.session.flush()
            log(f"approved {org.name}: certificate {cert.serial} ({hub.outcome})")
