"""Readiness assessment by a trainer and the four-eyes approval decision."""
