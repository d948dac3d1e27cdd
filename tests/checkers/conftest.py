from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPOS = Path(__file__).parents[1] / "data" / "repos"


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
