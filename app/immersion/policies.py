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
from app.organisations.models import Organisation
from app.organisations.policies import ORG_HUB_LEAD

STAFF = roles(PROGRAMME_STAFF)
VIEWERS = roles(PROGRAMME_VIEWERS)


def _get(model):
    return lambda key: db.session.get(model, key) if isinstance(key, int) else None


def _library_user(user, cohort: ImmersionCohort) -> int | None:
    return None if services.can_use_library(user, cohort) else 403


def _attendee(user, cohort: ImmersionCohort) -> int | None:
    return None if services.is_attendee(user, cohort) else 403


COHORT_STAFF = object_policy(
    "immersion:cohort-staff",
    arg="cohort_id",
    load=_get(ImmersionCohort),
    store="cohort",
    roles=PROGRAMME_STAFF,
)
COHORT_VIEWER = object_policy(
    "immersion:cohort-viewer",
    arg="cohort_id",
    load=_get(ImmersionCohort),
    store="cohort",
    roles=PROGRAMME_VIEWERS,
)
SESSION_STAFF = object_policy(
    "immersion:session-staff",
    arg="session_id",
    load=_get(ImmersionSession),
    store="immersion_session",
    roles=PROGRAMME_STAFF,
)
LIBRARY_USER = object_policy(
    "immersion:library",
    arg="cohort_id",
    load=_get(ImmersionCohort),
    store="cohort",
    check=_library_user,
)


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
EVALUATOR = object_policy(
    "immersion:evaluator",
    arg="cohort_id",
    load=_get(ImmersionCohort),
    store="cohort",
    check=_attendee,
)
# The hub lead books a cohort for the organisation in the URL...
COHORT_FOR_LEAD = object_policy(
    "immersion:book",
    arg="cohort_id",
    load=_get(ImmersionCohort),
    store="cohort",
    within=ORG_HUB_LEAD,
)


def _own_booking(user, booking: Booking) -> int | None:
    from flask import g

    org: Organisation = g.organisation
    return None if booking.organisation_id == org.id else 404


# ...and changes or cancels that organisation's own bookings only.
BOOKING_LEAD = object_policy(
    "immersion:booking",
    arg="booking_id",
    load=_get(Booking),
    store="booking",
    check=_own_booking,
    within=ORG_HUB_LEAD,
)
