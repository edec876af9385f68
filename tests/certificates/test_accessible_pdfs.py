"""Accessible PDFs (issue 19 item 6): certificates and the dossier are tagged, titled and in
British English; the certificate's verification address is a link printed on one line; the
dossier is PDF/A-3b. Signing (an incremental update) keeps the structure."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from app.certificates import render, services, signing
from tests.factories.certificates import approved_hub, pdf_bytes_of, pdf_text
from tests.helpers import login


@pytest.fixture
def hub(app, make_user, make_organisation):
    return approved_hub(app, make_user, make_organisation, name="Heron Vale Hospice")


def _catalog(data: bytes):
    reader = PdfReader(io.BytesIO(data))
    return reader, reader.trailer["/Root"]


def assert_tagged(data: bytes, title_part: str) -> PdfReader:
    reader, root = _catalog(data)
    assert bool(root["/MarkInfo"]["/Marked"])
    tree = root["/StructTreeRoot"].get_object()
    assert tree["/K"], "the structure tree is empty"
    assert root["/Lang"] == "en-GB"
    assert title_part in reader.metadata.title
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    return reader


def _structure(reader: PdfReader) -> list[tuple[str, str | None]]:
    """The structure elements (type, alternative text), depth first: the reading order."""
    found = []

    def walk(node):
        node = node.get_object()
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        if not hasattr(node, "get") or node.get("/Type") in ("/MCR", "/OBJR"):
            return
        if "/S" in node:
            found.append((str(node["/S"]), node.get("/Alt")))
        if "/K" in node:
            walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"]["/K"])
    return found


def _links(reader: PdfReader) -> list[str]:
    return [
        annot.get_object()["/A"]["/URI"]
        for annot in reader.pages[0].get("/Annots", [])
        if annot.get_object()["/Subtype"] == "/Link"
    ]


def test_an_issued_certificate_is_tagged_and_still_signed(hub):
    data = pdf_bytes_of(hub.cert)
    reader = assert_tagged(data, hub.cert.serial)
    assert "Certificate of Approval" in reader.metadata.title
    # The signature is an incremental update on top of the tagged file, and it still
    # covers the whole file.
    assert data.count(b"%%EOF") >= 2
    assert signing.check_signature(data).state == "ok"
    # Structure elements in reading order: the heading first, the link last; the QR code is
    # a figure with alternative text; the decorative seal and divider are not figures.
    elements = _structure(reader)
    kinds = [kind for kind, _alt in elements]
    assert kinds.index("/H1") < kinds.index("/Link")
    figures = [alt for kind, alt in elements if kind == "/Figure"]
    assert figures == ["QR code of the verification address"]


def test_the_verification_address_is_a_link_on_one_line(app, hub):
    data = pdf_bytes_of(hub.cert)
    reader, _root = _catalog(data)
    url = services.verify_url(hub.cert.code)
    assert _links(reader) == [url]
    printed = render.printed_verify_url(url)
    assert printed == f"localhost/v/{hub.cert.code}"
    assert printed in pdf_text(data).splitlines()


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:5000", "https://hubs.national-hospice-superhub.example.org.uk/portal"],
)
def test_a_long_host_name_still_prints_on_one_line(app, base):
    code = "Q" * 32
    url = f"{base}/verify/{code}"
    context = _context(url, code)
    with app.app_context():
        pdf = render.render_pdf(render.template_for("trainee"), context)
    printed = render.printed_verify_url(url)
    assert printed.endswith(f"/v/{code}") and "://" not in printed
    assert printed in pdf_text(pdf).splitlines()
    reader = assert_tagged(pdf, "Certificate of Completion")
    assert _links(reader) == [url]


def test_the_printed_short_address_redirects_to_the_verify_page(client, hub):
    response = client.get(f"/v/{hub.cert.code}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/verify/{hub.cert.code}")
    pasted = client.get("/verify", query_string={"code": f"localhost/v/{hub.cert.code}"})
    assert pasted.headers["Location"].endswith(f"/verify/{hub.cert.code}")


def test_the_dossier_is_a_tagged_pdf_a(client, make_user, hub):
    login(client, make_user(roles=("auditor",), name="Ann Auditor").email)
    data = client.get(f"/audit/certificates/{hub.cert.id}/dossier.pdf").data
    reader = assert_tagged(data, hub.cert.serial)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp or 'pdfaid:part="3"' in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp or 'conformance="B"' in xmp
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    kinds = [kind for kind, _alt in _structure(reader)]
    assert kinds[0] == "/Document" and kinds[1] == "/H1"
    assert "/Table" in kinds and "/TH" in kinds


def _context(url: str, code: str) -> dict:
    return {
        "superhub_name": "Superhub",
        "serial": "TRN-2026-0001",
        "code": code,
        "verify_url": url,
        "qr_svg": render.qr_svg(url),
        "issued_on": "1 January 2026",
        "approved_on": "1 January 2026",
        "expires_on": "1 January 2029",
        "organisation_name": "Org",
        "network_name": "",
        "theme": "",
        "approvers": [],
        "single_person": False,
        "replaces": "",
        "person_name": "Pat Person",
        "roles": ["coordinator"],
        "modules": ["Module one", "Module two"],
        "attendance_percent": 90,
    }
