"""Staged rollout: a rule with effective_on warns before that date and fails from it on."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.errors import PolicyError
from gatekeeper.policy import canonical_json

POLICY = """
version: 1
name: rollout
plugins: ["{fake}"]
checks:
  tests: {uses: fake, with: {metrics: {failed: 2}}}
rules:
  - id: tests-pass
    check: tests
    require: ["failed == 0"]
    effective_on: 2027-01-01
"""


@pytest.fixture
def gate(write_policy: Callable[..., Path], repo: Path) -> Callable[..., Verdict]:
    def run(today: date, text: str = POLICY) -> Verdict:
        return evaluate(load_policy(write_policy(text), entry_points=False), repo, today=today)

    return run


def test_before_the_date_a_failure_is_a_warning(gate: Callable[..., Verdict]) -> None:
    verdict = gate(date(2026, 12, 31))
    rule = verdict.rules[0]
    assert (verdict.outcome, rule.outcome) == ("pass", "warn")
    assert rule.reason == "not met: failed == 0 (failed=2) (enforced from 2027-01-01, in 1 day(s))"


@pytest.mark.parametrize("today", [date(2027, 1, 1), date(2027, 6, 1)])
def test_on_and_after_the_date_it_fails(gate: Callable[..., Verdict], today: date) -> None:
    verdict = gate(today)
    assert (verdict.outcome, verdict.rules[0].outcome) == ("fail", "fail")
    assert verdict.rules[0].reason == "not met: failed == 0 (failed=2)"


def test_a_passing_rule_passes_before_the_date(gate: Callable[..., Verdict]) -> None:
    verdict = gate(date(2026, 1, 1), POLICY.replace("failed: 2", "failed: 0"))
    assert (verdict.outcome, verdict.rules[0].outcome) == ("pass", "pass")


def test_errors_stay_errors_before_the_date(gate: Callable[..., Verdict]) -> None:
    broken = POLICY.replace("{metrics: {failed: 2}}", "{status: error, error: no report}")
    verdict = gate(date(2026, 1, 1), broken)
    assert (verdict.outcome, verdict.rules[0].outcome) == ("error", "error")
    missing = gate(date(2026, 1, 1), POLICY.replace("failed == 0", "passed >= 1"))
    assert (missing.outcome, missing.rules[0].outcome) == ("error", "error")


def test_the_digest_of_a_policy_without_it_does_not_change(write_policy: Callable[..., Path]) -> None:
    plain = load_policy(write_policy(POLICY.replace("    effective_on: 2027-01-01\n", "")), entry_points=False)
    assert '"effective_on"' not in canonical_json(plain.policy) and '"when"' not in canonical_json(plain.policy)
    dated = load_policy(write_policy(POLICY), entry_points=False)
    assert '"effective_on":"2027-01-01"' in canonical_json(dated.policy)
    assert dated.digest != plain.digest


def test_a_bad_date_is_a_policy_error_with_its_line(write_policy: Callable[..., Path]) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(POLICY.replace("2027-01-01", "next-year")), entry_points=False)
    assert str(caught.value).endswith(
        "gatekeeper.yaml:11:19: rules[0].effective_on: Input should be a valid date or datetime, input is too short"
    )


def test_replay_uses_the_recorded_date(
    write_policy: Callable[..., Path], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper.history.records import RunRecord
    from gatekeeper.history.replay import replay

    monkeypatch.setenv("GATEKEEPER_NOW", "2026-06-01T10:00:00Z")
    policy = load_policy(write_policy(POLICY), entry_points=False)
    verdict = evaluate(policy, repo)
    monkeypatch.setenv("GATEKEEPER_NOW", "2027-02-01")  # replayed after the date: still the run's date
    record = RunRecord(
        id=1, recorded_at=verdict.finished_at, verdict=verdict, policy=json.loads(policy.canonical_json())
    )
    replayed = replay(record)
    assert replayed.matches, replayed.differences
    assert replayed.verdict.rules[0].outcome == "warn"  # judged at the run's date, not today's


def test_the_cli_follows_gatekeeper_now(write_policy: Callable[..., Path], run_cli) -> None:  # type: ignore[no-untyped-def]
    write_policy(POLICY)
    before = run_cli("run", "--no-history", "--no-cache", "--format", "json", env={"GATEKEEPER_NOW": "2026-12-01"})
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["rules"][0]["outcome"] == "warn"
    after = run_cli("run", "--no-history", "--no-cache", "--format", "json", env={"GATEKEEPER_NOW": "2027-01-01"})
    assert after.returncode == 1, after.stderr
    assert json.loads(after.stdout)["rules"][0]["outcome"] == "fail"


def test_policy_show_lists_upcoming_enforcement(write_policy: Callable[..., Path], run_cli) -> None:  # type: ignore[no-untyped-def]
    write_policy(POLICY)
    done: subprocess.CompletedProcess[str] = run_cli(
        "policy", "show", "gatekeeper.yaml", env={"GATEKEEPER_NOW": "2026-12-22"}
    )
    assert done.returncode == 0, done.stderr
    assert "# upcoming enforcement: rule tests-pass from 2027-01-01 (in 10 days)" in done.stdout.splitlines()
    assert "effective_on: '2027-01-01'" in done.stdout or "effective_on: 2027-01-01" in done.stdout
    later = run_cli("policy", "show", "gatekeeper.yaml", env={"GATEKEEPER_NOW": "2027-01-01"})
    assert "upcoming enforcement" not in later.stdout
    assert textwrap.dedent("when:") not in later.stdout  # defaults are not shown
