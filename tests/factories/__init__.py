"""Factories, one module per area, each building through the real services.

`make_user` (tests/conftest.py), `make_organisation` and `make_team` are fixtures every
test can use; the functions here (`approved_hub`, `verify_agreements`, `attend_immersion`,
`make_cohort`, ...) take what they need as arguments.
"""
