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

from flask import current_app, send_file

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
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return False
        return "[Content_Types].xml" in names and any(n.startswith(marker) for n in names)
    return False


def store_upload(upload, *, area: str, max_bytes: int | None = None) -> StoredFile:
    """Check and store an uploaded file (a werkzeug FileStorage); ServiceError if refused.

    Nothing is left behind when a file is refused, or when the transaction that was to
    record it rolls back.
    """
    if upload is None or not getattr(upload, "filename", ""):
        raise ServiceError("Choose a file to upload.", field="file")
    limit = max_bytes or current_app.config["EVIDENCE_MAX_BYTES"]
    original = display_name(upload.filename)
    extension = _extension(upload.filename)
    if extension not in ALLOWED_TYPES:
        raise ServiceError(
            f"“{original}” is not a file type we accept. Upload a {ALLOWED_DESCRIPTION} file.",
            field="file",
        )
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
