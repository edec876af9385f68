"""Access to Immersion pages: each object a URL names (cohort, session, booking, resource)
has one loader and one check here; the view finds the object in `g`.

Trainers and admins run cohorts (`PROGRAMME_STAFF`); auditors also read them
(`PROGRAMME_VIEWERS`). A cohort's library is for staff and the people on a confirmed
booking; its evaluation for those attending.
"""

from __future__ import annotations

from app.core.policy import object_policy, roles
from app.core.roles import PROGRAMME_STAFF, PROGRAMME_VIEWERS
from app.extensions import db
from app.immersion import services
from app.immersion.models import Booking, ImmersionCohort, ImmersionSession, SessionResource
from app.organisations.policies import ORG_HUB_LEAD, in_organisation

STAFF = roles(PROGRAMME_STAFF)
VIEWERS = roles(PROGRAMME_VIEWERS)


def _get(model):
    return lambda key: db.session.get(model, key) if isinstance(key, int) else None


def _library_user(user, cohort: ImmersionCohort) -> int | None:
    return None if services.can_use_library(user, cohort) else 403


def _attendee(user, cohort: ImmersionCohort) -> int | None:
    return None if services.is_attendee(user, cohort) else 403


def _on_cohort(name: str, **kwargs):
    """A policy on the cohort named by `cohort_id`, kept in `g.cohort`."""
    return object_policy(
        name, arg="cohort_id", load=_get(ImmersionCohort), store="cohort", **kwargs
    )


COHORT_STAFF = _on_cohort("immersion:cohort-staff", roles=PROGRAMME_STAFF)
COHORT_VIEWER = _on_cohort("immersion:cohort-viewer", roles=PROGRAMME_VIEWERS)
SESSION_STAFF = object_policy(
    "immersion:session-staff",
    arg="session_id",
    load=_get(ImmersionSession),
    store="immersion_session",
    roles=PROGRAMME_STAFF,
)
LIBRARY_USER = _on_cohort("immersion:library", check=_library_user)


def _stored_resource(key) -> SessionResource | None:
    resource = _get(SessionResource)(key)
    return resource if resource is not None and resource.storage_key else None


RESOURCE_USER = object_policy(
    "immersion:resource",
    arg="resource_id",
    load=_stored_resource,
    store="resource",
    check=lambda user, resource: _library_user(user, resource.session.cohort),
)
EVALUATOR = _on_cohort("immersion:evaluator", check=_attendee)
# The hub lead books a cohort for the organisation in the URL...
COHORT_FOR_LEAD = _on_cohort("immersion:book", within=ORG_HUB_LEAD)


# ...and changes or cancels that organisation's own bookings only.
BOOKING_LEAD = object_policy(
    "immersion:booking",
    arg="booking_id",
    load=in_organisation(Booking),
    store="booking",
    within=ORG_HUB_LEAD,
)
