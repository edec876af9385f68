"""Migrations build the schema from empty, match the models, and downgrade cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from tests import dbutil
from tests.conftest import build_app


def _diff(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_matches_models_and_downgrades(instance_dir, tmp_path):
    url = dbutil.fresh_database("migrations", tmp_path)
    app = build_app(url)
    try:
        with app.app_context():
            upgrade()
            tables = set(inspect(db.engine).get_table_names())
            assert {"user", "user_role", "audit_event", "password_reset_token"} <= tables
            assert _diff(app) == [], "models and migrations disagree: run `flask db migrate`"

            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

            upgrade()
            assert _diff(app) == []
            db.session.remove()
            db.engine.dispose()
    finally:
        dbutil.drop_database(url)


def test_migration_starts_the_audit_chain(app):
    from app.core.audit import GENESIS_HASH, AuditChainHead

    head = db.session.get(AuditChainHead, 1)
    assert head.seq == 0 and head.last_hash == GENESIS_HASH
