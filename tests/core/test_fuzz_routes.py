"""The portal's own fuzzing suite (issue 18): every route, with ids out of every range and
hostile path segments, and every form, with hostile values in its fields, as a visitor, a
hub lead and a member of staff. Nothing answers 5xx, and a refused request changes
nothing in the database (only the audit log may record the refusal).

Hypothesis draws the routes and values; the world (an organisation with a full team, a
cohort with sessions, an approved hub with its certificate) is built once per test.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, table

from app.core.inputs import MAX_ID
from app.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import heading_skips

# Values a path segment or a form field might hold that no form would send.
HOSTILE_TEXT = [
    "",
    " ",
    "0",
    "-1",
    str(MAX_ID),
    str(2**63),
    "9" * 40,
    "1e309",
    "NaN",
    "Infinity",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59",
    "line one\r\nline two",
    "tab\there",
    "\u202eevil",
    "é" * 300,
    "x" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "null",
    "[]",
    "{}",
    "true",
]
text_values = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=60))
SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(app, make_user, make_team):
    """Real objects for the routes' ids, and three clients: a visitor, the hub lead and a
    member of staff who holds every staff role."""
    from tests.factories.certificates import approved_hub
    from tests.factories.immersion import book, make_cohort

    team = make_team()
    staff = make_user(roles=("admin", "trainer", "lead_trainer", "auditor"))
    with app.test_request_context():
        cohort = make_cohort(staff)
        book(app, team, cohort)
        hub = approved_hub(app, make_user, lambda **kw: _organisation(app, make_user, **kw))
    ids = _ids(team, cohort, hub, staff)
    clients = {"visitor": app.test_client()}
    for name, user in (("lead", team.lead), ("staff", staff)):
        client = app.test_client()
        response = client.post("/account/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, name
        clients[name] = client
    return ids, clients


def _organisation(app, make_user, **kwargs):
    from tests.factories.organisations import organisation_factory

    return organisation_factory(app, make_user)(**kwargs)


def _first_id(model) -> int:
    return db.session.scalar(select(func.min(model.id))) or 1


def _ids(team, cohort, hub, staff) -> dict[str, int]:
    """A real id for each kind of path argument the portal's routes take."""
    from app.immersion.models import Booking, ImmersionSession, SessionResource
    from app.organisations.models import Invitation, Membership
    from app.readiness.models import EvidenceFile

    return {
        "org_id": team.org.id,
        "cert_id": hub.cert.id,
        "cohort_id": cohort.id,
        "session_id": _first_id(ImmersionSession),
        "booking_id": _first_id(Booking),
        "membership_id": _first_id(Membership),
        "invitation_id": _first_id(Invitation),
        "file_id": _first_id(EvidenceFile),
        "resource_id": _first_id(SessionResource),
        "user_id": staff.id,
    }


def _rules(app, method: str):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if method in rule.methods),
        key=lambda rule: rule.rule,
    )


def _path(rule, ids: dict, override=None) -> str:
    """The rule's path with real ids (or `override` for every argument)."""
    path = rule.rule
    for match in re.finditer(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        converter, name = match.group(1), match.group(2)
        if override is not None:
            value = override
        elif converter == "int":
            value = ids.get(name, 1)
        else:
            value = {"kind": "ip_terms", "slug": "echo-model"}.get(name, "x")
        path = path.replace(match.group(0), str(value), 1)
    return path


def _row_counts() -> dict[str, int]:
    """Rows per table but the audit log (which records refusals on purpose)."""
    db.session.expire_all()
    return {
        name: db.session.scalar(select(func.count()).select_from(table(name)))
        for name in sorted(db.metadata.tables)
        if name not in ("audit_event", "alembic_version")
    }


def test_every_route_answers_ids_out_of_range_and_hostile_segments(app, world):
    """Walk the URL map: each argument set to ids beyond every database's range and to
    hostile text, by every kind of visitor. 4xx or a page, never 5xx."""
    ids, clients = world
    segments = ["0", str(MAX_ID + 1), str(2**63), "x" * 300, "%00"]
    failures = []
    for method in ("GET", "POST"):
        for rule in _rules(app, method):
            if rule.endpoint in ("static", "bootstrap.static") or not rule.arguments:
                continue
            for segment in segments:
                path = _path(rule, ids, override=segment)
                for who, client in clients.items():
                    response = client.open(path, method=method, data={})
                    if response.status_code >= 500:
                        failures.append(f"{who} {method} {path}: {response.status_code}")
    assert failures == []


def _field_names(app) -> list[str]:
    """Every field name of every form in the portal, plus the ad-hoc names some views read."""
    import importlib
    import pkgutil

    import app as package
    from app.core.forms import PortalForm

    for module in pkgutil.walk_packages(package.__path__, "app."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)

    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    names = set()
    for form in every(PortalForm):
        for attribute, value in vars(form).items():
            if hasattr(value, "field_class"):
                names.add(attribute)
    return sorted(names | {"status-1", "minutes-1", "reason-1", "rating-1", "q", "page"})


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_every_form_refuses_hostile_values_without_a_server_error(app, world, data):
    ids, clients = world
    if not hasattr(test_every_form_refuses_hostile_values_without_a_server_error, "fields"):
        test_every_form_refuses_hostile_values_without_a_server_error.fields = _field_names(app)
    fields = test_every_form_refuses_hostile_values_without_a_server_error.fields
    rules = [r for r in _rules(app, "POST") if "logout" not in r.endpoint]
    rule = data.draw(st.sampled_from(rules), label="route")
    who = data.draw(st.sampled_from(sorted(clients)), label="as")
    form = data.draw(
        st.dictionaries(st.sampled_from(fields), text_values, max_size=8), label="form"
    )
    if data.draw(st.booleans(), label="with a file"):
        form["file"] = (io.BytesIO(data.draw(st.binary(max_size=200))), "upload.pdf")
    before = _row_counts()
    response = clients[who].post(_path(rule, ids), data=form, content_type="multipart/form-data")
    assert response.status_code < 500, (rule.rule, who, form)
    if response.status_code >= 400:
        assert _row_counts() == before, (rule.rule, who, form, response.status_code)
    if response.mimetype == "text/html":
        # A refused form shows its error summary where the form is: the page's headings
        # keep their order (no h2 summary followed by a card's h4).
        assert heading_skips(response.get_data(as_text=True)) == [], (rule.rule, who, form)


@settings(max_examples=80, **SETTINGS)
@given(data=st.data())
def test_every_filter_and_list_answers_hostile_query_strings(app, world, data):
    ids, clients = world
    rules = [r for r in _rules(app, "GET") if r.endpoint not in ("static", "bootstrap.static")]
    rule = data.draw(st.sampled_from(rules), label="route")
    who = data.draw(st.sampled_from(sorted(clients)), label="as")
    names = ["q", "page", "status", "start", "to", "kind", "nation", "sort", "organisation"]
    names += ["actor", "action", "code", "cohort", "next", "theme", "region"]
    query = data.draw(st.dictionaries(st.sampled_from(names), text_values, max_size=5))
    response = clients[who].get(_path(rule, ids), query_string=query)
    assert response.status_code < 500, (rule.rule, who, query)
