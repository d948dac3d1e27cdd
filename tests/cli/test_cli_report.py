"""``gatekeeper report`` on runs recorded by ``gatekeeper run`` (the real console command)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from git_helpers import commit, git

JUNIT = Path(__file__).resolve().parents[1] / "data" / "junit"
RED = JUNIT / "pytest-fail-skip.xml"  # test_rsh_events fails
FLAKY = JUNIT / "surefire-flakyfailure-mixed.xml"  # com.example.FlakyTest::testFlaky passes on a rerun
NOW = "2026-04-30T12:00:00Z"

POLICY = """
version: 1
name: cli-svc
plugins: ["{fake}"]
checks:
  tests: {uses: junit, with: {reports: [reports/junit.xml]}}
rules:
  - {id: tests-green, check: tests, require: ["failed == 0"]}
  - {id: no-flaky, check: tests, findings: {severity: low, max: 0}}
waivers:
  - {rule: no-flaky, match: {finding: "com.example.FlakyTest::*"}, reason: known flake, owner: qa@example.com, expires: 2999-12-31}
  - {rule: tests-green, reason: long gone, owner: dev@example.com, expires: 2000-01-01}
"""

#: (GATEKEEPER_NOW of the run, branch, JUnit report, expected exit code)
RUNS = [
    ("2026-04-27T09:00:00Z", "main", RED, 1),
    ("2026-04-28T09:00:00Z", "main", FLAKY, 0),
    ("2026-04-28T12:00:00Z", "feature/x", RED, 1),
    ("2026-04-29T10:00:00Z", "main", FLAKY, 0),
]

Run = Callable[..., Any]


@pytest.fixture
def recorded(repo: Path, write_policy: Callable[..., Path], run_cli: Run) -> Path:
    """Four runs recorded by `gatekeeper run` on two branches over three days."""
    write_policy(POLICY)
    (repo / "reports").mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "first")
    for when, branch, report, code in RUNS:
        if git(repo, "branch", "--show-current") != branch:
            git(repo, "checkout", "-q", "-B", branch)
        shutil.copyfile(report, repo / "reports" / "junit.xml")
        done = run_cli("run", ".", "--format", "json=verdict.json", env={"GATEKEEPER_NOW": when})
        assert done.returncode == code, done.stderr
    return repo


def report_json(run_cli: Run, *args: str, now: str = NOW) -> dict[str, Any]:
    done = run_cli("report", *args, "--format", "json", env={"GATEKEEPER_NOW": now})
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_report_json_from_recorded_runs(recorded: Path, run_cli: Run) -> None:
    data = report_json(run_cli)
    assert (data["runs"], data["passed"], data["failed"], data["errors"]) == (4, 2, 2, 0)
    assert data["branches"] == ["feature/x", "main"] and data["policies"] == ["cli-svc"]
    assert [(b["start"], b["runs"], b["passed"], b["failed"]) for b in data["trend"]] == [
        ("2026-04-27", 1, 0, 1),
        ("2026-04-28", 2, 1, 1),
        ("2026-04-29", 1, 1, 0),
    ]
    assert [(r["rule"], r["failed_runs"], r["runs"]) for r in data["failing_rules"]] == [
        ("no-flaky", 2, 4),
        ("tests-green", 2, 4),
    ]
    assert [(t["test"], t["flaky_runs"], t["runs"], t["flake_rate"]) for t in data["flaky_tests"]] == [
        ("com.example.FlakyTest::testFlaky", 2, 4, 0.5)
    ]
    green = {b["branch"]: b for b in data["time_to_green"]}
    (closed,) = green["main"]["episodes"]
    assert (closed["first_failing_run"], closed["next_passing_run"], closed["duration_s"]) == (1, 2, 86400.0)
    (still_red,) = green["feature/x"]["episodes"]
    assert still_red["open"] and (still_red["first_failing_run"], still_red["age_s"]) == (3, 48 * 3600.0)
    assert [c["check"] for c in data["slowest_checks"]] == ["tests"] and data["slowest_checks"][0]["runs"] == 4
    debt = data["waiver_debt"]
    assert [(w["state"], w["owner"], w["matched"], w["run_id"]) for w in debt["waivers"]] == [
        ("expired", "dev@example.com", 0, 4),
        ("active", "qa@example.com", 1, 4),  # it waived the flaky test in the latest run
    ]
    assert report_json(run_cli, "--branch", "main")["runs"] == 3
    assert report_json(run_cli, "--since", "2d")["runs"] == 2  # since 04-28 12:00, inclusive
    assert report_json(run_cli, "--since", "2026-04-28")["runs"] == 3
    weekly = report_json(run_cli, "--period", "week", "--top", "1")
    assert [(b["start"], b["runs"]) for b in weekly["trend"]] == [("2026-04-27", 4)]
    assert len(weekly["failing_rules"]) == 1 and weekly["top"] == 1


def test_text_to_stdout_html_to_a_file_and_an_empty_window(recorded: Path, run_cli: Run) -> None:
    done = run_cli(
        "report", "--format", "text", "--format", "html=out/report.html", "--history",
        str(recorded / ".gatekeeper" / "history.db"), env={"GATEKEEPER_NOW": NOW},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gatekeeper report: 4 run(s), 2026-04-27 to 2026-04-29: 2 pass (50%)")
    assert "com.example.FlakyTest::testFlaky" in done.stdout and "still red" in done.stdout
    page = (recorded / "out" / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count('<g class="period"') == 3
    assert not list((recorded / "out").glob(".*.tmp")), "written atomically, no temporary file left"
    done = run_cli("report", "--since", "1d", "--branch", "main", env={"GATEKEEPER_NOW": "2026-06-30T00:00:00Z"})
    assert done.returncode == 0
    assert (
        done.stdout
        == "gatekeeper: no runs recorded on branch main since 2026-06-29 00:00 UTC in sqlite:///"
        + str(recorded / ".gatekeeper" / "history.db")
        + "\n"
    )


def test_no_runs_is_one_line_and_exit_0(repo: Path, run_cli: Run) -> None:
    done = run_cli("report", env={"GATEKEEPER_NOW": NOW})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gatekeeper: no runs recorded since 2026-03-31 12:00 UTC in sqlite:")
    assert not (repo / ".gatekeeper").exists(), "reading the history never creates a store"
    as_json = run_cli("report", "--format", "json", "--since", "all", env={"GATEKEEPER_NOW": NOW})
    assert as_json.returncode == 0 and as_json.stdout == "", "stdout stays clean for a JSON reader"
    assert as_json.stderr.startswith("gatekeeper: no runs recorded in sqlite:")


def test_no_runs_still_writes_the_empty_report_to_files(repo: Path, run_cli: Run) -> None:
    (repo / "out").mkdir()
    (repo / "out" / "report.html").write_text("<p>an old report, 12 runs</p>", encoding="utf-8")
    (repo / "out" / "report.json").write_text('{"old": true}', encoding="utf-8")
    done = run_cli(
        "report", "--format", "html=out/report.html", "--format", "json=out/report.json", "--since", "all",
        env={"GATEKEEPER_NOW": NOW},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).strip().startswith("gatekeeper: no runs recorded in sqlite:")
    assert len((done.stdout + done.stderr).splitlines()) == 1
    page = (repo / "out" / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "an old report" not in page
    data = json.loads((repo / "out" / "report.json").read_text(encoding="utf-8"))
    assert "old" not in data and data["runs"] == 0
    assert not (repo / ".gatekeeper").exists(), "reading the history never creates a store"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "unknown report format 'xml'; available: text, json, html"),
        (["--format", "json", "--format", "text"], "formats json, text would all go to stdout"),
        (["--since", "soon"], "--since 'soon': write an age (30d, 2w, 12h), a date (2026-05-01) or 'all'"),
        (["--since", "2026-13-45"], "--since '2026-13-45'"),
        (["--top", "0"], "--top must be at least 1"),
        (["--period", "month"], "invalid choice: 'month'"),
        (["missing-dir"], "missing-dir: not a directory"),
    ],
)
def test_usage_errors_exit_2(repo: Path, run_cli: Run, args: list[str], message: str) -> None:
    done = run_cli("report", *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stdout == ""
