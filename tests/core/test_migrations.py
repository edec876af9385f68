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


def test_listings_written_before_publishing_existed_stay_listed_only_if_complete(
    instance_dir, tmp_path
):
    """Before 5d2c8e1f7a93 a row listed the hub unless hidden. Upgrading keeps published
    only a listing its lead had written (a summary and a contact) and not hidden, with who it
    is for taken from the application; the rest wait for the lead to publish."""
    from sqlalchemy import text

    from app.auth import services as auth
    from app.organisations import services as orgs
    from app.public.models import HubListing

    url = dbutil.fresh_database("listing-migration", tmp_path)
    app = build_app(url)
    try:
        with app.app_context(), app.test_request_context():
            upgrade()
            lead = auth.create_user(
                email="lead@example.org", name="Lead", password="a-long-unguessable-pass-4471"
            )
            ids = []
            for name in ("Complete", "No summary", "Hidden"):
                org = orgs.create_organisation(
                    lead, orgs.OrganisationDetails(name=name, org_type="hospice", nation="england")
                )
                org.application.target_audience = f"Nurses of {name}"
                db.session.add(HubListing(organisation_id=org.id))
                ids.append(org.id)
            db.session.commit()
            db.session.remove()
            downgrade(revision="3b6caf7cfe35")
            with db.engine.begin() as conn:
                for org_id, hidden, summary in zip(
                    ids, (False, False, True), ("Monthly cases", "", "Monthly cases"), strict=True
                ):
                    conn.execute(
                        text(
                            "UPDATE hub_listing SET hidden = :hidden, summary = :summary, "
                            "contact_email = 'hub@example.org' WHERE organisation_id = :id"
                        ),
                        {"hidden": hidden, "summary": summary, "id": org_id},
                    )
            upgrade(revision="5d2c8e1f7a93")
            with db.engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT organisation_id, published, audience FROM hub_listing "
                        "ORDER BY organisation_id"
                    )
                ).all()
            assert [(bool(r[1]), r[2]) for r in rows] == [
                (True, "Nurses of Complete"),
                (False, "Nurses of No summary"),
                (False, "Nurses of Hidden"),
            ]
            db.session.remove()
            db.engine.dispose()
    finally:
        dbutil.drop_database(url)
