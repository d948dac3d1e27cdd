"""Simulation: recorded runs decided under a proposed policy, with the flips known in advance.

The history (tests/history/replay_runs.py), from real gate runs, one per commit:

    run  day         tests      line rate  recorded
    1    2024-03-01  10 pass    0.8        pass
    2    2024-03-05  10 pass    0.7        pass
    3    2024-03-10  1 failed   0.9        fail (tests-pass)
    4    2024-03-20  10 pass    0.5        pass (line-coverage waived until 2024-03-31)
    5    2024-04-05  10 pass    0.5        fail (line-coverage: the waiver has expired)
    6    2024-04-10  10 pass    0.65       pass
    7    2024-04-15  no report  0.9        error (tests-pass: the junit check errored)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from replay_runs import build_history, load, policy_text

from gatekeeper.history.records import RunRecord
from gatekeeper.history.simulate import NotSimulable, RuleChange, Simulation, simulate
from gatekeeper.policy import ResolvedPolicy


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunRecord]]:
    workdir = tmp_path_factory.mktemp("simulate")
    with pytest.MonkeyPatch.context() as patch:  # git sees no user or system configuration
        patch.setenv("GIT_CONFIG_GLOBAL", str(workdir / "no-gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield build_history(workdir)[2]


Propose = Callable[..., ResolvedPolicy]


@pytest.fixture
def proposed(tmp_path: Path) -> Propose:
    """A proposed policy: the scenario's policy with ``policy_text``'s changes, loaded."""

    def make(*args: Any, **kwargs: Any) -> ResolvedPolicy:
        path = tmp_path / "proposed.yaml"
        path.write_text(policy_text(*args, **kwargs))
        return load(path)

    return make


def changes(result: Simulation) -> dict[int, str]:
    return {run.id: run.change for run in result.runs if run.change != "unchanged"}


def test_the_recorded_policy_changes_nothing(records: list[RunRecord], proposed: Propose) -> None:
    result = simulate(records, proposed())
    assert changes(result) == {}
    assert [run.new_outcome for run in result.runs] == [r.verdict.outcome for r in records]
    assert all(run.rule_changes == [] and run.not_simulable == [] for run in result.runs)
    assert result.counts.model_dump() == {
        "runs": 7, "failing": 3, "pass_to_fail": 0, "fail_to_pass": 0, "unchanged": 7, "unknown": 0
    }  # fmt: skip
    assert result.summary == (
        "this policy would have failed 3 of 7 runs, 2 of them for `tests-pass`, 1 for `line-coverage`; "
        "0 that passed would fail, 0 that failed would pass"
    )


def test_a_stricter_threshold_fails_runs_that_passed(records: list[RunRecord], proposed: Propose) -> None:
    result = simulate(records, proposed(0.75, waivers=()), branch="main", since_label="30 days")
    # Run 4 (line rate 0.5) passed through the waiver this policy drops: it fails too.
    assert changes(result) == {2: "pass_to_fail", 4: "pass_to_fail", 6: "pass_to_fail"}
    flipped = {run.id: run for run in result.changed}
    assert all(run.responsible == ["line-coverage"] for run in flipped.values())
    assert flipped[2].rule_changes == [RuleChange(rule="line-coverage", old="pass", new="fail")]
    assert flipped[4].rule_changes == [RuleChange(rule="line-coverage", old="waived", new="fail")]
    assert (flipped[6].old_outcome, flipped[6].new_outcome, flipped[6].branch) == ("pass", "fail", "main")
    assert flipped[6].commit == records[5].verdict.subject.commit
    assert result.counts.model_dump() == {
        "runs": 7, "failing": 6, "pass_to_fail": 3, "fail_to_pass": 0, "unchanged": 4, "unknown": 0
    }  # fmt: skip
    assert result.by_rule == {"line-coverage": 3}
    assert result.summary == (
        "this policy would have failed 6 of 7 runs on main in the last 30 days, 4 of them for `line-coverage`, "
        "2 for `tests-pass`; 3 that passed would fail, 0 that failed would pass"
    )


def test_waivers_are_judged_at_each_runs_date(records: list[RunRecord], proposed: Propose) -> None:
    """Keeping the waiver (until 2024-03-31): run 2 (March 5th) is waived, run 6 (April 10th) fails."""
    result = simulate(records, proposed(0.75))
    assert changes(result) == {6: "pass_to_fail"}
    run2 = result.runs[1]
    assert (run2.change, run2.new_outcome) == ("unchanged", "pass")
    assert run2.rule_changes == [RuleChange(rule="line-coverage", old="pass", new="waived")]
    assert run2.responsible == []
    assert result.by_rule == {"line-coverage": 1}


def test_a_looser_threshold_passes_runs_that_failed(records: list[RunRecord], proposed: Propose) -> None:
    result = simulate(records, proposed(0.4))
    assert changes(result) == {5: "fail_to_pass"}
    [run] = result.changed
    assert run.responsible == ["line-coverage"]
    assert run.rule_changes == [RuleChange(rule="line-coverage", old="fail", new="pass")]
    assert result.counts.fail_to_pass == 1
    assert result.by_rule == {}
    assert result.summary == (
        "this policy would have failed 2 of 7 runs, 2 of them for `tests-pass`; "
        "0 that passed would fail, 1 that failed would pass"
    )


def test_a_rule_over_a_check_the_runs_did_not_have_is_not_simulable(
    records: list[RunRecord], proposed: Propose
) -> None:
    policy = proposed(
        checks=("sast: {uses: sarif, with: {reports: [reports/bandit.sarif]}}",),
        rules=("{id: no-high, check: sast, findings: {severity: high}}",),
    )
    result = simulate(records, policy)
    why = NotSimulable(rule="no-high", reason="check 'sast' was not run")
    assert all(run.not_simulable == [why] for run in result.runs)
    # It could fail (or error) the runs that passed, so they are unknown, not guessed; it cannot
    # make a failed or errored run pass.
    assert [run.new_outcome for run in result.runs] == [
        "unknown",
        "unknown",
        "fail",
        "unknown",
        "fail",
        "unknown",
        "error",
    ]
    assert [run.id for run in result.runs if run.change == "unknown"] == [1, 2, 4, 6]
    assert all(run.responsible == ["no-high"] for run in result.runs if run.change == "unknown")
    assert result.counts.unknown == 4
    assert result.not_simulable_by_rule == {"no-high": 7}
    assert result.summary.endswith("; 4 runs could not be decided (not simulable: `no-high`)")


def test_a_check_run_with_other_options_is_not_simulable(records: list[RunRecord], proposed: Propose) -> None:
    result = simulate(records, proposed(tests_with="{reports: [reports/junit.xml], flaky: fail}"))
    why = NotSimulable(rule="tests-pass", reason="check 'tests' ran with different options")
    assert all(run.not_simulable == [why] for run in result.runs)
    by_id = {run.id: run for run in result.runs}
    # Run 5 still fails on line-coverage whatever tests-pass would say; runs 3 and 7 failed or
    # errored only through tests-pass, so now nothing decided says they fail: unknown.
    assert (by_id[5].new_outcome, by_id[5].change) == ("fail", "unchanged")
    assert {i for i, run in by_id.items() if run.change == "unknown"} == {1, 2, 3, 4, 6, 7}
    assert by_id[3].responsible == ["tests-pass"]


def test_options_that_read_the_same_and_a_new_timeout_are_simulable(
    records: list[RunRecord], proposed: Propose
) -> None:
    spelled_out = "{reports: [reports/junit.xml], flaky: warn, max_findings: 1000}"  # the defaults, written out
    result = simulate(records, proposed(tests_with=spelled_out))
    assert all(run.not_simulable == [] for run in result.runs)
    assert changes(result) == {}
    timeout = proposed(tests_with="{reports: [reports/junit.xml]}, timeout: 30")
    assert all(run.not_simulable == [] for run in simulate(records, timeout).runs)


def _slow(record: RunRecord, check: str, seconds: float) -> RunRecord:
    """``record`` with ``check`` recorded as having taken ``seconds`` (and still ok)."""
    verdict = record.verdict
    checks = [c.model_copy(update={"duration_s": seconds}) if c.name == check else c for c in verdict.checks]
    return record.model_copy(update={"verdict": verdict.model_copy(update={"checks": checks})})


def test_a_check_that_took_longer_than_the_new_timeout_is_not_simulable(
    records: list[RunRecord], proposed: Propose
) -> None:
    [run2] = [record for record in records if record.id == 2]
    slow = _slow(run2, "tests", 45.0)
    assert slow.verdict.outcome == "pass" and [c.status for c in slow.verdict.checks] == ["ok", "ok"]
    for timeout in (30, 45):  # at or under the time it took: the check would have timed out
        result = simulate([slow], proposed(tests_with=f"{{reports: [reports/junit.xml]}}, timeout: {timeout}"))
        [run] = result.runs
        assert run.not_simulable == [
            NotSimulable(
                rule="tests-pass",
                reason=f"check 'tests' took 45s, which the new policy's timeout of {timeout}s would not allow "
                "(it would have timed out)",
            )
        ]
        assert (run.new_outcome, run.change, run.responsible) == ("unknown", "unknown", ["tests-pass"])
    [run] = simulate([slow], proposed(tests_with="{reports: [reports/junit.xml]}, timeout: 60")).runs
    assert (run.not_simulable, run.new_outcome, run.change) == ([], "pass", "unchanged")


def test_a_check_now_run_by_another_checker_is_not_simulable(records: list[RunRecord], tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    text = policy_text().replace(
        "cov: {uses: coverage, with: {report: reports/lcov.info}}", "cov: {uses: sarif, with: {reports: [x.sarif]}}"
    )
    path.write_text(text)
    result = simulate(records, load(path))
    assert result.runs[0].not_simulable == [
        NotSimulable(rule="line-coverage", reason="check 'cov' ran with another checker ('coverage', not 'sarif')")
    ]


def test_the_new_policys_mode_decides(records: list[RunRecord], proposed: Propose) -> None:
    result = simulate(records, proposed(mode="warn"))
    # In warn mode failures warn; an errored check still errors the verdict.
    assert changes(result) == {3: "fail_to_pass", 5: "fail_to_pass"}
    assert result.runs[6].new_outcome == "error"
    assert result.changed[0].rule_changes == [RuleChange(rule="tests-pass", old="fail", new="warn")]
    audit = simulate(records, proposed(mode="audit"))
    assert changes(audit) == {}
    assert audit.summary.endswith(" (audit mode: not enforced)")


def test_an_altered_record_is_not_simulated(records: list[RunRecord], proposed: Propose) -> None:
    policy_data = json.loads(json.dumps(records[0].policy))
    policy_data["rules"][1]["require"] = ["line_rate >= 0.1"]
    altered = records[0].model_copy(update={"policy": policy_data})
    [run] = simulate([altered], proposed()).runs
    assert run.new_outcome == "unknown"
    assert {item.rule for item in run.not_simulable} == {"tests-pass", "line-coverage"}
    assert "does not match its verdict's digest" in run.not_simulable[0].reason


def test_no_runs(proposed: Propose) -> None:
    result = simulate([], proposed(), branch="main", since_label="7 days")
    assert result.runs == []
    assert result.summary == "no recorded runs on main in the last 7 days to simulate"


def test_the_result_is_frozen_and_serialisable(records: list[RunRecord], proposed: Propose) -> None:
    result = simulate(records, proposed(0.75))
    assert Simulation.model_validate_json(result.model_dump_json()) == result
    with pytest.raises(ValueError):
        result.runs[0].change = "unknown"  # type: ignore[misc]


def test_a_removed_rule_is_responsible_for_the_runs_it_failed(records: list[RunRecord], tmp_path: Path) -> None:
    path = tmp_path / "no-tests.yaml"
    path.write_text(
        "version: 1\nname: service\nchecks:\n  cov: {uses: coverage, with: {report: reports/lcov.info}}\n"
        'rules:\n  - {id: line-coverage, check: cov, require: ["line_rate >= 0.6"]}\n'
    )
    result = simulate(records, load(path))
    # Run 4 was only waived; without the waiver its 0.5 fails.
    assert changes(result) == {3: "fail_to_pass", 4: "pass_to_fail", 7: "fail_to_pass"}
    by_id = {run.id: run for run in result.runs}
    assert by_id[3].rule_changes == [RuleChange(rule="tests-pass", old="fail", new=None)]
    assert by_id[3].responsible == ["tests-pass"]
    assert (by_id[7].old_outcome, by_id[7].new_outcome, by_id[7].responsible) == ("error", "pass", ["tests-pass"])
    assert by_id[4].responsible == ["line-coverage"]
