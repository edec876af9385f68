"""Deny by default: every endpoint declares a policy, and the role matrix holds."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.policy import policy_for

# Endpoints with a path parameter need a real value; the fixture below supplies it.
ROLE_USERS = ("anonymous", "applicant", "trainer", "auditor", "admin")

# (method, path, {role: expected status}); 302 for anonymous means "to the login page";
# 400 means "let in, but the empty form posted by this test is refused".
MATRIX = [
    ("GET", "/", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    ("GET", "/healthz", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    ("GET", "/privacy", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    (
        "GET",
        "/accessibility",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    ("GET", "/contact", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    ("GET", "/help", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    (
        "GET",
        "/account/login",
        dict(anonymous=200, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "GET",
        "/account/register",
        dict(anonymous=200, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "GET",
        "/account/forgot-password",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/account/profile",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/account/password",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/admin/users",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=200),
    ),
    (
        "GET",
        "/admin/users/{target}",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=200),
    ),
    (
        "POST",
        "/admin/users/{target}/roles",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    (
        "POST",
        "/admin/users/{target}/deactivate",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    (
        "POST",
        "/admin/users/{target}/reactivate",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=302),
    ),
    (
        "GET",
        "/notifications",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/notifications/1/read",
        dict(anonymous=302, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "POST",
        "/notifications/read",
        dict(anonymous=302, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "GET",
        "/notifications/preferences",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/notifications/preferences",
        dict(anonymous=302, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "GET",
        "/notifications/unsubscribe/not-a-token",
        dict(anonymous=404, applicant=404, trainer=404, auditor=404, admin=404),
    ),
    (
        "POST",
        "/notifications/unsubscribe/not-a-token",
        dict(anonymous=404, applicant=404, trainer=404, auditor=404, admin=404),
    ),
    (
        "GET",
        "/exports",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/exports/{export}/download",
        dict(anonymous=302, applicant=404, trainer=404, auditor=404, admin=404),
    ),
    (
        "GET",
        "/admin/messages",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=200),
    ),
    (
        "GET",
        "/admin/messages/{message}",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=200),
    ),
    (
        "POST",
        "/admin/messages/{message}/resend",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=302),
    ),
    (
        "GET",
        "/admin/agreement-templates",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=200),
    ),
    (
        "POST",
        "/admin/agreement-templates",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    (
        "GET",
        "/admin/agreement-templates/{template}/file",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=200),
    ),
    (
        "GET",
        "/audit/events",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/verify",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/events.csv",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/certificates",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/certificates.csv",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/certificates.zip",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/certificates/{cert}",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/reports",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/audit/certificates/{cert}/dossier.pdf",
        dict(anonymous=302, applicant=403, trainer=403, auditor=200, admin=200),
    ),
    (
        "GET",
        "/account/login/verify",
        dict(anonymous=302, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "GET",
        "/account/two-step",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/account/two-step/enable",
        dict(anonymous=302, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "POST",
        "/account/two-step/recovery-codes",
        dict(anonymous=302, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "POST",
        "/account/two-step/disable",
        dict(anonymous=302, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "POST",
        "/admin/users/{target}/reset-two-step",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    (
        "GET",
        "/organisations",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/organisations/queue",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "GET",
        "/organisations/new",
        dict(anonymous=302, applicant=200, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/new",
        dict(anonymous=302, applicant=400, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/organisations/{org}/details",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/details",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/application",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/application",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/team",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/team/invite",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/team/{member}/roles",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/team/{member}/remove",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/invitations/{invitation}/resend",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/invitations/{invitation}/cancel",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/history",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/withdraw",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/screening",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/decision",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/invitations/not-a-real-token",
        dict(anonymous=400, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "POST",
        "/organisations/invitations/not-a-real-token",
        dict(anonymous=302, applicant=302, trainer=302, auditor=403, admin=302),
    ),
    (
        "POST",
        "/organisations/invitations/not-a-real-token/decline",
        dict(anonymous=400, applicant=400, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/organisations/my-invitations/{invitation}/accept",
        dict(anonymous=302, applicant=404, trainer=404, auditor=403, admin=404),
    ),
    (
        "POST",
        "/organisations/my-invitations/{invitation}/decline",
        dict(anonymous=302, applicant=404, trainer=404, auditor=403, admin=404),
    ),
    (
        "GET",
        "/account/check-email",
        dict(anonymous=200, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "POST",
        "/account/check-email/resend",
        dict(anonymous=302, applicant=302, trainer=302, auditor=302, admin=302),
    ),
    (
        "GET",
        "/account/verify-email/not-a-real-token",
        dict(anonymous=400, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "POST",
        "/account/verify-email/not-a-real-token",
        dict(anonymous=400, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "GET",
        "/training",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/training/modules/basics",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/training/modules/basics/lessons/welcome",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/training/modules/basics/lessons/welcome/read",
        dict(anonymous=302, applicant=403, trainer=302, auditor=403, admin=302),
    ),
    (
        "GET",
        "/training/modules/basics/check",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/training/modules/basics/check",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/training/modules/basics/check/start",
        dict(anonymous=302, applicant=403, trainer=302, auditor=403, admin=302),
    ),
    (
        "GET",
        "/training/modules/basics/check/attempts/1",
        dict(anonymous=302, applicant=403, trainer=404, auditor=404, admin=404),
    ),
    (
        "GET",
        "/organisations/{org}/training",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/training/overview",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/training/overview.csv",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/organisations/{org}/readiness",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/agreements/ip_terms",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/agreements/ip_terms/template",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/agreements/ip_terms/review",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/checklist/sponsor-letter",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/checklist/sponsor-letter",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/checklist/sponsor-letter/review",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/checklist/sponsor-letter/comments",
        dict(anonymous=302, applicant=404, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/organisations/{org}/readiness/submit",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/evidence/{evidence}",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/readiness/queue",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=403),
    ),
    (
        "GET",
        "/immersion/cohorts",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/immersion/cohorts/new",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "POST",
        "/immersion/cohorts/new",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/immersion/cohorts/{cohort}/sessions",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/immersion/cohorts/{cohort}/status",
        dict(anonymous=302, applicant=403, trainer=302, auditor=403, admin=302),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/edit",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "POST",
        "/immersion/cohorts/{cohort}/edit",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/cancel",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "POST",
        "/immersion/cohorts/{cohort}/cancel",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/duplicate",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "POST",
        "/immersion/cohorts/{cohort}/duplicate",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/history",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/calendar.ics",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "GET",
        "/immersion/sessions/{session}/edit",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/edit",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/sessions/{session}/cancel",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/cancel",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/delete",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/attendance.csv",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/immersion/sessions/{session}/attendance",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        # The matrix's session has not started: a save is refused (400), not redirected.
        "POST",
        "/immersion/sessions/{session}/attendance",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/zoom",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/zoom/confirm",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/organisations/{org}/immersion",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/immersion/{cohort}/book",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/immersion/bookings/{booking}/attendees",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/immersion/bookings/{booking}/cancel",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/immersion/bookings/{booking}/cancel",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/immersion/bookings/{booking}/move",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/immersion/bookings/{booking}/move",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/immersion/mine",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/immersion/mine.ics",
        dict(anonymous=302, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/recording",
        dict(anonymous=302, applicant=403, trainer=302, auditor=403, admin=302),
    ),
    (
        "POST",
        "/immersion/sessions/{session}/resources",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/library",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "GET",
        "/immersion/resources/{resource}",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=200),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/evaluation",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/immersion/cohorts/{cohort}/evaluation",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/evaluation/results",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/immersion/cohorts/{cohort}/evaluation/results.csv",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/organisations/{org}/assessment",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/assessment",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=403),
    ),
    (
        "GET",
        "/assessments/{assessment}",
        dict(anonymous=302, applicant=403, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/assessments/{assessment}/decision",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=403),
    ),
    (
        "GET",
        "/assessments",
        dict(anonymous=302, applicant=403, trainer=200, auditor=403, admin=403),
    ),
    (
        "GET",
        "/organisations/{org}/certificates",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/launch",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/my-certificate",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "GET",
        "/certificates/{cert}/download",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/certificates/{cert}/revoke",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    (
        "POST",
        "/certificates/{cert}/reissue",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    (
        "POST",
        "/certificates/{cert}/renew",
        dict(anonymous=302, applicant=403, trainer=403, auditor=403, admin=400),
    ),
    ("GET", "/verify", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    ("GET", "/about", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    ("GET", "/hubs", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    (
        "GET",
        "/hubs/{listed}",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/hubs/{listed}/interest",
        dict(anonymous=400, applicant=400, trainer=400, auditor=403, admin=400),
    ),
    (
        "GET",
        "/sitemap.xml",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/robots.txt",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/organisations/{org}/listing",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/organisations/{org}/listing",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/listing/unpublish",
        dict(anonymous=302, applicant=404, trainer=403, auditor=403, admin=403),
    ),
    (
        "POST",
        "/organisations/{org}/listing/hide",
        dict(anonymous=302, applicant=403, trainer=400, auditor=403, admin=400),
    ),
    (
        "POST",
        "/organisations/{org}/listing/restore",
        dict(anonymous=302, applicant=403, trainer=302, auditor=403, admin=302),
    ),
    (
        "GET",
        "/verify/{code}",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/verify/{code}.json",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    ("GET", "/v/{code}", dict(anonymous=301, applicant=301, trainer=301, auditor=301, admin=301)),
    ("GET", "/verify/pdf", dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200)),
    (
        "POST",
        "/verify/pdf",
        dict(anonymous=400, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "GET",
        "/credentials/issuer",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/credentials/jwks.json",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/credentials/achievements/hub",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/credentials/status/1",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/credentials/status/1/5",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/verify/{code}/credential.jwt",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/verify/{code}/credential.json",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/verify/credential",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/certificates/{cert}/credential.jwt",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/certificates/{cert}/credential.json",
        dict(anonymous=302, applicant=404, trainer=200, auditor=200, admin=200),
    ),
    (
        "POST",
        "/verify/credential",
        dict(anonymous=400, applicant=400, trainer=400, auditor=400, admin=400),
    ),
    (
        "GET",
        "/verify/how-to",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    (
        "GET",
        "/verify/openapi.json",
        dict(anonymous=200, applicant=200, trainer=200, auditor=200, admin=200),
    ),
    # Public downloads; no such key, and no root before the first rotation: 404 for all.
    (
        "GET",
        "/signing-keys/2147483647.pem",
        dict(anonymous=404, applicant=404, trainer=404, auditor=404, admin=404),
    ),
    (
        "GET",
        "/signing-keys/root.der",
        dict(anonymous=404, applicant=404, trainer=404, auditor=404, admin=404),
    ),
]


def _fill(path: str, **ids) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    return path


@pytest.fixture(scope="module")
def other_organisation(module_world):
    """An organisation none of the matrix's users belongs to, with a member and an
    invitation; and the other objects the URLs name. Built (and its certificate rendered)
    once for the module: every test's changes to it are rolled back."""
    from app.extensions import db
    from app.organisations import services
    from app.organisations.services import OrganisationDetails
    from tests.conftest import new_user as make_user

    app = module_world
    lead = make_user(roles=("applicant",))
    coordinator = make_user(roles=("applicant",))
    with app.test_request_context():
        org = services.create_organisation(
            lead, OrganisationDetails(name="Elsewhere Hospice", org_type="hospice", nation="wales")
        )
        from tests.factories.organisations import join_team

        member = join_team(org, lead, coordinator, ["coordinator"])
        invitation = services.invite_member(
            org, by=lead, email="newcomer@example.org", roles=["specialist"]
        ).invitation
        db.session.commit()
        evidence = _evidence_for(org, lead)
        cohort, session, booking, resource = _cohort_for(
            org, make_user(roles=("trainer",)), coordinator
        )
        assessment, cert = _approval_for(make_user)
        from app.core import outbox

        message = outbox.add(
            db.session(),
            kind="matrix",
            key="matrix-message",
            recipient="someone@example.org",
            subject="A message",
            body_text="Hello",
        )
        from app.exports.models import Export

        export = Export(
            user_id=lead.id,
            kind="audit.register_csv",
            label="Someone else's export",
            filename="theirs.csv",
            content_type="text/csv",
        )
        db.session.add(export)
        from app.admin.services import publish_template
        from tests.factories.readiness import pdf_bytes, upload

        template = publish_template(
            "ip_terms",
            by=make_user(roles=("admin",)),
            upload=upload(pdf_bytes("IP terms"), "ip-terms.pdf"),
            version_label="1",
            issued_on=date(2026, 1, 1),
        )
        db.session.commit()
        return {
            "template": template.id,
            "export": export.id,
            "message": message.id,
            "listed": cert.organisation_id,
            "assessment": assessment.id,
            "cert": cert.id,
            "code": cert.code,
            "resource": resource.id,
            "cohort": cohort.id,
            "session": session.id,
            "booking": booking.id,
            "org": org.id,
            "member": member.id,
            "invitation": invitation.id,
            "evidence": evidence.id,
        }


def _approval_for(make_user):
    """An organisation in readiness review with an assessment waiting for a decision, and
    the certificate of another, approved organisation."""
    from app.extensions import db
    from app.organisations import services
    from app.organisations.services import OrganisationDetails
    from tests.factories.certificates import approve, write

    author, approver = make_user(roles=("trainer",)), make_user(roles=("trainer",))
    orgs = []
    for name in ("Reviewed Elsewhere", "Approved Elsewhere"):
        org = services.create_organisation(
            make_user(), OrganisationDetails(name=name, org_type="hospice", nation="england")
        )
        org.stage = "readiness_review"
        orgs.append(org)
    db.session.commit()
    waiting = write(orgs[0], author)
    cert = approve(write(orgs[1], author), approver)
    _publish_listing(orgs[1])
    return waiting, cert


def _publish_listing(org):
    """The approved organisation's lead publishes its directory listing (approval alone
    lists nothing)."""
    from app.extensions import db
    from app.organisations import services
    from app.public import services as public

    public.save_listing(
        org,
        by=services.hub_leads(org)[0],
        text=public.ListingText(
            summary="Case discussions.", audience="Nurses.", contact_email="hub@example.org"
        ),
        publish=True,
    )
    db.session.commit()


def _cohort_for(org, trainer, attendee):
    """A cohort with one session, and a booking of `org` on it."""
    from datetime import timedelta

    from app.core.db import utcnow
    from app.extensions import db
    from app.immersion import services
    from app.immersion.models import Booking, BookingAttendee

    cohort = services.create_cohort(
        by=trainer,
        title="Matrix cohort",
        description="",
        capacity=5,
        booking_deadline=utcnow() + timedelta(days=30),
    )
    session = services.add_session(
        cohort,
        by=trainer,
        title="Day 1",
        starts_at=utcnow() + timedelta(days=40),
        duration_minutes=90,
    )
    booking = Booking(cohort_id=cohort.id, organisation_id=org.id, status="confirmed")
    booking.attendees = [BookingAttendee(user_id=attendee.id)]
    db.session.add(booking)
    import io

    from werkzeug.datastructures import FileStorage

    resource = services.add_resource(
        session,
        by=trainer,
        title="Slides",
        upload=FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="slides.pdf"),
    )
    db.session.commit()
    return cohort, session, booking, resource


def _evidence_for(org, uploader):
    """A real stored PDF belonging to `org`."""
    import io

    from werkzeug.datastructures import FileStorage

    from app.core.storage import store_upload
    from app.extensions import db
    from app.readiness.models import EvidenceFile

    stored = store_upload(
        FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="letter.pdf"), area="matrix"
    )
    evidence = EvidenceFile(
        organisation_id=org.id,
        storage_key=stored.key,
        original_name=stored.original_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=uploader.id,
    )
    db.session.add(evidence)
    db.session.commit()
    return evidence


def test_every_endpoint_declares_a_policy(app):
    missing = sorted(
        rule.endpoint for rule in app.url_map.iter_rules() if policy_for(app, rule.endpoint) is None
    )
    assert missing == [], f"endpoints without an access policy: {missing}"


def test_every_endpoint_is_in_the_role_matrix(app):
    """A new route must be added to MATRIX, so its access is decided, not assumed."""
    covered = set()
    for method, path, _ in MATRIX:
        adapter = app.url_map.bind("localhost")
        endpoint, _args = adapter.match(
            _fill(
                path,
                target=1,
                org=1,
                member=1,
                invitation=1,
                evidence=1,
                cohort=1,
                session=1,
                booking=1,
                resource=1,
                assessment=1,
                cert=1,
                code="x" * 32,
                listed=1,
                message=1,
                export=1,
                template=1,
            ),
            method=method,
        )
        covered.add(endpoint)
    uncovered = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in covered
        and rule.endpoint not in {"static", "bootstrap.static"}
        and rule.endpoint not in {"auth.logout", "auth.reset_password"}  # own tests
    }
    assert uncovered == set(), f"add these endpoints to MATRIX: {sorted(uncovered)}"


@pytest.mark.own_app
def test_undeclared_endpoint_is_refused(app, client):
    @app.route("/no-policy-here")
    def no_policy():  # pragma: no cover - must never run
        return "leaked"

    response = client.get("/no-policy-here")
    assert response.status_code == 403
    assert b"leaked" not in response.data


@pytest.mark.parametrize("method,path,expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_role_matrix(app, make_user, other_organisation, method, path, expected):
    """Each role, signed in on its own client, gets the expected answer for this route."""
    from tests.conftest import PASSWORD

    target = make_user(roles=("applicant",), active=False)
    url = _fill(path, target=target.id, **other_organisation)
    wrong = []
    for role in ROLE_USERS:
        client = app.test_client()
        if role != "anonymous":
            user = make_user(roles=(role,))
            login = client.post("/account/login", data={"email": user.email, "password": PASSWORD})
            assert login.status_code == 302
        response = client.open(url, method=method)
        if response.status_code != expected[role]:
            wrong.append(f"{role}: {response.status_code} (expected {expected[role]})")
        elif role == "anonymous" and expected[role] == 302:
            assert response.headers["Location"].startswith("/account/login")
    assert wrong == [], f"{method} {path}: " + "; ".join(wrong)


# Non-GET endpoints an auditor may use, each for a reason that changes no portal data.
AUDITOR_SELF_SERVICE = {
    "auth.login": "signing in",
    "auth.login_verify": "the second step of signing in",
    "auth.logout": "ending their own session",
    "auth.register": "anonymous only (a signed-in auditor is sent home)",
    "auth.forgot_password": "asking for their own reset link",
    "auth.reset_password": "resetting their own password",
    "auth.change_password": "their own password",
    "auth.profile": "their own name and job title",
    "auth.mfa_enable": "their own two-step verification",
    "auth.mfa_recovery_codes": "their own recovery codes",
    "auth.mfa_disable": "their own two-step verification",
    "auth.resend_verification": "a new link to confirm their own address",
    "auth.verify_email": "confirming their own address from the emailed link",
    "certificates.check_pdf": "the public PDF check: reads an upload, stores nothing",
    "credentials.check_credential": "the public credential check: reads a JWT, stores nothing",
    "notifications.mark_read": "their own notifications",
    "notifications.mark_all_read": "their own notifications",
    "notifications.preferences": "their own email choices",
    "notifications.unsubscribe": "the email choices a signed link names",
}


def test_an_auditor_can_change_nothing(app, make_user, other_organisation):
    """Walk app.url_map: every endpoint taking a non-GET method refuses an auditor."""
    from tests.conftest import PASSWORD

    paths = {}
    adapter = app.url_map.bind("localhost")
    for method, path, _expected in MATRIX:
        endpoint, _args = adapter.match(_fill(path, target=1, **other_organisation), method=method)
        paths[(endpoint, method)] = path
    auditor = make_user(roles=("auditor",))
    client = app.test_client()
    assert (
        client.post(
            "/account/login", data={"email": auditor.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    target = make_user(roles=("applicant",), active=False)
    checked, unrefused, unknown = [], [], []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            if rule.endpoint in AUDITOR_SELF_SERVICE:
                continue
            path = paths.get((rule.endpoint, method))
            if path is None:
                unknown.append(f"{method} {rule.rule}")
                continue
            url = _fill(path, target=target.id, **other_organisation)
            status = client.open(url, method=method).status_code
            checked.append(rule.endpoint)
            if status not in (403, 404):
                unrefused.append(f"{method} {rule.rule}: {status}")
    assert unknown == [], f"add these to MATRIX: {unknown}"
    assert unrefused == [], f"an auditor was not refused: {unrefused}"
    assert len(checked) > 40
