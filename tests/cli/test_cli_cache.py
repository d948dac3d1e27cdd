"""``gatekeeper run`` with the result cache: reused results, ``--no-cache``, ``GATEKEEPER_CACHE_DIR``, bad entries."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PLUGIN = Path(__file__).resolve().parents[1] / "data" / "plugins" / "cacheable_checkers.py"
POLICY = f"""version: 1
name: demo
plugins: ["{PLUGIN}"]
checks:
  c: {{uses: counter}}
rules:
  - {{id: r, check: c, findings: {{severity: high, max: 0}}}}
"""

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Path:
    (repo / "gatekeeper.yaml").write_text(POLICY)
    (repo / "report.txt").write_text("high X1\nlow X2\n")
    return repo


@pytest.fixture
def gk(run_cli: Run, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The CLI with the counter's run log, and no cache folder or fixed clock from the environment."""
    log = tmp_path / "runs.log"

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
        base = {"GK_TEST_RUN_LOG": str(log), "GATEKEEPER_CACHE_DIR": "", "GATEKEEPER_NOW": ""}
        return run_cli("run", ".", "--no-history", *args, env={**base, **(env or {})}, cwd=cwd)

    run.runs = lambda: log.read_text().split() if log.exists() else []  # type: ignore[attr-defined]
    return run


def _checks(path: Path) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = json.loads(path.read_text())["checks"]
    return checks


def _verdict(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    del data["started_at"], data["finished_at"]
    for check in data["checks"]:
        del check["duration_s"]
        check.pop("cached", None)
    return data


def test_a_second_run_reuses_the_result_and_says_so(project: Path, gk: Any) -> None:
    first = gk("--format", "json=first.json")
    second = gk("--format", "json=second.json", "--format", "text")
    assert first.returncode == second.returncode == 1, second.stderr
    assert gk.runs() == ["c"]
    assert "cached" not in _checks(project / "first.json")[0]
    assert _checks(project / "second.json")[0]["cached"] is True
    assert _verdict(project / "first.json") == _verdict(project / "second.json")
    assert "(cached)" in second.stderr and "(cached)" not in first.stderr  # the progress lines
    assert "(cached)" in second.stdout  # the text report
    assert len(list((project / ".gatekeeper" / "cache").glob("*.json"))) == 1
    assert (project / ".gatekeeper" / ".gitignore").is_file()


def test_no_cache_runs_the_tool_and_leaves_the_cache_alone(project: Path, gk: Any) -> None:
    gk()
    folder = project / ".gatekeeper" / "cache"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    done = gk("--no-cache", "--format", "json=out.json")
    assert done.returncode == 1 and gk.runs() == ["c", "c"]
    assert "cached" not in _checks(project / "out.json")[0] and "(cached)" not in done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # neither read (touched) nor written


def test_no_cache_creates_nothing(project: Path, gk: Any) -> None:
    assert gk("--no-cache").returncode == 1
    assert not (project / ".gatekeeper").exists()


def test_gatekeeper_cache_dir_moves_the_cache(project: Path, gk: Any, tmp_path: Path) -> None:
    shared = tmp_path / "ci-cache" / "gatekeeper"
    gk(env={"GATEKEEPER_CACHE_DIR": str(shared)})
    done = gk("--format", "json=out.json", env={"GATEKEEPER_CACHE_DIR": str(shared)})
    assert done.returncode == 1 and gk.runs() == ["c"]
    assert _checks(project / "out.json")[0]["cached"] is True
    assert len(list(shared.glob("*.json"))) == 1 and not (project / ".gatekeeper").exists()


def test_a_cached_run_leaves_a_committed_repository_clean(project: Path, gk: Any, run_cli: Run) -> None:
    def git(*args: str) -> str:
        env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
        done = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True, env=env)
        return done.stdout

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "start")
    log = project.parent / "runs.log"
    for _ in range(2):  # with the history too, as a plain `gatekeeper run` does
        done = run_cli("run", ".", env={"GK_TEST_RUN_LOG": str(log), "GATEKEEPER_CACHE_DIR": ""})
        assert done.returncode == 1, done.stderr
    assert log.read_text().split() == ["c"]
    assert git("status", "--porcelain", "--untracked-files=all") == ""


def test_a_corrupt_entry_is_a_warning_and_a_fresh_run(project: Path, gk: Any) -> None:
    gk("--format", "json=first.json")
    [entry] = (project / ".gatekeeper" / "cache").glob("*.json")
    entry.write_text(entry.read_text()[:100])
    done = gk("--format", "json=second.json")
    assert done.returncode == 1 and gk.runs() == ["c", "c"]
    assert "gatekeeper: warning: result cache:" in done.stderr and "ignored and removed" in done.stderr
    assert _verdict(project / "first.json") == _verdict(project / "second.json")
    assert "cached" not in _checks(project / "second.json")[0]


def test_a_cache_that_cannot_be_written_is_a_warning(project: Path, gk: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    done = gk("--format", "json=out.json", env={"GATEKEEPER_CACHE_DIR": str(blocker / "cache")})
    assert done.returncode == 1, done.stderr
    assert "cannot write to the cache" in done.stderr
    assert json.loads((project / "out.json").read_text())["outcome"] == "fail"


def test_bandit_and_semgrep_are_reused_by_the_next_run(fixture_repo: Callable[[str], Path], run_cli: Run) -> None:
    root = fixture_repo("flawed")
    (root / "gatekeeper.yaml").write_text(
        "version: 1\nchecks:\n  sast: {uses: bandit, with: {paths: [app]}}\n"
        "  patterns: {uses: semgrep, with: {paths: [app]}}\n"
        "rules:\n  - {id: no-high, check: [sast, patterns], findings: {severity: high, max: 0}}\n"
    )
    env = {"GATEKEEPER_CACHE_DIR": ""}
    cold = run_cli("run", ".", "--no-history", "--format", "json=cold.json", cwd=root, env=env)
    warm = run_cli("run", ".", "--no-history", "--format", "json=warm.json", cwd=root, env=env)
    assert cold.returncode == warm.returncode == 1, warm.stderr
    assert [c.get("cached") for c in _checks(root / "warm.json")] == [True, True]
    assert _verdict(root / "cold.json") == _verdict(root / "warm.json")
    (root / "app" / "new.py").write_text("import pickle\npickle.loads(data)\n")
    edited = run_cli("run", ".", "--no-history", "--format", "json=edited.json", cwd=root, env=env)
    fresh = run_cli("run", ".", "--no-history", "--no-cache", "--format", "json=fresh.json", cwd=root, env=env)
    assert edited.returncode == fresh.returncode == 1, edited.stderr
    assert [c.get("cached") for c in _checks(root / "edited.json")] == [None, None]
    assert _verdict(root / "edited.json") == _verdict(root / "fresh.json") != _verdict(root / "warm.json")
