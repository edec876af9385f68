"""Mail layer: every message goes through `send_email`, rendered from text templates.

Messages leave after the transaction that caused them commits (`core.boundary.after_commit`).
Production uses Flask-Mailman's SMTP backend. Development and tests use
`LogAndKeepEmailBackend`, which writes each message to the log and keeps it in memory
(`outbox()`), so a developer sees reset links in the terminal and tests can read them.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, render_template
from flask_mailman import EmailMessage
from flask_mailman.backends.locmem import EmailBackend as LocmemBackend


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
    """The full subject line and body of `templates/email/<template>.txt`."""
    body = render_template(f"email/{template}.txt", **context)
    return f"[{current_app.config['SITE_NAME']}] {subject}", body


def send_email(to: str | list[str], subject: str, template: str, **context) -> None:
    """Render `templates/email/<template>.txt` with `context` now, and send it once the
    current transaction commits: a change that rolls back announces nothing, and no
    transaction (nor the audit-chain lock it holds) waits on the mail server."""
    from app.core.boundary import after_commit

    recipients = [to] if isinstance(to, str) else list(to)
    full_subject, body = render_email(subject, template, **context)
    # The backend is chosen now, so mail queued inside `mail_kept_in_memory` stays there.
    connection = current_app.extensions["mailman"].get_connection()
    message = EmailMessage(subject=full_subject, body=body, to=recipients, connection=connection)
    after_commit(message.send)


def outbox() -> list:
    """Messages kept by the development backend (empty list with other backends)."""
    return getattr(current_app.extensions["mailman"], "outbox", [])


@contextmanager
def mail_kept_in_memory():
    """Keep (not send, not log) every message sent inside the block, e.g. while seeding
    demo data on a portal configured with a real SMTP server."""
    state = current_app.extensions["mailman"]
    previous = state.backend
    state.backend = "locmem"
    try:
        yield
    finally:
        state.backend = previous
