"""pytest fixtures for plugin authors, loaded automatically wherever gatekeeper is installed.

Each fixture hands out one of the helpers in ``gatekeeper.testing``; the names start with
``gk_`` so they never shadow a project's own fixtures. This module imports nothing heavy:
gatekeeper itself is only imported when a test uses a fixture.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gatekeeper.models import CheckResult
    from gatekeeper.policy import ResolvedPolicy
    from gatekeeper.signing.keys import KeySigner
    from gatekeeper.testing import GitRepo


@pytest.fixture
def gk_repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch ``main`` in a temporary folder."""
    from gatekeeper.testing import GitRepo

    return GitRepo(tmp_path / "repo")


@pytest.fixture
def gk_policy(tmp_path: Path) -> Callable[..., ResolvedPolicy]:
    """``gk_policy(dict, plugins=[...])``: a policy loaded from a dict, as ``load_policy`` would."""
    from gatekeeper.testing import make_policy

    folder = tmp_path / "policy"
    folder.mkdir(exist_ok=True)

    def build(data: dict[str, Any], **kwargs: Any) -> ResolvedPolicy:
        return make_policy(data, folder=folder, **kwargs)

    return build


@pytest.fixture
def gk_run_checker() -> Callable[..., CheckResult]:
    """``gk_run_checker(name, root, options, plugins=[...])``: one checker through the engine."""
    from gatekeeper.testing import run_checker

    return run_checker


@pytest.fixture
def gk_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``gk_cli("run", ".", cwd=repo, env={...})``: the real console command, CI variables cleared."""
    from gatekeeper.testing import run_cli

    return run_cli


@pytest.fixture
def gk_render() -> Callable[..., str]:
    """``gk_render(verdict, format_name, plugins=[...])``: what ``--format NAME`` prints."""
    from gatekeeper.testing import render_report

    return render_report


@pytest.fixture
def gk_verdict() -> Callable[..., Any]:
    """``gk_verdict("fail", findings=[...])``: a small valid verdict for reporter tests."""
    from gatekeeper.testing import make_verdict

    return make_verdict


@pytest.fixture
def gk_signer() -> KeySigner:
    """A fresh Ed25519 signer held in memory; its ``public_key`` verifies what it signs."""
    from gatekeeper.testing import memory_signer

    return memory_signer()
