"""Check that a restored portal is complete: every stored file the database records is
present in STORAGE_DIR with its recorded SHA-256, and the audit chain is intact.

    APP_ENV=production DATABASE_URL=... STORAGE_DIR=... SECRET_KEY=... PUBLIC_BASE_URL=... \\
        .venv/bin/python scripts/check_restore.py

Exits 0 when complete; otherwise prints each missing or changed file and exits 1.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> int:
    from sqlalchemy import select

    from app import create_app
    from app.certificates.models import Certificate
    from app.core.audit import verify_chain
    from app.core.storage import path_for
    from app.extensions import db
    from app.immersion.models import SessionResource
    from app.readiness.models import EvidenceFile

    app = create_app()
    problems: list[str] = []
    checked = 0
    with app.app_context():
        sources = [
            ("evidence", select(EvidenceFile.storage_key, EvidenceFile.sha256)),
            ("certificate", select(Certificate.storage_key, Certificate.sha256)),
            (
                "resource",
                select(SessionResource.storage_key, SessionResource.sha256).where(
                    SessionResource.storage_key.is_not(None)
                ),
            ),
        ]
        for kind, stmt in sources:
            for key, recorded in db.session.execute(stmt):
                if not key:
                    continue
                checked += 1
                try:
                    path = path_for(key)
                except FileNotFoundError:
                    problems.append(f"{kind} {key}: outside the storage folder")
                    continue
                if not path.is_file():
                    problems.append(f"{kind} {key}: missing")
                elif _sha256(path) != recorded:
                    problems.append(f"{kind} {key}: SHA-256 differs from the database")
        chain = verify_chain()
    for problem in problems:
        print(problem)
    if not chain.intact:
        print(f"audit chain broken at event {chain.broken_seq}: {chain.reason}")
    print(
        f"{checked} stored files checked, {len(problems)} problems; "
        f"audit chain {'intact' if chain.intact else 'BROKEN'} ({chain.checked} events)."
    )
    return 0 if not problems and chain.intact else 1


if __name__ == "__main__":
    sys.exit(main())
