"""The audit log: browse events and check the hash chain (auditors and admins)."""
