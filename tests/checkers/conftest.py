from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPOS = Path(__file__).parents[1] / "data" / "repos"
sys.path.insert(0, str(Path(__file__).parent))  # osv_server.py


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture repository into a temporary folder, turning ``*.py.fixture`` into ``*.py``."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(REPOS / name, target)
        for source in target.rglob("*.py.fixture"):
            source.rename(source.with_suffix(""))
        return target

    return copy


@pytest.fixture
def osv_server():
    """An OSV-compatible server on 127.0.0.1 serving the recorded advisories in tests/data/osv."""
    from osv_server import OsvServer, load_records

    with OsvServer(load_records(REPOS.parent / "osv")) as server:
        yield server
