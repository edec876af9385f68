"""Reminders on a schedule: certificates about to expire, invitations nobody answered,
booking deadlines, sessions tomorrow, evaluations not answered, work waiting for trainers
and training not started. Each is sent once, whatever re-runs (`services`)."""
