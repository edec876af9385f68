"""A lesson marked read records how long its page was open; the team matrix shows it."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.training import services
from app.training.models import LessonRead
from tests.helpers import page_text


def basics():
    return services.curriculum().get("basics")


def _opened(client, lesson="welcome") -> str:
    page = page_text(client.get(f"/training/modules/basics/lessons/{lesson}"))
    return re.search(r'name="opened" value="([^"]+)"', page).group(1)


def _read(lesson="welcome") -> LessonRead:
    db.session.expire_all()
    return db.session.scalar(select(LessonRead).where(LessonRead.lesson_slug == lesson))


def test_the_time_from_serving_the_page_to_mark_as_read_is_recorded(client, auth, team):
    coordinator = team[2]
    auth.login(coordinator.email)
    start = clock.now()
    with time_machine.travel(start, tick=False):
        token = _opened(client)
    with time_machine.travel(start + timedelta(minutes=7, seconds=5), tick=False):
        client.post("/training/modules/basics/lessons/welcome/read", data={"opened": token})
    assert _read().seconds_open == 425
    # The same page posted again adds nothing: that visit was counted.
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        client.post("/training/modules/basics/lessons/welcome/read", data={"opened": token})
    assert _read().seconds_open == 425
    # A second visit adds its own time, capped at an hour (the service, as a signed-in
    # session would have timed out meanwhile).
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        token = _opened(client)
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        services.mark_read(coordinator, basics(), "welcome", token)
    assert _read().seconds_open == 425 + 3600


def test_a_missing_forged_or_foreign_token_records_the_read_without_a_time(
    client, auth, team, make_user
):
    _org, lead, coordinator = team
    auth.login(lead.email)
    leads_token = _opened(client)
    other_lesson = _opened(client, "principles")
    auth.logout()
    auth.login(coordinator.email)
    for token in (None, "", "forged.token", leads_token, other_lesson, "x" * 2000):
        data = {} if token is None else {"opened": token}
        response = client.post("/training/modules/basics/lessons/welcome/read", data=data)
        assert response.status_code == 302
    read = _read()
    assert read.user_id == coordinator.id and read.seconds_open is None


def test_progress_and_the_team_matrix_show_time_spent_reading(client, auth, team):
    org, lead, coordinator = team
    m = basics()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        welcome = services.lesson_opened_token(coordinator, m, "welcome")
        principles = services.lesson_opened_token(coordinator, m, "principles")
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        services.mark_read(coordinator, m, "welcome", welcome)
    with time_machine.travel(start + timedelta(minutes=9, seconds=30), tick=False):
        services.mark_read(coordinator, m, "principles", principles)
    db.session.commit()
    progress = services.progress_of(coordinator)[0]
    assert progress.seconds_reading == 4 * 60 + 9 * 60 + 30
    assert progress.minutes_reading == 14
    assert services.progress_of(lead)[0].minutes_reading is None

    auth.login(lead.email)
    matrix = page_text(client.get(f"/organisations/{org.id}/training"))

    def row(name):
        return matrix.split(f'<th scope="row">{name}<br>', 1)[1].split("</tr>", 1)[0]

    assert "14 min reading" in row(coordinator.name)
    lead_row = row(lead.name)
    assert "min reading" not in lead_row


def test_the_progress_csv_has_minutes_reading(client, auth, team, make_user):
    coordinator = team[2]
    m = basics()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        token = services.lesson_opened_token(coordinator, m, "welcome")
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        services.mark_read(coordinator, m, "welcome", token)
    db.session.commit()
    auth.login(make_user(roles=("trainer",)).email)
    lines = client.get("/training/overview.csv").get_data(as_text=True).splitlines()
    assert lines[0].endswith(",minutes reading")
    assert any(
        coordinator.email in line and ",basics," in line and line.endswith(",2") for line in lines
    )
