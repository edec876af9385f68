"""Certificate pages: an organisation's certificates, downloads, lifecycle actions, launch,
trainee certificates, and the public verification pages (HTML and JSON)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.core import cache, clock
from app.core.boundary import refuse, refused
from app.core.errors import ServiceError
from app.core.filters import long_date
from app.core.forms import attach_error
from app.core.policy import PUBLIC, access
from app.core.storage import send_stored
from app.extensions import csrf, db, limiter
from app.organisations import services as org_services
from app.organisations.context import organisation_page
from app.organisations.models import Organisation
from app.organisations.policies import ORG_HUB_LEAD, ORG_MEMBER, ORG_VIEWER

from . import api, credentials, keys, services
from .forms import (
    CodeForm,
    LaunchForm,
    PdfCheckApiForm,
    PdfCheckForm,
    ReissueForm,
    RenewForm,
    RevokeForm,
)
from .models import SigningKey
from .policies import CERT_DOWNLOADER, CERT_MANAGER

bp = Blueprint("certificates", __name__)


def _limit():
    return current_app.config["VERIFY_LIMIT_PER_IP"]


# --- the organisation's certificates ------------------------------------------------------


def _render_org(org, status=200, forms=None, launch_form=None):
    certificates = services.for_organisation(org)
    membership = org_services.membership_of(current_user, org.id)
    forms = forms or {}
    manage = services.can_manage(current_user)
    rows = []
    for cert in certificates:
        status_ = services.status_of(cert)
        cert_forms = forms.get(cert.id, {})
        if manage and status_ in ("valid", "expired"):
            cert_forms.setdefault("revoke", RevokeForm(prefix=f"revoke-{cert.id}"))
            if status_ == "valid":
                cert_forms.setdefault("reissue", ReissueForm(prefix=f"reissue-{cert.id}"))
                cert_forms.setdefault("renew", RenewForm(prefix=f"renew-{cert.id}"))
        rows.append((cert, status_, services.can_download(current_user, cert), cert_forms))
    eligibility = services.trainee_eligibility(membership) if membership else None
    return render_template(
        "certificates/organisation.html",
        rows=rows,
        carried=credentials.carried(current_user, org, certificates),
        eligibility=eligibility,
        launch_form=launch_form or LaunchForm(),
        status_label=services.status_label,
        **organisation_page(org),
    ), status


@bp.route("/organisations/<int:org_id>/certificates")
@access(ORG_VIEWER)
def organisation_certificates(org_id: int):
    return _render_org(g.organisation)


@bp.route("/organisations/<int:org_id>/launch", methods=["POST"])
@access(ORG_HUB_LEAD)
def record_launch(org_id: int):
    org = g.organisation
    form = LaunchForm()
    if form.validate_on_submit():
        try:
            org_services.record_launch(
                org, by=current_user, first_session_on=form.first_session_on.data
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"Congratulations: {org.name}'s ECHO network is launched.", "success")
            return redirect(url_for("organisations.show_organisation", org_id=org.id))
    return _render_org(org, status=400, launch_form=form)


@bp.route("/organisations/<int:org_id>/my-certificate", methods=["POST"])
@access(ORG_MEMBER)
def issue_my_certificate(org_id: int):
    org = g.organisation
    membership = org_services.membership_of(current_user, org.id)
    try:
        cert = services.issue_trainee_certificate(membership, by=current_user)
    except ServiceError as error:
        refused(error)
    else:
        flash(f"Your certificate {cert.serial} is ready to download.", "success")
    return redirect(url_for("certificates.organisation_certificates", org_id=org.id) + "#mine")


@bp.route("/certificates/<int:cert_id>/download")
@access(CERT_DOWNLOADER)
def download(cert_id: int):
    cert = g.certificate
    services.note_download(cert, by=current_user)
    return send_stored(
        cert.storage_key, download_name=cert.download_name, content_type="application/pdf"
    )


def _lifecycle(cert_id: int, action: str):
    cert = g.certificate
    form_class = {"revoke": RevokeForm, "reissue": ReissueForm, "renew": RenewForm}[action]
    form = form_class(prefix=f"{action}-{cert.id}")
    if form.validate_on_submit():
        try:
            if action == "revoke":
                services.revoke(cert, by=current_user, reason=form.reason.data)
                message = f"{cert.serial} is revoked. The organisation was told."
            elif action == "reissue":
                new = services.reissue(cert, by=current_user, reason=form.reason.data)
                message = f"{new.serial} was issued and replaces {cert.serial}."
            else:
                new = services.renew(
                    cert,
                    by=current_user,
                    still_active=form.still_active.data,
                    note=form.note.data or "",
                )
                message = f"{new.serial} was issued; it is valid until {long_date(new.expires_on)}."
        except ServiceError as error:
            refuse()
            db.session.refresh(cert)
            attach_error(form, error)
        else:
            flash(message, "success")
            return redirect(
                url_for("certificates.organisation_certificates", org_id=cert.organisation_id)
            )
    org = db.session.get(Organisation, cert.organisation_id)
    return _render_org(org, status=400, forms={cert.id: {action: form}})


@bp.route("/certificates/<int:cert_id>/revoke", methods=["POST"])
@access(CERT_MANAGER)
def revoke(cert_id: int):
    return _lifecycle(cert_id, "revoke")


@bp.route("/certificates/<int:cert_id>/reissue", methods=["POST"])
@access(CERT_MANAGER)
def reissue(cert_id: int):
    return _lifecycle(cert_id, "reissue")


@bp.route("/certificates/<int:cert_id>/renew", methods=["POST"])
@access(CERT_MANAGER)
def renew(cert_id: int):
    return _lifecycle(cert_id, "renew")


# --- trust anchor and API description --------------------------------------------------


@bp.route("/verify/how-to")
@access(PUBLIC)
def how_to_verify():
    signing_keys = keys.all_keys()  # registers the first key on a fresh install
    return render_template(
        "certificates/how_to_verify.html",
        signing_keys=signing_keys,
        root=keys.root(),
        colon=keys.colon_fingerprint,
        api_version=api.API_VERSION,
        base_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/"),
    )


@bp.route("/verify/openapi.json")
@access(PUBLIC)
def openapi():
    response = api.public_json(api.openapi_document())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _certificate_file(body: bytes, fmt: str, name: str):
    content_type = "application/x-pem-file" if fmt == "pem" else "application/pkix-cert"
    # DER as .cer: the extension Adobe Acrobat's import dialog and Windows recognise.
    response = current_app.response_class(body, mimetype=content_type)
    extension = "pem" if fmt == "pem" else "cer"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/signing-keys/<int:key_id>.pem", defaults={"fmt": "pem"})
@bp.route("/signing-keys/<int:key_id>.der", defaults={"fmt": "der"})
@access(PUBLIC)
def signing_certificate(key_id: int, fmt: str):
    key = db.session.get(SigningKey, key_id)
    if key is None:
        abort(404)
    body = key.cert_pem.encode() if fmt == "pem" else keys.der_of(key)
    return _certificate_file(body, fmt, f"superhub-signing-key-{key.id}")


@bp.route("/signing-keys/root.pem", defaults={"fmt": "pem"})
@bp.route("/signing-keys/root.der", defaults={"fmt": "der"})
@access(PUBLIC)
def root_certificate(fmt: str):
    root = keys.root()
    if root is None:
        abort(404)
    body = root.cert_pem.encode() if fmt == "pem" else root.der
    return _certificate_file(body, fmt, "superhub-root")


# --- public verification ------------------------------------------------------------------


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _not_found_json():
    return api.public_json(api.unknown_answer(), 404)


@bp.route("/verify")
@access(PUBLIC)
def verify_form():
    form = CodeForm(request.args)
    if form.code.data is not None and "code" in request.args:
        code = (form.code.data or "").strip()
        for path in ("/verify/", "/v/"):  # someone pasted the whole link (or its short form)
            if path in code:
                code = code.rsplit(path, 1)[1].split("?")[0].split("#")[0].strip("/")
                break
        if not code:
            form.code.errors = ["Type the verification code printed on the certificate."]
        elif len(code) > 64:
            form.code.errors = [
                "That is longer than any verification code (they are 22 to 64 letters, "
                "digits, - and _). Check what you typed."
            ]
        elif not services.is_well_formed(code):
            form.code.errors = [
                "A verification code has only letters, digits, - and _ (22 to 64 of them). "
                "Check what you typed."
            ]
        else:
            return redirect(url_for("certificates.verify", code=code))
        return render_template("certificates/verify_form.html", form=form), 400
    return render_template("certificates/verify_form.html", form=form)


@bp.route("/v/<code>")
@access(PUBLIC)
def verify_short(code: str):
    """The short address printed on certificates (render.printed_verify_url): a permanent
    redirect to the verify page, which does the checking and the rate limiting."""
    return redirect(url_for("certificates.verify", code=code), code=301)


@bp.route("/verify/<code>")
@access(PUBLIC)
@limiter.limit(_limit)
def verify(code: str):
    if _wants_json():
        return _verify_json_response(code)
    # A visitor's page is cached until any certificate changes (or the day does: they
    # expire). An unknown code is cached as unknown until then too: issuing a certificate
    # is such a change. See app/core/cache.py.
    body = cache.for_visitors("verify", lambda: _verify_page(code), vary=clock.today())
    if body is None:
        return render_template("certificates/verify_unknown.html", form=CodeForm()), 404
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _verify_page(code: str) -> str | None:
    cert = services.by_code(code)
    if cert is None:
        return None
    return render_template(
        "certificates/verify.html",
        cert=cert,
        info=services.public_record(cert),
        has_credential=credentials.of_certificate(cert) is not None,
    )


@bp.route("/verify/<code>.json")
@access(PUBLIC)
@limiter.limit(_limit)
def verify_json(code: str):
    return _verify_json_response(code)


def _verify_json_response(code: str):
    info = cache.cached("verify", ("json", code, clock.today()), lambda: _public_info(code))
    if info is None:
        return _not_found_json()
    return api.public_json(info)


def _public_info(code: str) -> dict | None:
    cert = services.by_code(code)
    if cert is None:
        return None
    return api.code_answer(services.public_record(cert), cert)


@bp.route("/verify/pdf", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_limit, methods=["POST"])
@csrf.exempt  # the HTML form checks its own CSRF token; the JSON answer changes nothing
def check_pdf():
    if request.method == "POST" and _wants_json():
        return _check_pdf_json()
    form = PdfCheckForm()
    result = credential = None
    status = 200
    if form.validate_on_submit():
        try:
            data = services.pdf_to_check(form.file.data)
        except ServiceError as refusal:
            form.file.errors = [refusal.message]
            status = 400
        else:
            result = services.check_pdf(data)
            credential = credentials.check_pdf_credential(data)
    elif request.method == "POST":
        status = 400
    return render_template(
        "certificates/check_pdf.html",
        form=form,
        result=result,
        credential=credential,
        info=services.public_record(result.certificate) if result and result.certificate else None,
    ), status


def _check_pdf_json():
    """The upload check for machines (Accept: application/json): same rules, JSON verdict."""
    form = PdfCheckApiForm()
    upload = form.file.data if form.validate_on_submit() else None
    if upload is None or not getattr(upload, "filename", None):
        return api.public_json(api.upload_error("Send the certificate PDF as `file`."), 400)
    try:
        data = services.pdf_to_check(upload)
    except ServiceError as refusal:
        return api.public_json(api.upload_error(refusal.message), 400)
    result = services.check_pdf(data)
    record = services.public_record(result.certificate) if result.certificate else None
    return api.public_json(api.pdf_answer(result, record))
