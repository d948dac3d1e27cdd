"""Shared helpers for the test suite: fixture data, temporary repositories, policies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # for testing the plugin-author kit as a plugin author uses it


@pytest.fixture(autouse=True)
def _no_gatekeeper_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's GATEKEEPER_* variables (history store, webhook URL, fixed clock, disabled
    plugins, signing key) never reach a test; tests set what they need. The PostgreSQL URL the
    test run was given is kept."""
    for name in list(os.environ):
        if name.startswith("GATEKEEPER_") and name != "GATEKEEPER_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


DATA = Path(__file__).parent / "data"
FAKE_PLUGIN = DATA / "plugins" / "fake_checkers.py"
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
REPOS = DATA / "repos"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository folder with the one file the fake checker reads by default."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "input.txt").write_text("evidence\n")
    return root


@pytest.fixture
def write_policy(repo: Path) -> Callable[..., Path]:
    """Write a policy into the repository; ``{fake}`` in the text is the fake plugin's path."""

    def write(text: str, name: str = "gatekeeper.yaml", folder: Path | None = None) -> Path:
        target = (folder or repo) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).replace("{fake}", str(FAKE_PLUGIN))
        target.write_text(body)
        return target

    return write


@pytest.fixture
def run_cli(repo: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real console command (``python -m gatekeeper``) in the repository."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        ci_markers = ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "GITHUB_STEP_SUMMARY")
        base = {k: v for k, v in os.environ.items() if k not in ci_markers}  # tests choose their CI
        full_env = {**base, "NO_COLOR": "1", **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "gatekeeper", *args],
            cwd=cwd or repo,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=300,
            check=False,
        )

    return run


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

    with OsvServer(load_records(DATA / "osv")) as server:
        yield server
