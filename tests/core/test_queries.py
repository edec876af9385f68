"""List pages load what they show with a fixed number of queries, whatever the data size."""

from __future__ import annotations

from app.core import audit
from app.extensions import db
from tests.querycount import count_queries


def _queries_for(client, url):
    client.get(url)  # warm up: first-request work is not what we measure
    with count_queries(db.engine) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def test_user_list_query_count_does_not_grow(client, make_user, auth):
    admin = make_user(roles=("admin",))
    auth.login(admin.email)
    for _ in range(3):
        make_user(roles=("applicant", "trainer"))
    few = _queries_for(client, "/admin/users")
    for _ in range(20):
        make_user(roles=("applicant", "auditor"))
    many = _queries_for(client, "/admin/users")
    assert many == few
    assert few <= 6, few


def test_audit_log_query_count_does_not_grow(client, make_user, auth):
    auditor = make_user(roles=("auditor",))
    auth.login(auditor.email)
    few = _queries_for(client, "/audit/events")
    for i in range(40):
        audit.record("test.event", details={"i": i})
    db.session.commit()
    many = _queries_for(client, "/audit/events")
    assert many == few
    assert few <= 5, few
