"""Shared set-up for the benchmarks: a throwaway app, database and one organisation.

    app, workdir, lead, org = bench_app("bench-zip-")

The app runs on a fresh SQLite file in a temporary instance folder (migrated, signing key
made on first use); `lead` is the organisation's hub lead. `hub_request(org)` describes
the hub certificate an approval of `org` would issue today.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "copper-meadow-lantern-quiet"  # noqa: S105 - throwaway bench accounts


def bench_app(prefix: str, **config):
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("APP_ENV", "testing")
    os.environ["INSTANCE_PATH"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"

    from flask_migrate import upgrade

    from app import create_app
    from app.auth import services as auth_services
    from app.extensions import db
    from app.organisations import services as org_services

    app = create_app({"STORAGE_DIR": str(workdir / "storage"), **config})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        lead = auth_services.create_user(
            email="lead@example.org", name="Bench Lead", password=PASSWORD, roles={"applicant"}
        )
        org = org_services.create_organisation(
            lead,
            org_services.OrganisationDetails(
                name="Severn Vale Hospice", org_type="hospice", nation="england"
            ),
        )
        db.session.commit()
        lead_id, org_id = lead.id, org.id
    return app, workdir, lead_id, org_id


def hub_request(org):
    from app.certificates import services

    today = date.today()
    return services.hub_request(
        org,
        approvers=["Priya Shah", "Tom Evans"],
        single_person=False,
        approved_on=today,
        expires_on=services.add_years(today, 3),
        reason="approval",
    )
