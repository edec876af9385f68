"""Access to the auditor's console: auditors and admins read the register and the log."""

from __future__ import annotations

from app.core.policy import roles
from app.core.roles import AUDIT_READERS

AUDIT_CONSOLE = roles(AUDIT_READERS)
