"""ECHO Hub Onboarding Portal: the application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask

from app.config import ConfigError, load_config, testing_overrides
from app.core.boundary import PortalFlask

__all__ = ["create_app", "ConfigError"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, hooks, error pages and CLI commands."""
    instance_path = os.environ.get("INSTANCE_PATH") or None
    app = PortalFlask(__name__, instance_path=instance_path, instance_relative_config=True)
    from app.core.inputs import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    os.makedirs(app.instance_path, exist_ok=True)

    app.config.update(load_config(app.instance_path))
    if test_config is not None:
        app.config.update(testing_overrides())
        app.config.update(test_config)
        from app.config import engine_options

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
            app.config["SQLALCHEMY_DATABASE_URI"]
        )
    if app.config["APP_ENV"] == "production" and app.config.get("DEBUG"):
        raise ConfigError("DEBUG must never be on in production")

    configure_logging(app)
    trust_proxies(app)
    load_content(app)
    register_extensions(app)
    register_audit_actions()
    register_blueprints(app)
    register_jobs()
    register_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    from app.core import logs

    logs.install(app)  # after every route exists: it learns which paths carry secrets
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, read the visitor's address and scheme
    from the headers those proxies set (ProxyFix takes only the values they appended, so a
    visitor's own X-Forwarded-For changes nothing). Off by default."""
    hops = app.config.get("TRUSTED_PROXY_HOPS", 0)
    if hops < 0:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be 0 or more, got {hops}")
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def configure_logging(app: Flask) -> None:
    app.logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def load_content(app: Flask) -> None:
    """Validate and load content from `modules/`; invalid content stops start-up."""
    from pathlib import Path

    from app.certificates.render import load_templates
    from app.core.programme import load_programme_settings
    from app.public.content import load_public
    from app.readiness.checklist import load_checklist
    from app.training.content import load_curriculum

    content_dir = Path(app.config["CONTENT_DIR"])
    app.extensions["programme"] = load_programme_settings(content_dir / "programme.yaml")
    app.extensions["curriculum"] = load_curriculum(content_dir)
    app.extensions["checklist"] = load_checklist(content_dir / "readiness-checklist.yaml")
    app.extensions["public"] = load_public(
        content_dir, required_roles=app.extensions["programme"].required_roles
    )
    app.extensions["certificate_templates"] = load_templates(
        Path(app.config["CERTIFICATE_TEMPLATES_DIR"])
    )


def register_extensions(app: Flask) -> None:
    from app.extensions import bootstrap, csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    from app.core import cache

    cache.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to open that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from functools import cache

    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from app.auth.models import User

    @cache
    def _account_statement():
        return (
            select(User).where(User.id == bindparam("user_id")).options(joinedload(User.role_links))
        )

    @login_manager.user_loader
    def load_user(session_id: str):
        # "id:version": a session made before the last logout/password change is refused.
        user_id, _, version = (session_id or "").partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        # One query, built once: the account and its roles together (every signed-in
        # request pays it, so the statement is not rebuilt each time).
        user = (
            db.session.execute(_account_statement(), {"user_id": int(user_id)})
            .unique()
            .scalar_one_or_none()
        )
        if user is None or not user.is_active_account or user.session_version != int(version):
            return None
        return user


# The areas, bottom to top. Each may register its audit actions in `<area>/events.py`.
AREAS = (
    "auth",
    "notifications",
    "exports",
    "organisations",
    "training",
    "readiness",
    "immersion",
    "assessment",
    "certificates",
    "public",
    "audit",
    "admin",
)


def register_audit_actions() -> None:
    """Import each area's `events` module, which registers its actions' plain words."""
    import importlib
    import importlib.util

    for area in AREAS:
        if importlib.util.find_spec(f"app.{area}.events") is not None:
            importlib.import_module(f"app.{area}.events")


def register_blueprints(app: Flask) -> None:
    from app.admin.routes import bp as admin_bp
    from app.assessment.routes import bp as assessment_bp
    from app.audit.routes import bp as audit_bp
    from app.auth.routes import bp as auth_bp
    from app.certificates.credential_routes import bp as credentials_bp
    from app.certificates.routes import bp as certificates_bp
    from app.core.policy import PUBLIC, declare_endpoint
    from app.core.routes import bp as core_bp
    from app.exports.routes import bp as exports_bp
    from app.immersion.routes import bp as immersion_bp
    from app.notifications.routes import bp as notifications_bp
    from app.organisations.routes import bp as organisations_bp
    from app.public.routes import bp as public_bp
    from app.readiness.routes import bp as readiness_bp
    from app.training.routes import bp as training_bp

    for blueprint in (
        core_bp,
        auth_bp,
        admin_bp,
        audit_bp,
        notifications_bp,
        exports_bp,
        organisations_bp,
        training_bp,
        readiness_bp,
        immersion_bp,
        assessment_bp,
        certificates_bp,
        credentials_bp,
        public_bp,
    ):
        app.register_blueprint(blueprint)
    # Endpoints we do not write ourselves still get an explicit policy.
    declare_endpoint(app, "static", PUBLIC)
    declare_endpoint(app, "bootstrap.static", PUBLIC)


def register_jobs() -> None:
    """Import the modules whose periodic jobs are not reached through a blueprint (a job
    registers itself with `app.core.jobs` when its module is imported)."""
    import app.reminders.services  # noqa: F401  (the hourly "reminders" job)


def register_hooks(app: Flask) -> None:
    from app.core import assets
    from app.core.inputs import refuse_nul
    from app.core.policy import enforce_access_policy
    from app.core.security import (
        enforce_mfa_enrolment,
        enforce_session_timeouts,
        set_security_headers,
    )
    from app.extensions import db

    app.before_request(refuse_nul)  # first: no view or hook reads text PostgreSQL refuses
    app.before_request(enforce_session_timeouts)
    app.before_request(enforce_access_policy)
    app.before_request(enforce_mfa_enrolment)
    app.after_request(set_security_headers)
    assets.init_app(app)
    from app.core.jobs import run_after_response

    app.after_request(run_after_response)

    @app.teardown_request
    def rollback_on_error(exc):
        # One commit per request: anything left uncommitted after an error is discarded.
        if exc is not None:
            db.session.rollback()


def register_errorhandlers(app: Flask) -> None:
    from app.core.errors import register_errorhandlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.assessment.models import AssessmentStatus
    from app.certificates.models import CertificateStatus
    from app.core.filters import register_filters
    from app.immersion.models import AttendanceStatus, BookingStatus, CohortStatus
    from app.organisations.journey import stage_label
    from app.organisations.models import InvitationStatus, Stage
    from app.readiness.models import ReviewStatus
    from app.training.services import ProgressStatus

    register_filters(app)
    from app.organisations.team import on_a_team

    app.extensions["on_a_team"] = on_a_team  # the header offers "My training" to members
    # Areas add the helpers of their own vocabulary (core knows no area); templates
    # compare statuses against the areas' enums, e.g. `org.stage == Stage.APPROVED`.
    app.jinja_env.globals["stage_label"] = stage_label
    from flask_login import current_user

    from app.notifications.services import unread_count

    app.jinja_env.globals["unread_notifications"] = lambda: unread_count(current_user)
    for enum in (
        AssessmentStatus,
        AttendanceStatus,
        BookingStatus,
        CertificateStatus,
        CohortStatus,
        InvitationStatus,
        ProgressStatus,
        ReviewStatus,
        Stage,
    ):
        app.jinja_env.globals[enum.__name__] = enum


def register_commands(app: Flask) -> None:
    from app.audit.cli import audit_cli
    from app.auth.cli import users_cli
    from app.certificates.cli import certificates_cli
    from app.core.cli import jobs_cli
    from app.demo.cli import demo_cli
    from app.training.cli import content_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(jobs_cli)


logging.getLogger("weasyprint").setLevel(logging.WARNING)
