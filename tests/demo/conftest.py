"""The demo seed rotates the signing key once: each demo test keeps its keys to itself."""

from __future__ import annotations

import pytest

from tests.factories.certificates import use_own_signing_dir


@pytest.fixture(autouse=True)
def _own_signing_dir(app, tmp_path):
    use_own_signing_dir(app, tmp_path / "signing")
