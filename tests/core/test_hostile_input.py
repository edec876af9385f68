"""Hostile and unlucky input at the edge (issue 18): ids larger than any database holds,
PDFs that break the PDF libraries, dates at the end of the calendar, NUL characters and
line breaks in single-line fields. Each gets a 404 or a message, never a server error, and
changes nothing."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.forms import PortalForm
from app.core.inputs import MAX_ID, multi_line, parse_id, parse_whole, single_line
from app.extensions import db
from app.organisations.models import Organisation
from tests.helpers import page_text

HUGE = str(2**63)  # beyond any 64-bit integer
TOO_BIG = str(MAX_ID + 1)  # one more than an INTEGER column holds on PostgreSQL
HUGER = "9" * 40


# --- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ident", [HUGE, HUGER, TOO_BIG])
def test_an_id_too_large_for_the_database_is_not_found_for_visitors(client, ident):
    assert client.get(f"/hubs/{ident}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/organisations/{}",
        "/organisations/{}/readiness",
        "/organisations/{}/team",
        "/evidence/{}",
        "/certificates/{}/download",
        "/immersion/cohorts/{}/library",
        "/immersion/resources/{}",
        "/audit/certificates/{}",
        "/admin/users/{}",
        "/admin/messages/{}",
        "/exports/{}/download",
    ],
)
def test_an_id_too_large_for_the_database_is_not_found_for_staff(client, login_as, path):
    login_as("admin", "trainer", "auditor")
    for ident in (HUGE, HUGER, TOO_BIG, str(MAX_ID)):
        response = client.get(path.format(ident))
        assert response.status_code == 404, (path, ident, response.status_code)


def test_a_huge_id_in_a_review_form_is_a_stale_form_not_an_error(
    client, login_as, make_organisation
):
    org = make_organisation(stage="in_training")
    login_as("trainer")
    response = client.post(
        f"/organisations/{org.id}/agreements/ip_terms/review",
        data={"agreement_id": HUGER, "decision": "verify", "comment": ""},
    )
    assert response.status_code < 500
    response = client.post(
        f"/organisations/{org.id}/agreements/ip_terms/review",
        data={"agreement_id": HUGE, "decision": "verify", "comment": ""},
    )
    assert response.status_code < 500


@given(st.text(max_size=45))
def test_parse_id_is_an_id_or_none(value):
    result = parse_id(value)
    assert result is None or (1 <= result <= MAX_ID and str(result) == value.strip())


@given(st.integers())
def test_parse_whole_bounds_numbers(number):
    result = parse_whole(str(number))
    assert result == (number if 0 <= number <= MAX_ID else None)


# --- PDFs that break the PDF libraries --------------------------------------------------


def deep_form_pdf(depth: int = 5000) -> bytes:
    """A PDF whose form fields nest `depth` deep (each field the only kid of the last):
    pyHanko recurses into them and raises RecursionError."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
    ]
    for i in range(depth):
        number = 4 + i
        kids = f"/Kids [{number + 1} 0 R]" if i < depth - 1 else "/FT /Sig"
        parent = f"/Parent {number - 1} 0 R" if i else ""
        objects.append(f"<< /T (f{i}) {kids} {parent} >>".encode())
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.mark.parametrize(
    "data",
    [
        deep_form_pdf(),
        b"%PDF-1.7\n" + b"[" * 100_000,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-",
    ],
    ids=["fields-nested-5000-deep", "arrays-nested", "no-xref", "header-only"],
)
def test_a_pdf_that_breaks_the_pdf_library_is_called_damaged(client, data):
    response = client.post("/verify/pdf", data={"file": (io.BytesIO(data), "certificate.pdf")})
    assert response.status_code < 500
    text = page_text(response)
    assert "damaged" in text or "changed" in text


def test_the_command_line_check_prints_a_verdict_for_a_damaged_file(runner, tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(deep_form_pdf())
    result = runner.invoke(args=["certificates", "verify", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "damaged" in result.output.lower() or "tampered" in result.output.lower()


# --- dates at the edge of the calendar ---------------------------------------------------


@pytest.mark.parametrize("query", ["to=9999-12-31", "start=0001-01-01", "to=2999-13-01"])
def test_a_date_filter_at_the_edge_of_the_calendar_gets_a_message(client, login_as, query):
    login_as("auditor")
    for path in ("/audit/events", "/audit/certificates"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)
        if "13" not in query:
            assert "Enter a date between the years 1900 and 2999." in page_text(response)


# --- NUL characters and line breaks ------------------------------------------------------


def test_a_nul_character_anywhere_is_refused_with_a_message_and_changes_nothing(
    client, login_as, make_organisation
):
    lead = login_as()
    org = make_organisation(stage="draft", lead=lead, name="Larkspur Hospice")
    before = org.name
    response = client.post(
        f"/organisations/{org.id}/details",
        data={"name": "Larkspur\x00 Hospice", "org_type": "hospice", "nation": "england"},
    )
    assert response.status_code == 400
    assert "NUL character" in page_text(response) and "Nothing was changed" in page_text(response)
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).name == before
    assert client.get("/audit/events?organisation=a%00b").status_code in (400, 403)
    assert client.get("/verify/ABC%00DEF").status_code == 400
    assert (
        client.post("/account/login", data={"email": "a\x00@b.org", "password": "x"}).status_code
        == 400
    )


def test_a_line_break_in_a_single_line_field_becomes_a_space(client, login_as, make_organisation):
    lead = login_as()
    org = make_organisation(stage="draft", lead=lead, name="Larkspur Hospice")
    response = client.post(
        f"/organisations/{org.id}/details",
        data={
            "name": "Larkspur\r\nHospice\tTrust",
            "org_type": "hospice",
            "nation": "england",
            "address": "1 Mill Lane\r\nStroud\rGL5 1AA",
        },
    )
    assert response.status_code == 302, page_text(response)
    db.session.expire_all()
    saved = db.session.get(Organisation, org.id)
    assert saved.name == "Larkspur  Hospice Trust"
    assert saved.address == "1 Mill Lane\nStroud\nGL5 1AA"


@given(st.text())
def test_single_line_text_has_no_control_characters(text):
    cleaned = single_line(text)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in cleaned)
    assert cleaned == cleaned.strip()


@given(st.text())
def test_multi_line_text_keeps_only_newlines_and_tabs(text):
    cleaned = multi_line(text)
    assert "\r" not in cleaned
    assert all(c in "\n\t" or not (ord(c) < 32 or ord(c) == 127) for c in cleaned)
    assert cleaned.count("\n") == text.replace("\r\n", "\n").replace("\r", "\n").count("\n")


def test_every_form_of_the_portal_cleans_its_input(app):
    """Every form class in the app derives from PortalForm (a new one that did not would
    take NUL-free but multi-line text into a single-line field)."""
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm

    import app as package

    for module in pkgutil.walk_packages(package.__path__, "app."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)

    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    forms = [f for f in every(FlaskForm) if f.__module__.startswith("app.")]
    assert len(forms) > 20
    strays = [f"{f.__module__}.{f.__name__}" for f in forms if not issubclass(f, PortalForm)]
    assert strays == []


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.integers(min_value=-(10**30), max_value=10**30))
def test_a_whole_number_field_never_overflows_the_database(app, number):
    from app.immersion.forms import CohortForm

    with app.test_request_context(method="POST", data={"capacity": str(number)}):
        form = CohortForm()
        form.validate()
        if abs(number) > MAX_ID:
            assert "Enter a smaller number." in form.capacity.errors
        assert (
            form.capacity.data is None or abs(form.capacity.data) <= MAX_ID or form.capacity.errors
        )
