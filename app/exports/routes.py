"""My exports: what is being prepared, what is ready to download, what failed."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for
from flask_login import current_user

from app.core import storage
from app.core.boundary import refused
from app.core.errors import ServiceError
from app.core.policy import access
from app.exports import services
from app.exports.policies import MY_EXPORTS, OWN_EXPORT

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.route("")
@access(MY_EXPORTS)
def list_exports():
    return render_template("exports/list.html", exports=services.mine(current_user))


@bp.route("/<int:export_id>/download")
@access(OWN_EXPORT)
def download(export_id: int):
    try:
        export = services.downloadable(g.export)
    except ServiceError as error:
        refused(error)
        return redirect(url_for("exports.list_exports"))
    services.record_download(export, by=current_user)
    response = storage.send_stored(
        export.storage_key, download_name=export.filename, content_type=export.content_type
    )
    response.headers["Cache-Control"] = "no-store"
    return response
