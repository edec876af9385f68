"""Notifications: in the portal for everyone concerned, by email as each person chose (at
once, in one daily digest, or not), with unsubscribe links that work signed out."""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from app.core import jobs
from app.core.db import utcnow
from app.extensions import db
from app.notifications import services
from app.notifications.models import Notification
from app.organisations import services as org_services
from tests.factories.notifications import tell_at_once
from tests.factories.organisations import clear_outbox, outbox_to
from tests.helpers import events, login, page_text


def notifications_of(user, kind: str | None = None) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query.order_by(Notification.id)))


def digests():
    """The daily digest job, as the scheduler runs it."""
    with jobs.job_context():
        return services.send_digests()


def accepted(make_organisation, make_user):
    lead, coordinator = make_user(), make_user()
    org = make_organisation(stage="submitted", lead=lead, members={"coordinator": coordinator})
    trainer = make_user(roles=("trainer",))
    clear_outbox()
    return org, lead, coordinator, trainer


def test_the_whole_team_hears_of_acceptance_in_the_portal_and_by_email(
    app, make_organisation, make_user
):
    org, lead, coordinator, trainer = accepted(make_organisation, make_user)
    with app.test_request_context():
        org_services.accept_application(org, by=trainer, note="Welcome!")
        db.session.commit()
    for person in (lead, coordinator):
        [note] = notifications_of(person, "application_accepted")
        assert note.title == f"{org.name} is accepted into the programme"
        assert note.link.endswith(f"/organisations/{org.id}") and note.read_at is None
        [mail] = outbox_to(person.email)
        assert mail.to == [person.email]
        assert "Welcome!" in mail.body
        assert "Stop emails like this: http" in mail.body  # unsubscribe, in the text part
        html = mail.alternatives[0][0]
        assert "/notifications/unsubscribe/" in html
    assert notifications_of(trainer) == []


def test_the_header_counts_unread_notifications_and_the_list_marks_them_read(
    app, client, make_organisation, make_user
):
    org, lead, coordinator, trainer = accepted(make_organisation, make_user)
    for earlier in notifications_of(lead):  # the coordinator joining, read already
        earlier.read_at = utcnow()
    db.session.commit()
    with app.test_request_context():
        org_services.accept_application(org, by=trainer)
        db.session.commit()
    login(client, lead.email)
    home = client.get("/notifications").get_data(as_text=True)
    assert re.search(r"Notifications\s*<span[^>]*>1<span class=\"visually-hidden\"> unread", home)
    assert f"{org.name} is accepted into the programme" in page_text(client.get("/notifications"))

    [note] = notifications_of(lead, "application_accepted")
    assert client.post(f"/notifications/{note.id}/read").status_code == 302
    assert notifications_of(lead)[0].read_at is not None
    assert "unread" not in client.get("/notifications").get_data(as_text=True)


def test_nobody_marks_another_persons_notification(app, client, make_organisation, make_user):
    org, lead, coordinator, trainer = accepted(make_organisation, make_user)
    with app.test_request_context():
        org_services.accept_application(org, by=trainer)
        db.session.commit()
    [theirs] = notifications_of(coordinator, "application_accepted")
    login(client, lead.email)
    client.post(f"/notifications/{theirs.id}/read")
    assert notifications_of(coordinator, "application_accepted")[0].read_at is None
    unread = [n for n in notifications_of(lead) if n.read_at is None]
    response = client.post("/notifications/read", follow_redirects=True)
    marked = f"{len(unread)} notification{'' if len(unread) == 1 else 's'} marked as read."
    assert marked in page_text(response)
    assert notifications_of(coordinator, "application_accepted")[0].read_at is None
    assert all(n.read_at is not None for n in notifications_of(lead))


def test_a_lead_hears_when_an_invitee_joins(app, make_organisation, make_user):
    lead = make_user()
    org = make_organisation(stage="in_training", lead=lead)
    newcomer = make_user(email="newcomer@example.org", name="Nia Newcomer")
    with app.test_request_context():
        invitation = org_services.invite_member(
            org, by=lead, email="someone-new@example.org", roles=["specialist"]
        ).invitation
        db.session.commit()
        token = re.search(r"/invitations/([^\s]+)", outbox_to("someone-new@example.org")[0].body)
        newcomer.email = "someone-new@example.org"
        db.session.commit()
        clear_outbox()
        org_services.accept_invitation(token.group(1), user=newcomer)
        db.session.commit()
    assert invitation.id
    [note] = notifications_of(lead, "team_member_joined")
    assert note.title == f"Nia Newcomer joined {org.name}'s hub team"
    [mail] = outbox_to(lead.email)
    assert "accepted your invitation" in mail.body and "Specialist" in mail.body


def review_items(app, lead, n=5):
    """`n` review notifications for `lead`, as trainers' decisions raise them."""
    org = SimpleNamespace(name="Heron Vale Hospice", id=1)
    with app.test_request_context():
        for i in range(n):
            services.notify(
                [lead],
                template="checklist_reviewed",
                subject=f"Item {i}: accepted",
                link=f"http://localhost/organisations/1/checklist/item-{i}",
                org=org,
                item=SimpleNamespace(title=f"Item {i}"),
                answer=None,
                comment="",
            )
        db.session.commit()


def at(moment: str):
    return time_machine.travel(datetime.fromisoformat(moment), tick=False)


def test_reviews_wait_for_one_daily_digest_sent_once(app, make_user):
    lead = make_user()
    with at("2026-12-03T05:00:00+00:00"):
        review_items(app, lead)
        assert outbox_to(lead.email) == []  # the digest is the default for reviews
        assert all(n.digest_pending for n in notifications_of(lead))
        with app.app_context():
            assert digests() == 0  # before the digest hour (07:00 UK time)
    with at("2026-12-03T07:10:00+00:00"), app.app_context():
        assert digests() == 1
        assert digests() == 0  # a re-run sends nothing twice
    [digest] = outbox_to(lead.email)
    assert digest.subject.endswith("Your daily summary: 5 updates")
    for i in range(5):
        assert f"Item {i}: accepted" in digest.body
        assert f"/organisations/1/checklist/item-{i}" in digest.body
    assert not any(n.digest_pending for n in notifications_of(lead))

    # The next day's items go in the next day's digest.
    with at("2026-12-03T15:00:00+00:00"):
        review_items(app, lead, n=1)
        with app.app_context():
            assert digests() == 0  # today's digest has gone
    with at("2026-12-04T08:00:00+00:00"), app.app_context():
        assert digests() == 1
    assert len(outbox_to(lead.email)) == 2


def test_a_person_who_chose_no_email_is_told_in_the_portal_only(app, client, make_user):
    lead = make_user()
    login(client, lead.email)
    form = {g: "immediate" for g in ("decisions", "team", "immersion", "certificates")}
    form |= {"reviews": "off", "trainer_work": "immediate"}
    response = client.post("/notifications/preferences", data=form)
    assert response.status_code == 302
    assert "Your email choices are saved." in page_text(client.get(response.headers["Location"]))
    [event] = events("notifications.preferences_changed")
    assert event.details["reviews"] == "off" and "decisions" not in event.details
    review_items(app, lead, n=2)
    assert outbox_to(lead.email) == []
    assert [n.digest_pending for n in notifications_of(lead)] == [False, False]


def test_an_invalid_choice_is_refused_with_a_message_and_changes_nothing(app, client, make_user):
    lead = make_user()
    login(client, lead.email)
    response = client.post("/notifications/preferences", data={"reviews": "sometimes"})
    assert response.status_code == 400
    assert "Not a valid choice" in page_text(response)
    assert services.preferences([lead.id])[lead.id]["reviews"] == "digest"


def test_the_unsubscribe_link_works_signed_out_and_only_for_its_group(app, client, make_user):
    lead = make_user()
    tell_at_once(lead)
    review_items(app, lead, n=1)
    [mail] = outbox_to(lead.email)
    link = re.search(r"Stop emails like this: (\S+)", mail.body).group(1)
    path = link.replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200
    assert "Stop emails about “Reviews of your evidence" in page_text(page)
    assert lead.email not in page_text(page)  # the link does not reveal whose it is
    done = client.post(path)
    assert "you will no longer get emails" in page_text(done)
    chosen = services.preferences([lead.id])[lead.id]
    assert chosen["reviews"] == "off" and chosen["decisions"] == "immediate"
    # A forged or altered token is refused, changing nothing.
    assert client.get(path[:-3] + "abc").status_code == 404
    assert client.post("/notifications/unsubscribe/not-a-token").status_code == 404


def test_switching_away_from_the_digest_keeps_waiting_items_in_the_portal_only(
    app, client, make_user
):
    lead = make_user()
    review_items(app, lead, n=3)
    tell_at_once(lead)
    assert not any(n.digest_pending for n in notifications_of(lead))
    with at("2026-12-04T08:00:00+00:00"), app.app_context():
        assert digests() == 0


@pytest.mark.parametrize("count", [1, 12])
def test_the_header_count_costs_one_query_whatever_the_number(app, client, make_user, count):
    from tests.querycount import count_queries

    lead = make_user()
    review_items(app, lead, n=count)
    login(client, lead.email)
    client.get("/notifications/preferences")
    with count_queries(db.engine) as statements:
        client.get("/notifications/preferences")
    counted = [s for s in statements if "FROM notification " in s and "count(" in s.lower()]
    assert len(counted) == 1
    assert db.session.scalar(select(func.count(Notification.id))) == count


@pytest.mark.parametrize("page", ["99999999999999999999", "-3", "abc", "0"])
def test_any_page_number_answers(client, make_user, page):
    login(client, make_user().email)
    assert client.get(f"/notifications?page={page}").status_code == 200


def test_notification_mail_offers_one_click_unsubscribe_and_names_its_account(
    app, client, make_user
):
    """RFC 8058: mail clients show an "Unsubscribe" button from the headers; the outbox row
    names the account it was written for."""
    from app.core.outbox import OutboxMessage

    lead = make_user()
    tell_at_once(lead)
    review_items(app, lead, n=1)
    [mail] = outbox_to(lead.email)
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"Stop emails like this: (\S+)", mail.body).group(1)
    assert mail.extra_headers["List-Unsubscribe"] == f"<{link}>"
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == lead.email))
    assert row.user_id == lead.id


class TestOneClickUnsubscribe:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_mail_clients_post_unsubscribes_without_a_form_token(self, app, client, make_user):
        lead = make_user()
        tell_at_once(lead)
        review_items(app, lead, n=1)
        [mail] = outbox_to(lead.email)
        path = mail.extra_headers["List-Unsubscribe"].strip("<>").replace("http://localhost", "")
        done = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200
        assert "you will no longer get emails" in page_text(done)
        assert services.preferences([lead.id])[lead.id]["reviews"] == "off"

    def test_the_page_s_own_button_still_needs_its_form_token(self, app, client, make_user):
        lead = make_user()
        tell_at_once(lead)
        review_items(app, lead, n=1)
        [mail] = outbox_to(lead.email)
        path = mail.extra_headers["List-Unsubscribe"].strip("<>").replace("http://localhost", "")
        refused = client.post(path, data={"submit": "Stop these emails"})
        assert "you will no longer get emails" not in page_text(refused)
        assert services.preferences([lead.id])[lead.id]["reviews"] != "off"
        assert (
            client.post(path[:-3] + "abc", data={"List-Unsubscribe": "One-Click"}).status_code
            == 404
        )
