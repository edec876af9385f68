"""An organisation's registered details: registration, editing, and the normalising of
charity numbers, websites and phone numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.auth.models import User
from app.core import audit
from app.core.errors import ServiceError
from app.extensions import db
from app.organisations.access import _require_lead, _require_open, _touch
from app.organisations.models import (
    NATIONS,
    ORGANISATION_TYPES,
    HubApplication,
    Membership,
    Organisation,
    TeamRole,
)

_REGISTRATION_PATTERNS = (
    re.compile(r"^\d{6,7}$"),  # charity in England and Wales
    re.compile(r"^SC\d{6}$"),  # Scottish charity (and Scottish company)
    re.compile(r"^NIC?\d{6}$"),  # Northern Ireland charity or company
    re.compile(r"^\d{8}$"),  # company in England and Wales
    re.compile(r"^(OC|SO|NC|LP|SL|NL|RC|IP|SP|NP)\d{6}$"),  # other Companies House prefixes
)


def normalise_registration_number(value: str) -> str:
    """Upper-case, spaces removed; '' allowed; ServiceError when no UK format matches."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not compact:
        return ""
    if not any(p.match(compact) for p in _REGISTRATION_PATTERNS):
        raise ServiceError(
            "Enter a charity number (e.g. 1234567, SC012345, NIC100001) or a company "
            "number (e.g. 01234567 or SC123456), or leave it blank.",
            field="registration_number",
        )
    return compact


def normalise_website(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if re.match(r"^[a-z][a-z0-9+.\-]*:(?!//)", value, re.I) and not re.match(r"^[^:/]+:\d+", value):
        # "mailto:…", "javascript:…": a scheme that is not a web address
        raise ServiceError(
            "Enter a website address like https://www.example.org.uk.", field="website"
        )
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        scheme, hostname = parts.scheme, parts.hostname or ""
    except ValueError:  # e.g. an unclosed "[" is taken for an IPv6 address
        scheme, hostname = "", ""
    if scheme not in {"http", "https"} or "." not in hostname or re.search(r"\s", value):
        raise ServiceError(
            "Enter a website address like https://www.example.org.uk.", field="website"
        )
    return value


def normalise_phone(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if not re.fullmatch(r"[+(\d][\d ()\-]*", value) or not 9 <= len(digits) <= 15:
        raise ServiceError(
            "Enter a phone number like 0161 496 0000 or +44 161 496 0000.", field="phone"
        )
    return value


@dataclass
class OrganisationDetails:
    name: str
    org_type: str
    nation: str
    registration_number: str = ""
    other_country: str = ""
    address: str = ""
    website: str = ""
    phone: str = ""


def _clean_details(details: OrganisationDetails) -> dict:
    name = (details.name or "").strip()
    if not name:
        raise ServiceError("Enter the organisation's name.", field="name")
    if details.org_type not in ORGANISATION_TYPES:
        raise ServiceError("Choose the type of organisation.", field="org_type")
    if details.nation not in NATIONS:
        raise ServiceError("Choose the nation or country.", field="nation")
    other_country = (details.other_country or "").strip()
    if details.nation == "other" and not other_country:
        raise ServiceError("Enter the country.", field="other_country")
    return {
        "name": name,
        "org_type": details.org_type,
        "nation": details.nation,
        "other_country": other_country if details.nation == "other" else "",
        "registration_number": normalise_registration_number(details.registration_number),
        "address": (details.address or "").strip(),
        "website": normalise_website(details.website),
        "phone": normalise_phone(details.phone),
    }


def create_organisation(user: User, details: OrganisationDetails) -> Organisation:
    """Register an organisation; its creator becomes the hub lead."""
    values = _clean_details(details)
    org = Organisation(**values, stage="draft", created_by_id=user.id)
    org.application = HubApplication()
    db.session.add(org)
    db.session.flush()
    membership = Membership(organisation_id=org.id, user_id=user.id, added_by_id=user.id)
    membership.role_links = [TeamRole(role="hub_lead")]
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "organisation.created",
        actor=user,
        subject=org,
        organisation_id=org.id,
        details={"name": org.name},
    )
    return org


def update_organisation(org: Organisation, *, by: User, details: OrganisationDetails) -> None:
    _require_lead(by, org)
    _require_open(org, "edited")
    values = _clean_details(details)
    changes = {k: [getattr(org, k), v] for k, v in values.items() if getattr(org, k) != v}
    if not changes:
        return
    for key, (_old, new) in changes.items():
        setattr(org, key, new)
    _touch(org)
    audit.record(
        "organisation.details_updated",
        actor=by,
        subject=org,
        organisation_id=org.id,
        details={"fields": sorted(changes)},
    )
