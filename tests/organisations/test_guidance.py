""" "What happens next" follows the state: one next step from the live readiness requirements
and the stage, with its link or button, and what else is outstanding. An application may be
submitted without a complete team: the lead is warned next to the button with exactly what
the trainers then see, and the trainers see it."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.organisations import guidance
from app.readiness import services as readiness
from tests.factories.immersion import attend_immersion
from tests.factories.organisations import (
    COMPLETE_APPLICATION_FORM,
    clear_outbox,
    outbox_to,
    reload_org,
)
from tests.factories.readiness import (
    accept_checklist,
    agreement,
    complete_training,
    verify_agreements,
)
from tests.helpers import login, page_text


@pytest.fixture(autouse=True)
def request_context(app):
    """Services and guidance build links, which needs a request context."""
    with app.test_request_context():
        yield


@pytest.fixture
def lead(make_user):
    return make_user(name="Lena Lead")


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), name="Tariq Trainer")


@pytest.fixture
def team(make_user):
    return {
        "coordinator": make_user(name="Cora Coordinator"),
        ("facilitator", "specialist"): make_user(name="Sam Specialist"),
    }


@pytest.fixture
def training_org(make_organisation, lead, trainer, team):
    """In training with the full team the programme asks for."""
    return make_organisation(
        stage="in_training", lead=lead, trainer=trainer, members=team, name="Heron Vale Hospice"
    )


def step_for(org, viewer):
    db.session.expire_all()
    return guidance.next_step(reload_org(org.id), viewer)


def visible(response) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())


def overview(client, org):
    response = client.get(f"/organisations/{org.id}")
    assert response.status_code == 200
    return visible(response)


# --- before training ----------------------------------------------------------------------


def test_a_new_draft_asks_for_the_application(make_organisation, lead, make_user):
    coordinator = make_user()
    org = make_organisation(complete=False, lead=lead, members={"coordinator": coordinator})
    step = step_for(org, lead)
    assert step.headline == (
        "Complete the application (0 of 5 parts done), then submit it for screening."
    )
    assert step.action.label == "Start the application"
    assert step.action.url == f"/organisations/{org.id}/application"
    assert "Application: Why ECHO (to do)" in step.outstanding
    # A member who is not the lead is told who does it, and gets no button.
    other = step_for(org, coordinator)
    assert other.headline.startswith("The hub lead completes the application")
    assert other.action is None


def test_a_complete_draft_says_submit_and_names_the_missing_roles(make_organisation, lead):
    org = make_organisation(lead=lead)
    step = step_for(org, lead)
    assert step.headline == "The application is complete: submit it for screening."
    assert step.action.label == "Review and submit the application"
    [team_note] = [line for line in step.outstanding if "team" in line]
    assert "no coordinator, facilitator, specialist yet" in team_note
    assert "trainers who screen the application will see that the team is incomplete" in team_note


def test_a_submitted_application_is_waiting_with_its_date(make_organisation, lead, trainer):
    org = make_organisation(stage="submitted", lead=lead)
    step = step_for(org, lead)
    assert step.waiting
    assert step.headline.startswith(
        "Waiting for the superhub to screen the application (submitted on"
    )
    assert step.action is None
    assert step_for(org, trainer).action.label == "Screen the application"


# --- in training: from the requirements -----------------------------------------------------


def test_in_training_the_step_moves_on_as_requirements_are_met(
    app, training_org, lead, trainer, team
):
    org = training_org
    first = step_for(org, lead)
    assert first.headline == "Upload the two signed partnership agreements."
    assert first.action.url == f"/organisations/{org.id}/readiness#agreements"
    assert first.outstanding_title == "1 of 5 readiness requirements met"  # the team is complete

    # Both uploaded, waiting for a trainer: the organisation moves on to training meanwhile.
    verify_agreements(org, lead, trainer, status="submitted")
    second = step_for(org, lead)
    assert second.headline.startswith("Complete the required training modules: 0 of ")
    assert second.action.label == "Go to my training"  # the lead has modules to do too
    assert "Lena Lead:" in second.detail

    # The trainer rejects one: that comes first, with the reason.
    current = readiness.current_agreements(reload_org(org.id))["collaboration"]
    readiness.review_agreement(
        reload_org(org.id),
        by=trainer,
        agreement_id=current.id,
        decision="reject",
        reason="Unsigned on page 2.",
    )
    db.session.commit()
    rejected = step_for(org, lead)
    assert rejected.headline == (
        "Your Statement of Collaboration was rejected: Unsigned on page 2 — upload a new "
        "signed copy."
    )
    assert rejected.action.label == "Upload a new signed copy"
    assert "Partnership agreements verified: 0 of 2 verified." in rejected.outstanding
    # Staff read it about the organisation, not as "your".
    assert step_for(org, trainer).headline.startswith("Heron Vale Hospice's Statement")
    assert step_for(org, trainer).action is None

    verify_agreements(org, lead, trainer)
    for user in (lead, *team.values()):
        complete_training(user)
    immersion = step_for(org, lead)
    assert immersion.headline == "Immersion: book the team onto a cohort and attend its sessions."
    assert immersion.action.url == f"/organisations/{org.id}/immersion"

    attend_immersion(org, lead, trainer, (lead, *team.values()))
    checklist = step_for(org, lead)
    assert checklist.headline.startswith("Answer the readiness checklist: ")
    assert checklist.outstanding == [
        "Readiness checklist accepted: 0 of 9 required items accepted."
    ]

    accept_checklist(org, lead, trainer)
    ready = step_for(org, lead)
    assert ready.headline == "All requirements are met: submit for readiness review."
    assert ready.action.form == "submit_for_review"
    assert ready.outstanding == []
    assert step_for(org, team["coordinator"]).action is None  # only the lead submits


def test_the_team_rule_names_the_missing_roles(make_organisation, lead, trainer, make_user):
    org = make_organisation(
        stage="in_training", lead=lead, trainer=trainer, members={"coordinator": make_user()}
    )
    verify_agreements(org, lead, trainer, status="submitted")
    step = step_for(org, lead)
    assert (
        step.headline == "Your team still needs: Facilitator, Specialist. Invite someone for each."
    )
    assert step.action.url == f"/organisations/{org.id}/team"


def test_only_waiting_for_a_trainer_says_so(training_org, lead, trainer, team):
    org = training_org
    verify_agreements(org, lead, trainer, status="submitted")
    for user in (lead, *team.values()):
        complete_training(user)
    for item in readiness.checklist().required_items:
        from tests.factories.readiness import answer

        answer(org, lead, item.key)
    step = step_for(org, lead)
    assert step.waiting
    assert step.headline == "Waiting for a superhub trainer to review what you sent."
    assert "IP Terms of Use Agreement: waiting for a trainer to verify it" in step.detail
    assert "Immersion can be booked once both agreements are verified." in step.detail
    assert step_for(org, trainer).action.label == "Review it"


def test_the_overview_shows_the_step_and_submits_for_review(
    app, client, training_org, lead, trainer, team
):
    org = training_org
    login(client, lead.email)
    text = overview(client, org)
    assert "Upload the two signed partnership agreements." in text
    assert "1 of 5 readiness requirements met" in text
    assert "accepted into the hub training programme" in text

    verify_agreements(org, lead, trainer)
    for user in (lead, *team.values()):
        complete_training(user)
    attend_immersion(org, lead, trainer, (lead, *team.values()))
    accept_checklist(org, lead, trainer)
    text = overview(client, org)
    assert "All requirements are met: submit for readiness review." in text
    response = client.post(f"/organisations/{org.id}/readiness/submit")
    assert response.status_code == 302
    assert reload_org(org.id).stage == "readiness_review"
    text = overview(client, org)
    assert f"Waiting for the superhub to assess {org.name}'s readiness (submitted on" in text


def test_an_agreement_rejection_shows_on_the_overview(client, training_org, lead, trainer):
    org = training_org
    a = agreement(org, lead, "ip_terms")
    readiness.review_agreement(
        reload_org(org.id), by=trainer, agreement_id=a.id, decision="reject", reason="Wrong year."
    )
    db.session.commit()
    login(client, lead.email)
    text = overview(client, org)
    assert (
        "Your IP Terms of Use Agreement was rejected: Wrong year — upload a new signed copy."
        in text
    )
    assert "Upload a new signed copy" in text


# --- approved: the directory listing ----------------------------------------------------------


def test_an_approved_hub_is_told_it_can_publish_a_listing(
    app, client, make_user, make_organisation
):
    from app.public import services as public
    from tests.factories.certificates import approved_hub

    hub = approved_hub(app, make_user, make_organisation, name="Avocet Hospice")
    step = step_for(hub.org, hub.lead)
    assert step.headline == (
        "Avocet Hospice is an approved ECHO hub: you can now publish its listing in the "
        "“Join a network” directory."
    )
    assert step.action.label == "Write the directory listing"
    assert step.action.url == f"/organisations/{hub.org.id}/listing"
    login(client, hub.lead.email)
    assert "you can now publish its listing" in overview(client, hub.org)

    public.save_listing(
        reload_org(hub.org.id),
        by=hub.lead,
        text=public.ListingText(summary="Cases.", audience="Nurses.", contact_email="a@b.org"),
        publish=True,
    )
    db.session.commit()
    after = step_for(hub.org, hub.lead)
    assert after.headline.endswith("The next step is your network's first ECHO session.")
    assert after.outstanding == ["Listed in the “Join a network” directory."]


# --- submitting an application without a complete team: the warning -----------------------


def test_the_application_warns_what_trainers_see_without_a_full_team(
    client, make_organisation, lead, trainer, make_user
):
    org = make_organisation(lead=lead, members={"coordinator": make_user()})
    login(client, lead.email)
    page = client.get(f"/organisations/{org.id}/application").get_data(as_text=True)
    assert 'id="team-warning"' in page and 'aria-describedby="team-warning"' in page
    text = visible(client.get(f"/organisations/{org.id}/application"))
    assert "Your team is not complete yet: it has no facilitator, specialist." in text
    assert "“Team incomplete — still needed: Facilitator, Specialist”" in text

    clear_outbox()
    response = client.post(
        f"/organisations/{org.id}/application",
        data={**COMPLETE_APPLICATION_FORM, "submit_application": "Submit"},
    )
    assert response.status_code == 302
    assert reload_org(org.id).stage == "submitted"
    [mail] = outbox_to(trainer.email)
    assert "Team incomplete — still needed: Facilitator, Specialist." in mail.body
    client.post("/account/logout")
    login(client, trainer.email)
    screening = visible(client.get(f"/organisations/{org.id}/screening"))
    assert "Team incomplete — still needed: Facilitator, Specialist." in screening


def test_a_full_team_gets_no_warning(client, make_organisation, lead, trainer, team):
    org = make_organisation(lead=lead, members=team)
    login(client, lead.email)
    text = visible(client.get(f"/organisations/{org.id}/application"))
    assert "Your team is not complete yet" not in text
    clear_outbox()
    client.post(
        f"/organisations/{org.id}/application",
        data={**COMPLETE_APPLICATION_FORM, "submit_application": "Submit"},
    )
    [mail] = outbox_to(trainer.email)
    assert "Team incomplete" not in mail.body
