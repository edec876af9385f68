"""Accounts: registration, login, sessions, passwords, roles."""
