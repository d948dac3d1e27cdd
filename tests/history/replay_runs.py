"""Recorded runs for the replay and simulation tests, from real gate runs on a git repository.

The repository gets one commit per run: its JUnit report and its LCOV coverage report change
from commit to commit (some runs fail, one errors), and ``gatekeeper.evaluate`` gates each commit
with the junit and coverage checkers on the day of the scenario. Each verdict is then stamped with
that day (``started_at``), as the store would have recorded it, so waivers and their expiry are
known in advance: the policy waives ``line-coverage`` until 2024-03-31, long expired today.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.history.records import RunRecord
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.policy.model import Mode

COVERAGE_WAIVER = (
    "{rule: line-coverage, reason: coverage tooling migration, owner: qa@example.com, expires: 2024-03-31}"
)


def policy_text(
    threshold: float = 0.6,
    *,
    tests_with: str = "{reports: [reports/junit.xml]}",
    checks: tuple[str, ...] = (),
    rules: tuple[str, ...] = (),
    waivers: tuple[str, ...] = (COVERAGE_WAIVER,),
    mode: str = "enforce",
) -> str:
    """The scenario's policy (threshold 0.6, line-coverage waived until 2024-03-31), or a variant:
    ``checks`` and ``rules`` are added (flow-style YAML lines), ``waivers`` replace its waivers."""
    lines = [
        "version: 1",
        "name: service",
        f"mode: {mode}",
        "checks:",
        f"  tests: {{uses: junit, with: {tests_with}}}",
        "  cov: {uses: coverage, with: {report: reports/lcov.info}}",
        *(f"  {check}" for check in checks),
        "rules:",
        '  - {id: tests-pass, check: tests, require: ["failed == 0"]}',
        f'  - {{id: line-coverage, check: cov, require: ["line_rate >= {threshold:g}"]}}',
        *(f"  - {rule}" for rule in rules),
        "waivers:" if waivers else "waivers: []",
        *(f"  - {waiver}" for waiver in waivers),
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Step:
    """One commit and its gate run: tests (total, failed), coverage (lines covered, of lines)."""

    day: date
    tests: tuple[int, int] | None  # None: no JUnit report, so the junit check errors
    coverage: tuple[int, int]
    outcome: str
    branch: str = "main"


STEPS = [
    Step(date(2024, 3, 1), (10, 0), (8, 10), "pass"),  # 1: line rate 0.8
    Step(date(2024, 3, 5), (10, 0), (7, 10), "pass"),  # 2: 0.7
    Step(date(2024, 3, 10), (10, 1), (9, 10), "fail"),  # 3: a test fails
    Step(date(2024, 3, 20), (10, 0), (5, 10), "pass"),  # 4: 0.5, waived until 2024-03-31
    Step(date(2024, 4, 5), (10, 0), (5, 10), "fail"),  # 5: 0.5, the waiver has expired
    Step(date(2024, 4, 10), (10, 0), (13, 20), "pass"),  # 6: 0.65
    Step(date(2024, 4, 15), None, (9, 10), "error"),  # 7: the JUnit report is gone
]


def junit_xml(total: int, failed: int) -> str:
    cases = []
    for index in range(total):
        body = '<failure message="assert 1 == 2">AssertionError</failure>' if index < failed else ""
        cases.append(f'<testcase classname="tests.test_app" name="test_{index}" time="0.01">{body}</testcase>')
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="pytest" tests="{total}" failures="{failed}">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )


def lcov(covered: int, lines: int) -> str:
    data = "".join(f"DA:{n},{1 if n <= covered else 0}\n" for n in range(1, lines + 1))
    return f"TN:\nSF:src/app.py\n{data}LF:{lines}\nLH:{covered}\nend_of_record\n"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def run_time(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=timezone.utc)


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("".join(f"x{n} = {n}\n" for n in range(1, 21)))
    (root / "reports").mkdir()
    return root


def apply_step(root: Path, step: Step, message: str) -> None:
    report = root / "reports" / "junit.xml"
    if step.tests is None:
        report.unlink(missing_ok=True)
    else:
        report.write_text(junit_xml(*step.tests))
    (root / "reports" / "lcov.info").write_text(lcov(*step.coverage))
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def gate(policy: ResolvedPolicy, root: Path, day: date, mode: Mode | None = None) -> Verdict:
    """A real gate run on ``day``, stamped with that day as the store would have recorded it."""
    verdict = evaluate(policy, root, today=day, jobs=1, mode=mode)
    start = run_time(day)
    return verdict.model_copy(update={"started_at": start, "finished_at": start + timedelta(seconds=2)})


def to_record(run_id: int, verdict: Verdict, policy: ResolvedPolicy) -> RunRecord:
    return RunRecord(
        id=run_id, recorded_at=verdict.finished_at, verdict=verdict, policy=json.loads(policy.canonical_json())
    )


def load(path: Path) -> ResolvedPolicy:
    return load_policy(path, entry_points=False)


def build_history(workdir: Path) -> tuple[Path, Path, list[RunRecord]]:
    """The repository, its policy file (outside it) and one record per step, ids 1..7."""
    root = make_repo(workdir / "repo")
    policy_path = workdir / "policy.yaml"
    policy_path.write_text(policy_text())
    policy = load(policy_path)
    records = []
    for run_id, step in enumerate(STEPS, start=1):
        apply_step(root, step, f"step {run_id}")
        verdict = gate(policy, root, step.day)
        assert verdict.outcome == step.outcome, (run_id, verdict.summary)
        records.append(to_record(run_id, verdict, policy))
    return root, policy_path, records
