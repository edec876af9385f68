"""Evidence and document storage: type checks, server-made names, hashes, safe downloads.

Files live under `STORAGE_DIR` (never under static/), named by a random key the server
makes; the uploaded file name is kept only for display. A file is accepted when its
extension is allowed AND its first bytes match that type (a `.pdf` must start with
`%PDF-`, a `.docx` must be a ZIP holding a Word document, …), it is not empty and not
over the size limit. Downloads stream from disk as attachments.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, send_file

from app.core.errors import ServiceError

CHUNK = 64 * 1024

# extension -> (MIME type, description for messages)
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "PDF"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
    ),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel spreadsheet",
    ),
    "png": ("image/png", "PNG image"),
    "jpg": ("image/jpeg", "JPEG image"),
    "jpeg": ("image/jpeg", "JPEG image"),
}
ALLOWED_DESCRIPTION = "PDF, Word (.docx), Excel (.xlsx), PNG or JPEG"


@dataclass(frozen=True)
class StoredFile:
    key: str  # server-made, relative to STORAGE_DIR
    original_name: str
    content_type: str
    size: int
    sha256: str


def read_limited(upload, limit: int) -> bytes | None:
    """An upload's bytes for checking in memory, or None when it is larger than `limit`
    bytes (at most `limit` + 1 are read, whatever the client sent)."""
    data = upload.stream.read(limit + 1)
    return None if len(data) > limit else data


def storage_root() -> Path:
    root = Path(current_app.config["STORAGE_DIR"]).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def display_name(filename: str | None, fallback: str = "document") -> str:
    """A harmless name for showing and for Content-Disposition: no path, no control chars."""
    name = (filename or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").replace('"', "'")
    if len(name) > 150:  # shorten, keeping the extension
        stem, dot, ext = name.rpartition(".")
        keep = 149 - len(ext)
        name = f"{stem[:keep].rstrip()}.{ext}" if dot and stem and keep > 0 else name[:150]
    return name or fallback


def _size_label(limit: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= scale:
            return f"{round(limit / scale, 1):g} {unit}"
    return f"{limit} bytes"


def _extension(filename: str) -> str:
    name = display_name(filename, "")
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


# A Word or Excel file is a ZIP of a few dozen to a few hundred parts; listing one with
# 190,000 entries costs a second and 120 MB, so the count is read from the ZIP's end record
# first and a file with more parts than this is refused unopened.
MAX_OFFICE_PARTS = 5000
# How much of a PDF's compressed object streams is opened to look for active content.
PDF_SCAN_LIMIT = 64 * 1024 * 1024

_PDF_NAME = re.compile(rb"/([A-Za-z0-9#_.+-]+)")
_PDF_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")


# The bytes of a stream (page content, images, fonts): compressed data is noise in which
# "/JS" turns up by chance, so names are read only outside streams and inside the
# object streams that hold dictionaries.
def _outside_streams(data: bytes) -> bytes:
    pieces, at = [], 0
    while (start := data.find(b"stream", at)) >= 0:
        end = data.find(b"endstream", start + 6)
        if end < 0:
            break
        pieces.append(data[at : start + 6])
        at = end + 9
    pieces.append(data[at:])
    return b" ".join(pieces)


_OBJECT_STREAM = re.compile(
    rb"<<((?:(?!>>\s*stream).){0,2000}?/Type\s*/ObjStm.{0,2000}?)>>\s*stream\r?\n", re.S
)
# Names that make a PDF do something when it is opened or clicked: run JavaScript, start a
# program, carry other files inside it, play embedded media, or render an XFA form.
ACTIVE_PDF_NAMES = {
    b"JavaScript": "JavaScript",
    b"JS": "JavaScript",
    b"Launch": "an action that starts a program",
    b"EmbeddedFile": "embedded files",
    b"EmbeddedFiles": "embedded files",
    b"RichMedia": "embedded media",
    b"XFA": "an XFA form",
}
# An action run when the file opens, other than going to a page of the document itself.
_OPEN_ACTION = re.compile(rb"/OpenAction\s*<<(?:(?!>>).)*?/S\s*/(?!GoTo\b)", re.S)


def _office_parts(path: Path) -> int | None:
    """The number of entries a ZIP's end-of-central-directory record declares (None if
    there is no such record: not a ZIP)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - 65_557))  # the record and the longest possible comment
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _pdf_names(data: bytes) -> set[bytes]:
    return {_PDF_HEX.sub(lambda m: bytes([int(m[1], 16)]), n) for n in _PDF_NAME.findall(data)}


def active_pdf_content(path: Path) -> list[str]:
    """What in the PDF at `path` would act when it is opened: see active_pdf_content_in."""
    return active_pdf_content_in(path.read_bytes())


def active_pdf_content_in(data: bytes) -> list[str]:
    """What in a PDF would act when it is opened (JavaScript, a launch action, embedded
    files…), in words; [] for a plain document. Names hidden in compressed object
    streams, or spelt with #xx escapes, are found too."""
    import zlib

    outside = _outside_streams(data)
    names = _pdf_names(outside)
    opens = bool(_OPEN_ACTION.search(outside))
    budget = PDF_SCAN_LIMIT
    for match in _OBJECT_STREAM.finditer(data):
        if budget <= 0:
            break
        inflater = zlib.decompressobj()
        try:
            inner = inflater.decompress(data[match.end() : match.end() + budget], budget)
        except zlib.error:
            continue  # not Flate, or damaged: what can be read was read
        budget -= len(inner)
        names |= _pdf_names(inner)
        opens = opens or bool(_OPEN_ACTION.search(inner))
    found = sorted({words for name, words in ACTIVE_PDF_NAMES.items() if name in names})
    if opens:
        found.append("an action that runs when the file is opened")
    return found


def _matches(extension: str, head: bytes, path: Path) -> bool:
    if extension == "pdf":
        return head.startswith(b"%PDF-")
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension in ("docx", "xlsx"):
        if not head.startswith(b"PK\x03\x04"):
            return False
        marker = "word/" if extension == "docx" else "xl/"
        parts = _office_parts(path)
        if parts is None or parts == 0xFFFF or parts > MAX_OFFICE_PARTS:
            return False  # not a ZIP we can read cheaply: no Office file is this large
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return False
        return "[Content_Types].xml" in names and any(n.startswith(marker) for n in names)
    return False


def upload_problem(upload) -> str | None:
    """What is wrong with an upload before it is read (no file, or a type we refuse), so a
    form can list it with its other problems; None when it may be stored."""
    if upload is None or not getattr(upload, "filename", ""):
        return "Choose a file to upload."
    if _extension(upload.filename) not in ALLOWED_TYPES:
        original = display_name(upload.filename)
        return f"“{original}” is not a file type we accept. Upload a {ALLOWED_DESCRIPTION} file."
    return None


def store_upload(upload, *, area: str, max_bytes: int | None = None) -> StoredFile:
    """Check and store an uploaded file (a werkzeug FileStorage); ServiceError if refused.

    Nothing is left behind when a file is refused, or when the transaction that was to
    record it rolls back.
    """
    problem = upload_problem(upload)
    if problem:
        raise ServiceError(problem, field="file")
    limit = max_bytes or current_app.config["EVIDENCE_MAX_BYTES"]
    original = display_name(upload.filename)
    extension = _extension(upload.filename)
    root = storage_root()
    folder = root / area
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := upload.stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ServiceError(
                        f"“{original}” is larger than {_size_label(limit)}. "
                        "Upload a smaller file (for example a compressed PDF).",
                        field="file",
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ServiceError(f"“{original}” is empty (0 bytes).", field="file")
        with temp.open("rb") as check:
            head = check.read(16)
        if not _matches(extension, head, temp):
            kind = ALLOWED_TYPES[extension][1]
            raise ServiceError(
                f"“{original}” is named like a {kind} but its contents are not a {kind}. "
                "Upload the real document.",
                field="file",
            )
        if extension == "pdf" and (active := active_pdf_content(temp)):
            raise ServiceError(
                f"“{original}” contains {_listed(active)}, which could run on the computer of "
                "whoever opens it, so we do not accept it. Save or print the document as a "
                "new PDF (for example with “Print to PDF”) and upload that copy.",
                field="file",
            )
        key = f"{area}/{secrets.token_hex(16)}"
        target = (root / key).resolve()
        if root not in target.parents:  # defence in depth: keys are ours, but check anyway
            raise ServiceError("The file could not be stored.", field="file")
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    discard_on_rollback(key)
    return StoredFile(
        key=key,
        original_name=original,
        content_type=ALLOWED_TYPES[extension][0],
        size=size,
        sha256=digest.hexdigest(),
    )


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def store_bytes(data: bytes, *, area: str, original_name: str, content_type: str) -> StoredFile:
    """Store bytes the server made itself (a certificate PDF) under a server-made key; the
    file is removed again if the transaction that was to record it rolls back."""
    return store_stream([data], area=area, original_name=original_name, content_type=content_type)


def store_stream(
    chunks: Iterable[bytes], *, area: str, original_name: str, content_type: str
) -> StoredFile:
    """Store what a generator writes (an export: CSV lines, ZIP pieces) without holding it
    in memory; removed again if the transaction that was to record it rolls back."""
    root = storage_root()
    folder = root / area
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{area}/{secrets.token_hex(16)}"
    digest, size = hashlib.sha256(), 0
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".write-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.replace(temp_name, root / key)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    discard_on_rollback(key)
    return StoredFile(
        key=key,
        original_name=display_name(original_name),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )


def discard_on_rollback(key: str) -> None:
    """Remove the stored file `key` if the current transaction rolls back instead of committing."""
    from app.core.boundary import after_rollback

    def remove() -> None:
        with contextlib.suppress(RuntimeError):  # no app context: left for an orphan sweep
            discard(key)

    after_rollback(remove)


def discard(key: str) -> None:
    """Remove a stored file whose database row was never committed."""
    with contextlib.suppress(FileNotFoundError):
        path_for(key).unlink(missing_ok=True)


def path_for(key: str) -> Path:
    root = storage_root()
    path = (root / key).resolve()
    if root not in path.parents:
        raise FileNotFoundError(key)
    return path


def send_stored(key: str, *, download_name: str, content_type: str):
    """Stream a stored file as an attachment (never inline) with a safe file name."""
    response = send_file(
        path_for(key),
        mimetype=content_type,
        as_attachment=True,
        download_name=display_name(download_name),
        conditional=False,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_stored_row(row):
    """Download a stored file described by a row with `storage_key`, `original_name` and
    `content_type` (evidence, a resource, an agreement template); a file missing from the
    store is a 404, not an error."""
    try:
        return send_stored(
            row.storage_key, download_name=row.original_name, content_type=row.content_type
        )
    except FileNotFoundError:
        abort(404)
