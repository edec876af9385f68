"""Reminders on a schedule, each sent once.

One periodic job (`send_reminders`, hourly) runs every kind. A kind is a small function
that finds its candidates in one query, works out each reminder's due date (a UK day) and
sends those whose due date is in the current window: from `catch_up_days` ago to today,
today counting once `send_hour` has come (`modules/programme.yaml`, `reminders:`).

A reminder is keyed by kind + subject + due date. Its ledger row (`ReminderSent`) is
inserted in the same transaction as its notifications and emails, so a re-run, or a second
scheduler at the same moment (the unique key), never sends it twice; a reminder that
failed is retried on the next run while its window lasts.

The kinds, and who hears:
- certificate_expiry: the hub leads (or, for a trainee certificate, its holder) and the
  lead trainers, 90/30/7 days before a current certificate's last valid day and once on
  the first day it reads expired; the latest stage reached wins (no stale "90 days").
- invitation_unanswered / invitation_lapsing: the hub leads, about an open invitation
  unanswered 7 days after it was sent and 2 days before it lapses. The invitation's token
  is stored only as a hash, so the invitee cannot be re-sent their link: the leads can
  resend it (a fresh link) from the team page.
- booking_deadline: the hub leads of an organisation ready to book Immersion
  (`immersion.bookings.ready_to_book`) with no booking, 7 days before a bookable cohort's
  deadline.
- session_tomorrow: each attendee on a confirmed booking, the day before a session (UK
  time, join link, calendar file).
- evaluation: attendees who have not answered, 7 days after the cohort was completed while
  its evaluation is open.
- trainer_work: every trainer, one digest of agreements and checklist answers waiting for a
  review and assessments waiting for a decision for more than 5 working days; sent when
  something is newly overdue, listing everything still waiting.
- modules_not_started: a member of an organisation in training whose required modules
  include some not started 30 days after the organisation's acceptance (or after they
  joined, if later).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.assessment.models import Assessment, AssessmentStatus
from app.auth.models import User, UserRole
from app.certificates.models import Certificate
from app.core import clock, jobs
from app.core.filters import long_date
from app.core.programme import ReminderSettings, programme
from app.core.roles import LEAD_TRAINER, TRAINER
from app.extensions import db
from app.immersion.ical import sessions_calendar
from app.immersion.models import (
    Booking,
    BookingAttendee,
    BookingStatus,
    CohortStatus,
    EvaluationResponse,
    ImmersionCohort,
    ImmersionSession,
)
from app.immersion.services import BOOKABLE, unbooked_ready_organisations
from app.notifications.services import notify
from app.organisations.journey import CLOSED_STAGES
from app.organisations.models import (
    Invitation,
    Membership,
    Organisation,
    Stage,
    StageChange,
    TeamRole,
)
from app.readiness.models import Agreement, ChecklistAnswer, ReviewStatus
from app.readiness.services import checklist
from app.reminders.models import ReminderSent
from app.training.services import ProgressStatus, team_progress

log = logging.getLogger(__name__)


# --- when -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The due dates (UK days) whose reminders may be sent now, `first` to `last`."""

    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


def window(now: datetime | None = None) -> Window:
    settings = programme().reminders
    local = (now or clock.now()).astimezone(clock.zone())
    last = local.date() if local.hour >= settings.send_hour else local.date() - timedelta(days=1)
    return Window(last - timedelta(days=settings.catch_up_days), last)


def local_date(instant: datetime) -> date:
    return instant.astimezone(clock.zone()).date()


def day_start(day: date) -> datetime:
    """The instant (UTC) a UK day begins."""
    return datetime.combine(day, time(0), tzinfo=clock.zone()).astimezone(UTC)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def add_working_days(day: date, n: int) -> date:
    """The `n`th working day (Monday to Friday) after `day`."""
    while n > 0:
        day += _days(1)
        if day.weekday() < 5:
            n -= 1
    return day


def _long(day: date) -> str:
    return long_date(day)


def _local_time(instant: datetime) -> str:
    """E.g. "10:00 on Wednesday 7 April 2027 (UK time)"."""
    local = instant.astimezone(clock.zone())
    return f"{local:%H:%M} on {local:%A} {_long(local.date())} (UK time)"


# --- sending once -----------------------------------------------------------------------


@dataclass
class Reminder:
    kind: str
    subject: str  # what it is about, e.g. "certificate-12"
    due_on: date
    people: list[User]
    template: str
    title: str
    link: str
    context: dict = field(default_factory=dict)
    # Further ledger rows written with this one (a digest records each item it announces).
    also: list[tuple[str, str, date]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return _key(self.kind, self.subject, self.due_on)


def _key(kind: str, subject: str, due_on: date) -> str:
    return f"{kind}:{subject}:{due_on.isoformat()}"


def already_sent(keys: Iterable[str]) -> set[str]:
    keys = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            db.session.scalars(
                select(ReminderSent.key).where(ReminderSent.key.in_(keys[start : start + 500]))
            )
        )
    return found


def send(reminders: list[Reminder]) -> int:
    """Send each reminder not sent before (to its active people), then commit; how many
    went. Each is its own savepoint: its ledger rows and notifications stand or fall
    together, and one that fails (or that another scheduler sent a moment ago: the unique
    key) leaves the others standing."""
    done = already_sent(r.key for r in reminders)
    count = 0
    for reminder in reminders:
        people = {p.id: p for p in reminder.people if p is not None and p.is_active}
        if reminder.key in done or not people:
            continue
        try:
            with db.session.begin_nested():
                for kind, subject, due_on in [
                    (reminder.kind, reminder.subject, reminder.due_on),
                    *reminder.also,
                ]:
                    db.session.add(
                        ReminderSent(
                            key=_key(kind, subject, due_on),
                            kind=kind,
                            subject=subject,
                            due_on=due_on,
                            recipients=len(people),
                        )
                    )
                db.session.flush()
                notify(
                    list(people.values()),
                    template=reminder.template,
                    subject=reminder.title,
                    link=reminder.link,
                    key=f"reminder:{reminder.key}",
                    **reminder.context,
                )
                db.session.flush()
        except IntegrityError:
            log.info("reminder %s was sent by another run", reminder.key)
            continue
        except Exception:
            log.exception("reminder %s not sent; the next run tries again", reminder.key)
            continue
        count += 1
    db.session.commit()
    return count


# --- who ----------------------------------------------------------------------------------


def hub_leads(org_ids: Iterable[int]) -> dict[int, list[User]]:
    """Each organisation's hub leads (one query)."""
    ids = sorted(set(org_ids))
    leads: dict[int, list[User]] = defaultdict(list)
    if ids:
        for org_id, user in db.session.execute(
            select(Membership.organisation_id, User)
            .join(User, User.id == Membership.user_id)
            .join(TeamRole, TeamRole.membership_id == Membership.id)
            .where(Membership.organisation_id.in_(ids), TeamRole.role == "hub_lead")
            .order_by(User.id)
        ):
            leads[org_id].append(user)
    return leads


def people_with_role(role: str) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role)
            .order_by(User.id)
        ).unique()
    )


# --- the kinds ----------------------------------------------------------------------------


def certificate_expiry(w: Window, s: ReminderSettings) -> list[Reminder]:
    """Current certificates reaching a stage before (or just past) their last valid day."""
    stages = [(n, _days(n)) for n in s.certificate_expiry_days]  # due = expires_on - n
    if s.certificate_expired:
        stages.append((0, _days(-1)))  # due the first day it reads expired
    if not stages:
        return []
    certs = list(
        db.session.scalars(
            select(Certificate)
            .where(
                Certificate.revoked_at.is_(None),
                Certificate.superseded_by_id.is_(None),
                or_(*(Certificate.expires_on.between(w.first + d, w.last + d) for _, d in stages)),
            )
            .options(joinedload(Certificate.user))
            .order_by(Certificate.id)
        )
    )
    if not certs:
        return []
    leads = hub_leads(c.organisation_id for c in certs if c.kind == "hub")
    lead_trainers = people_with_role(LEAD_TRAINER)
    today = clock.today()
    reminders = []
    for cert in certs:
        due_on, n = max(
            (cert.expires_on - d, n) for n, d in stages if cert.expires_on - d in w
        )  # the latest stage reached
        holders = leads[cert.organisation_id] if cert.kind == "hub" else [cert.user]
        expired = n == 0
        expires = _long(cert.expires_on)
        reminders.append(
            Reminder(
                kind="certificate_expiry",
                subject=f"certificate-{cert.id}",
                due_on=due_on,
                people=[*holders, *lead_trainers],
                template="reminder_certificate_expiry",
                title=(
                    f"Certificate {cert.serial} for {cert.organisation_name} has expired"
                    if expired
                    else f"Certificate {cert.serial} for {cert.organisation_name} "
                    f"expires on {expires}"
                ),
                link=url_for(
                    "certificates.organisation_certificates",
                    org_id=cert.organisation_id,
                    _external=True,
                ),
                context={
                    "cert": cert,
                    "expired": expired,
                    "expires": expires,
                    "days_left": (cert.expires_on - today).days,
                },
            )
        )
    return reminders


def invitations(w: Window, s: ReminderSettings) -> list[Reminder]:
    """Open invitations unanswered a while after they were sent, or about to lapse."""
    after, before = _days(s.invitation_unanswered_days), _days(s.invitation_lapse_days)
    now = clock.now()
    pending = list(
        db.session.scalars(
            select(Invitation)
            .join(Organisation, Organisation.id == Invitation.organisation_id)
            .where(
                Invitation.accepted_at.is_(None),
                Invitation.cancelled_at.is_(None),
                Invitation.expires_at > now,
                Organisation.stage.not_in(CLOSED_STAGES),
                or_(
                    and_(
                        Invitation.sent_at >= day_start(w.first - after),
                        Invitation.sent_at < day_start(w.last - after + _days(1)),
                    ),
                    and_(
                        Invitation.expires_at >= day_start(w.first + before),
                        Invitation.expires_at < day_start(w.last + before + _days(1)),
                    ),
                ),
            )
            .options(joinedload(Invitation.organisation))
            .order_by(Invitation.id)
        )
    )
    leads = hub_leads(i.organisation_id for i in pending)
    reminders = []
    for invitation in pending:
        unanswered_on = local_date(invitation.sent_at) + after
        lapsing_on = local_date(invitation.expires_at) - before
        lapsing = lapsing_on in w  # the nearer the lapse, the more it matters
        if not lapsing and unanswered_on not in w:
            continue
        org = invitation.organisation
        lapses = _local_time(invitation.expires_at)
        reminders.append(
            Reminder(
                kind="invitation_lapsing" if lapsing else "invitation_unanswered",
                subject=f"invitation-{invitation.id}",
                due_on=lapsing_on if lapsing else unanswered_on,
                people=leads[org.id],
                template="reminder_invitation",
                title=(
                    f"The invitation to {invitation.email} to join {org.name} lapses soon"
                    if lapsing
                    else f"{invitation.email} has not yet answered the invitation to join "
                    f"{org.name}"
                ),
                link=url_for("organisations.show_team", org_id=org.id, _external=True),
                context={
                    "org": org,
                    "invitation": invitation,
                    "lapsing": lapsing,
                    "programme_days": programme().invitation_expiry_days,
                    "sent": _long(local_date(invitation.sent_at)),
                    "lapses": lapses,
                },
            )
        )
    return reminders


def booking_deadlines(w: Window, s: ReminderSettings) -> list[Reminder]:
    """Organisations ready to book Immersion that have not, before a cohort's deadline."""
    before = _days(s.booking_deadline_days)
    cohorts = list(
        db.session.scalars(
            select(ImmersionCohort)
            .where(
                ImmersionCohort.status.in_(BOOKABLE),
                ImmersionCohort.booking_deadline > clock.now(),
                ImmersionCohort.booking_deadline >= day_start(w.first + before),
                ImmersionCohort.booking_deadline < day_start(w.last + before + _days(1)),
            )
            .order_by(ImmersionCohort.booking_deadline, ImmersionCohort.id)
        )
    )
    if not cohorts:
        return []
    orgs = unbooked_ready_organisations()
    leads = hub_leads(o.id for o in orgs)
    reminders = []
    for cohort in cohorts:
        due_on = local_date(cohort.booking_deadline) - before
        deadline = _local_time(cohort.booking_deadline)
        for org in orgs:
            reminders.append(
                Reminder(
                    kind="booking_deadline",
                    subject=f"cohort-{cohort.id}-organisation-{org.id}",
                    due_on=due_on,
                    people=leads[org.id],
                    template="reminder_booking_deadline",
                    title=f"Book Immersion for {org.name}: “{cohort.title}” closes for "
                    f"booking on {_long(local_date(cohort.booking_deadline))}",
                    link=url_for("immersion.team_immersion", org_id=org.id, _external=True),
                    context={"org": org, "cohort": cohort, "deadline": deadline},
                )
            )
    return reminders


def sessions_tomorrow(w: Window, s: ReminderSettings) -> list[Reminder]:
    """Each attendee on a confirmed booking, the day (or days) before a session."""
    before = _days(s.session_days_before)
    rows = db.session.execute(
        select(ImmersionSession, User)
        .join(ImmersionCohort, ImmersionCohort.id == ImmersionSession.cohort_id)
        .join(Booking, Booking.cohort_id == ImmersionSession.cohort_id)
        .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .join(User, User.id == BookingAttendee.user_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            ImmersionCohort.status != CohortStatus.CANCELLED,
            ImmersionSession.cancelled_at.is_(None),
            ImmersionSession.starts_at > clock.now(),
            ImmersionSession.starts_at >= day_start(w.first + before),
            ImmersionSession.starts_at < day_start(w.last + before + _days(1)),
        )
        .options(joinedload(ImmersionSession.cohort))
        .order_by(ImmersionSession.starts_at, ImmersionSession.id, User.id)
    ).all()
    attendees: dict[ImmersionSession, list[User]] = defaultdict(list)
    for session, user in rows:
        attendees[session].append(user)
    reminders = []
    for session, people in attendees.items():
        cohort = session.cohort
        starts = session.starts_at.astimezone(clock.zone())
        when = (
            "Tomorrow" if s.session_days_before == 1 else f"On {starts:%A} {_long(starts.date())}"
        )
        reminders.append(
            Reminder(
                kind="session_tomorrow",
                subject=f"session-{session.id}",
                due_on=local_date(session.starts_at) - before,
                people=people,
                template="reminder_session_tomorrow",
                title=f"{when} at {starts:%H:%M} (UK time): {cohort.title}, {session.title}",
                link=url_for("immersion.my_immersion", _external=True),
                context={
                    "session": session,
                    "cohort": cohort,
                    "starts": _local_time(session.starts_at),
                    "attachments": [
                        (
                            "immersion-session.ics",
                            sessions_calendar(f"{cohort.title}: {session.title}", [session]),
                            "text/calendar",
                        )
                    ],
                },
            )
        )
    return reminders


def evaluations(w: Window, s: ReminderSettings) -> list[Reminder]:
    """Attendees who have not answered a completed cohort's open evaluation."""
    after = _days(s.evaluation_days_after)
    # Completing a cohort opens its evaluation for `evaluation_days`, so it was completed
    # that long before the evaluation closes.
    open_for = _days(programme().evaluation_days)
    rows = db.session.execute(
        select(ImmersionCohort, User)
        .join(Booking, Booking.cohort_id == ImmersionCohort.id)
        .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .join(User, User.id == BookingAttendee.user_id)
        .outerjoin(
            EvaluationResponse,
            and_(
                EvaluationResponse.cohort_id == ImmersionCohort.id,
                EvaluationResponse.user_id == User.id,
            ),
        )
        .where(
            ImmersionCohort.status == CohortStatus.COMPLETED,
            ImmersionCohort.evaluation_closes_at > clock.now(),
            ImmersionCohort.evaluation_closes_at >= day_start(w.first - after) + open_for,
            ImmersionCohort.evaluation_closes_at < day_start(w.last - after + _days(1)) + open_for,
            Booking.status == BookingStatus.CONFIRMED,
            EvaluationResponse.id.is_(None),
        )
        .order_by(ImmersionCohort.id, User.id)
    ).all()
    waiting: dict[ImmersionCohort, dict[int, User]] = defaultdict(dict)
    for cohort, user in rows:
        waiting[cohort][user.id] = user
    return [
        Reminder(
            kind="evaluation",
            subject=f"cohort-{cohort.id}",
            due_on=local_date(cohort.evaluation_closes_at - open_for) + after,
            people=list(people.values()),
            template="reminder_evaluation",
            title=f"Please tell us about {cohort.title}: the evaluation is still open",
            link=url_for("immersion.evaluate", cohort_id=cohort.id, _external=True),
            context={"cohort": cohort, "closes": _local_time(cohort.evaluation_closes_at)},
        )
        for cohort, people in waiting.items()
    ]


@dataclass(frozen=True)
class WaitingItem:
    subject: str
    what: str
    organisation: str
    since: datetime
    link: str


def trainer_work(w: Window, s: ReminderSettings) -> list[Reminder]:
    """One digest for trainers of reviews and decisions waiting too long."""
    n = s.trainer_waiting_working_days
    cutoff = clock.now() - _days(n)  # n working days are at least n days
    open_org = Organisation.stage.not_in(CLOSED_STAGES)
    items: list[tuple[WaitingItem, date]] = []

    def add(subject: str, what: str, org: Organisation, since: datetime, link: str) -> None:
        due_on = add_working_days(local_date(since), n + 1)  # waited more than n whole days
        if due_on <= w.last:
            items.append((WaitingItem(subject, what, org.name, since, link), due_on))

    for agreement, org in db.session.execute(
        select(Agreement, Organisation)
        .join(Organisation, Organisation.id == Agreement.organisation_id)
        .where(Agreement.status == ReviewStatus.SUBMITTED, Agreement.submitted_at <= cutoff)
        .where(open_org)
    ):
        add(
            f"agreement-{agreement.id}",
            f"{agreement.kind_label} to verify",
            org,
            agreement.submitted_at,
            url_for("readiness.show_readiness", org_id=org.id, _external=True),
        )
    the_checklist = checklist()
    for answer, org in db.session.execute(
        select(ChecklistAnswer, Organisation)
        .join(Organisation, Organisation.id == ChecklistAnswer.organisation_id)
        .where(
            ChecklistAnswer.status == ReviewStatus.SUBMITTED, ChecklistAnswer.submitted_at <= cutoff
        )
        .where(open_org)
    ):
        item = the_checklist.get(answer.item_key)
        add(
            f"checklist-answer-{answer.id}",
            f"Checklist answer to review: {item.title if item else answer.item_key}",
            org,
            answer.submitted_at,
            url_for("readiness.show_item", org_id=org.id, item_key=answer.item_key, _external=True),
        )
    for assessment, org in db.session.execute(
        select(Assessment, Organisation)
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .where(
            Assessment.status == AssessmentStatus.AWAITING_DECISION,
            Assessment.created_at <= cutoff,
        )
        .where(open_org)
    ):
        add(
            f"assessment-{assessment.id}",
            "Readiness assessment waiting for a second trainer's decision",
            org,
            assessment.created_at,
            url_for("assessment.show_assessment", assessment_id=assessment.id, _external=True),
        )
    if not items:
        return []
    sent = already_sent(_key("trainer_work_item", i.subject, d) for i, d in items)
    new = [(i, d) for i, d in items if _key("trainer_work_item", i.subject, d) not in sent]
    if not new:
        return []
    new_subjects = {i.subject for i, _ in new}
    items.sort(key=lambda pair: pair[0].since)
    today = clock.today()
    listed = [
        {
            "item": item,
            "new": item.subject in new_subjects,
            "since": _long(local_date(item.since)),
            "days": (today - local_date(item.since)).days,
        }
        for item, _due_on in items
    ]
    batch = hashlib.sha256(" ".join(sorted(new_subjects)).encode()).hexdigest()
    return [
        Reminder(
            kind="trainer_work",
            subject=f"digest-{batch[:16]}",
            due_on=w.last,
            people=people_with_role(TRAINER),
            template="reminder_trainer_work",
            title=f"{len(items)} item{'' if len(items) == 1 else 's'} waiting for a trainer "
            f"for more than {n} working days",
            link=url_for("readiness.review_queue", _external=True),
            context={"items": listed, "new_count": len(new), "working_days": n},
            also=[("trainer_work_item", i.subject, d) for i, d in new],
        )
    ]


def modules_not_started(w: Window, s: ReminderSettings) -> list[Reminder]:
    """Members in training who have not started some of their required modules."""
    after = _days(s.modules_not_started_days)
    accepted = (
        select(
            StageChange.organisation_id.label("organisation_id"),
            func.max(StageChange.changed_at).label("accepted_at"),
        )
        .where(StageChange.from_stage == Stage.SUBMITTED, StageChange.to_stage == Stage.IN_TRAINING)
        .group_by(StageChange.organisation_id)
        .subquery()
    )
    start, end = day_start(w.first - after), day_start(w.last - after + _days(1))
    rows = db.session.execute(
        select(Membership, accepted.c.accepted_at)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .join(accepted, accepted.c.organisation_id == Membership.organisation_id)
        .where(
            Organisation.stage == Stage.IN_TRAINING,
            accepted.c.accepted_at < end,
            Membership.joined_at < end,
            or_(accepted.c.accepted_at >= start, Membership.joined_at >= start),
        )
        .options(joinedload(Membership.user), joinedload(Membership.organisation))
        .order_by(Membership.id)
    ).all()
    due: dict[int, date] = {}
    for membership, accepted_at in rows:
        due_on = max(local_date(accepted_at), local_date(membership.joined_at)) + after
        if due_on in w:
            due[membership.id] = due_on
    members = [m for m, _ in rows if m.id in due]
    reminders = []
    for row in team_progress(members):
        not_started = [
            progress.module
            for progress, required in row.cells
            if required and progress.status == ProgressStatus.NOT_STARTED
        ]
        if not not_started:
            continue
        membership = row.membership
        org = membership.organisation
        count = len(not_started)
        reminders.append(
            Reminder(
                kind="modules_not_started",
                subject=f"membership-{membership.id}",
                due_on=due[membership.id],
                people=[membership.user],
                template="reminder_modules_not_started",
                title=f"{count} required training module{'' if count == 1 else 's'} for "
                f"{org.name} not started yet",
                link=url_for("training.my_training", _external=True),
                context={"org": org, "modules": not_started},
            )
        )
    return reminders


KINDS: tuple[Callable[[Window, ReminderSettings], list[Reminder]], ...] = (
    certificate_expiry,
    invitations,
    booking_deadlines,
    sessions_tomorrow,
    evaluations,
    trainer_work,
    modules_not_started,
)


@jobs.periodic("reminders", every_seconds=3600)
def send_reminders() -> dict[str, int]:
    """Every kind of reminder due now, each sent once; how many of each went. A kind that
    fails is logged and the others still run (its reminders wait for the next run)."""
    w, settings = window(), programme().reminders
    sent: dict[str, int] = {}
    for kind in KINDS:
        try:
            sent[kind.__name__] = send(kind(w, settings))
        except Exception:
            log.exception("reminders: %s failed; the next run tries again", kind.__name__)
            db.session.rollback()
    db.session.commit()
    return sent
