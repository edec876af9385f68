"""Mail: every message is rendered when it is raised, written to the outbox in the same
transaction as the change it announces, and delivered after that commit by a job.

`send_email` is what the areas call. It renders `templates/email/<template>.txt` (the plain
text part) and wraps it in `email/layout.html` (the HTML part: the same words, links made
links), and adds one outbox row per recipient (`app.core.outbox`). Nothing here talks to
the mail server on the request path: `deliver` does, in a job (`app.core.jobs`).

Production uses Flask-Mailman's SMTP backend. Development and tests use
`LogAndKeepEmailBackend`, which writes each message to the log and keeps it in memory
(`outbox()`), so a developer sees reset links in the terminal and tests can read them.
"""

from __future__ import annotations

import re
import smtplib
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.locmem import EmailBackend as LocmemBackend
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from app.core import clock, jobs
from app.core import outbox as rows
from app.core.boundary import after_commit, after_rollback

_HOLD = "mail_kept_in_memory"
_PENDING = "outbox_pending"
_URL = re.compile(r"https?://[^\s<>\"]+")


class LogAndKeepEmailBackend(LocmemBackend):
    """Logs each message in full and keeps it in the app's outbox."""

    def send_messages(self, messages):
        for message in messages:
            current_app.logger.info(
                "email (development backend, not sent)\nTo: %s\nSubject: %s\n\n%s",
                ", ".join(message.to),
                message.subject,
                message.body,
            )
        return super().send_messages(messages)


def render_email(subject: str, template: str, **context) -> tuple[str, str]:
    """The full subject line and plain-text body of `templates/email/<template>.txt`."""
    body = render_template(f"email/{template}.txt", **context)
    return rows.single_line(f"[{current_app.config['SITE_NAME']}] {subject}"), body


def html_part(subject: str, body: str, footer: str = "") -> str:
    """The HTML part: the plain text's paragraphs in the portal's mail layout, with every
    address a real link (one source of words, so the two parts never disagree)."""

    def paragraph(text: str) -> Markup:
        lines = []
        for line in text.strip("\n").split("\n"):
            pieces, last = [], 0
            for match in _URL.finditer(line):
                pieces.append(escape(line[last : match.start()]))
                url = match.group(0)
                pieces.append(Markup('<a href="{0}">{0}</a>').format(url))
                last = match.end()
            pieces.append(escape(line[last:]))
            lines.append(Markup("").join(pieces))
        return Markup("<br>\n").join(lines)

    paragraphs = [paragraph(p) for p in re.split(r"\n\s*\n", body) if p.strip()]
    return render_template(
        "email/layout.html", subject=subject, paragraphs=paragraphs, footer=footer
    )


def send_email(
    to: str | Iterable[str],
    subject: str,
    template: str,
    *,
    kind: str | None = None,
    key: str | None = None,
    not_before: datetime | None = None,
    attachments: Iterable[tuple[str, str, str]] = (),
    footer: str = "",
    user_id: int | None = None,
    unsubscribe: str | None = None,
    **context,
) -> list[rows.OutboxMessage]:
    """Render `templates/email/<template>.txt` with `context` now and write one outbox row
    per recipient into the open transaction; delivery starts once it commits (a change that
    rolls back announces nothing). `key` makes the message idempotent (a reminder raised
    twice is sent once); `attachments` are (filename, text, mimetype). `user_id` names the
    account of a single recipient (the admins' Delivery page links to it); `unsubscribe` is
    a one-click unsubscribe address (RFC 8058), sent as List-Unsubscribe headers."""
    from app.extensions import db

    recipients = [to] if isinstance(to, str) else sorted(set(to))
    full_subject, body = render_email(subject, template, **context)
    html = html_part(full_subject, body, footer)
    if footer:
        body = f"{body.rstrip()}\n\n-- \n{footer}\n"
    state = current_app.extensions["mailman"]
    if state.__dict__.get(_HOLD):
        _keep_in_memory(recipients, full_subject, body, html, attachments)
        return []
    kind = kind or template
    key = key or f"{kind}:{uuid.uuid4().hex}"
    attached = [
        [name, content.decode() if isinstance(content, bytes) else content, mimetype]
        for name, content, mimetype in attachments
    ]
    headers = {}
    if unsubscribe:
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    session = db.session()
    messages = []
    for recipient in recipients:
        message = rows.add(
            session,
            kind=kind,
            key=key if len(recipients) == 1 else f"{key}:{recipient.lower()}",
            recipient=recipient,
            subject=full_subject,
            body_text=body,
            body_html=html,
            not_before=not_before,
            attachments=attached,
            headers=headers,
            user_id=user_id if len(recipients) == 1 else None,
        )
        if message is not None:
            messages.append(message)
    if messages:
        session.flush()
        _relay_after_commit(session, [m.id for m in messages])
    return messages


def redeliver(message: rows.OutboxMessage) -> None:
    """Make a message due again now (an admin's Resend), delivered once this commits."""
    from app.extensions import db

    rows.resend(message)
    session = db.session()
    session.flush()
    _relay_after_commit(session, [message.id])


def _relay_after_commit(session: Session, ids: list[int]) -> None:
    """One relay per transaction, however many messages it raised."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []

        def relay():
            jobs.relay(session.info.pop(_PENDING, []))

        after_commit(relay, session)
        after_rollback(lambda: session.info.pop(_PENDING, None), session)
    pending.extend(ids)


def _keep_in_memory(recipients, subject, body, html, attachments) -> None:
    connection = current_app.extensions["mailman"].get_connection()
    _email(recipients, subject, body, html, attachments, {}, connection).send()


def _email(
    recipients, subject, body, html, attachments, headers, connection
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject, body=body, to=list(recipients), headers=headers, connection=connection
    )
    if html:
        message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message


def _permanent(exc: Exception) -> bool:
    """Whether the mail server refused for good (a 5xx for the address or the message):
    retrying would only fail again. Connection errors and 4xx answers are temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for address, (code, msg) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _close_quietly(connection) -> None:
    """Close a backend a failure left open (the SMTP backend keeps its socket on an error)."""
    try:
        connection.close()
    except Exception as exc:  # the connection is already broken; nothing more to do with it
        current_app.logger.debug("closing a failed mail connection: %s", exc)


def deliver(session: Session, message_id: int) -> str:
    """Send one outbox message if it is due and nobody else holds it; record the outcome.
    Returns "sent", "retry", "failed" or "skipped" (already sent, not due, or claimed)."""
    outcomes = deliver_batch(session, [message_id])
    return next(iter(outcomes), "skipped")


# Commit the outcomes every this many messages: a worker killed mid-batch re-sends at most
# these (at-least-once; the Message-ID makes a copy recognisable), and SQLite's per-commit
# flush does not cap a worker at a few dozen messages a second.
COMMIT_EVERY = 10


def deliver_batch(session: Session, message_ids: list[int]) -> dict[str, int]:
    """Claim the due messages among `message_ids`, send them over one connection to the
    mail server, and record each outcome; {"sent": n, "retry": n, "failed": n}."""
    messages = rows.claim(session, message_ids)
    outcomes: dict[str, int] = {}
    if not messages:
        return outcomes
    connection = current_app.extensions["mailman"].get_connection()
    # The claimed rows are this delivery's alone: the commits along the way need not
    # expire (and so reload, one query each) the rest of the batch.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        for index, message in enumerate(messages, 1):
            outcome = _send_one(connection, message)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if index % COMMIT_EVERY == 0:
                session.commit()
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
        _close_quietly(connection)
    for message in messages:
        if message.status == rows.MessageStatus.WAITING and jobs.backend() == "rq":
            wait = max(timedelta(seconds=1), message.not_before - clock.now())
            jobs.enqueue("mail.deliver", [message.id], delay=wait)
    return outcomes


def _send_one(connection, message: rows.OutboxMessage) -> str:
    email = _email(
        [message.recipient],
        message.subject,
        message.body_text,
        message.body_html,
        [tuple(a) for a in message.attachments or ()],
        {**(message.headers or {}), "Message-ID": message.message_id},
        connection,
    )
    try:
        # Open it here, once for the batch: a backend opened by send() closes after it.
        if getattr(connection, "connection", False) is None:
            connection.open()
        email.send()
    except Exception as exc:  # every failure of the mail server is recorded, none escapes
        _close_quietly(connection)  # the next message opens a fresh connection
        rows.mark_failed_try(message, _describe(exc), permanent=_permanent(exc))
        current_app.logger.warning(
            "mail %s to %s not delivered (try %s): %s",
            message.id,
            message.recipient,
            message.attempts,
            message.last_error,
        )
        return "failed" if message.status == rows.MessageStatus.FAILED else "retry"
    rows.mark_sent(message)
    return "sent"


@jobs.task("mail.deliver")
def deliver_messages(message_ids: list[int]) -> dict:
    """The job: deliver outbox messages; a failed try in RQ is retried on its back-off."""
    from app.extensions import db

    return deliver_batch(db.session(), message_ids)


def outbox() -> list:
    """Messages kept by the development backend (empty list with other backends)."""
    return getattr(current_app.extensions["mailman"], "outbox", [])


@contextmanager
def mail_kept_in_memory():
    """Keep (not send, not log, not queue) every message raised inside the block, e.g.
    while seeding demo data on a portal configured with a real SMTP server."""
    state = current_app.extensions["mailman"]
    previous_backend, previous_hold = state.backend, state.__dict__.get(_HOLD, False)
    state.backend = "locmem"
    state.__dict__[_HOLD] = True
    try:
        yield
    finally:
        state.backend = previous_backend
        state.__dict__[_HOLD] = previous_hold
