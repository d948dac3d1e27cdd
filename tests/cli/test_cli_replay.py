"""``gatekeeper replay`` and ``gatekeeper simulate`` on runs recorded by ``gatekeeper run``.

The repository is a git repository on ``main`` whose JUnit report changes between commits:
run 1 has a failing test (fail), run 2 does not (pass).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from git_helpers import commit, git, write

Run = Callable[..., subprocess.CompletedProcess[str]]

POLICY = """\
version: 1
name: service
checks:
  tests: {uses: junit, with: {reports: [reports/junit.xml]}}
rules:
  - {id: tests-pass, check: tests, require: ["failed == 0"]}
"""


def junit(failed: int, total: int = 3) -> str:
    failure = '<failure message="boom"/>'
    cases = "".join(
        f'<testcase classname="t" name="test_{i}">{failure if i < failed else ""}</testcase>' for i in range(total)
    )
    return f'<testsuite name="s" tests="{total}" failures="{failed}">{cases}</testsuite>\n'


def _isolated_git(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(folder / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GATEKEEPER_HISTORY", raising=False)


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: two runs recorded by `gatekeeper run` in the default store, 1 fails and 2 passes."""
    root = tmp_path_factory.mktemp("replay-cli") / "repo"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        _isolated_git(patch, root.parent)
        patch.setenv("NO_COLOR", "1")
        git(root, "init", "-q", "-b", "main")
        for failed, code in ((1, 1), (0, 0)):
            write(root, {"gatekeeper.yaml": POLICY, "reports/junit.xml": junit(failed)})
            commit(root, f"{failed} failing")
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gatekeeper",
                    "run",
                    ".",
                    "--no-ci-detect",
                    "--format",
                    f"json=report-{failed}.json",
                ],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == code, done.stderr
    return root


@pytest.fixture
def recorded(repo: Path, history_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A copy of the recorded repository, in the folder `run_cli` runs in, for a test to change."""
    _isolated_git(monkeypatch, tmp_path)
    shutil.copytree(history_repo, repo, dirs_exist_ok=True)
    return repo


def test_replay_of_a_recorded_run_matches(recorded: Path, run_cli: Run) -> None:
    done = run_cli("replay", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Replay of run 1 (recorded ")
    assert "FAIL: 1 rule(s); fail: tests-pass" in done.stdout
    assert done.stdout.endswith("\nreplay matches the recorded verdict (run 1)\n")
    assert run_cli("replay", "2", str(recorded)).returncode == 0


def test_replay_as_json(recorded: Path, run_cli: Run) -> None:
    done = run_cli("replay", "2", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["run_id"], data["matches"], data["differences"]) == (2, True, [])
    assert data["verdict"]["outcome"] == data["original"]["outcome"] == "pass"
    assert "history" not in data["verdict"]
    assert done.stderr == "replay matches the recorded verdict (run 2)\n"


#: The statements that read and rewrite one stored JSON column of run 1, by column.
_TAMPER_SQL = {
    "policy": ("SELECT policy FROM runs WHERE id = 1", "UPDATE runs SET policy = ? WHERE id = 1"),
    "verdict": ("SELECT verdict FROM runs WHERE id = 1", "UPDATE runs SET verdict = ? WHERE id = 1"),
}


def _tamper(repo: Path, column: str, change: Callable[[dict[str, Any]], object]) -> None:
    select, update = _TAMPER_SQL[column]
    with sqlite3.connect(repo / ".gatekeeper" / "history.db") as db:
        (text,) = db.execute(select).fetchone()
        data = json.loads(text)
        change(data)
        db.execute(update, (json.dumps(data),))


def test_a_record_whose_policy_was_altered_is_refused(recorded: Path, run_cli: Run) -> None:
    _tamper(recorded, "policy", lambda p: p["rules"][0].update(require=["failed <= 1"]))
    done = run_cli("replay", "1")
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.startswith("gatekeeper: error: run 1: stored policy does not match the verdict's digest")
    assert done.stderr.count("\n") == 1


def test_a_record_whose_verdict_was_altered_differs(recorded: Path, run_cli: Run) -> None:
    _tamper(recorded, "verdict", lambda v: v.update(outcome="pass"))
    done = run_cli("replay", "1")
    assert done.returncode == 1
    assert done.stdout.endswith(
        "\nreplay differs from the recorded verdict (run 1):\n  - verdict outcome: recorded pass, replayed fail\n"
    )


def test_replay_of_a_saved_json_report_with_its_policy(recorded: Path, run_cli: Run, tmp_path: Path) -> None:
    done = run_cli("replay", "report-1.json", "--policy", "gatekeeper.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\nreplay matches the recorded verdict (report-1.json)\n")
    other = tmp_path / "other.yaml"
    other.write_text(POLICY.replace("failed == 0", "failed <= 1"))
    mismatch = run_cli("replay", "report-1.json", "--policy", str(other))
    assert mismatch.returncode == 2
    assert f"{other} is not the policy the verdict was decided with: its digest is sha256:" in mismatch.stderr
    assert "the verdict's is sha256:" in mismatch.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["replay", "7"], 3, "no run 7 in history at sqlite:///"),
        (["replay", "report-1.json"], 2, "report-1.json is a verdict without its policy"),
        (["replay", "1", "--policy", "gatekeeper.yaml"], 2, "--policy: only for a verdict file"),
        (["replay", "missing.json"], 3, "missing.json: no such file; give a run id or a saved JSON report"),
        (["replay", "gatekeeper.yaml"], 3, "gatekeeper.yaml: not JSON"),
        (["replay", "1", "--format", "sarif"], 2, "invalid choice: 'sarif'"),
    ],
)
def test_replay_errors(recorded: Path, run_cli: Run, args: list[str], code: int, message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1


def test_replay_without_a_store(run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolated_git(monkeypatch, tmp_path)
    done = run_cli("replay", "1")
    assert done.returncode == 3
    assert "does not exist yet; `gatekeeper run` creates it" in done.stderr


def test_simulate_a_looser_policy(recorded: Path, run_cli: Run, tmp_path: Path) -> None:
    looser = tmp_path / "looser.yaml"
    looser.write_text(POLICY.replace("failed == 0", "failed <= 1"))
    done = run_cli("simulate", "--policy", str(looser), "--since", "30d", "--branch", "main")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Simulating policy service (sha256:")
    assert lines[0].endswith(" over 2 recorded runs on main in the last 30 days; no tool was run.")
    assert "Runs whose outcome would change:" in lines
    [changed] = [line for line in lines if line.startswith("  run 1 ")]
    assert changed.endswith("  main  " + git(recorded, "rev-parse", "HEAD~1")[:12] + "  fail -> pass  tests-pass")
    assert lines[-1] == (
        "This policy would have failed 0 of 2 runs on main in the last 30 days; "
        "0 that passed would fail, 1 that failed would pass."
    )
    assert run_cli("simulate", "--policy", str(looser), "--fail-on-change").returncode == 1


def test_simulate_as_json_with_a_rule_that_is_not_simulable(recorded: Path, run_cli: Run, tmp_path: Path) -> None:
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(
        POLICY.replace("checks:\n", "checks:\n  cov: {uses: coverage, with: {report: lcov.info}}\n")
        + '  - {id: line-coverage, check: cov, require: ["line_rate >= 0.8"]}\n'
    )
    done = run_cli("simulate", "--policy", str(proposed), "--format", "json")
    assert done.returncode == 0, done.stderr  # a report, not a gate
    data = json.loads(done.stdout)
    assert [(r["id"], r["old_outcome"], r["new_outcome"]) for r in data["runs"]] == [
        (2, "pass", "unknown"),
        (1, "fail", "fail"),
    ]
    assert data["runs"][0]["not_simulable"] == [{"rule": "line-coverage", "reason": "check 'cov' was not run"}]
    assert data["counts"]["unknown"] == 1
    assert data["summary"].endswith("1 run could not be decided (not simulable: `line-coverage`)")
    # With --fail-on-change, a run that could change cannot be called unchanged.
    gated = run_cli("simulate", "--policy", str(proposed), "--format", "json", "--fail-on-change")
    assert gated.returncode == 1, gated.stderr
    assert json.loads(gated.stdout) == data


def test_simulate_fail_on_change_passes_only_when_every_run_is_decided_unchanged(recorded: Path, run_cli: Run) -> None:
    done = run_cli("simulate", "--policy", "gatekeeper.yaml", "--fail-on-change")
    assert done.returncode == 0, done.stderr
    assert "0 that passed would fail, 0 that failed would pass." in done.stdout


def test_simulate_fail_on_change_fails_when_no_recorded_run_matches(recorded: Path, run_cli: Run) -> None:
    done = run_cli(
        "simulate", "--policy", "gatekeeper.yaml", "--branch", "release", "--since", "7d", "--fail-on-change"
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "No recorded runs on release in the last 1 week to simulate."
    assert done.stderr.strip() == (
        "gatekeeper: no recorded runs match (branch release, since 7d); nothing shows the change is safe"
    )


def test_simulate_only_reads_the_branch_asked_for(recorded: Path, run_cli: Run) -> None:
    done = run_cli("simulate", "--policy", "gatekeeper.yaml", "--branch", "release")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "No recorded runs on release to simulate."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "30x"], "--since '30x': write a duration such as 24h, 30m, 7d or 1h30m"),
        (["--since", "0d"], "--since '0d': give a span longer than zero"),
        (["--branch", ""], "--branch: give a branch name"),
    ],
)
def test_simulate_usage_errors(recorded: Path, run_cli: Run, args: list[str], message: str) -> None:
    done = run_cli("simulate", "--policy", "gatekeeper.yaml", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_simulate_needs_a_policy(run_cli: Run) -> None:
    done = run_cli("simulate")
    assert done.returncode == 2
    assert "the following arguments are required: --policy" in done.stderr
