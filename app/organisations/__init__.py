"""Organisations: registration, hub application, team roster, invitations, the journey."""
