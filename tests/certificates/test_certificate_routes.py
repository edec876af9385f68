"""Assessment, certificate and public verification pages through the client."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.assessment import services as assessment_services
from app.certificates import services
from app.certificates.models import Certificate
from app.core import clock
from app.extensions import db
from tests.factories.certificates import approved_hub, flip_byte, pdf_bytes_of, reload, write
from tests.factories.immersion import book, held_first, make_cohort, record, sessions_of
from tests.factories.organisations import count, join_team, reload_org
from tests.factories.readiness import complete_training, form_file
from tests.helpers import events, login, page_text
from tests.querycount import count_queries


@pytest.fixture
def hub(app, make_user, make_organisation):
    return approved_hub(app, make_user, make_organisation, name="Heron Vale Hospice")


def _assessment_form(recommendation="approve", score="3", **extra):
    data = {"recommendation": recommendation, "overall_notes": "Ready.", "changes_list": ""}
    for key, _t, _g in assessment_services.criteria():
        data[assessment_services.field_name("score", key)] = score
        data[assessment_services.field_name("comment", key)] = ""
    data.update(extra)
    return data


# --- assessment and decision --------------------------------------------------------------


def test_a_trainer_writes_an_assessment_from_the_organisation_page(
    app, client, make_organisation, make_user
):
    org = make_organisation(stage="readiness_review")
    trainer = make_user(roles=("trainer",))
    login(client, trainer.email)
    page = client.get(f"/organisations/{org.id}/assessment")
    assert page.status_code == 200 and "Write the readiness assessment" in page_text(page)
    missing = _assessment_form()
    missing[assessment_services.field_name("score", "team-roles")] = ""
    refused = client.post(f"/organisations/{org.id}/assessment", data=missing)
    assert refused.status_code == 400
    assert "Score “Team and roles” from 1 to 4." in page_text(refused)
    assert count(assessment_services.Assessment) == 0
    saved = client.post(f"/organisations/{org.id}/assessment", data=_assessment_form())
    assert saved.status_code == 302 and "/assessments/" in saved.headers["Location"]


def test_the_author_is_refused_and_a_second_trainer_approves(
    app, client, make_organisation, make_user
):
    org = make_organisation(stage="readiness_review")
    author = make_user(roles=("trainer",))
    second = make_user(roles=("trainer",))
    with app.test_request_context():
        assessment = write(org, author)
    login(client, author.email)
    page = client.get(f"/assessments/{assessment.id}")
    assert "a second trainer must make the decision" in page_text(page)
    refused = client.post(f"/assessments/{assessment.id}/decision", data={"decision": "approve"})
    assert refused.status_code == 400 and "four-eyes" in page_text(refused)
    assert reload_org(org.id).stage == "readiness_review"
    client.post("/account/logout")
    login(client, second.email)
    approved = client.post(f"/assessments/{assessment.id}/decision", data={"decision": "approve"})
    assert approved.status_code == 302
    assert approved.headers["Location"].endswith(f"/organisations/{org.id}/certificates")
    cert = db.session.scalar(db.select(Certificate))
    listing = client.get(f"/organisations/{org.id}/certificates")
    assert cert.serial in page_text(listing)
    again = client.post(f"/assessments/{assessment.id}/decision", data={"decision": "approve"})
    assert again.status_code == 400 and "already decided" in page_text(again)
    assert count(Certificate) == 1


def test_the_queue_lists_what_waits(app, client, make_organisation, make_user):
    waiting = make_organisation(stage="readiness_review", name="Waiting Hospice")
    decided = make_organisation(stage="readiness_review", name="Decide Me Hospice")
    author = make_user(roles=("trainer",))
    with app.test_request_context():
        write(decided, author)
    login(client, author.email)
    text = page_text(client.get("/assessments"))
    assert waiting.name in text and decided.name in text


# --- downloads ----------------------------------------------------------------------------


def test_the_hub_lead_downloads_the_stored_pdf(client, hub):
    org, cert, lead, *_ = hub
    login(client, lead.email)
    response = client.get(f"/certificates/{cert.id}/download")
    assert response.status_code == 200
    assert response.data == pdf_bytes_of(cert)
    assert response.headers["Content-Type"] == "application/pdf"
    assert f"filename={cert.serial}.pdf" in response.headers["Content-Disposition"]


def test_an_ordinary_member_or_stranger_cannot_download_the_hub_certificate(
    app, client, hub, make_user
):

    org, cert, lead, *_ = hub
    member = make_user()
    with app.test_request_context():
        join_team(org, lead, member, ["coordinator"])
        db.session.commit()
    login(client, member.email)
    assert client.get(f"/certificates/{cert.id}/download").status_code == 404
    client.post("/account/logout")
    login(client, make_user().email)
    assert client.get(f"/certificates/{cert.id}/download").status_code == 404


def test_an_auditor_download_is_an_audit_event(client, hub, make_user):
    _org, cert, *_ = hub
    auditor = make_user(roles=("auditor",))
    login(client, auditor.email)
    assert client.get(f"/certificates/{cert.id}/download").status_code == 200
    (event,) = events("certificate.downloaded")
    assert event.details["serial"] == cert.serial


# --- lifecycle through the pages -----------------------------------------------------------


def test_revoking_without_a_reason_is_refused_with_a_message(client, hub, make_user):
    org, cert, *_ = hub
    admin = make_user(roles=("admin",))
    login(client, admin.email)
    refused = client.post(f"/certificates/{cert.id}/revoke", data={f"revoke-{cert.id}-reason": ""})
    assert refused.status_code == 400
    assert "Give the reason for revoking." in page_text(refused)
    assert services.status_of(reload(cert.id)) == "valid"
    done = client.post(
        f"/certificates/{cert.id}/revoke", data={f"revoke-{cert.id}-reason": "Hub closed"}
    )
    assert done.status_code == 302
    page = page_text(client.get(f"/verify/{cert.code}"))
    assert "Revoked" in page and "Hub closed" in page


def test_a_trainer_without_the_lead_role_cannot_revoke(client, hub):
    _org, cert, _lead, author, _b = hub
    login(client, author.email)
    response = client.post(
        f"/certificates/{cert.id}/revoke", data={f"revoke-{cert.id}-reason": "x"}
    )
    assert response.status_code == 403


def test_renewing_without_confirmation_is_refused(client, hub, make_user):
    _org, cert, *_ = hub
    admin = make_user(roles=("admin",))
    login(client, admin.email)
    refused = client.post(f"/certificates/{cert.id}/renew", data={f"renew-{cert.id}-note": ""})
    assert refused.status_code == 400 and "Confirm that the hub is still active" in page_text(
        refused
    )
    assert count(Certificate) == 1


def test_reissue_shows_the_old_one_as_superseded_with_a_link(client, hub, make_user):
    _org, cert, *_ = hub
    admin = make_user(roles=("admin",))
    login(client, admin.email)
    client.post(f"/certificates/{cert.id}/reissue", data={f"reissue-{cert.id}-reason": "Renamed"})
    new = db.session.scalar(db.select(Certificate).where(Certificate.id != cert.id))
    page = page_text(client.get(f"/verify/{cert.code}"))
    assert "Superseded" in page and new.serial in page and f"/verify/{new.code}" in page


# --- launch -------------------------------------------------------------------------------


def test_the_hub_lead_records_the_launch(client, hub):
    org, _cert, lead, *_ = hub
    login(client, lead.email)
    future = (clock.today() + timedelta(days=3)).isoformat()
    refused = client.post(f"/organisations/{org.id}/launch", data={"first_session_on": future})
    assert refused.status_code == 400 and "in the future" in page_text(refused)
    before = (clock.today() - timedelta(days=400)).isoformat()
    refused = client.post(f"/organisations/{org.id}/launch", data={"first_session_on": before})
    assert refused.status_code == 400 and "on or after the approval date" in page_text(refused)
    assert reload_org(org.id).stage == "approved"
    done = client.post(
        f"/organisations/{org.id}/launch", data={"first_session_on": clock.today().isoformat()}
    )
    assert done.status_code == 302
    assert reload_org(org.id).stage == "launched"
    home = page_text(client.get(f"/organisations/{org.id}"))
    assert "runs its own ECHO network" in home


# --- public verification ------------------------------------------------------------------


def test_the_verify_page_shows_a_valid_certificate_without_login(client, hub):
    _org, cert, *_ = hub
    response = client.get(f"/verify/{cert.code}")
    assert response.status_code == 200
    text = page_text(response)
    assert "Valid" in text and "Heron Vale Hospice" in text and cert.serial in text


def test_the_verify_page_and_json_use_at_most_two_queries(app, client, hub):
    _org, cert, *_ = hub
    for url in (f"/verify/{cert.code}", f"/verify/{cert.code}.json"):
        with count_queries(db.engine) as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= 2, statements


def test_json_by_suffix_and_by_content_negotiation(client, hub):
    _org, cert, *_ = hub
    by_suffix = client.get(f"/verify/{cert.code}.json").get_json()
    by_accept = client.get(
        f"/verify/{cert.code}", headers={"Accept": "application/json"}
    ).get_json()
    assert by_suffix == by_accept
    assert by_suffix["status"] == "valid" and by_suffix["serial"] == cert.serial
    assert by_suffix["organisation"] == "Heron Vale Hospice"
    assert by_suffix["approved_by"] == ["Ada Assessor", "Ben Approver"]


@pytest.mark.parametrize("code", ["A" * 32, "short", "x" * 65, "bad%20code%3Cscript%3E"])
def test_unknown_or_malformed_codes_are_404_and_reveal_nothing(client, hub, code):
    page = client.get(f"/verify/{code}")
    assert page.status_code == 404 and "No certificate has this code" in page_text(page)
    data = client.get(f"/verify/{code}.json")
    assert data.status_code == 404
    body = data.get_json()
    assert {k: body[k] for k in ("status", "message")} == {
        "status": "unknown",
        "message": "No certificate has this verification code.",
    }
    assert set(body) == {"status", "message", "version", "issuer"}


def test_the_code_form_explains_a_malformed_code(client, hub):
    _org, cert, *_ = hub
    empty = client.get("/verify?code=")
    assert empty.status_code == 400 and "Type the verification code" in page_text(empty)
    long = client.get("/verify", query_string={"code": "x" * 300})
    assert long.status_code == 400 and "longer than any verification code" in page_text(long)
    odd = client.get("/verify", query_string={"code": "<b>not a code</b> at all"})
    assert odd.status_code == 400 and "only letters, digits" in page_text(odd)
    assert "<b>not a code" not in odd.get_data(as_text=True)
    good = client.get("/verify", query_string={"code": cert.code})
    assert good.status_code == 302 and good.headers["Location"].endswith(f"/verify/{cert.code}")
    pasted = client.get("/verify", query_string={"code": services.verify_url(cert.code)})
    assert pasted.headers["Location"].endswith(f"/verify/{cert.code}")


@pytest.mark.parametrize("app_config", [{"VERIFY_LIMIT_PER_IP": "3 per minute"}])
def test_code_guessing_is_rate_limited(client, hub):
    statuses = [client.get(f"/verify/{'A' * 32}").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_checking_an_uploaded_pdf(client, hub):
    _org, cert, *_ = hub
    data = pdf_bytes_of(cert)
    valid = client.post("/verify/pdf", data={"file": form_file(data, "c.pdf")})
    assert valid.status_code == 200 and "pdf-result-valid" in valid.get_data(as_text=True)
    tampered = client.post("/verify/pdf", data={"file": form_file(flip_byte(data), "c.pdf")})
    assert "pdf-result-tampered" in tampered.get_data(as_text=True)
    not_pdf = client.post("/verify/pdf", data={"file": form_file(b"hello", "c.pdf")})
    assert "pdf-result-not_pdf" in not_pdf.get_data(as_text=True)
    none = client.post("/verify/pdf", data={})
    assert none.status_code == 400 and "Choose the certificate PDF" in page_text(none)


# --- trainee certificates -----------------------------------------------------------------


def test_a_member_gets_a_certificate_of_completion_once_eligible(app, client, make_team, make_user):
    team = make_team()
    login(client, team.coordinator.email)
    page = page_text(client.get(f"/organisations/{team.org.id}/certificates"))
    assert "Modules still to complete" in page
    refused = client.post(f"/organisations/{team.org.id}/my-certificate", follow_redirects=True)
    assert "Not yet" in page_text(refused)
    assert count(Certificate) == 0

    trainer = make_user(roles=("trainer",))
    with app.test_request_context():
        complete_training(team.coordinator)
        cohort = make_cohort(trainer, first=held_first())
    book(app, team, cohort)
    with app.test_request_context():
        for session in sessions_of(cohort):
            record(session, trainer, team.coordinator)
    issued = client.post(f"/organisations/{team.org.id}/my-certificate", follow_redirects=True)
    assert "is ready to download" in page_text(issued)
    cert = db.session.scalar(db.select(Certificate))
    assert cert.kind == "trainee" and cert.serial.startswith("TRN-")
    assert cert.person_name == team.coordinator.name
    assert client.get(f"/certificates/{cert.id}/download").status_code == 200
    again = client.post(f"/organisations/{team.org.id}/my-certificate", follow_redirects=True)
    assert "You already have certificate" in page_text(again)
    assert count(Certificate) == 1
    client.post("/account/logout")
    login(client, team.specialist.email)
    assert client.get(f"/certificates/{cert.id}/download").status_code == 404
