"""Who may see and change an organisation, checked on every organisation URL in the app.

The URLs are found by walking `app.url_map` for rules with `org_id`, so a new organisation
page is covered the day it is added. Object ids in the URL (`membership_id`,
`invitation_id`) are filled with real ids, and every refused request is checked to have
changed nothing.
"""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from app.core.policy import policy_for
from app.extensions import db
from app.organisations import policies
from app.organisations.models import Invitation, Membership
from tests.factories.organisations import (
    COMPLETE_APPLICATION_FORM,
    DETAILS_FORM,
    snapshot,
)
from tests.helpers import login

# What each organisation endpoint is for: "viewer" pages are for members, trainers, auditors
# and admins; "lead" actions for the organisation's hub lead; "trainer" for trainers only;
# "lead_or_staff" pages for the hub lead and staff (e.g. the team's training progress).
KNOWN = {
    "organisations.show_organisation": "viewer",
    "organisations.show_history": "viewer",
    "organisations.show_application": "viewer",
    "organisations.show_team": "viewer",
    "organisations.edit_organisation": "lead",
    "organisations.save_application": "lead",
    "organisations.withdraw_organisation": "lead",
    "organisations.invite_member": "lead",
    "organisations.change_member_roles": "lead",
    "organisations.remove_member": "lead",
    "organisations.resend_invitation": "lead",
    "organisations.cancel_invitation": "lead",
    "organisations.screen_application": "trainer",
    "organisations.decide_application": "trainer",
}
_BY_POLICY = {
    policies.ORG_VIEWER: "viewer",
    policies.ORG_HUB_LEAD: "lead",
    policies.ORG_TRAINER: "trainer",
    policies.ORG_LEAD_OR_STAFF: "lead_or_staff",
}

# Expected statuses on an existing organisation, by who asks, the endpoint's kind and the
# method. None: not decided here (an endpoint of a kind this file does not know, or a
# change this role may make, tested with that feature).
EXPECTED = {
    # a member who is not the hub lead, on their own organisation
    "member": {
        ("viewer", "GET"): {200},
        ("lead", "GET"): {403},
        ("lead", "POST"): {403},
        ("lead_or_staff", "GET"): {403},
        ("lead_or_staff", "POST"): {403},
        ("trainer", "GET"): {403},
        ("trainer", "POST"): {403},
    },
    "auditor": {
        ("viewer", "GET"): {200},
        ("lead_or_staff", "GET"): {200},
        ("lead", "GET"): {403},
        ("trainer", "GET"): {403},
        # read-only: every change refused, whatever the endpoint
        **{(kind, "POST"): {403, 404} for kind in ("viewer", "lead", "lead_or_staff", "trainer")},
        ("other", "POST"): {403, 404},
    },
    "trainer": {
        ("viewer", "GET"): {200},
        ("lead_or_staff", "GET"): {200},
        ("trainer", "GET"): {200},
        ("lead", "GET"): {403},
        ("lead", "POST"): {403},
    },
    "admin": {
        ("viewer", "GET"): {200},
        ("lead_or_staff", "GET"): {200},
        ("lead", "GET"): {403},
        ("lead", "POST"): {403},
        ("trainer", "GET"): {403},
        ("trainer", "POST"): {403},
    },
}
MEMBER_ONLY = ("viewer", "lead", "lead_or_staff")  # kinds whose object check hides the org


def org_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, kind) for every rule with an `org_id`; kind as in KNOWN, or
    "other" for an endpoint this file does not know (only the generic checks apply)."""
    found = []
    for rule in app.url_map.iter_rules():
        if "org_id" not in rule.arguments:
            continue
        kind = KNOWN.get(rule.endpoint) or _BY_POLICY.get(policy_for(app, rule.endpoint), "other")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, kind))
    return sorted(found)


def build(app, endpoint: str, org_id: int, ids: dict) -> str:
    """The URL of `endpoint` for `org_id`, other path arguments from `ids` (or placeholders)."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {"org_id": org_id}
    for name in rule.arguments - {"org_id"}:
        converter = rule._converters.get(name)
        placeholder = 1 if isinstance(converter, IntegerConverter) else "x"
        values[name] = ids.get(name, placeholder)
    with app.test_request_context():
        return url_for(endpoint, **values)


def payload(endpoint: str, ids: dict) -> dict:
    """A request that would change something if it were let through."""
    membership_id = ids.get("membership_id", 0)
    return {
        "organisations.edit_organisation": {**DETAILS_FORM, "name": "Taken Over"},
        "organisations.save_application": {
            **COMPLETE_APPLICATION_FORM,
            "theme": "Taken over",
            "submit_application": "Submit application",
        },
        "organisations.withdraw_organisation": {"reason": "Taken over"},
        "organisations.invite_member": {"email": "intruder@example.org", "roles": ["hub_lead"]},
        "organisations.change_member_roles": {
            f"m{membership_id}-roles": ["hub_lead", "specialist"]
        },
        "organisations.decide_application": {"decision": "decline", "message": "Taken over"},
    }.get(endpoint, {})


def request(client, method, url, endpoint, ids):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data=payload(endpoint, ids))


def ids_of(org) -> dict:
    """A non-lead membership and an open invitation of `org`."""
    db.session.expire_all()
    member = db.session.scalars(
        select(Membership).where(Membership.organisation_id == org.id).order_by(Membership.id)
    ).all()[-1]
    invitation = db.session.scalar(select(Invitation).where(Invitation.organisation_id == org.id))
    # Readiness pages name a checklist item and an agreement kind from the shipped template.
    return {
        "membership_id": member.id,
        "invitation_id": invitation.id,
        "item_key": "sponsor-letter",
        "kind": "ip_terms",
    }


@pytest.fixture
def world(app, make_organisation, make_user):
    """Two organisations, each with a hub lead, a coordinator and an open invitation."""
    from app.organisations import services

    people = {name: make_user(name=name.title()) for name in ("lead_a", "coord_a", "lead_b")}
    people["coord_b"] = make_user(name="Coord B")
    org_a = make_organisation(
        name="Alder Hospice", lead=people["lead_a"], members={"coordinator": people["coord_a"]}
    )
    org_b = make_organisation(
        name="Birch Hospice", lead=people["lead_b"], members={"coordinator": people["coord_b"]}
    )
    with app.test_request_context():
        for org, lead in ((org_a, people["lead_a"]), (org_b, people["lead_b"])):
            services.invite_member(
                org, by=lead, email=f"invitee-{org.id}@example.org", roles=["specialist"]
            )
        db.session.commit()
    return {"a": org_a, "b": org_b, "ids_a": ids_of(org_a), "ids_b": ids_of(org_b), **people}


def signed_in(app, user):
    browser = app.test_client()
    assert login(browser, user.email).status_code == 302
    return browser


def _check(results, failures, label, response, expected, before):
    results.append(label)
    if response.status_code not in expected:
        failures.append(f"{label}: {response.status_code}, expected {sorted(expected)}")
    after = snapshot()
    if after != before:
        failures.append(f"{label}: changed data")
    return after


# --- the walk finds every page ------------------------------------------------------------


def test_the_walk_finds_every_organisation_endpoint(app):
    endpoints = {endpoint for endpoint, _, _ in org_routes(app)}
    assert set(KNOWN) <= endpoints
    methods = {(e, m) for e, m, _ in org_routes(app)}
    assert ("organisations.edit_organisation", "GET") in methods
    assert ("organisations.edit_organisation", "POST") in methods
    assert ("organisations.remove_member", "POST") in methods


def test_every_organisation_endpoint_has_an_organisation_policy(app):
    """An organisation URL whose policy does not check the organisation would leak."""
    for endpoint, _method, _kind in org_routes(app):
        policy = policy_for(app, endpoint)
        assert policy is not None and policy.object_check is not None, endpoint


# --- members of another organisation, and people in none -------------------------------


@pytest.mark.parametrize("who", ["lead_a", "coord_a"])
def test_members_cannot_reach_another_organisation(app, world, who):
    browser = signed_in(app, world[who])
    before = snapshot()
    failures, results = [], []
    for endpoint, method, kind in org_routes(app):
        theirs = build(app, endpoint, world["b"].id, world["ids_b"])
        missing = build(app, endpoint, 987654, world["ids_b"])
        response = request(browser, method, theirs, endpoint, world["ids_b"])
        # Never confirm that the organisation exists: exactly what a made-up id gets.
        control = request(browser, method, missing, endpoint, world["ids_b"])
        expected = {404} if kind in MEMBER_ONLY else {control.status_code}
        before = _check(results, failures, f"{method} {theirs}", response, expected, before)
        if control.status_code not in (403, 404):
            failures.append(f"{method} {missing}: {control.status_code} for a made-up id")
        if response.status_code != control.status_code:
            failures.append(f"{method} {theirs}: differs from a made-up id")
    assert results and failures == []


def test_a_member_reaches_their_own_pages(app, world):
    """The positive control for the walk: the same URLs for one's own organisation work."""
    browser = signed_in(app, world["lead_a"])
    for endpoint, method, kind in org_routes(app):
        if method != "GET" or kind not in MEMBER_ONLY:
            continue
        url = build(app, endpoint, world["a"].id, world["ids_a"])
        assert browser.get(url).status_code == 200, url


def test_people_in_no_organisation_get_not_found(app, world, make_user):
    browser = signed_in(app, make_user(roles=("applicant",)))
    before = snapshot()
    failures, results = [], []
    for org_key, ids_key in (("a", "ids_a"), ("b", "ids_b")):
        for endpoint, method, kind in org_routes(app):
            url = build(app, endpoint, world[org_key].id, world[ids_key])
            response = request(browser, method, url, endpoint, world[ids_key])
            expected = {404} if kind in MEMBER_ONLY else {403, 404}
            before = _check(results, failures, f"{method} {url}", response, expected, before)
    assert results and failures == []


def test_anonymous_visitors_are_sent_to_log_in(app, world):
    browser = app.test_client()
    before = snapshot()
    failures, results = [], []
    for endpoint, method, _kind in org_routes(app):
        url = build(app, endpoint, world["a"].id, world["ids_a"])
        response = request(browser, method, url, endpoint, world["ids_a"])
        before = _check(results, failures, f"{method} {url}", response, {302}, before)
        if not response.headers.get("Location", "").startswith("/account/login"):
            failures.append(f"{method} {url}: not sent to the login page")
    assert results and failures == []


# --- staff and members who are not the lead ---------------------------------------------


@pytest.fixture
def more_stages(make_organisation, make_user):
    """Organisations in other stages, each with a coordinator."""
    return [
        make_organisation(stage=stage, members={"coordinator": make_user()})
        for stage in ("submitted", "in_training", "rejected", "withdrawn")
    ]


def last_member(org) -> dict:
    db.session.expire_all()
    member = db.session.scalars(
        select(Membership).where(Membership.organisation_id == org.id).order_by(Membership.id)
    ).all()[-1]
    return {"membership_id": member.id}


def walk_as(app, browser, role, orgs, ids_for):
    before = snapshot()
    failures, results = [], []
    for org in orgs:
        ids = ids_for(org)
        for endpoint, method, kind in org_routes(app):
            expected = EXPECTED[role].get((kind, method))
            if expected is None:
                continue
            url = build(app, endpoint, org.id, ids)
            response = request(browser, method, url, endpoint, ids)
            before = _check(results, failures, f"{method} {url}", response, expected, before)
    return results, failures


@pytest.mark.parametrize("role", ["auditor", "trainer", "admin"])
def test_staff_read_any_organisation_and_change_nothing_that_is_not_theirs(
    app, world, make_user, more_stages, role
):
    browser = signed_in(app, make_user(roles=(role,)))
    orgs = (world["a"], world["b"], *more_stages)
    results, failures = walk_as(
        app, browser, role, orgs, lambda org: {**world["ids_a"], **last_member(org)}
    )
    assert results and failures == []


def test_auditors_post_nothing_anywhere(app, world, make_user, more_stages):
    """Including endpoints this file does not know: auditors are read-only."""
    browser = signed_in(app, make_user(roles=("auditor",)))
    before = snapshot()
    for org in (world["a"], *more_stages):
        for endpoint, method, _kind in org_routes(app):
            if method == "GET":
                continue
            url = build(app, endpoint, org.id, world["ids_a"])
            assert request(browser, method, url, endpoint, world["ids_a"]).status_code in (
                403,
                404,
            ), url
    assert snapshot() == before


def test_members_who_are_not_the_lead_may_look_but_not_change(app, world):
    browser = signed_in(app, world["coord_a"])
    results, failures = walk_as(app, browser, "member", [world["a"]], lambda org: world["ids_a"])
    assert results and failures == []


def test_staff_get_not_found_for_organisations_that_do_not_exist(app, world, make_user):
    for role in ("trainer", "auditor", "admin"):
        browser = signed_in(app, make_user(roles=(role,)))
        for endpoint, method, kind in org_routes(app):
            url = build(app, endpoint, 987654, world["ids_a"])
            response = request(browser, method, url, endpoint, world["ids_a"])
            allowed = {404} if kind in MEMBER_ONLY or role == "trainer" else {403, 404}
            assert response.status_code in allowed, (role, method, url)


# --- another organisation's ids under your own organisation ----------------------------


def test_another_organisations_ids_under_your_own_organisation_are_not_found(app, world):
    browser = signed_in(app, world["lead_a"])
    before = snapshot()
    failures, results = [], []
    for endpoint, method, _kind in org_routes(app):
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        foreign = rule.arguments & {"membership_id", "invitation_id"}
        if not foreign:
            continue
        # Your own org_id, with the other organisation's member or invitation.
        url = build(app, endpoint, world["a"].id, world["ids_b"])
        response = request(browser, method, url, endpoint, world["ids_b"])
        before = _check(results, failures, f"{method} {url}", response, {404}, before)
        # And the same URL with your own ids is let through (the positive control).
        own = build(app, endpoint, world["a"].id, world["ids_a"])
        assert own != url
    assert len(results) >= 4 and failures == []


def test_own_ids_with_another_organisations_id_in_the_path_are_not_found(app, world):
    """The mirror image: the other organisation's org_id with your own member's id."""
    browser = signed_in(app, world["lead_a"])
    before = snapshot()
    failures, results = [], []
    for endpoint, method, _kind in org_routes(app):
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        if not rule.arguments & {"membership_id", "invitation_id"}:
            continue
        url = build(app, endpoint, world["b"].id, world["ids_a"])
        response = request(browser, method, url, endpoint, world["ids_a"])
        before = _check(results, failures, f"{method} {url}", response, {404}, before)
    assert results and failures == []


def test_invitation_pages_do_not_depend_on_being_a_member(app, world):
    """The invitation link is by token; a guessed token shows nothing about anyone."""
    browser = signed_in(app, world["lead_b"])
    response = browser.get("/organisations/invitations/guessed-token")
    assert response.status_code == 400
    assert b"Alder Hospice" not in response.data and b"Birch Hospice" not in response.data
