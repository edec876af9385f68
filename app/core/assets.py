"""Static files (the portal's CSS, JS and icons, and Bootstrap's): every URL the portal
builds names the file's content, `/static/css/app.css?v=<hash>`, so a browser keeps the
file for a year and asks again only when a deploy has changed it. A phone on a slow line
then loads Bootstrap once, not on every page.

A request without `v`, or with a `v` that is not the file's content now (a page cached
before a deploy), gets Flask's own answer: revalidated every time (ETag, 304)."""

from __future__ import annotations

import hashlib
import os

from flask import Flask, current_app, request
from werkzeug.security import safe_join

STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
IMMUTABLE = "public, max-age=31536000, immutable"
VERSION_LENGTH = 12


def _folder(endpoint: str) -> str | None:
    if endpoint == "static":
        return current_app.static_folder
    blueprint = current_app.blueprints.get(endpoint.rpartition(".")[0])
    return blueprint.static_folder if blueprint else None


def content_version(endpoint: str, filename: str) -> str | None:
    """A short hash of the file's bytes; None for a file that is not there. Worked out once
    per file and process (in debug, again whenever the file changes)."""
    folder = _folder(endpoint)
    path = safe_join(folder, filename) if folder else None
    if not path:
        return None
    try:
        stamp = os.stat(path).st_mtime_ns if current_app.debug else 0
    except OSError:
        return None
    versions = current_app.extensions.setdefault("static_versions", {})
    key = (endpoint, filename, stamp)
    if key not in versions:
        try:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return None
        versions[key] = digest[:VERSION_LENGTH]
    return versions[key]


def add_version(endpoint: str | None, values: dict) -> None:
    """`url_defaults` hook: `url_for('static', filename=...)` gains `v=<content hash>`."""
    if endpoint not in STATIC_ENDPOINTS or "v" in values or "filename" not in values:
        return
    version = content_version(endpoint, values["filename"])
    if version:
        values["v"] = version


def is_static_request() -> bool:
    return request.endpoint in STATIC_ENDPOINTS


def cache_static(response) -> None:
    """A static file asked for by its current content hash may be kept for a year."""
    filename = (request.view_args or {}).get("filename")
    version = request.args.get("v")
    if (
        response.status_code in (200, 304)
        and filename
        and version
        and version == content_version(request.endpoint, filename)
    ):
        response.headers["Cache-Control"] = IMMUTABLE
        response.expires = None


def init_app(app: Flask) -> None:
    app.url_defaults(add_version)
