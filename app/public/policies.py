"""Access to the public pages: anyone may read them; writing to a hub is for anyone but an
auditor (whose account is read-only by construction). A hub's listing in a URL is loaded
here; an unlisted or unknown hub is 404."""

from __future__ import annotations

from app.core.policy import Policy, object_policy
from app.organisations.policies import ORG_STAFF

from . import services


def _not_an_auditor(user, view_args) -> int | None:
    return 403 if user.is_authenticated and user.has_role("auditor") else None


VISITOR = Policy("public:not-auditor", requires_login=False, object_check=_not_an_auditor)
LISTING = object_policy(
    "public:listing", arg="hub_id", load=services.listing, store="listing", requires_login=False
)
LISTING_VISITOR = object_policy(
    "public:listing-visitor",
    arg="hub_id",
    load=services.listing,
    store="listing",
    within=VISITOR,
    requires_login=False,
)

# Hiding a hub's listing (moderation): trainers, lead trainers and admins; the organisation
# in the URL must exist. Auditors only read.
LISTING_MODERATOR = Policy(
    "organisation:listing-moderator",
    requires_login=True,
    roles=frozenset(services.MODERATORS),
    object_check=ORG_STAFF.object_check,
)
