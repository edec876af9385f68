"""Small helpers shared by client tests: page text, field errors, audit events, sign-in state."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from app.auth.models import User
from app.core.audit import AuditEvent
from app.extensions import db
from tests.conftest import PASSWORD


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_errors(response, field_id: str) -> str:
    """The error text rendered next to one form field ("" when there is none)."""
    match = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</div>', page_text(response), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def events(action: str) -> list[AuditEvent]:
    """Audit events with `action`, oldest first, read fresh from the database."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def reload(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def login(client, email, password=PASSWORD, next_url=None, **kwargs):
    query = {"next": next_url} if next_url is not None else None
    return client.post(
        "/account/login",
        query_string=query,
        data={"email": email, "password": password},
        **kwargs,
    )


def is_signed_in(client) -> bool:
    """True when `client` holds a live session; asserts a refusal goes to the login page."""
    response = client.get("/account/profile")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")
    return False


def race(app, calls, outcome=lambda result: "ok") -> list[str]:
    """Run each call in its own thread, app context and transaction at the same moment.

    Returns the sorted outcomes: `outcome(result)` for a committed call, "refused" for a
    ServiceError (rolled back).
    """
    import threading

    from app.core.errors import ServiceError

    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call):
        with app.app_context(), app.test_request_context():
            barrier.wait()
            try:
                result = call()
                db.session.commit()
                outcomes.append(outcome(result))
            except ServiceError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


def verification_path(email: str) -> str:
    """The path of the newest email-confirmation link the test mail backend kept for
    `email`."""
    from app.core import mail

    for message in reversed(mail.outbox()):
        if email in message.to:
            match = re.search(r"https?://[^/\s]+(/account/verify-email/\S+)", message.body)
            if match:
                return match.group(1)
    raise AssertionError(f"no confirmation link was emailed to {email}")


def confirm_email(client, email: str):
    """Open the emailed confirmation link in `client` and press the button."""
    path = verification_path(email)
    assert client.get(path).status_code == 200
    return client.post(path)


def heading_skips(html: str) -> list[str]:
    """Headings that go more than one level deeper than the heading before them (h2 then
    h4): what axe's heading-order rule reports, found without a browser."""
    import re

    skips, previous = [], 1
    for level, text in re.findall(r"<h([1-6])[^>]*>(.*?)</h\1>", html, flags=re.S):
        level = int(level)
        if level > previous + 1:
            skips.append(f"h{previous} then h{level}: {re.sub(r'<[^>]+>', '', text).strip()}")
        previous = level
    return skips
