"""The audit actions of certificates, in plain words."""

from __future__ import annotations

from app.core import audit

ACTIONS = {
    "certificate.issued": "issued a certificate",
    "certificate.revoked": "revoked a certificate",
    "certificate.reissued": "re-issued a certificate",
    "certificate.renewed": "renewed a certificate",
    "certificate.downloaded": "downloaded a certificate",
    "certificate.signing_key_rotated": "introduced a new certificate signing key",
    "certificate.credential_added": "added the Open Badges credential of an earlier certificate",
}


def _certificate(details: dict) -> list[str]:
    serial = details.pop("serial", "")
    if not serial:
        return []
    replacement = details.pop("new_serial", "")
    return [serial] + ([f"replaced by {replacement}"] if replacement else [])


audit.register_actions(ACTIONS, _certificate)
