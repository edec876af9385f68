"""Evidence storage: accepted types checked by extension and content, server-made names inside
STORAGE_DIR, SHA-256 and size, sanitised display names, nothing left behind when refused,
and downloads streamed as attachments with a harmless Content-Disposition."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from app.config import load_config
from app.core import storage
from app.core.errors import ServiceError
from tests.factories.readiness import (
    DOCX_TYPE,
    EXECUTABLE,
    HTML,
    PDF_TYPE,
    XLSX_TYPE,
    docx_bytes,
    jpeg_bytes,
    pdf_bytes,
    plain_zip_bytes,
    png_bytes,
    stored_files,
    upload,
    xlsx_bytes,
)


@pytest.fixture
def app_config(request, tmp_path):
    """Each test stores into its own folder; `indirect` parameters add settings."""
    return {"STORAGE_DIR": str(tmp_path / "storage"), **getattr(request, "param", {})}


@pytest.fixture
def root(app) -> Path:
    return Path(app.config["STORAGE_DIR"]).resolve()


# --- accepted files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "make", "content_type"),
    [
        ("Signed agreement.pdf", pdf_bytes, PDF_TYPE),
        ("Sponsor letter.docx", docx_bytes, DOCX_TYPE),
        ("Evaluation plan.xlsx", xlsx_bytes, XLSX_TYPE),
        ("whiteboard.png", png_bytes, "image/png"),
        ("photo.jpg", jpeg_bytes, "image/jpeg"),
        ("PHOTO.JPEG", jpeg_bytes, "image/jpeg"),
        ("SCAN.PDF", pdf_bytes, PDF_TYPE),
    ],
)
def test_valid_files_are_stored_with_hash_size_and_name(app, root, filename, make, content_type):
    data = make()
    stored = storage.store_upload(upload(data, filename), area="org-7")

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.original_name == filename
    assert stored.content_type == content_type
    # a server-made key: the area, then 32 random hex digits; nothing from the upload's name
    assert re.fullmatch(r"org-7/[0-9a-f]{32}", stored.key)
    path = (root / stored.key).resolve()
    assert root in path.parents
    assert path.read_bytes() == data
    assert stored_files(root) == [path]  # no temporary file left behind


def test_each_upload_gets_its_own_key(app, root):
    first = storage.store_upload(upload(pdf_bytes(), "same.pdf"), area="org-1")
    second = storage.store_upload(upload(pdf_bytes(), "same.pdf"), area="org-1")
    assert first.key != second.key
    assert first.sha256 == second.sha256
    assert len(stored_files(root)) == 2


def test_storage_is_outside_static(app, tmp_path, monkeypatch):
    monkeypatch.delenv("STORAGE_DIR", raising=False)
    default = Path(load_config(str(tmp_path / "instance"))["STORAGE_DIR"]).resolve()
    assert default == (tmp_path / "instance" / "storage").resolve()
    static = Path(app.static_folder).resolve()
    assert static not in default.parents and default != static
    assert static not in storage.storage_root().parents


# --- refused files -----------------------------------------------------------------------------

NOT_A = "is named like a {} but its contents are not a {}"
NOT_WORD = NOT_A.format("Word document", "Word document")


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("agreement.pdf", EXECUTABLE, NOT_A.format("PDF", "PDF")),
        ("agreement.pdf", HTML, NOT_A.format("PDF", "PDF")),
        ("agreement.pdf", b"   %PDF-1.4 hidden after spaces", NOT_A.format("PDF", "PDF")),
        ("photo.pdf", png_bytes(), NOT_A.format("PDF", "PDF")),
        ("photo.docx", png_bytes(), NOT_WORD),
        ("photo.docx", jpeg_bytes(), NOT_WORD),
        ("plan.xlsx", docx_bytes(), NOT_A.format("Excel spreadsheet", "Excel spreadsheet")),
        ("letter.docx", xlsx_bytes(), NOT_WORD),
        ("letter.docx", plain_zip_bytes(), NOT_WORD),
        ("letter.docx", b"PK\x03\x04 not really a zip", NOT_WORD),
        ("letter.docx", pdf_bytes(), NOT_WORD),
        ("photo.png", jpeg_bytes(), NOT_A.format("PNG image", "PNG image")),
        ("photo.jpg", png_bytes(), NOT_A.format("JPEG image", "JPEG image")),
        ("photo.jpeg", HTML, NOT_A.format("JPEG image", "JPEG image")),
        ("empty.pdf", b"", "“empty.pdf” is empty (0 bytes)."),
        ("empty.png", b"", "is empty (0 bytes)"),
        ("tool.exe", EXECUTABLE, "“tool.exe” is not a file type we accept"),
        ("page.html", HTML, "“page.html” is not a file type we accept"),
        ("page.htm", HTML, "is not a file type we accept"),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a file type we accept"),
        ("archive.zip", plain_zip_bytes(), "not a file type we accept"),
        ("old.doc", pdf_bytes(), "not a file type we accept"),
        ("agreement.pdf.exe", EXECUTABLE, "not a file type we accept"),
        ("README", pdf_bytes(), "“README” is not a file type we accept"),
        ("trailing-dot.pdf.", pdf_bytes(), "not a file type we accept"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(app, root, filename, data, message):
    with pytest.raises(ServiceError) as refused:
        storage.store_upload(upload(data, filename), area="org-1")
    assert message in refused.value.message
    assert refused.value.field == "file"
    assert stored_files(root) == []


def test_unknown_types_name_what_is_accepted(app, root):
    with pytest.raises(ServiceError, match=r"Upload a PDF, Word \(\.docx\), Excel \(\.xlsx\)"):
        storage.store_upload(upload(EXECUTABLE, "setup.exe"), area="org-1")


@pytest.mark.parametrize("missing", [None, upload(b"", ""), upload(pdf_bytes(), "")])
def test_no_file_chosen(app, root, missing):
    with pytest.raises(ServiceError, match="Choose a file to upload"):
        storage.store_upload(missing, area="org-1")
    assert stored_files(root) == []


@pytest.mark.parametrize("app_config", [{"EVIDENCE_MAX_BYTES": 4096}], indirect=True)
def test_the_size_limit_comes_from_the_configuration(app, root):
    at_limit = pdf_bytes().ljust(4096, b" ")
    stored = storage.store_upload(upload(at_limit, "exactly.pdf"), area="org-1")
    assert stored.size == 4096

    with pytest.raises(ServiceError) as refused:
        storage.store_upload(upload(at_limit + b" ", "big.pdf"), area="org-1")
    message = refused.value.message
    assert "“big.pdf” is larger than 4 KB" in message
    assert "Upload a smaller file" in message
    assert stored_files(root) == [(root / stored.key).resolve()]


def test_an_over_size_file_is_refused_without_reading_it_all(app, root):
    """The stream is read in chunks and abandoned as soon as the limit is passed."""

    class Endless:
        reads = 0

        def read(self, size=-1):
            self.reads += 1
            assert self.reads < 100, "kept reading past the limit"
            return b"%PDF-" + b"x" * (storage.CHUNK - 5)

    from werkzeug.datastructures import FileStorage

    endless = Endless()
    with pytest.raises(ServiceError, match="is larger than 1 MB"):
        storage.store_upload(
            FileStorage(stream=endless, filename="huge.pdf"), area="org-1", max_bytes=1024 * 1024
        )
    assert endless.reads <= 1024 * 1024 // storage.CHUNK + 1
    assert stored_files(root) == []


def test_the_default_limit_is_20_mb(app):
    assert app.config["EVIDENCE_MAX_BYTES"] == 20 * 1024 * 1024


# --- file names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("/etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\Signed letter.pdf", "Signed letter.pdf"),
        ("....//....//boot.pdf", "boot.pdf"),
        ("report\n.pdf", "report.pdf"),
        ("report\r\nSet-Cookie: x=y.pdf", "reportSet-Cookie: x=y.pdf"),
        ("a\x00b\x1b[31m.pdf", "ab[31m.pdf"),
        ("tab\tname.pdf", "tabname.pdf"),
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),  # right-to-left override removed
        ("\u200bzero\u200dwidth.pdf", "zerowidth.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("  many    spaces  .pdf  ", "many spaces .pdf"),
        ('say "hello".pdf', "say 'hello'.pdf"),
        ("Cafe\u0301 menu.pdf", "Café menu.pdf"),  # NFC
        ("", "document"),
        ("../../", "document"),
        ("\n\r\t", "document"),
    ],
)
def test_display_names_are_harmless(given, shown):
    assert storage.display_name(given) == shown


def test_long_names_are_shortened_but_keep_their_extension():
    name = storage.display_name("a" * 400 + ".pdf")
    assert len(name) <= 150
    assert name.endswith(".pdf")


def test_a_long_file_name_is_still_accepted(app, root):
    stored = storage.store_upload(upload(pdf_bytes(), "b" * 300 + ".pdf"), area="org-1")
    assert stored.original_name.endswith(".pdf") and len(stored.original_name) <= 150
    assert stored.content_type == PDF_TYPE


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd.pdf",
        "..\\..\\x.pdf",
        "/srv/absolute.pdf",
        "../../../../../../srv/escape.pdf",
        "line\nbreak.pdf",
        "rtl\u202eFDP.pdf",
        "nul\x00.pdf",
    ],
)
def test_hostile_names_are_stored_under_a_server_made_key_inside_storage(app, root, filename):
    stored = storage.store_upload(upload(pdf_bytes(), filename), area="org-3")
    path = storage.path_for(stored.key)
    assert root in path.parents
    assert path.is_file()
    assert stored_files(root) == [path]
    assert re.fullmatch(r"org-3/[0-9a-f]{32}", stored.key)
    for bad in ("/", "\\", "\n", "\r", "\x00", "\u202e", ".."):
        assert bad not in stored.original_name


@pytest.mark.parametrize(
    "key", ["../outside.pdf", "org-1/../../outside", "/etc/passwd", "", ".", "org-1/.."]
)
def test_keys_cannot_point_outside_storage(app, root, key):
    with pytest.raises(FileNotFoundError):
        storage.path_for(key)


def test_a_symlink_out_of_storage_is_not_followed(app, root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (root / "org-1").mkdir(parents=True)
    (root / "org-1" / "link").symlink_to(secret)
    with pytest.raises(FileNotFoundError):
        storage.path_for("org-1/link")


# --- downloads ---------------------------------------------------------------------------------


def disposition_filename(header: str) -> str:
    """The plain `filename` parameter (a token, or a quoted string with its escapes)."""
    match = re.fullmatch(
        r'attachment; filename=(?:"((?:[^"\\]|\\.)*)"|([^";\s]+))(?:; filename\*=\S+)?', header
    )
    assert match, header
    return match.group(1) if match.group(1) is not None else match.group(2)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Signed agreement.pdf", "Signed agreement.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ('quote"; filename="evil.html', "quote'; filename='evil.html"),
        ("line\r\nContent-Type: text/html\r\n\r\n.pdf", "html.pdf"),
    ],
)
def test_send_stored_is_an_attachment_with_a_safe_name(app, root, original, expected):
    data = pdf_bytes()
    stored = storage.store_upload(upload(data, "x.pdf"), area="org-1")
    with app.test_request_context():
        response = storage.send_stored(stored.key, download_name=original, content_type=PDF_TYPE)
    try:
        header = response.headers["Content-Disposition"]
        name = disposition_filename(header)
        assert name == expected
        for bad in ('"', "/", "\\", "\n", "\r"):
            assert bad not in name
        assert response.mimetype == PDF_TYPE
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        # streamed from disk, not read into memory
        assert response.direct_passthrough
        assert response.is_streamed
        response.direct_passthrough = False
        assert response.get_data() == data
    finally:
        response.close()


def test_send_stored_non_ascii_names_get_an_rfc_5987_form(app, root):
    stored = storage.store_upload(upload(pdf_bytes(), "x.pdf"), area="org-1")
    with app.test_request_context():
        response = storage.send_stored(
            stored.key, download_name="Ysbyty Gŵyr “cytundeb”.pdf", content_type=PDF_TYPE
        )
    try:
        header = response.headers["Content-Disposition"]
        assert "filename*=UTF-8''Ysbyty%20G%C5%B5yr%20%E2%80%9Ccytundeb%E2%80%9D.pdf" in header
        assert "\n" not in header and "\r" not in header
    finally:
        response.close()


# --- active content and costly files (issue 18: the malicious-upload corpus) -------------


def _pdf(*objects: bytes) -> bytes:
    """A small PDF made of `objects` (object 1 the catalog), with a cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def _object_stream(inner: bytes) -> bytes:
    import zlib

    packed = zlib.compress(b"4 0 " + inner)
    return (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length "
        + str(len(packed)).encode()
        + b" >>\nstream\n"
        + packed
        + b"\nendstream"
    )


def _image_stream(noise: bytes) -> bytes:
    return b"<< /Length " + str(len(noise)).encode() + b" >>\nstream\n" + noise + b"\nendstream"


HOSTILE_PDFS = {
    "javascript-on-open": (
        _pdf(
            b"<< /Type /Catalog /Pages 2 0 R "
            b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
            PAGES,
            PAGE,
        ),
        ["JavaScript", "an action that runs when the file is opened"],
    ),
    "javascript-spelt-with-hex-escapes": (
        _pdf(b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61vaScript 4 0 R >> >>", PAGES, PAGE),
        ["JavaScript"],
    ),
    "launch-hidden-in-a-compressed-object-stream": (
        _pdf(
            b"<< /Type /Catalog /Pages 2 0 R >>",
            PAGES,
            PAGE,
            _object_stream(b"<< /S /Launch /F (cmd.exe) >>"),
        ),
        ["an action that starts a program"],
    ),
    "embedded-file": (
        _pdf(
            b"<< /Type /Catalog /Pages 2 0 R "
            b"/Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >> >>",
            PAGES,
            PAGE,
            b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
        ),
        ["embedded files"],
    ),
    "xfa-form": (
        _pdf(b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /XFA 4 0 R >> >>", PAGES, PAGE),
        ["an XFA form"],
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_a_pdf_with_active_content_is_refused_saying_what_it_holds(app, root, name):
    data, found = HOSTILE_PDFS[name]
    assert storage.active_pdf_content_in(data) == found
    with pytest.raises(ServiceError) as refused:
        storage.store_upload(upload(data, "signed agreement.pdf"), area="org-1")
    message = refused.value.message
    assert "“signed agreement.pdf” contains" in message and "Print to PDF" in message
    for words in found:
        assert words in message
    assert stored_files(root) == []


@pytest.mark.parametrize(
    "data",
    [
        _pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>", PAGES, PAGE),
        _pdf(
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoTo /D [3 0 R /Fit] >> >>",
            PAGES,
            PAGE,
        ),
        # Compressed page content is noise; "/JS" in it by chance is not JavaScript.
        _pdf(
            b"<< /Type /Catalog /Pages 2 0 R >>",
            PAGES,
            PAGE,
            _image_stream(b"\x00/JS /Launch\x9f" * 50),
        ),
    ],
    ids=["opens-at-a-page", "goes-to-a-page-on-open", "streams-are-not-read-as-names"],
)
def test_an_ordinary_pdf_is_accepted(app, root, data):
    stored = storage.store_upload(upload(data, "agreement.pdf"), area="org-1")
    assert stored.content_type == PDF_TYPE
    assert len(stored_files(root)) == 1


def test_the_portals_own_pdfs_are_accepted(app, root):
    """What WeasyPrint makes (certificates, dossiers) has no active content."""
    from weasyprint import HTML as Page

    data = Page(
        string="<h1>Statement of Collaboration</h1><a href='https://example.org'>x</a>"
    ).write_pdf()
    assert storage.active_pdf_content_in(data) == []


def _zip_with(entries: int, *, word: bool = True) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if word else "xl/workbook.xml", "<x/>")
        for i in range(entries - 2):
            archive.writestr(f"word/media/p{i}.xml", b"")
    return buffer.getvalue()


def test_a_word_file_with_too_many_parts_is_refused_unopened(app, root, monkeypatch):
    monkeypatch.setattr(storage, "MAX_OFFICE_PARTS", 300)
    huge, fine = _zip_with(301), _zip_with(300)
    opened = []
    real = storage.zipfile.ZipFile
    monkeypatch.setattr(
        storage.zipfile, "ZipFile", lambda *a, **k: opened.append(a) or real(*a, **k)
    )
    with pytest.raises(ServiceError) as refused:
        storage.store_upload(upload(huge, "huge.docx"), area="org-1")
    assert "its contents are not a Word document" in refused.value.message
    assert opened == []  # the entry count came from the ZIP's end record alone
    assert stored_files(root) == []
    assert storage.store_upload(upload(fine, "fine.docx"), area="org-1").size > 0


def test_evidence_stored_in_a_transaction_that_rolls_back_is_removed(
    app, root, make_user, make_organisation
):
    """The signed agreement is on disk once stored; the change is rolled back (as a
    refused request is), and the file goes with it."""
    from app.core import clock
    from app.extensions import db
    from app.readiness import services as readiness

    lead = make_user()
    org = make_organisation(stage="in_training", lead=lead)
    with app.test_request_context():
        readiness.upload_agreement(
            org,
            by=lead,
            kind="ip_terms",
            upload=upload(pdf_bytes(), "signed.pdf"),
            signatory_name="Asha Patel",
            signatory_role="Chief executive",
            signed_on=clock.today(),
            based_on=None,
        )
        assert len(stored_files(root)) == 1
        db.session.rollback()
    assert stored_files(root) == []
