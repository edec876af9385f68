"""Shared building blocks: database base, access policy, audit log, mail, security, errors."""
