"""Access policies for certificate URLs; the object check leaves the certificate named by
`cert_id` in `g.certificate` for the view."""

from __future__ import annotations

from flask import g

from app.core.policy import Policy
from app.core.roles import AUDIT_READERS, CERTIFICATE_MANAGERS
from app.extensions import db

from . import services
from .models import Certificate


def _load(view_args) -> Certificate | None:
    cert = db.session.get(Certificate, view_args.get("cert_id") or 0)
    g.certificate = cert
    return cert


def _downloader(user, view_args) -> int | None:
    cert = _load(view_args)
    if cert is None or not services.can_download(user, cert):
        return 404
    return None


def _exists(user, view_args) -> int | None:
    return None if _load(view_args) is not None else 404


# The hub lead (hub certificates), the person named (trainee ones), staff and auditors.
CERT_DOWNLOADER = Policy("certificate:download", requires_login=True, object_check=_downloader)
# Admins and lead trainers: revoke, re-issue, renew.
CERT_MANAGER = Policy(
    "certificate:manage",
    requires_login=True,
    roles=CERTIFICATE_MANAGERS,
    object_check=_exists,
)
# Auditors and admins: the approval dossier.
CERT_AUDIT_READER = Policy(
    "certificate:audit",
    requires_login=True,
    roles=AUDIT_READERS,
    object_check=_exists,
)
