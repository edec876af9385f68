"""CSV downloads that open cleanly in Excel and cannot smuggle formulas.

Cells beginning with = + - @ tab or carriage return are prefixed with a quote
(OWASP's CSV-injection advice); the file starts with a UTF-8 byte-order mark so Excel
reads names with accents correctly. Rows are streamed, never built in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response, stream_with_context

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(rows: Iterable[Iterable]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel")
    yield "\ufeff"
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)


def csv_response(rows: Iterable[Iterable], filename: str) -> Response:
    response = Response(stream_with_context(csv_lines(rows)), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
