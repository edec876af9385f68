"""The ledger of reminders sent: one row per reminder, keyed by kind, subject and due date.

The row is written in the transaction that raises the reminder's notifications and emails,
so a reminder exists in the ledger exactly when it was sent; its unique key makes a re-run,
or a second scheduler running at the same moment, send nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, utcnow
from app.extensions import db


class ReminderSent(db.Model):
    __tablename__ = "reminder_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<kind>:<subject>:<due date>", e.g. "certificate_expiry:certificate-12:2027-01-04".
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[date] = mapped_column(Date)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
