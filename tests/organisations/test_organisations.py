"""Organisation rules, tested through the services: registration, the application, the team,
invitations, the journey and screening, withdrawal, and two trainers deciding at once."""

from __future__ import annotations

import dataclasses
import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import ServiceError
from app.core.programme import programme
from app.extensions import db
from app.organisations import journey, services
from app.organisations.models import HubApplication, Invitation, Membership, Organisation
from tests.factories.organisations import (
    COMPLETE_APPLICATION,
    clear_outbox,
    details,
    membership,
    outbox_to,
    reload_org,
    snapshot,
    stage_changes,
)
from tests.helpers import events


@pytest.fixture(autouse=True)
def request_context(app):
    """Services build absolute links for emails, which needs a request context."""
    with app.test_request_context():
        yield


@pytest.fixture
def lead(make_user):
    return make_user(roles=("applicant",), name="Lena Lead")


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer")


def token_from(message) -> str:
    match = re.search(r"/organisations/invitations/([A-Za-z0-9_\-]+)", message.body)
    assert match, message.body
    return match.group(1)


def invite_new(org, lead, email="newcomer@example.org", roles=("coordinator",)):
    """Invite someone without an account; returns (invitation, token) from the email."""
    clear_outbox()
    result = services.invite_member(org, by=lead, email=email, roles=list(roles))
    db.session.commit()
    [message] = outbox_to(email.strip().lower())
    return result.invitation, token_from(message)


# --- registering an organisation --------------------------------------------------------


def test_creator_becomes_hub_lead_of_a_draft_with_an_empty_application(app, lead):
    org = services.create_organisation(lead, details(name="  Heron Vale Hospice  "))
    db.session.commit()
    org = reload_org(org.id)
    assert org.name == "Heron Vale Hospice"
    assert org.stage == "draft"
    assert org.created_by_id == lead.id
    assert isinstance(org.application, HubApplication)
    assert org.application.submission_count == 0
    [only] = org.memberships
    assert only.user_id == lead.id
    assert only.roles == {"hub_lead"}
    assert services.is_hub_lead(lead, org)
    [event] = events("organisation.created")
    assert event.actor_id == lead.id
    assert event.organisation_id == org.id
    assert event.subject_type == "organisation" and event.subject_id == str(org.id)
    assert audit.verify_chain().intact


@pytest.mark.parametrize(
    "raw,stored",
    [
        ("1234567", "1234567"),  # charity, England and Wales
        ("123456", "123456"),  # older charity number
        ("SC012345", "SC012345"),  # Scottish charity
        ("sc 012345", "SC012345"),  # typed loosely
        ("NIC100001", "NIC100001"),  # Northern Ireland charity
        ("NI123456", "NI123456"),  # Northern Ireland company
        ("01234567", "01234567"),  # company, England and Wales
        ("OC123456", "OC123456"),  # LLP
        ("", ""),  # optional
        ("   ", ""),
    ],
)
def test_valid_registration_numbers_are_normalised(lead, raw, stored):
    org = services.create_organisation(lead, details(registration_number=raw))
    assert org.registration_number == stored


@pytest.mark.parametrize(
    "raw", ["12345", "ABC", "123456789", "SC12345", "NIC1000011", "XX123456", "12-3456", "1234567a"]
)
def test_invalid_registration_numbers_are_refused_with_examples(lead, raw):
    with pytest.raises(ServiceError) as refused:
        services.create_organisation(lead, details(registration_number=raw))
    assert refused.value.field == "registration_number"
    assert "charity number" in refused.value.message
    assert "1234567" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


@pytest.mark.parametrize(
    "raw,stored",
    [
        ("www.heronvale.example.org", "https://www.heronvale.example.org"),
        ("heronvale.org.uk/about", "https://heronvale.org.uk/about"),
        ("http://heronvale.org.uk", "http://heronvale.org.uk"),
        ("  https://heronvale.org.uk  ", "https://heronvale.org.uk"),
        ("", ""),
    ],
)
def test_websites_are_normalised(raw, stored):
    assert services.normalise_website(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "not a website",
        "localhost",
        "javascript:alert(1)",
        "ftp://files.example.org",
        "https://",
        "www.heron vale.org",  # a space is never part of an address
        "https://[::1",  # urlsplit raises ValueError on this
        "http://[heronvale.org",
    ],
)
def test_invalid_websites_are_refused(raw):
    with pytest.raises(ServiceError) as refused:
        services.normalise_website(raw)
    assert refused.value.field == "website"
    assert "https://www.example.org.uk" in refused.value.message


@pytest.mark.parametrize(
    "raw", ["0161 496 0000", "+44 161 496 0000", "01914960000", "0161-496-0000", "+353 1 234 5678"]
)
def test_valid_phone_numbers_are_kept_as_typed(raw):
    assert services.normalise_phone(raw) == raw


@pytest.mark.parametrize(
    "raw",
    ["12345", "call me", "0161 496 0000 ext 2", "+44 161 496 0000 0000 0000", "++441614960000"],
)
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(ServiceError) as refused:
        services.normalise_phone(raw)
    assert refused.value.field == "phone"


def test_another_country_needs_the_country_named(lead):
    with pytest.raises(ServiceError) as refused:
        services.create_organisation(lead, details(nation="other", other_country="  "))
    assert refused.value.field == "other_country"
    db.session.rollback()
    org = services.create_organisation(lead, details(nation="other", other_country="Ireland"))
    assert org.nation_label == "Ireland"


def test_country_is_dropped_for_uk_nations(lead):
    org = services.create_organisation(lead, details(nation="wales", other_country="France"))
    assert org.other_country == ""
    assert org.nation_label == "Wales"


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"name": "   "}, "name"),
        ({"org_type": "pub"}, "org_type"),
        ({"org_type": ""}, "org_type"),
        ({"nation": "atlantis"}, "nation"),
    ],
)
def test_required_details_are_checked(lead, overrides, field):
    with pytest.raises(ServiceError) as refused:
        services.create_organisation(lead, details(**overrides))
    assert refused.value.field == field


def test_one_user_may_lead_one_organisation_and_belong_to_another(
    make_organisation, make_user, lead
):
    other_lead = make_user()
    first = make_organisation(lead=lead, name="Alder Hospice")
    second = make_organisation(
        lead=other_lead, name="Birch Care Homes", members={"coordinator": lead}
    )
    mine = services.organisations_of(lead)
    assert [(org.name, sorted(m.roles)) for org, m in mine] == [
        ("Alder Hospice", ["hub_lead"]),
        ("Birch Care Homes", ["coordinator"]),
    ]
    assert services.is_hub_lead(lead, first)
    assert not services.is_hub_lead(lead, second)


def test_update_details_records_changed_fields_only(make_organisation, lead):
    org = make_organisation(lead=lead, name="Alder Hospice")
    unchanged = details(name="Alder Hospice")
    services.update_organisation(org, by=lead, details=unchanged)
    assert events("organisation.details_updated") == []
    services.update_organisation(
        org, by=lead, details=details(name="Alder Hospice", phone="0161 496 0000")
    )
    db.session.commit()
    [event] = events("organisation.details_updated")
    assert event.details["fields"] == ["phone"]
    assert reload_org(org.id).phone == "0161 496 0000"


def test_only_the_hub_lead_updates_details(make_organisation, make_user):
    coordinator = make_user()
    org = make_organisation(members={"coordinator": coordinator})
    with pytest.raises(ServiceError, match="hub lead"):
        services.update_organisation(org, by=coordinator, details=details(name="Hijacked"))


# --- the application -------------------------------------------------------------------


def test_a_draft_saves_with_nothing_required(make_organisation, lead):
    org = make_organisation(lead=lead, complete=False)
    changed = services.save_application(
        org, by=lead, data={"network_name": "  Care Home ECHO  ", "expected_spokes": None}
    )
    db.session.commit()
    assert changed == ["network_name"]
    org = reload_org(org.id)
    assert org.application.network_name == "Care Home ECHO"
    assert org.stage == "draft"
    missing = [name for name, _ in services.missing_fields(org.application)]
    assert "network_name" not in missing
    assert missing[0] == "theme" and "heard_about" in missing
    [event] = events("application.saved")
    assert event.details["fields"] == ["network_name"]
    parts = dict(services.parts_complete(org.application))
    assert parts == {
        "Your network": False,
        "Why ECHO": False,
        "Executive sponsor": False,
        "Delivering sessions": False,
        "How you heard about ECHO": False,
    }


def test_saving_the_same_values_records_nothing(make_organisation, lead):
    org = make_organisation(lead=lead)
    before = len(events("application.saved"))
    assert services.save_application(org, by=lead, data=dict(COMPLETE_APPLICATION)) == []
    assert len(events("application.saved")) == before


def test_sponsor_email_is_lower_cased(make_organisation, lead):
    org = make_organisation(lead=lead, complete=False)
    services.save_application(org, by=lead, data={"sponsor_email": " Priya@Example.ORG "})
    assert org.application.sponsor_email == "priya@example.org"


@pytest.mark.parametrize("spokes", [0, -1, 501, 100000])
def test_expected_spokes_outside_the_programme_range_are_refused(make_organisation, lead, spokes):
    org = make_organisation(lead=lead, complete=False)
    settings = programme()
    with pytest.raises(ServiceError) as refused:
        services.save_application(org, by=lead, data={"theme": "x", "expected_spokes": spokes})
    assert refused.value.field == "expected_spokes"
    assert f"from {settings.min_spokes} to {settings.max_spokes}" in refused.value.message
    db.session.rollback()
    assert reload_org(org.id).application.theme == ""


@pytest.mark.parametrize("spokes", [1, 500])
def test_expected_spokes_at_the_range_edges_are_accepted(make_organisation, lead, spokes):
    org = make_organisation(lead=lead, complete=False)
    services.save_application(org, by=lead, data={"expected_spokes": spokes})
    assert org.application.expected_spokes == spokes


def test_future_intro_session_date_is_refused(make_organisation, lead):
    org = make_organisation(lead=lead, complete=False)
    tomorrow = utcnow().date() + timedelta(days=1)
    with pytest.raises(ServiceError) as refused:
        services.save_application(org, by=lead, data={"intro_session_date": tomorrow})
    assert refused.value.field == "intro_session_date"
    assert "future" in refused.value.message
    db.session.rollback()
    today = utcnow().date()
    services.save_application(org, by=lead, data={"intro_session_date": today})
    assert org.application.intro_session_date == today


def test_unknown_licence_answer_is_refused(make_organisation, lead):
    org = make_organisation(lead=lead, complete=False)
    with pytest.raises(ServiceError) as refused:
        services.save_application(org, by=lead, data={"vc_licence": "maybe"})
    assert refused.value.field == "vc_licence"


def test_only_the_hub_lead_saves_the_application(make_organisation, make_user):
    coordinator = make_user()
    org = make_organisation(members={"coordinator": coordinator}, complete=False)
    with pytest.raises(ServiceError, match="Only the organisation's hub lead"):
        services.save_application(org, by=coordinator, data={"theme": "Mine now"})


def test_submit_with_missing_fields_lists_them_and_changes_nothing(make_organisation, lead):
    org = make_organisation(lead=lead, complete=False)
    services.save_application(org, by=lead, data={"network_name": "Care Home ECHO"})
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.submit_application(org, by=lead)
    db.session.rollback()
    for _name, label in services.REQUIRED_ON_SUBMIT[1:]:
        assert label in refused.value.message
    assert "Proposed network name" not in refused.value.message
    org = reload_org(org.id)
    assert org.stage == "draft"
    assert org.application.submitted_at is None
    assert stage_changes(org.id) == []
    assert events("organisation.submit") == []


def test_complete_submit_moves_to_submitted_and_emails_active_trainers(
    make_organisation, make_user, lead
):
    trainers = [make_user(roles=("trainer",)) for _ in range(2)]
    make_user(roles=("trainer",), active=False)
    make_user(roles=("auditor",))
    org = make_organisation(lead=lead)
    clear_outbox()
    services.submit_application(org, by=lead)
    db.session.commit()

    org = reload_org(org.id)
    assert org.stage == "submitted"
    assert org.application.submitted_at is not None
    assert org.application.submission_count == 1
    [change] = stage_changes(org.id)
    assert (change.from_stage, change.to_stage, change.actor_id) == ("draft", "submitted", lead.id)
    [event] = events("organisation.submit")
    assert event.actor_id == lead.id and event.organisation_id == org.id
    assert event.details["from"] == "draft" and event.details["to"] == "submitted"
    messages = [m for m in services_outbox() if "Application to review" in m.subject]
    assert sorted(m.to[0] for m in messages) == sorted(t.email for t in trainers)
    assert all(f"/organisations/{org.id}/screening" in m.body for m in messages)


def services_outbox():
    from app.core import mail

    return mail.outbox()


def test_the_application_is_locked_once_submitted(make_organisation, lead):
    org = make_organisation(stage="submitted", lead=lead)
    before = snapshot()
    with pytest.raises(ServiceError, match="locked"):
        services.save_application(org, by=lead, data={"theme": "Something else"})
    db.session.rollback()
    assert snapshot() == before


def test_submitting_twice_is_refused(make_organisation, lead):
    org = make_organisation(stage="submitted", lead=lead)
    with pytest.raises(ServiceError, match="cannot be submitted now"):
        services.submit_application(org, by=lead)


# --- screening and the journey ---------------------------------------------------------


def test_accept_moves_into_training_emails_the_lead_and_is_on_the_history(
    make_organisation, lead, trainer
):
    org = make_organisation(stage="submitted", lead=lead)
    clear_outbox()
    services.accept_application(org, by=trainer, note="  Welcome aboard.  ")
    db.session.commit()
    org = reload_org(org.id)
    assert org.stage == "in_training"
    change = stage_changes(org.id)[-1]
    assert (change.from_stage, change.to_stage) == ("submitted", "in_training")
    assert change.actor_id == trainer.id and change.reason == "Welcome aboard."
    [message] = outbox_to(lead.email)
    assert "accepted into the programme" in message.subject
    assert "Welcome aboard." in message.body
    described = [audit.describe(e) for e in services.history(org)]
    assert any("accepted the application into the programme" in d for d in described)
    assert services.history(org)[0].action == "organisation.accept"


def test_request_changes_needs_a_message(make_organisation, trainer):
    org = make_organisation(stage="submitted")
    with pytest.raises(ServiceError) as refused:
        services.request_changes(org, by=trainer, message="   ")
    assert refused.value.field == "message"
    assert reload_org(org.id).stage == "submitted"


def test_request_changes_then_resubmit(make_organisation, lead, trainer):
    org = make_organisation(stage="submitted", lead=lead)
    clear_outbox()
    services.request_changes(org, by=trainer, message="Name the care homes joining as spokes.")
    db.session.commit()
    org = reload_org(org.id)
    assert org.stage == "draft"
    assert org.changes_requested == "Name the care homes joining as spokes."
    [message] = outbox_to(lead.email)
    assert "Name the care homes" in message.body
    [event] = events("organisation.request_changes")
    assert event.details["reason"] == "Name the care homes joining as spokes."

    services.save_application(org, by=lead, data={"target_audience": "Twelve care homes."})
    services.submit_application(org, by=lead)
    db.session.commit()
    org = reload_org(org.id)
    assert org.stage == "submitted"
    assert org.application.submission_count == 2
    assert org.changes_requested == ""
    assert [(c.from_stage, c.to_stage) for c in stage_changes(org.id)] == [
        ("draft", "submitted"),
        ("submitted", "draft"),
        ("draft", "submitted"),
    ]


def test_decline_needs_a_reason_and_closes_the_organisation(make_organisation, lead, trainer):
    org = make_organisation(stage="submitted", lead=lead)
    with pytest.raises(ServiceError) as refused:
        services.decline_application(org, by=trainer, reason="")
    assert refused.value.field == "message"
    clear_outbox()
    services.decline_application(org, by=trainer, reason="Outside our region.")
    db.session.commit()
    org = reload_org(org.id)
    assert org.stage == "rejected"
    assert org.closed_reason == "Outside our region."
    assert "Outside our region." in outbox_to(lead.email)[0].body


@pytest.mark.parametrize("stage", ["draft", "in_training", "rejected", "withdrawn"])
@pytest.mark.parametrize(
    "decide",
    [
        lambda org, by: services.accept_application(org, by=by),
        lambda org, by: services.request_changes(org, by=by, message="Please add more."),
        lambda org, by: services.decline_application(org, by=by, reason="No."),
    ],
    ids=["accept", "request_changes", "decline"],
)
def test_deciding_an_application_that_is_not_submitted_changes_nothing(
    make_organisation, trainer, stage, decide
):
    org = make_organisation(stage=stage)
    before = snapshot()
    clear_outbox()
    with pytest.raises(ServiceError, match="cannot be .* now"):
        decide(org, trainer)
    db.session.rollback()
    assert snapshot() == before
    assert services_outbox() == []


@pytest.mark.parametrize("role", ["admin", "auditor", "applicant"])
def test_only_trainers_decide(make_organisation, make_user, role):
    org = make_organisation(stage="submitted")
    someone = make_user(roles=(role,))
    before = snapshot()
    for decide in (
        lambda: services.accept_application(org, by=someone),
        lambda: services.request_changes(org, by=someone, message="x"),
        lambda: services.decline_application(org, by=someone, reason="x"),
    ):
        with pytest.raises(ServiceError, match="Only superhub trainers"):
            decide()
    db.session.rollback()
    assert snapshot() == before


@pytest.mark.parametrize("stage", ["draft", "submitted", "in_training", "readiness_review"])
def test_the_lead_withdraws_from_every_open_stage(make_organisation, lead, stage):
    org = make_organisation(stage=stage, lead=lead)
    with pytest.raises(ServiceError) as refused:
        services.withdraw(org, by=lead, reason="  ")
    assert refused.value.field == "reason"
    services.withdraw(org, by=lead, reason="Our funding was not renewed.")
    db.session.commit()
    org = reload_org(org.id)
    assert org.stage == "withdrawn"
    assert org.closed_reason == "Our funding was not renewed."
    change = stage_changes(org.id)[-1]
    assert (change.from_stage, change.to_stage, change.actor_id) == (stage, "withdrawn", lead.id)
    [event] = events("organisation.withdraw")
    assert event.details["reason"] == "Our funding was not renewed."


@pytest.mark.parametrize("stage", ["rejected", "withdrawn"])
def test_closed_organisations_cannot_be_withdrawn(make_organisation, lead, stage):
    org = make_organisation(stage=stage, lead=lead)
    with pytest.raises(ServiceError, match="cannot be withdrawn now"):
        services.withdraw(org, by=lead, reason="Again")


def test_only_the_lead_withdraws(make_organisation, make_user):
    coordinator = make_user()
    org = make_organisation(members={"coordinator": coordinator})
    with pytest.raises(ServiceError, match="hub lead"):
        services.withdraw(org, by=coordinator, reason="I say so")


def test_nothing_changes_after_withdrawal(make_organisation, make_user, lead, trainer):
    coordinator = make_user()
    org = make_organisation(lead=lead, members={"coordinator": coordinator}, complete=False)
    invitation, _token = invite_new(org, lead)
    member = membership(org.id, coordinator)
    services.withdraw(org, by=lead, reason="Merged with another hospice.")
    db.session.commit()
    before = snapshot()

    attempts = {
        "save": lambda: services.save_application(org, by=lead, data={"theme": "x"}),
        "submit": lambda: services.submit_application(org, by=lead),
        "details": lambda: services.update_organisation(org, by=lead, details=details()),
        "invite": lambda: services.invite_member(
            org, by=lead, email="late@example.org", roles=["specialist"]
        ),
        "roles": lambda: services.change_member_roles(
            org, by=lead, membership_id=member.id, roles=["facilitator"]
        ),
        "remove": lambda: services.remove_member(org, by=lead, membership_id=member.id),
        "resend": lambda: services.resend_invitation(org, by=lead, invitation_id=invitation.id),
        "cancel": lambda: services.cancel_invitation(org, by=lead, invitation_id=invitation.id),
        "withdraw": lambda: services.withdraw(org, by=lead, reason="Again"),
        "accept": lambda: services.accept_application(org, by=trainer),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ServiceError):
            attempt()
        db.session.rollback()
        assert snapshot() == before, name


def test_the_journey_refuses_moves_from_the_wrong_stage(make_organisation, lead):
    org = make_organisation(stage="in_training", lead=lead)
    with pytest.raises(ServiceError, match="In training"):
        journey.move(org, "submit", by=lead)


def test_stepper_marks_the_current_step():
    def states(stage):
        return [(s.label, s.state) for s in journey.steps(stage)]

    assert states("draft")[:3] == [("Learn", "done"), ("Apply", "current"), ("Agree", "upcoming")]
    assert dict(states("in_training"))["Agree"] == "current"
    assert dict(states("readiness_review"))["Ready"] == "current"
    assert {s for _, s in states("launched")} == {"done"}
    assert {s for _, s in states("withdrawn")} == {"upcoming"}
    assert [label for label, _ in states("draft")] == list(journey.STEPS)


# --- the team and invitations ----------------------------------------------------------


def test_inviting_an_existing_account_sends_an_invitation_and_adds_nobody(
    make_organisation, make_user, lead
):
    specialist = make_user(email="Sam.Specialist@example.org")
    org = make_organisation(lead=lead)
    clear_outbox()
    result = services.invite_member(
        org, by=lead, email="  SAM.specialist@EXAMPLE.org ", roles=["specialist", "facilitator"]
    )
    db.session.commit()
    assert result.invitation.email == "sam.specialist@example.org"
    assert membership(org.id, specialist) is None  # nobody joins without accepting
    [message] = outbox_to(specialist.email)
    assert message.subject.endswith(f"Join {org.name}'s ECHO hub team")
    assert "Facilitator, Specialist" in message.body
    assert events("team.member_added") == []
    [event] = events("team.invited")
    assert event.details["roles"] == ["facilitator", "specialist"]


def test_inviting_a_new_email_sends_a_single_use_link(make_organisation, lead):
    org = make_organisation(lead=lead)
    invitation, token = invite_new(org, lead, email=" New.Person@Example.org ")
    assert invitation.email == "new.person@example.org"
    assert invitation.roles == ["coordinator"]
    assert len(token) >= 32
    assert invitation.token_hash != token and token not in invitation.token_hash
    expected = utcnow() + timedelta(days=programme().invitation_expiry_days)
    assert abs((invitation.expires_at - expected).total_seconds()) < 60
    assert services.invitation_for_token(token).id == invitation.id
    [event] = events("team.invited")
    assert event.details["email"] == "new.person@example.org"
    assert token not in str(event.details)


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@b", "two@@example.org", "spaces in@example.org", "@example.org"]
)
def test_malformed_emails_are_refused(make_organisation, lead, email):
    org = make_organisation(lead=lead)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.invite_member(org, by=lead, email=email, roles=["coordinator"])
    assert refused.value.field == "email"
    assert "valid email" in refused.value.message
    db.session.rollback()
    assert snapshot() == before


def test_inviting_someone_already_on_the_team_is_refused(make_organisation, make_user, lead):
    coordinator = make_user()
    org = make_organisation(lead=lead, members={"coordinator": coordinator})
    for email in (coordinator.email, lead.email.upper()):
        with pytest.raises(ServiceError, match="already on the team") as refused:
            services.invite_member(org, by=lead, email=email, roles=["specialist"])
        assert refused.value.field == "email"


def test_a_second_open_invitation_to_the_same_email_is_refused(make_organisation, lead):
    org = make_organisation(lead=lead)
    invitation, _ = invite_new(org, lead, email="dup@example.org")
    with pytest.raises(ServiceError, match="already has an invitation waiting"):
        services.invite_member(org, by=lead, email="DUP@example.org", roles=["specialist"])
    db.session.rollback()
    # Once the first has expired, a fresh invitation may be sent.
    invitation = db.session.get(Invitation, invitation.id)
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    services.invite_member(org, by=lead, email="dup@example.org", roles=["specialist"])


@pytest.mark.parametrize("roles", [[], [""], None])
def test_roles_are_required(make_organisation, lead, roles):
    org = make_organisation(lead=lead)
    with pytest.raises(ServiceError, match="at least one hub role") as refused:
        services.invite_member(org, by=lead, email="x@example.org", roles=roles)
    assert refused.value.field == "roles"


def test_unknown_roles_are_refused(make_organisation, lead):
    org = make_organisation(lead=lead)
    with pytest.raises(ServiceError, match="Unknown hub role"):
        services.invite_member(org, by=lead, email="x@example.org", roles=["superuser"])


def test_a_deactivated_account_is_invited_like_any_address(make_organisation, make_user, lead):
    gone = make_user(active=False)
    org = make_organisation(lead=lead)
    result = services.invite_member(org, by=lead, email=gone.email, roles=["coordinator"])
    db.session.commit()
    # The lead learns nothing about the account; its owner cannot sign in to accept.
    assert result.invitation.email == gone.email
    assert membership(org.id, gone) is None


def test_only_the_lead_invites(make_organisation, make_user):
    coordinator = make_user()
    org = make_organisation(members={"coordinator": coordinator})
    with pytest.raises(ServiceError, match="hub lead"):
        services.invite_member(org, by=coordinator, email="x@example.org", roles=["specialist"])


def test_accepting_an_invitation_joins_with_the_invited_roles(make_organisation, make_user, lead):
    org = make_organisation(lead=lead)
    _, token = invite_new(
        org, lead, email="joiner@example.org", roles=("facilitator", "evaluation")
    )
    joiner = make_user(email="joiner@example.org")
    joined = services.accept_invitation(token, user=joiner)
    db.session.commit()
    assert joined.roles == {"facilitator", "evaluation"}
    [event] = events("team.joined")
    assert event.actor_id == joiner.id
    with pytest.raises(ServiceError, match="already been used"):
        services.invitation_for_token(token)


def test_accepting_with_another_email_is_refused(make_organisation, make_user, lead):
    org = make_organisation(lead=lead)
    _, token = invite_new(org, lead, email="joiner@example.org")
    someone = make_user(email="someone@example.org")
    with pytest.raises(ServiceError, match="sent to joiner@example.org") as refused:
        services.accept_invitation(token, user=someone)
    assert "signed in as someone@example.org" in refused.value.message
    db.session.rollback()
    assert membership(org.id, someone) is None
    assert services.invitation_for_token(token) is not None


def test_expired_and_cancelled_and_unknown_links(make_organisation, lead):
    org = make_organisation(lead=lead)
    expiring, expiring_token = invite_new(org, lead, email="late@example.org")
    cancelled, cancelled_token = invite_new(org, lead, email="cancelled@example.org")
    expiring.expires_at = utcnow() - timedelta(seconds=1)
    services.cancel_invitation(org, by=lead, invitation_id=cancelled.id)
    db.session.commit()
    with pytest.raises(ServiceError, match="expired"):
        services.invitation_for_token(expiring_token)
    with pytest.raises(ServiceError, match="cancelled"):
        services.invitation_for_token(cancelled_token)
    for token in ("", "nonsense", expiring_token + "x"):
        with pytest.raises(ServiceError, match="not valid"):
            services.invitation_for_token(token)
    with pytest.raises(ServiceError, match="already accepted, declined or cancelled"):
        services.cancel_invitation(org, by=lead, invitation_id=cancelled.id)
    with pytest.raises(ServiceError, match="already accepted, declined or cancelled"):
        services.resend_invitation(org, by=lead, invitation_id=cancelled.id)


def test_resend_replaces_the_link_and_restarts_the_clock(make_organisation, lead):
    org = make_organisation(lead=lead)
    invitation, old_token = invite_new(org, lead)
    invitation.expires_at = utcnow() - timedelta(days=1)  # resending revives an expired one
    db.session.commit()
    clear_outbox()
    services.resend_invitation(org, by=lead, invitation_id=invitation.id)
    db.session.commit()
    [message] = outbox_to("newcomer@example.org")
    new_token = token_from(message)
    assert new_token != old_token
    with pytest.raises(ServiceError, match="not valid"):
        services.invitation_for_token(old_token)
    assert services.invitation_for_token(new_token).id == invitation.id
    invitation = db.session.get(Invitation, invitation.id)
    assert invitation.send_count == 2
    assert invitation.expires_at > utcnow() + timedelta(days=programme().invitation_expiry_days - 1)


def test_an_invitation_to_a_closed_organisation_no_longer_works(make_organisation, make_user, lead):
    org = make_organisation(lead=lead)
    _, token = invite_new(org, lead, email="joiner@example.org")
    services.withdraw(org, by=lead, reason="Closing down.")
    db.session.commit()
    joiner = make_user(email="joiner@example.org")
    with pytest.raises(ServiceError, match="no longer in the programme"):
        services.accept_invitation(token, user=joiner)


def test_a_person_with_a_waiting_invitation_is_not_added_twice(make_organisation, make_user, lead):
    org = make_organisation(lead=lead)
    _, token = invite_new(org, lead, email="both@example.org", roles=("specialist",))
    both = make_user(email="both@example.org")  # registered without the link
    with pytest.raises(ServiceError, match="already has an invitation"):
        services.invite_member(org, by=lead, email=both.email, roles=["coordinator"])
    db.session.rollback()
    joined = services.accept_invitation(token, user=both)
    db.session.commit()
    assert joined.roles == {"specialist"}


def test_accepting_an_old_invitation_after_joining_another_way_merges_roles(
    make_organisation, make_user, lead
):
    org = make_organisation(lead=lead)
    invitation, _ = invite_new(org, lead, email="both@example.org", roles=("specialist",))
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    both = make_user(email="both@example.org")
    second = services.invite_member(org, by=lead, email=both.email, roles=["coordinator"])
    services.accept_invitation_for(second.invitation.id, user=both)  # from the home page
    db.session.commit()
    clear_outbox()
    services.resend_invitation(org, by=lead, invitation_id=invitation.id)
    db.session.commit()
    token = token_from(outbox_to("both@example.org")[0])
    joined = services.accept_invitation(token, user=both)
    db.session.commit()
    assert membership(org.id, both).roles == {"coordinator", "specialist"}
    assert joined.id == membership(org.id, both).id
    assert (
        db.session.scalar(
            select(func.count()).select_from(Membership).where(Membership.organisation_id == org.id)
        )
        == 2
    )
    merged = [e for e in events("team.roles_changed") if e.actor_id == both.id]
    assert [e.details["added"] for e in merged] == [["specialist"]]


def test_change_roles_and_keep_a_hub_lead(make_organisation, make_user, lead):
    coordinator = make_user()
    org = make_organisation(lead=lead, members={"coordinator": coordinator})
    lead_membership = membership(org.id, lead)
    member = membership(org.id, coordinator)

    services.change_member_roles(
        org, by=lead, membership_id=member.id, roles=["coordinator", "facilitator"]
    )
    db.session.commit()
    assert membership(org.id, coordinator).roles == {"coordinator", "facilitator"}
    [event] = events("team.roles_changed")
    assert event.details["added"] == ["facilitator"] and event.details["removed"] == []

    with pytest.raises(ServiceError, match="needs a hub lead") as refused:
        services.change_member_roles(
            org, by=lead, membership_id=lead_membership.id, roles=["specialist"]
        )
    assert refused.value.field == "roles"
    db.session.rollback()
    assert membership(org.id, lead).roles == {"hub_lead"}

    # With a second lead, the first may step down.
    services.change_member_roles(
        org, by=lead, membership_id=member.id, roles=["hub_lead", "coordinator"]
    )
    services.change_member_roles(
        org, by=lead, membership_id=lead_membership.id, roles=["specialist"]
    )
    db.session.commit()
    assert membership(org.id, lead).roles == {"specialist"}
    assert not services.is_hub_lead(lead, reload_org(org.id))


def test_remove_a_member_but_never_the_last_hub_lead(make_organisation, make_user, lead):
    coordinator = make_user()
    org = make_organisation(lead=lead, members={"coordinator": coordinator})
    with pytest.raises(ServiceError, match="only hub lead"):
        services.remove_member(org, by=lead, membership_id=membership(org.id, lead).id)
    db.session.rollback()
    services.remove_member(org, by=lead, membership_id=membership(org.id, coordinator).id)
    db.session.commit()
    assert membership(org.id, coordinator) is None
    assert db.session.get(User, coordinator.id) is not None  # the account itself stays
    [event] = events("team.member_removed")
    assert event.details["member"] == coordinator.email


def test_ids_from_another_organisation_are_not_found(make_organisation, make_user, lead):
    mine = make_organisation(lead=lead)
    theirs = make_organisation(members={"coordinator": make_user()})
    their_member = db.session.scalars(
        select(Membership).where(Membership.organisation_id == theirs.id)
    ).first()
    their_invitation, _ = invite_new(theirs, theirs.memberships[0].user)
    before = snapshot()
    for attempt in (
        lambda: services.change_member_roles(
            mine, by=lead, membership_id=their_member.id, roles=["specialist"]
        ),
        lambda: services.remove_member(mine, by=lead, membership_id=their_member.id),
        lambda: services.resend_invitation(mine, by=lead, invitation_id=their_invitation.id),
        lambda: services.cancel_invitation(mine, by=lead, invitation_id=their_invitation.id),
        lambda: services.remove_member(mine, by=lead, membership_id=999999),
    ):
        with pytest.raises(LookupError):
            attempt()
        db.session.rollback()
    assert snapshot() == before


def test_composition_follows_the_programme_rule(app, make_organisation, make_user, lead):
    assert programme().required_roles == ("hub_lead", "coordinator", "facilitator", "specialist")
    org = make_organisation(lead=lead)
    composition = services.team_composition(org)
    assert composition.missing == ["coordinator", "facilitator", "specialist"]
    assert not composition.complete
    org = make_organisation(
        lead=lead,
        members={"coordinator": make_user(), ("facilitator", "specialist"): make_user()},
    )
    composition = services.team_composition(org)
    assert composition.complete and composition.missing == []
    assert composition.counts["hub_lead"] == 1 and composition.counts["it_support"] == 0

    app.extensions["programme"] = dataclasses.replace(
        programme(), required_roles=("hub_lead", "evaluation")
    )
    assert services.team_composition(org).missing == ["evaluation"]


# --- lists ------------------------------------------------------------------------------


def test_search_filters_sorts_and_paginates(make_organisation, make_user):
    alder_lead = make_user(name="Ada Alder")
    alder = make_organisation(name="Alder Hospice", nation="scotland", lead=alder_lead)
    make_organisation(name="Birch Home Care", nation="wales", stage="submitted")
    make_organisation(name="Cedar NHS Trust", nation="scotland", stage="submitted")
    make_organisation(name="100% Hospice_Care", nation="other", other_country="Ireland")

    def names(page):
        return [org.name for org, _, _ in page.items]

    assert names(services.search_organisations(q="hospice", sort="name")) == [
        "100% Hospice_Care",
        "Alder Hospice",
    ]
    assert names(services.search_organisations(q="  HOSPICE ", sort="name")) == [
        "100% Hospice_Care",
        "Alder Hospice",
    ]
    # LIKE wildcards typed in the search are matched literally.
    assert names(services.search_organisations(q="100%")) == ["100% Hospice_Care"]
    assert names(services.search_organisations(q="e_c")) == ["100% Hospice_Care"]
    assert names(services.search_organisations(q="%")) == ["100% Hospice_Care"]
    assert names(services.search_organisations(q="no such place")) == []
    assert set(names(services.search_organisations(stage="submitted"))) == {
        "Birch Home Care",
        "Cedar NHS Trust",
    }
    assert names(services.search_organisations(stage="submitted", nation="scotland")) == [
        "Cedar NHS Trust"
    ]
    assert names(services.search_organisations(nation="other")) == ["100% Hospice_Care"]
    assert len(services.search_organisations(stage="bogus", nation="mars").items) == 4

    # Last activity, most recent first: touching Alder brings it to the top.
    assert names(services.search_organisations())[0] == "100% Hospice_Care"
    services.save_application(alder, by=alder_lead, data={"theme": "Dementia care"})
    db.session.commit()
    assert names(services.search_organisations())[0] == "Alder Hospice"
    assert names(services.search_organisations(sort="created"))[0] == "100% Hospice_Care"
    assert names(services.search_organisations(sort="DROP TABLE")) == names(
        services.search_organisations()
    )

    page = services.search_organisations(sort="name", per_page=3, page=2)
    assert names(page) == ["Cedar NHS Trust"]
    assert (page.total, page.pages, page.has_prev, page.has_next) == (4, 2, True, False)
    first = services.search_organisations(sort="name", per_page=3)
    assert first.has_next and not first.has_prev and first.next_num == 2
    for absurd in (0, -7, 10**30):
        assert services.search_organisations(page=absurd).page >= 1
    org, size, leads = services.search_organisations(q="alder").items[0]
    assert org.id == alder.id and size == 1 and [u.name for u in leads] == ["Ada Alder"]


def test_stage_counts_and_queue_oldest_first(make_organisation):
    make_organisation()
    first = make_organisation(name="First In", stage="submitted")
    second = make_organisation(name="Second In", stage="submitted")
    make_organisation(stage="in_training")
    make_organisation(stage="withdrawn")
    counts = services.stage_counts()
    assert counts["draft"] == 1 and counts["submitted"] == 2
    assert counts["in_training"] == 1 and counts["withdrawn"] == 1
    assert counts["approved"] == 0 and set(counts) == set(journey.STAGES)

    # Make the second the older submission: the queue follows submission time.
    db.session.get(HubApplication, second.application.id).submitted_at = utcnow() - timedelta(
        days=3
    )
    db.session.commit()
    queue = services.screening_queue()
    assert [org.name for org, _, _ in queue] == ["Second In", "First In"]
    assert services.age_in_days(queue[0][0].application.submitted_at) == 3
    assert first.id != second.id


# --- two trainers at once --------------------------------------------------------------

DECISIONS = {
    "accept": lambda org, by: services.accept_application(org, by=by),
    "request_changes": lambda org, by: services.request_changes(
        org, by=by, message="Please add the spokes."
    ),
    "decline": lambda org, by: services.decline_application(org, by=by, reason="Not now."),
}


@pytest.mark.commits
@pytest.mark.parametrize(
    "first,second",
    [("accept", "accept"), ("accept", "decline"), ("request_changes", "decline")],
)
def test_two_trainers_deciding_at_the_same_moment_record_one_decision(
    app, make_organisation, make_user, lead, first, second
):
    org = make_organisation(stage="submitted", lead=lead)
    org_id = org.id
    trainer_ids = [make_user(roles=("trainer",)).id for _ in range(2)]
    lead_email = lead.email
    changes_before = len(stage_changes(org_id))
    clear_outbox()
    db.session.commit()
    db.session.close()

    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}
    errors: list[BaseException] = []

    def decide(worker: int, decision: str):
        try:
            with app.test_request_context():
                trainer = db.session.get(User, trainer_ids[worker])
                target = db.session.get(Organisation, org_id)
                assert target.stage == "submitted"
                barrier.wait(timeout=30)
                try:
                    DECISIONS[decision](target, trainer)
                    db.session.commit()
                    outcomes[worker] = decision
                except ServiceError as refusal:
                    db.session.rollback()
                    outcomes[worker] = refusal
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=decide, args=(0, first)),
        threading.Thread(target=decide, args=(1, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(outcomes) == 2
    winners = [o for o in outcomes.values() if isinstance(o, str)]
    losers = [o for o in outcomes.values() if isinstance(o, ServiceError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert "Someone else changed this organisation" in losers[0].message

    changes = stage_changes(org_id)
    assert len(changes) == changes_before + 1
    decision_events = [
        e for e in events_for_org(org_id) if e.action.removeprefix("organisation.") in DECISIONS
    ]
    assert len(decision_events) == 1
    assert decision_events[0].action == f"organisation.{winners[0]}"
    expected_stage = journey.TRANSITIONS[winners[0]].target
    assert reload_org(org_id).stage == expected_stage == changes[-1].to_stage
    assert changes[-1].actor_id == decision_events[0].actor_id
    assert len(outbox_to(lead_email)) == 1  # only the winner's decision was emailed
    assert audit.verify_chain().intact


def events_for_org(org_id: int):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(audit.AuditEvent)
            .where(audit.AuditEvent.organisation_id == org_id)
            .order_by(audit.AuditEvent.seq)
        )
    )


def test_a_stale_decision_after_another_is_refused(make_organisation, trainer):
    """The compare-and-set in `journey.move`, without threads: this copy is out of date."""
    org = make_organisation(stage="submitted")
    services.accept_application(org, by=trainer)
    db.session.commit()
    before = snapshot()
    stale = reload_org(org.id)
    set_committed_value(stale, "stage", "submitted")  # what a slower request still believes
    with pytest.raises(ServiceError, match="Someone else changed") as refused:
        services.decline_application(stale, by=trainer, reason="Too late")
    assert "In training" in refused.value.message
    db.session.rollback()
    assert snapshot() == before


def test_dates_in_application_survive_a_round_trip(make_organisation, lead):
    org = make_organisation(lead=lead)
    assert reload_org(org.id).application.intro_session_date == date(2024, 3, 14)


# --- remembered memberships and the loaded team ------------------------------------------


def test_a_membership_is_remembered_for_the_request_but_never_once_deleted(
    make_organisation, lead, make_user
):
    org = make_organisation(lead=lead)
    first = services.membership_of(lead, org.id)
    assert first is not None and services.membership_of(lead, org.id) is first
    db.session.delete(first)
    assert services.membership_of(lead, org.id) is None  # deleted, not yet flushed
    db.session.rollback()
    stranger = make_user(name="Sam Stranger")
    assert services.membership_of(stranger, org.id) is None


def test_the_team_fills_the_organisations_members_for_later_use(make_organisation, lead):
    org = make_organisation(lead=lead)
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    members = services.team_members(org)
    assert [m.user.name for m in members] == ["Lena Lead"]
    assert org.memberships == members
    assert services.team_members(org) == members
