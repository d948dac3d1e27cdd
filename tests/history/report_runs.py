"""Recorded runs with known figures, from real ``gatekeeper.evaluate`` runs, for the report tests.

Seven policies (one per kind of run) share one repository: the junit checker reads JUnit files
copied from tests/data/junit, including surefire ``flakyFailure`` and pytest-rerunfailures
reruns, and the fake checker of tests/data/plugins dictates the other checks. Each run's
verdict is evaluated once, then copied with the time, branch and check durations of the
scenario below, so every figure of the report is known in advance.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.history.records import RunRecord
from gatekeeper.models import Subject

DATA = Path(__file__).resolve().parents[1] / "data"
FAKE_PLUGIN = DATA / "plugins" / "fake_checkers.py"
#: The report's clock: waivers expiring 2026-05-04 have 3 days left.
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
#: The day the runs' waivers are judged by the engine.
RUN_DAY = date(2026, 4, 30)

JUNIT = {
    "green.xml": "junitparser-pytest-success.xml",  # 1 test, passes
    "red.xml": "pytest-fail-skip.xml",  # test_rsh_events fails
    "surefire-flaky.xml": "surefire-flakyfailure-mixed.xml",  # com.example.FlakyTest::testFlaky passes on a rerun
    "pytest-rerun.xml": "flaky-pytest-rerun-fail-then-pass.xml",  # test_foo.TestFoo::test_foo passes on a rerun
}
RED_TEST = "test.test_spark.SparkTests::test_rsh_events"
SUREFIRE_FLAKY = "com.example.FlakyTest::testFlaky"
PYTEST_FLAKY = "test_foo.TestFoo::test_foo"

WAIVERS = """
  - {rule: no-high, match: {finding: B602, path: "src/*"}, reason: legacy shell call, owner: sec@example.com, expires: 2026-05-04}
  - {rule: no-high, match: {finding: B603}, reason: "reviewed <script>ok</script>", owner: sec@example.com, expires: 2026-05-31}
  - {rule: tests-green, reason: migration, owner: dev@example.com, expires: 2026-04-20}
  - {rule: no-high, match: {finding: B999}, reason: never matches, owner: dev@example.com, expires: 2026-12-31}
"""
#: Only in the oldest run's policy: removed since, so not debt any more.
OLD_WAIVER = """
  - {rule: no-high, match: {finding: B101}, reason: removed later, owner: old@example.com, expires: 2026-05-02}
"""


def _policy(junit: str, sast: list[str], lint_status: str = "ok", old: bool = False) -> str:
    findings = ", ".join(f"{{id: {f}, severity: high, path: src/app.py, line: 3}}" for f in sast)
    lint_error = ", error: linter crashed" if lint_status == "error" else ""
    return textwrap.dedent(
        f"""\
        version: 1
        name: svc
        plugins: ["{FAKE_PLUGIN}"]
        checks:
          tests: {{uses: junit, with: {{reports: ["reports/{junit}"]}}}}
          sast: {{uses: fake, with: {{findings: [{findings}]}}}}
          lint: {{uses: fake, with: {{status: {lint_status}{lint_error}}}}}
        rules:
          - {{id: tests-green, check: tests, require: ["failed == 0", "errors == 0"]}}
          - {{id: no-high, check: sast, findings: {{severity: high, max: 0}}}}
          - {{id: lint-clean, check: lint, findings: {{}}}}
        waivers:
        """
    ) + textwrap.dedent(WAIVERS + (OLD_WAIVER if old else "")).replace("\n", "\n  ")


#: kind -> (JUnit file, sast findings, lint status, old policy)
KINDS: dict[str, tuple[str, list[str], str, bool]] = {
    "old": ("green.xml", [], "ok", True),
    "pass": ("green.xml", [], "ok", False),
    "red-tests": ("red.xml", [], "ok", False),
    "red-sast": ("green.xml", ["B605"], "ok", False),
    "flaky": ("surefire-flaky.xml", [], "ok", False),
    "error": ("green.xml", [], "error", False),
    "final": ("pytest-rerun.xml", ["B602", "B603"], "ok", False),
}

#: (run id, time, branch, kind, tests duration, lint duration); sast always takes 0.5s.
SCENARIO = [
    (1, "2026-04-24T10:00", "main", "old", 1.0, 1.0),
    (2, "2026-04-27T09:00", "main", "pass", 2.0, 1.0),
    (3, "2026-04-27T12:00", "main", "red-tests", 3.0, 1.0),
    (4, "2026-04-27T15:00", "main", "red-sast", 4.0, 1.0),
    (5, "2026-04-28T09:00", "main", "flaky", 5.0, 1.0),
    (6, "2026-04-28T10:00", "feature/x", "red-tests", 6.0, 1.0),
    (7, "2026-04-29T10:00", "main", "error", 7.0, 20.0),
    (8, "2026-04-29T12:00", "main", "flaky", 8.0, 1.0),
    (9, "2026-04-30T08:00", "feature/x", "red-tests", 9.0, 1.0),
    (10, "2026-04-30T09:00", "main", "final", 10.0, 1.0),
]
EXPECTED_OUTCOMES = {
    "old": "pass", "pass": "pass", "red-tests": "fail", "red-sast": "fail",
    "flaky": "pass", "error": "error", "final": "pass",
}  # fmt: skip


def evaluate_kinds(workdir: Path) -> dict[str, tuple[Verdict, dict[str, object]]]:
    """Evaluate each kind of run once: kind -> (verdict, the policy's canonical JSON parsed)."""
    repo = workdir / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "input.txt").write_text("evidence\n")
    for target, source in JUNIT.items():
        shutil.copyfile(DATA / "junit" / source, repo / "reports" / target)
    out = {}
    for kind, (junit, sast, lint, old) in KINDS.items():
        path = workdir / f"{kind}.yaml"
        path.write_text(_policy(junit, sast, lint, old))
        resolved = load_policy(path, entry_points=False)
        verdict = evaluate(resolved, repo, today=RUN_DAY, jobs=1)
        assert verdict.outcome == EXPECTED_OUTCOMES[kind], (kind, verdict.summary)
        out[kind] = (verdict, json.loads(resolved.canonical_json()))
    return out


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def record(
    run_id: int,
    when: datetime,
    branch: str | None,
    verdict: Verdict,
    policy: dict[str, object],
    durations: dict[str, float] | None = None,
) -> RunRecord:
    """A recorded run: ``verdict`` moved to ``when`` and ``branch``, its checks given ``durations``."""
    checks = [c.model_copy(update={"duration_s": (durations or {}).get(c.name, c.duration_s)}) for c in verdict.checks]
    moved = verdict.model_copy(
        update={
            "started_at": when - timedelta(seconds=30),
            "finished_at": when,
            "subject": Subject(branch=branch),
            "checks": checks,
        }
    )
    return RunRecord(id=run_id, recorded_at=when, verdict=moved, policy=policy)


def scenario_records(kinds: dict[str, tuple[Verdict, dict[str, object]]]) -> list[RunRecord]:
    records = []
    for run_id, when, branch, kind, tests_s, lint_s in SCENARIO:
        verdict, policy = kinds[kind]
        records.append(
            record(run_id, at(when), branch, verdict, policy, {"tests": tests_s, "sast": 0.5, "lint": lint_s})
        )
    return records
