"""Replay: a recorded run decided again from its stored results gives back the same verdict."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from replay_runs import build_history, gate, load, policy_text, to_record

from gatekeeper import load_plugins, render
from gatekeeper.errors import HistoryError, PolicyError, UsageError
from gatekeeper.history.records import RunRecord
from gatekeeper.history.replay import compare_verdicts, load_replay_input, replay
from gatekeeper.policy import canonical_digest, policy_from_canonical
from gatekeeper.rules import decide

FAKE_PLUGIN = Path(__file__).resolve().parents[1] / "data" / "plugins" / "fake_checkers.py"
NOW = datetime(2026, 5, 1, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, list[RunRecord]]]:
    workdir = tmp_path_factory.mktemp("replay")
    with pytest.MonkeyPatch.context() as patch:  # git sees no user or system configuration
        patch.setenv("GIT_CONFIG_GLOBAL", str(workdir / "no-gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield build_history(workdir)


@pytest.fixture(scope="module")
def records(history: tuple[Path, Path, list[RunRecord]]) -> list[RunRecord]:
    return history[2]


@pytest.mark.parametrize("run_id", [1, 2, 3, 4, 5, 6, 7])
def test_every_recorded_run_replays_to_the_recorded_verdict(records: list[RunRecord], run_id: int) -> None:
    record = records[run_id - 1]
    result = replay(record, now=NOW)
    assert result.matches, result.differences
    assert result.differences == []
    assert result.run_id == run_id
    assert result.original == record.verdict
    times = {"started_at", "finished_at"}
    assert result.verdict.model_dump(exclude=times) == record.verdict.model_dump(exclude=times)
    assert (result.verdict.started_at, result.verdict.finished_at) == (NOW, NOW)


def test_the_runs_cover_pass_fail_error_and_a_waiver(records: list[RunRecord]) -> None:
    outcomes = [replay(r, now=NOW).verdict.outcome for r in records]
    assert outcomes == ["pass", "pass", "fail", "pass", "fail", "pass", "error"]
    error_run = replay(records[6], now=NOW).verdict
    assert error_run.rules[0].outcome == "error"
    assert "matches no file" in error_run.rules[0].reason


def test_a_waiver_is_judged_at_the_run_date_even_after_it_expired(records: list[RunRecord]) -> None:
    record = records[3]  # 2024-03-20, line rate 0.5, waived until 2024-03-31
    result = replay(record, now=NOW)
    coverage = next(r for r in result.verdict.rules if r.id == "line-coverage")
    assert coverage.outcome == "waived"
    assert "waived by qa@example.com until 2024-03-31" in coverage.reason
    assert [w.status for w in result.verdict.waivers] == ["active"]
    assert result.matches
    # The same stored results decided on a later day fail: the run's date is what makes it pass.
    policy = policy_from_canonical(record.policy)
    later = decide(policy, {c.name: c for c in record.verdict.checks}, today=date(2024, 4, 1), mode="enforce")
    assert later.outcome == "fail"


def test_the_run_mode_is_kept(history: tuple[Path, Path, list[RunRecord]]) -> None:
    root, policy_path, _ = history
    policy = load(policy_path)
    for mode, enforced in (("audit", False), ("warn", True)):
        record = to_record(8, gate(policy, root, date(2024, 4, 20), mode=mode), policy)  # HEAD: the error commit
        result = replay(record, now=NOW)
        assert (result.verdict.mode, result.verdict.enforced, result.verdict.outcome) == (mode, enforced, "error")
        assert result.matches


def test_a_record_whose_policy_was_altered_is_refused(records: list[RunRecord]) -> None:
    record = records[4]
    policy = json.loads(json.dumps(record.policy))
    policy["rules"][1]["require"] = ["line_rate >= 0.4"]  # someone "fixes" the record afterwards
    altered = record.model_copy(update={"policy": policy})
    with pytest.raises(HistoryError) as caught:
        replay(altered)
    message = str(caught.value)
    assert message.startswith("run 5: stored policy does not match the verdict's digest (sha256:")
    assert "the record was altered" in message
    assert "\n" not in message


def test_an_altered_verdict_replays_with_the_differences(records: list[RunRecord]) -> None:
    record = records[2]  # failed on tests-pass
    verdict = record.verdict
    rules = [r.model_copy(update={"outcome": "pass"}) if r.id == "tests-pass" else r for r in verdict.rules]
    forged = verdict.model_copy(update={"outcome": "pass", "rules": rules})
    result = replay(record.model_copy(update={"verdict": forged}), now=NOW)
    assert not result.matches
    assert result.verdict.outcome == "fail"
    assert result.differences == [
        "verdict outcome: recorded pass, replayed fail",
        "rule tests-pass: recorded pass, replayed fail",
    ]


def test_altered_evidence_changes_the_replay(records: list[RunRecord]) -> None:
    record = records[4]  # line rate 0.5: fail
    checks = [
        c.model_copy(update={"metrics": {**c.metrics, "line_rate": 0.95}}) if c.name == "cov" else c
        for c in record.verdict.checks
    ]
    forged = record.verdict.model_copy(update={"checks": checks})
    result = replay(record.model_copy(update={"verdict": forged}), now=NOW)
    assert not result.matches
    assert result.differences[0] == "verdict outcome: recorded fail, replayed pass"
    assert "rule line-coverage: recorded fail, replayed pass" in result.differences
    assert any(d.startswith("summary: recorded 'FAIL: 2 rule(s); fail: line-coverage") for d in result.differences)


def test_a_record_missing_a_result_is_refused(records: list[RunRecord]) -> None:
    record = records[0]
    forged = record.verdict.model_copy(update={"checks": [c for c in record.verdict.checks if c.name != "cov"]})
    with pytest.raises(
        HistoryError, match=r"run 1: the policy's rules read check\(s\) cov but the record has no result"
    ):
        replay(record.model_copy(update={"verdict": forged}))


def test_compare_verdicts_ignores_times_only(records: list[RunRecord]) -> None:
    verdict = records[0].verdict
    assert compare_verdicts(verdict, verdict.model_copy(update={"started_at": NOW, "finished_at": NOW})) == []
    assert compare_verdicts(verdict, verdict.model_copy(update={"gatekeeper_version": "9.9"})) == [
        "gatekeeper_version differs"
    ]


def test_replay_from_a_saved_json_report_and_its_policy(
    history: tuple[Path, Path, list[RunRecord]], tmp_path: Path
) -> None:
    _, policy_path, records = history
    verdict = records[4].verdict
    saved = tmp_path / "report.json"
    saved.write_text(render(verdict, "json", load_plugins(entry_points=False)))  # what --format json=FILE writes
    record = load_replay_input(saved, policy=policy_path)
    assert (record.id, record.verdict, record.recorded_at) == (0, verdict, verdict.finished_at)
    assert canonical_digest(record.policy) == verdict.policy.digest
    result = replay(record, now=NOW)
    assert result.matches
    assert result.verdict.outcome == "fail"


def test_a_policy_that_is_not_the_verdicts_is_refused_naming_both_digests(
    history: tuple[Path, Path, list[RunRecord]], tmp_path: Path
) -> None:
    _, _, records = history
    verdict = records[4].verdict
    saved = tmp_path / "report.json"
    saved.write_text(verdict.model_dump_json())
    other = tmp_path / "other.yaml"
    other.write_text(policy_text(0.4))
    other_digest = load(other).digest
    with pytest.raises(UsageError) as caught:
        load_replay_input(saved, policy=other)
    assert str(caught.value) == (
        f"{other} is not the policy the verdict was decided with: its digest is {other_digest}, "
        f"the verdict's is {verdict.policy.digest}; give that policy file (the version of that run)"
    )


def test_a_verdict_needs_its_policy(records: list[RunRecord], tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    saved.write_text(records[0].verdict.model_dump_json())
    with pytest.raises(UsageError, match=r"report.json is a verdict without its policy; .*\(--policy FILE\)"):
        load_replay_input(saved)


def test_an_exported_run_record_is_read_whole(records: list[RunRecord], tmp_path: Path) -> None:
    exported = tmp_path / "run-6.json"
    exported.write_text(records[5].model_dump_json(indent=2))
    record = load_replay_input(exported)
    assert record == records[5]
    assert replay(record, now=NOW).matches


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"bad\.json: not JSON \(Expecting property name enclosed in double quotes at line 1\)"),
        ("[1, 2]", r"bad\.json: a JSON object was expected"),
        ('{"outcome": "pass"}', r"bad\.json: not a valid verdict \(policy: Field required\)"),
        (
            '{"id": 1, "verdict": {}, "policy": {}}',
            r"bad\.json: not a valid run record \(recorded_at: Field required\)",
        ),
    ],
)
def test_unreadable_inputs_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(HistoryError, match=message) as caught:
        load_replay_input(bad)
    assert "\n" not in str(caught.value)


def test_a_missing_file_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"nope\.json: no such file; give a run id or a saved JSON report"):
        load_replay_input(tmp_path / "nope.json")


def test_replay_needs_no_plugin_of_the_run(tmp_path: Path) -> None:
    """A run decided with an in-house checker replays after that plugin is gone: nothing runs."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "input.txt").write_text("evidence\n")
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"version: 1\nplugins: ['{FAKE_PLUGIN}']\n"
        "checks:\n  sast: {uses: fake, with: {findings: [{id: B602, path: a.py}]}}\n"
        "rules:\n  - {id: no-high, check: sast, findings: {severity: high}}\n"
    )
    policy = load(path)
    record = to_record(1, gate(policy, repo, date(2026, 1, 1)), policy)
    assert record.verdict.outcome == "fail"
    result = replay(record, plugins=load_plugins(entry_points=False), now=NOW)  # no 'fake' checker loaded
    assert result.matches
    assert result.verdict.rules[0].findings[0].id == "B602"


def test_policy_from_canonical_rebuilds_the_loaded_policy(history: tuple[Path, Path, list[RunRecord]]) -> None:
    _, policy_path, _ = history
    loaded = load(policy_path)
    rebuilt = policy_from_canonical(json.loads(loaded.canonical_json()))
    assert rebuilt.policy == loaded.policy
    assert rebuilt.digest == loaded.digest == canonical_digest(json.loads(loaded.canonical_json()))
    assert rebuilt.sources == ["(stored)"]
    assert [r.text for r in rebuilt.requirements["line-coverage"]] == ["line_rate >= 0.6"]
    assert rebuilt.options["cov"] == loaded.options["cov"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["rules"][0].update(check=["nope"]), r"rules\[0\]\.check: no check named 'nope'"),
        (lambda p: p["rules"][0].update(require=["failed =="]), r"rules\[0\]\.require\[0\]"),
        (lambda p: p["checks"]["cov"]["with"].update(format="xml2"), r"checks\.cov\.with\.format"),
        (lambda p: p["waivers"][0].update(rule="gone"), r"waivers\[0\]\.rule: no rule 'gone' to waive"),
        (lambda p: p.update(rules=[]), r"the stored policy has no rules"),
        (lambda p: p.update(colour="red"), r"colour: unknown key"),
    ],
)
def test_policy_from_canonical_refuses_an_invalid_policy(
    history: tuple[Path, Path, list[RunRecord]], change: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = json.loads(load(history[1]).canonical_json())
    change(data)
    with pytest.raises(PolicyError, match=message) as caught:
        policy_from_canonical(data)
    assert "stored policy" in str(caught.value)


def test_policy_from_canonical_skips_options_of_an_unknown_checker(
    history: tuple[Path, Path, list[RunRecord]],
) -> None:
    data = json.loads(load(history[1]).canonical_json())
    data["checks"]["cov"]["uses"] = "in-house-coverage"
    rebuilt = policy_from_canonical(data)
    assert set(rebuilt.options) == {"tests"}
    assert rebuilt.policy.checks["cov"].uses == "in-house-coverage"
