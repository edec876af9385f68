"""Test databases: a fresh SQLite file or a fresh PostgreSQL database per purpose.

Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/echo_hub_test)
to run the suite on PostgreSQL; databases named `<that name>_<purpose>` are created and
dropped on the same server. Without it, SQLite files in a temporary folder are used.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def base_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def is_postgres() -> bool:
    url = base_url()
    return bool(url) and make_url(url).get_backend_name() == "postgresql"


def _admin_engine(url):
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def fresh_database(purpose: str, tmp_dir: Path) -> str:
    """A URL for an empty database dedicated to `purpose`."""
    url = base_url()
    if not url:
        path = tmp_dir / f"{purpose}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    parsed = make_url(url)
    # Each pytest-xdist worker (gw0, gw1, ...) has databases of its own.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{parsed.database}_{purpose}" + (f"_{worker}" if worker else "")
    engine = _admin_engine(parsed)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = _admin_engine(parsed)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


def upgrade(app) -> None:
    """Run the real migrations (never create_all) against the app's database."""
    from flask_migrate import upgrade as alembic_upgrade

    from app.extensions import db

    with app.app_context():
        alembic_upgrade()
        db.session.remove()
        db.engine.dispose()  # pooled connections left for the GC would warn on PostgreSQL


def empty_all_tables(db) -> None:
    """Delete every row, keeping the schema; restore the audit chain's head row."""
    from app.core.audit import GENESIS_HASH

    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.execute(
        text("INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, 0, :h)"),
        {"h": GENESIS_HASH},
    )
    db.session.commit()
