"""The organisations area's public surface: what routes, the demo and other areas call.

Services take plain values, check who may act and in which stage, write audit events and
flush; the request boundary commits once. The rules live in one module per sub-domain:
`access` (memberships, who may see or change an organisation), `details` (registration),
`application` (the application and its screening), `team` (invitations, members, roles,
composition), `launch` (the journey's last step), `lists` (searches and queues for
trainers); `journey` holds the stages and their transitions.
"""

from __future__ import annotations

from app.organisations.access import (  # noqa: F401
    can_view,
    hub_leads,
    is_hub_lead,
    membership_of,
    notify_leads,
    organisation_names_of,
    organisations_of,
)
from app.organisations.application import (  # noqa: F401
    APPLICATION_PARTS,
    REQUIRED_ON_SUBMIT,
    TEXT_FIELDS,
    accept_application,
    decline_application,
    missing_fields,
    parts_complete,
    request_changes,
    save_application,
    submit_application,
    withdraw,
)
from app.organisations.details import (  # noqa: F401
    OrganisationDetails,
    create_organisation,
    normalise_phone,
    normalise_registration_number,
    normalise_website,
    update_organisation,
)
from app.organisations.launch import (  # noqa: F401
    record_launch,
)
from app.organisations.lists import (  # noqa: F401
    ORGANISATION_SORTS,
    age_in_days,
    history,
    screening_queue,
    search_organisations,
    stage_counts,
)
from app.organisations.team import (  # noqa: F401
    Composition,
    InviteResult,
    WaitingInvitation,
    accept_invitation,
    accept_invitation_for,
    cancel_invitation,
    change_member_roles,
    decline_invitation,
    decline_invitation_for,
    invitation_for_token,
    invitations_waiting_for,
    invite_member,
    remove_member,
    resend_invitation,
    staff_conflict,
    team_composition,
    team_members,
)
