"""Readiness: partnership agreements, the checklist with evidence, trainer review, requirements."""
