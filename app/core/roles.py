"""Site roles and the named sets of them. Organisation (hub team) roles live with
organisations, not here. The bottom layer: every area and `core.policy` read roles from here."""

APPLICANT = "applicant"
TRAINER = "trainer"
LEAD_TRAINER = "lead_trainer"
AUDITOR = "auditor"
ADMIN = "admin"

ROLES: dict[str, str] = {
    APPLICANT: "Applicant — registers an organisation and leads its hub application",
    TRAINER: "Superhub trainer — screens applications, reviews evidence, runs Immersion",
    LEAD_TRAINER: "Lead trainer — also revokes, re-issues and renews certificates",
    AUDITOR: "Auditor — read-only access to certificates, evidence and the audit log",
    ADMIN: "Administrator — manages users, roles and programme settings",
}

ROLE_LABELS: dict[str, str] = {
    APPLICANT: "Applicant",
    TRAINER: "Trainer",
    LEAD_TRAINER: "Lead trainer",
    AUDITOR: "Auditor",
    ADMIN: "Administrator",
}


# Named role sets: every policy and rule that means "these people" uses one of these names,
# so "staff" means the same thing everywhere. `core.policy.roles()` and `Policy` refuse any
# role name not in ROLES.
STAFF = frozenset({TRAINER, LEAD_TRAINER, AUDITOR, ADMIN})
"""Superhub staff: see every organisation (auditors only read)."""
PROGRAMME_STAFF = frozenset({TRAINER, ADMIN})
"""Run the programme: Immersion cohorts, sessions, attendance and resources."""
PROGRAMME_VIEWERS = frozenset({TRAINER, AUDITOR, ADMIN})
"""Read programme-wide lists: screening queue, cohorts, training progress."""
CERTIFICATE_MANAGERS = frozenset({ADMIN, LEAD_TRAINER})
"""Revoke, re-issue and renew certificates."""
AUDIT_READERS = frozenset({AUDITOR, ADMIN})
"""The auditor console: register, audit log, dossiers, exports."""

# Roles whose holders can change or see much: remember-me is never offered to them and
# two-step verification is required.
PRIVILEGED_ROLES = STAFF

ROLE_SETS: dict[str, frozenset[str]] = {
    "STAFF": STAFF,
    "PROGRAMME_STAFF": PROGRAMME_STAFF,
    "PROGRAMME_VIEWERS": PROGRAMME_VIEWERS,
    "CERTIFICATE_MANAGERS": CERTIFICATE_MANAGERS,
    "AUDIT_READERS": AUDIT_READERS,
}
