"""Telling people things: a notification in the portal for each person, and an email now,
in tomorrow's digest, or not at all, as they chose for that group of notifications.

`notify` is what the areas call, inside the transaction of the change it announces (so the
notifications and their emails exist only if the change does).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from app.auth.models import User
from app.core import audit, clock, jobs
from app.core.errors import ServiceError
from app.core.mail import send_email
from app.core.pagination import clamp_page
from app.core.programme import programme
from app.extensions import db
from app.notifications.kinds import (
    GROUP_BY_KEY,
    GROUPS,
    Delivery,
    Group,
    group_of,
)
from app.notifications.models import Notification, NotificationPreference

PAGE_SIZE = 30


def preferences(user_ids: Iterable[int]) -> dict[int, dict[str, Delivery]]:
    """Each user's chosen delivery per group (defaults filled in), in one query."""
    ids = sorted(set(user_ids))
    chosen: dict[int, dict[str, Delivery]] = {i: {} for i in ids}
    if ids:
        for pref in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(ids))
        ):
            chosen[pref.user_id][pref.group] = pref.delivery
    return {i: {g.key: chosen[i].get(g.key, g.default) for g in GROUPS} for i in ids}


def notify(
    users: Iterable[User],
    *,
    template: str,
    subject: str,
    link: str = "",
    key: str | None = None,
    **context,
) -> list[Notification]:
    """Tell each active user: a notification in the portal, and by email as they chose for
    the template's group. `key` makes it idempotent per person (a reminder raised twice)."""
    group = group_of(template)
    people = {u.id: u for u in users if u is not None and u.is_active}
    if not people:
        return []
    chosen = preferences(people)
    made = []
    for user_id, user in sorted(people.items()):
        delivery = chosen[user_id][group.key]
        notification = Notification(
            user_id=user_id,
            kind=template,
            group=group.key,
            title=subject,
            link=link,
            digest_pending=delivery == Delivery.DIGEST,
        )
        db.session.add(notification)
        made.append(notification)
        if delivery == Delivery.IMMEDIATE:
            send_email(
                user.email,
                subject,
                template,
                kind=template,
                key=f"{key}:{user_id}" if key else None,
                footer=_footer(user, group),
                user_id=user_id,
                unsubscribe=unsubscribe_url(user, group),
                user=user,
                link=link,
                **context,
            )
    return made


def _footer(user: User, group: Group) -> str:
    return (
        f"You get these emails for “{group.label}”. Choose how you are told: "
        f"{url_for('notifications.preferences', _external=True)} · Stop emails like this: "
        f"{unsubscribe_url(user, group)}"
    )


# --- reading ------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def recent(user: User, page: int = 1):
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return db.paginate(stmt, page=clamp_page(page), per_page=PAGE_SIZE, error_out=False)


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; how many changed."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(
        stmt.values(read_at=clock.now()).execution_options(synchronize_session=False)
    ).rowcount


# --- preferences --------------------------------------------------------------------------


def set_preferences(user: User, choices: dict[str, str]) -> None:
    """Save the user's delivery per group; unknown groups or modes are refused."""
    current = preferences([user.id])[user.id]
    changed = {}
    for key, value in choices.items():
        if key not in GROUP_BY_KEY or value not in set(Delivery):
            raise ServiceError("Choose one of the offered options for each kind of notification.")
        if current[key] != value:
            changed[key] = value
    existing = {
        p.group: p
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for key, value in changed.items():
        if key in existing:
            existing[key].delivery = Delivery(value)
        else:
            db.session.add(
                NotificationPreference(user_id=user.id, group=key, delivery=Delivery(value))
            )
    if changed:
        audit.record("notifications.preferences_changed", actor=user, subject=user, details=changed)
        if any(v != Delivery.DIGEST for v in changed.values()):
            _release_digest(user, [k for k, v in changed.items() if v != Delivery.DIGEST])


def _release_digest(user: User, groups: list[str]) -> None:
    """Notifications waiting for a digest of a group no longer digested stay in the portal
    only (they are not emailed one by one after the fact)."""
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.digest_pending.is_(True),
            Notification.group.in_(groups),
        )
        .values(digest_pending=False)
        .execution_options(synchronize_session=False)
    )


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="notifications-unsubscribe")


def unsubscribe_url(user: User, group: Group) -> str:
    token = _serializer().dumps([user.id, group.key])
    return url_for("notifications.unsubscribe", token=token, _external=True)


def unsubscribe_target(token: str) -> tuple[User, Group]:
    """The person and group an unsubscribe link names; ServiceError if it is not ours."""
    invalid = ServiceError("This unsubscribe link is not valid. Sign in to choose your emails.")
    try:
        user_id, key = _serializer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or key not in GROUP_BY_KEY:
        raise invalid
    return user, GROUP_BY_KEY[key]


def unsubscribe(user: User, group: Group) -> None:
    """Stop the emails of `group` for `user` (whom a valid unsubscribe link named)."""
    set_preferences(user, {group.key: Delivery.OFF.value})


# --- the daily digest ---------------------------------------------------------------------


@jobs.periodic("notifications.digest", every_seconds=900)
def send_digests() -> int:
    """Once the programme's digest hour has come, email each person with notifications
    waiting for a digest one message listing them (one a day: the key is the date)."""
    local = clock.local_now()
    if local.hour < programme().digest_hour:
        return 0
    return send_digests_now(day=local.date().isoformat())


def send_digests_now(day: str) -> int:
    """Email each active person one message listing their notifications waiting for a digest
    (one query for all of them); how many digests went."""
    pending: dict[int, list[Notification]] = {}
    people: dict[int, User] = {}
    for item, user in db.session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.digest_pending.is_(True), User.is_active_account.is_(True))
        .order_by(Notification.user_id, Notification.created_at, Notification.id)
    ).all():
        pending.setdefault(user.id, []).append(item)
        people[user.id] = user
    choices = url_for("notifications.preferences", _external=True)
    sent = 0
    for user_id, items in pending.items():
        user = people[user_id]
        messages = send_email(
            user.email,
            f"Your daily summary: {len(items)} update{'' if len(items) == 1 else 's'}",
            "notifications_digest",
            kind="notifications_digest",
            key=f"digest:{user.id}:{day}",
            footer=f"Choose how you are told: {choices}",
            user_id=user.id,
            user=user,
            items=items,
            list_link=url_for("notifications.list_notifications", _external=True),
        )
        if messages:  # today's digest not sent yet: these items are in it
            for item in items:
                item.digest_pending = False
            sent += 1
    db.session.commit()
    return sent
