"""The kinds of notification, grouped as people choose how to receive them.

Each email template a notification uses belongs to one group; a person sets one delivery
mode per group. Security mail (reset links, sign-in and two-step changes) and invitations
to an address are not notifications: they are always sent at once (`core.mail.send_email`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Delivery(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"


DELIVERY_LABELS = {
    Delivery.IMMEDIATE: "Email each one at once",
    Delivery.DIGEST: "One email a day (daily digest)",
    Delivery.OFF: "No email (see them in the portal)",
}


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    hint: str
    default: Delivery
    templates: tuple[str, ...]


GROUPS = (
    Group(
        "decisions",
        "Decisions about your organisation",
        "Accepted, declined, changes asked for, approved as a hub, directory listing hidden.",
        Delivery.IMMEDIATE,
        (
            "application_accepted",
            "application_declined",
            "application_changes_requested",
            "readiness_changes",
            "readiness_rejected",
            "hub_approved",
            "listing_moderated",
        ),
    ),
    Group(
        "reviews",
        "Reviews of your evidence, agreements and checklist",
        "Each item a trainer accepts or sends back.",
        Delivery.DIGEST,
        ("agreement_reviewed", "checklist_reviewed"),
    ),
    Group(
        "team",
        "Your team",
        "Being added to a team; people joining or declining your invitations.",
        Delivery.IMMEDIATE,
        ("team_added", "team_member_joined", "team_invitation_declined"),
    ),
    Group(
        "immersion",
        "Immersion training",
        "Bookings, the waiting list, sessions and evaluations, and reminders of booking "
        "deadlines, sessions tomorrow and evaluations not yet answered. A session moved or "
        "cancelled is always emailed at once, with its calendar entry.",
        Delivery.IMMEDIATE,
        (
            "immersion_booking",
            "immersion_session_changed",
            "immersion_cohort_cancelled",
            "immersion_evaluation",
            "reminder_booking_deadline",
            "reminder_session_tomorrow",
            "reminder_evaluation",
        ),
    ),
    Group(
        "certificates",
        "Certificates",
        "Replaced or revoked certificates, and reminders before a certificate expires.",
        Delivery.IMMEDIATE,
        ("certificate_replaced", "certificate_revoked", "reminder_certificate_expiry"),
    ),
    Group(
        "trainer_work",
        "Work for superhub trainers",
        "Applications, readiness submissions and approvals waiting for you, and a reminder "
        "of work that has waited too long.",
        Delivery.IMMEDIATE,
        (
            "application_submitted",
            "readiness_submitted",
            "assessment_awaiting_decision",
            "reminder_trainer_work",
        ),
    ),
    Group(
        "reminders",
        "Reminders of deadlines and renewals",
        "Team invitations nobody has answered yet, and required training not started.",
        Delivery.IMMEDIATE,
        ("reminder_invitation", "reminder_modules_not_started"),
    ),
    Group(
        "exports",
        "Your exports",
        "A large export you asked for is ready to download (or could not be made).",
        Delivery.IMMEDIATE,
        ("export_ready",),
    ),
)

GROUP_BY_KEY = {g.key: g for g in GROUPS}
GROUP_OF_TEMPLATE = {t: g for g in GROUPS for t in g.templates}


def group_of(template: str) -> Group:
    try:
        return GROUP_OF_TEMPLATE[template]
    except KeyError:
        raise KeyError(
            f"email template {template!r} belongs to no notification group "
            "(add it to app/notifications/kinds.py)"
        ) from None
