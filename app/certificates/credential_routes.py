"""Open Badges 3.0 credentials on the web: the issuer profile, keys, achievements and status
list anyone may fetch (with CORS, as public read-only answers), the credential of a
certificate (by its verification code, or from the holder's certificates tab), and the
page that checks a pasted or uploaded credential JWT."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request
from flask_login import current_user

from app.core.policy import PUBLIC, access
from app.core.storage import read_limited
from app.extensions import limiter

from . import credentials, services
from .forms import CredentialCheckForm
from .policies import CERT_DOWNLOADER

bp = Blueprint("credentials", __name__)

JWT_TYPE = "application/vc+jwt"


def _limit():
    return current_app.config["VERIFY_LIMIT_PER_IP"]


def _public(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json(data: dict, status: int = 200):
    response = jsonify(data)
    response.status_code = status
    return _public(response)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match([JWT_TYPE, "application/json"])
    return best == "application/json" and (
        request.accept_mimetypes[best] > request.accept_mimetypes[JWT_TYPE]
    )


@bp.route("/credentials/issuer")
@access(PUBLIC)
def issuer_profile():
    return _json(credentials.issuer_profile())


@bp.route("/credentials/jwks.json")
@access(PUBLIC)
def jwks():
    return _json(credentials.jwks())


@bp.route("/credentials/achievements/<kind>")
@access(PUBLIC)
def achievement(kind: str):
    if kind not in credentials.ACHIEVEMENTS:
        return _json({"error": "No such achievement."}, 404)
    return _json(
        {"@context": [credentials.VC_CONTEXT, credentials.OB_CONTEXT]}
        | (credentials.achievement(kind))
    )


def _list_number(number: str) -> int:
    if not number.isdigit() or len(number) > 9:
        abort(_json({"error": "A status list number is a whole number."}, 400))
    value = int(number)
    if not credentials.known_list(value):
        abort(_json({"error": "No such status list."}, 404))
    return value


@bp.route("/credentials/status/<number>")
@access(PUBLIC)
def status_list(number: str):
    """The signed BitstringStatusListCredential (VC-JWT); JSON when asked for JSON."""
    value = _list_number(number.removesuffix(".json"))
    if number.endswith(".json") or _wants_json():
        return _json(credentials.status_list_credential(value))
    response = current_app.make_response(credentials.status_list_jwt(value))
    response.headers["Content-Type"] = JWT_TYPE
    return _public(response)


@bp.route("/credentials/status/<number>/<index>")
@access(PUBLIC)
def status_entry(number: str, index: str):
    """One bit of a list, for people and scripts that do not decode the bitstring."""
    value = _list_number(number)
    if not index.isdigit() or len(index) > 9:
        return _json({"error": "A status list index is a whole number."}, 400)
    position = int(index)
    if position >= credentials.STATUS_LIST_SIZE:
        return _json(
            {"error": f"Indexes of this list run from 0 to {credentials.STATUS_LIST_SIZE - 1}."},
            404,
        )
    revoked = credentials.status_bit(value, position)
    return _json(
        {
            "statusListCredential": credentials.status_list_url(value),
            "statusListIndex": str(position),
            "statusPurpose": "revocation",
            "revoked": revoked,
        }
    )


# --- a certificate's credential ------------------------------------------------------------


def _credential_or_404(cert):
    row = credentials.of_certificate(cert) if cert is not None else None
    if row is None:
        abort(404)
    return row


def _send_jwt(cert, row):
    response = current_app.make_response(row.jwt)
    response.headers["Content-Type"] = JWT_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{cert.serial}.jwt"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _send_json(cert, row):
    body = json.dumps(credentials.decoded(row), indent=2, ensure_ascii=False)
    response = current_app.make_response(body)
    response.headers["Content-Type"] = "application/json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{cert.serial}-credential.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verify/<code>/credential.jwt")
@access(PUBLIC)
@limiter.limit(_limit)
def verified_jwt(code: str):
    cert = services.by_code(code)
    return _public(_send_jwt(cert, _credential_or_404(cert)))


@bp.route("/verify/<code>/credential.json")
@access(PUBLIC)
@limiter.limit(_limit)
def verified_json(code: str):
    cert = services.by_code(code)
    return _public(_send_json(cert, _credential_or_404(cert)))


@bp.route("/certificates/<int:cert_id>/credential.jwt")
@access(CERT_DOWNLOADER)
def download_jwt(cert_id: int):
    cert = g.certificate
    services.note_download(cert, by=current_user)
    return _send_jwt(cert, _credential_or_404(cert))


@bp.route("/certificates/<int:cert_id>/credential.json")
@access(CERT_DOWNLOADER)
def download_json(cert_id: int):
    cert = g.certificate
    services.note_download(cert, by=current_user)
    return _send_json(cert, _credential_or_404(cert))


# --- checking a credential -----------------------------------------------------------------


@bp.route("/verify/credential", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit, methods=["POST"])
def check_credential():
    form = CredentialCheckForm()
    result = None
    status = 200
    if form.validate_on_submit():
        token = (form.token.data or "").strip()
        upload = form.file.data
        if upload is not None and upload.filename:
            data = read_limited(upload, credentials.JWT_MAX_CHARS)
            if data is None:
                form.file.errors = ["That file is larger than 64 KB; our credentials are smaller."]
            else:
                token = data.decode("ascii", errors="replace").strip()
        if form.file.errors:
            status = 400
        elif not token:
            form.token.errors = ["Paste the credential, or choose its file."]
            status = 400
        else:
            result = credentials.check_jwt(token)
    elif request.method == "POST":
        status = 400
    return render_template(
        "certificates/check_credential.html",
        form=form,
        result=result,
        info=services.public_record(result.certificate) if result and result.certificate else None,
    ), status
