"""Site roles. Organisation (hub team) roles live with organisations, not here."""

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

# Roles whose holders can change or see much; remember-me is never offered to them.
PRIVILEGED_ROLES = frozenset({TRAINER, LEAD_TRAINER, AUDITOR, ADMIN})
