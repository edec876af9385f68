"""Notifications: what the portal tells each person, in the portal and by email, as they
choose (immediately, in a daily digest, or not by email)."""
