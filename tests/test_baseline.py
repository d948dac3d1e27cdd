"""Baselines: `new_only` / `findings.baseline` count only findings absent from the baseline file.

The counting tests use the fake checker, whose findings the policy dictates; the fingerprint
tests edit copies of the `flawed` fixture repository and scan them with the real bandit (and
semgrep): lines inserted above a finding, the file moved, a second copy of an issue, a changed line.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from gatekeeper import GatekeeperError, PolicyError, UsageError, Verdict, evaluate, load_policy
from gatekeeper.baseline import (
    DEFAULT_BASELINE,
    Baseline,
    baseline_document,
    create_baseline,
    load_baselines,
    read_baseline,
)
from gatekeeper.models import CheckResult, Finding, InputFile, Severity
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.rules import decide

TODAY = date(2024, 6, 1)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)

HEADER = 'version: 1\nname: demo\nplugins: ["{fake}"]\n'


def findings(*items: str) -> str:
    """A fake check's findings list: each item is ``ID`` or ``ID@PATH``."""
    rows = []
    for item in items:
        finding_id, _, path = item.partition("@")
        rows.append(f"{{id: {finding_id}, severity: high, path: {path or 'app.py'}, message: m-{finding_id}}}")
    return "[" + ", ".join(rows) + "]"


@pytest.fixture
def policy(write_policy: Callable[..., Path]) -> Callable[..., ResolvedPolicy]:
    def load(body: str, name: str = "gatekeeper.yaml", folder: Path | None = None) -> ResolvedPolicy:
        path = write_policy(HEADER + textwrap.dedent(body), name=name, folder=folder)
        return load_policy(path, entry_points=False)

    return load


def one_check(found: str, rule: str = "new_only: true\n    findings: {}") -> str:
    return f"""
checks:
  scan: {{uses: fake, with: {{findings: {found}}}}}
rules:
  - id: r
    check: scan
    {rule}
"""


def rule_of(verdict: Verdict, rule_id: str = "r"):  # type: ignore[no-untyped-def]
    return next(r for r in verdict.rules if r.id == rule_id)


# --- counting ---------------------------------------------------------------------------------


def test_only_findings_absent_from_the_baseline_count(policy, repo: Path) -> None:
    created = create_baseline(policy(one_check(findings("A", "B"))), repo, now=NOW)
    assert created.path == repo / DEFAULT_BASELINE and created.per_check == {"scan": 2}
    assert created.readers == ["r (new_only)"] and not created.replaced

    same = evaluate(policy(one_check(findings("A", "B"))), repo, today=TODAY)
    rule = rule_of(same)
    assert (same.outcome, rule.outcome) == ("pass", "pass")
    assert rule.reason == f"0 new finding(s) at or above info (2 in baseline {DEFAULT_BASELINE}), at most 0 allowed"
    assert [f.id for f in rule.baselined] == ["A", "B"] and rule.findings == []
    assert rule.baseline is not None and rule.baseline.path == DEFAULT_BASELINE

    grown = evaluate(policy(one_check(findings("A", "B", "C"))), repo, today=TODAY)
    rule = rule_of(grown)
    assert (grown.outcome, rule.outcome) == ("fail", "fail")
    assert [f.id for f in rule.findings] == ["C"] and [f.id for f in rule.baselined] == ["A", "B"]
    assert rule.reason.startswith("1 new finding(s) at or above info (2 in baseline")


def test_each_entry_takes_one_finding_out(policy, repo: Path) -> None:
    create_baseline(policy(one_check(findings("A"))), repo)
    twice = evaluate(policy(one_check(findings("A", "A"))), repo, today=TODAY)  # same id, path, message
    rule = rule_of(twice)
    assert rule.findings[0].fingerprint == rule.baselined[0].fingerprint
    assert (len(rule.baselined), len(rule.findings), rule.outcome) == (1, 1, "fail")


def test_an_entry_matches_the_same_id_and_fingerprint_only(repo: Path, policy) -> None:
    resolved = policy(one_check(findings("A")))
    finding = Finding(id="A", severity="high", message="m", fingerprint="f1")
    results = {"scan": CheckResult(name="scan", uses="fake", status="ok", findings=[finding])}
    file = InputFile(path="b.json", sha256="0" * 64)

    def counted(counts: dict[tuple[str, str], int]) -> int:
        decision = decide(resolved, results, today=TODAY, mode="enforce", baselines={"r": Baseline(file, counts)})
        return len(decision.rules[0].findings)

    assert counted({("A", "f1"): 1}) == 0
    assert counted({("B", "f1"): 1}) == 1  # another rule of the tool at the same place is another issue
    assert counted({("A", "f2"): 1}) == 1


def test_findings_without_a_fingerprint_are_never_taken_out(repo: Path, policy) -> None:
    resolved = policy(one_check(findings("A")))
    bare = Finding.model_construct(id="A", severity=Severity.HIGH, message="m", fingerprint="", properties={})
    results = {"scan": CheckResult.model_construct(name="scan", uses="fake", status="ok", findings=[bare])}
    baseline = Baseline(InputFile(path="b.json", sha256="0" * 64), {("A", ""): 5})
    decision = decide(resolved, results, today=TODAY, mode="enforce", baselines={"r": baseline})
    assert (decision.rules[0].outcome, len(decision.rules[0].findings)) == ("fail", 1)
    assert Baseline.from_findings(baseline.file, [bare]).entries == 0


def test_a_rule_whose_baseline_was_not_given_is_an_error(repo: Path, policy) -> None:
    resolved = policy(one_check(findings("A")))
    results = {"scan": CheckResult(name="scan", uses="fake", status="ok")}
    decision = decide(resolved, results, today=TODAY, mode="enforce")  # e.g. a caller that forgot them
    assert decision.outcome == "error"
    assert decision.rules[0].reason == (
        "the rule reads a baseline (new_only: .gatekeeper-baseline.json) that was not loaded"
    )


def test_severity_and_ids_filter_before_the_baseline(policy, repo: Path) -> None:
    body = """
checks:
  scan: {uses: fake, with: {findings: [{id: LOW1, severity: low, path: a.py}, {id: H1, path: a.py}]}}
rules:
  - {id: r, check: scan, new_only: true, findings: {severity: high}}
"""
    create_baseline(policy(body), repo)
    rule = rule_of(evaluate(policy(body), repo, today=TODAY))
    assert [f.id for f in rule.baselined] == ["H1"]  # the low finding is not the rule's: not "in baseline" either
    assert "(1 in baseline" in rule.reason


def test_baseline_first_then_waivers(policy, repo: Path) -> None:
    create_baseline(policy(one_check(findings("OLD"))), repo)
    body = one_check(findings("OLD", "NEW")) + textwrap.dedent(
        """
        waivers:
          - {rule: r, match: {finding: OLD}, reason: legacy, owner: alice, expires: 2024-12-31}
          - {rule: r, match: {finding: NEW}, reason: accepted, owner: alice, expires: 2024-12-31}
        """
    )
    verdict = evaluate(policy(body), repo, today=TODAY)
    rule = rule_of(verdict)
    assert [f.id for f in rule.baselined] == ["OLD"] and [f.id for f in rule.waived] == ["NEW"]
    assert rule.outcome == "waived"  # it passes because of the waiver of the new finding
    assert [(w.match["finding"], w.status) for w in verdict.waivers] == [("OLD", "stale"), ("NEW", "active")]
    assert rule.reason.endswith("at most 0 allowed (1 waived)")


def test_a_rule_passing_on_baselined_findings_alone_passes_not_waived(policy, repo: Path) -> None:
    create_baseline(policy(one_check(findings("A"))), repo)
    assert rule_of(evaluate(policy(one_check(findings("A"))), repo, today=TODAY)).outcome == "pass"


def test_every_rule_reads_the_whole_baseline_and_checks_are_pooled(policy, repo: Path) -> None:
    body = """
checks:
  src: {uses: fake, with: {findings: SRC}}
  tests: {uses: fake, with: {findings: TESTS}}
rules:
  - {id: one, check: [src, tests], new_only: true, findings: {}}
  - {id: two, check: [src, tests], new_only: true, findings: {}}
"""
    create_baseline(policy(body.replace("SRC", findings("A")).replace("TESTS", "[]")), repo)
    moved = body.replace("SRC", "[]").replace("TESTS", findings("A"))  # the finding is now the other check's
    verdict = evaluate(policy(moved), repo, today=TODAY)
    assert [(r.id, r.outcome, len(r.baselined)) for r in verdict.rules] == [("one", "pass", 1), ("two", "pass", 1)]


def test_a_baseline_named_in_the_policy_is_relative_to_its_file(policy, repo: Path) -> None:
    body = one_check(findings("A"), "findings: {baseline: accepted.json}")
    resolved = policy(body, folder=repo / "ci")
    created = create_baseline(resolved, repo, repo / "ci" / "accepted.json")
    assert created.readers == ["r (findings.baseline)"]
    rule = rule_of(evaluate(policy(body, folder=repo / "ci"), repo, today=TODAY))
    assert rule.baseline is not None and rule.baseline.path == "ci/accepted.json" and len(rule.baselined) == 1


def test_a_baseline_named_in_a_parent_policy_is_relative_to_the_parent(
    policy, repo: Path, write_policy: Callable[..., Path]
) -> None:
    write_policy(HEADER + one_check(findings("A"), "findings: {baseline: base.json}"), folder=repo / "shared")
    child = "extends: shared/gatekeeper.yaml\n"
    resolved = policy(child)
    create_baseline(resolved, repo, repo / "shared" / "base.json")
    assert load_baselines(resolved, repo)["r"].file.path == "shared/base.json"


# --- fail closed: a rule never silently counts everything, or nothing ---------------------------


def test_a_missing_baseline_stops_the_run_before_any_check_runs(policy, repo: Path) -> None:
    events: list[object] = []
    with pytest.raises(PolicyError) as caught:
        evaluate(policy(one_check(findings("A"))), repo, today=TODAY, progress=events.append)
    assert events == []
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        f"{repo / 'gatekeeper.yaml'}:10:5: rules[0].new_only: no baseline .gatekeeper-baseline.json at the "
        f"repository root ({repo}); create it with `gatekeeper baseline create {repo}` and commit it"
    )


def test_a_missing_named_baseline_names_the_file_and_the_command(policy, repo: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    resolved = policy(one_check(findings("A"), "findings: {baseline: ci/b.json}"), name="strict.yaml")
    with pytest.raises(
        PolicyError,
        match=r"strict\.yaml:10:16: rules\[0\]\.findings\.baseline: no baseline ci/b\.json; "
        r"create it with `gatekeeper baseline create \. --policy .*strict\.yaml --out ci/b\.json`",
    ):
        evaluate(resolved, ".", today=TODAY)
    with pytest.raises(PolicyError, match=re.escape("no baseline ci/b.json")):
        load_baselines(resolved, None)  # what `policy validate` checks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "is not a gatekeeper baseline: (top level): Invalid JSON"),
        ('{"gatekeeper_baseline": 7, "findings": []}', "has format 7; this gatekeeper reads format 1"),
        ("{}", "is not a gatekeeper baseline: gatekeeper_baseline: Field required"),
        ("BAD-FINGERPRINT", "is not a gatekeeper baseline: findings.0.fingerprint: String should match pattern"),
        ("EXTRA-KEY", "is not a gatekeeper baseline: findings.0.message: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_baseline_is_a_policy_error(policy, repo: Path, text: str, message: str) -> None:
    resolved = policy(one_check(findings("A")))
    create_baseline(resolved, repo)
    good = json.loads((repo / DEFAULT_BASELINE).read_text())
    if text == "BAD-FINGERPRINT":
        good["findings"][0]["fingerprint"] = good["findings"][0]["fingerprint"][3:]
        text = json.dumps(good)
    elif text == "EXTRA-KEY":
        good["findings"][0]["message"] = "m"
        text = json.dumps(good)
    (repo / DEFAULT_BASELINE).write_text(text)
    with pytest.raises(PolicyError, match=re.escape(message)) as caught:
        evaluate(resolved, repo, today=TODAY)
    assert str(caught.value).startswith(f"{repo / 'gatekeeper.yaml'}:10:5: rules[0].new_only: baseline ")


def test_a_baseline_that_is_a_directory_is_refused(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is a directory"):
        read_baseline(tmp_path, "x")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("new_only: true\n    require: ['findings <= 1']", "rules[0]: new_only needs a 'findings' condition"),
        (
            "new_only: true\n    findings: {baseline: b.json}",
            "rules[0]: give new_only (the baseline at the repository root) or findings.baseline",
        ),
        ("new_only: 'yes'\n    findings: {}", "rules[0].new_only: Input should be a valid boolean"),
        ("findings: {baseline: ''}", "rules[0].findings.baseline: String should have at least 1 character"),
    ],
)
def test_baseline_keys_are_validated_when_the_policy_loads(policy, rule: str, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        policy(one_check(findings("A"), rule))


def test_a_check_error_writes_no_baseline(policy, repo: Path) -> None:
    body = """
checks:
  ok: {uses: fake, with: {findings: [{id: A}]}}
  broken: {uses: fake, with: {behaviour: raise}}
rules:
  - {id: r, check: [ok, broken], new_only: true, findings: {}}
"""
    with pytest.raises(GatekeeperError) as caught:
        create_baseline(policy(body), repo)
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        "check 'broken' errored: checker crashed: RuntimeError: boom from the fake checker; "
        "no baseline written (it would miss those findings): fix the check and run again"
    )
    assert not (repo / DEFAULT_BASELINE).exists()


def test_a_skipped_check_is_recorded_with_no_entries(policy, repo: Path) -> None:
    body = """
checks:
  ok: {uses: fake, with: {findings: [{id: A}]}}
  none: {uses: fake, with: {status: skipped, error: no lock file}}
rules:
  - {id: r, check: [ok, none], new_only: true, findings: {}, on_skipped: pass}
"""
    created = create_baseline(policy(body), repo)
    assert created.per_check == {"ok": 1, "none": 0} and created.skipped == {"none": "no lock file"}


# --- the file -----------------------------------------------------------------------------------


def test_the_file_is_sorted_one_entry_a_line_without_messages_or_bare_hex(policy, repo: Path) -> None:
    body = one_check(findings("B@z.py", "A@z.py", "C@a.py"), "new_only: true\n    findings: {}")
    resolved = policy(body)
    created = create_baseline(resolved, repo, now=NOW)
    text = created.path.read_text()
    data = json.loads(text)
    assert data["gatekeeper_baseline"] == 1 and data["created_at"] == "2024-06-01T12:00:00Z"
    assert data["policy"] == {"name": "demo", "digest": resolved.digest}
    assert [(e["path"], e["id"]) for e in data["findings"]] == [("a.py", "C"), ("z.py", "A"), ("z.py", "B")]
    assert all(set(e) == {"check", "id", "severity", "path", "line", "fingerprint"} for e in data["findings"])
    assert "m-A" not in text  # messages can quote a hard-coded secret; the file is committed
    assert not re.search(r"[\"'][0-9a-fA-F]{8,}[\"']", text), "a quoted hex run reads as a secret to scanners"
    assert text.count("\n") == 6 + len(data["findings"]) + 2  # one entry a line: diffs stay readable
    again = create_baseline(resolved, repo, now=NOW)
    assert again.replaced and again.path.read_text() == text


def test_a_committed_baseline_does_not_trip_the_secrets_check(write_policy, repo: Path) -> None:
    (repo / "settings.py").write_text('AWS_KEY = "AKIAIOSFODNN7EXAMPLE"\npassword = "hunter2-but-longer-0a9f7c"\n')
    path = write_policy(
        """
version: 1
checks:
  secrets: {uses: secrets}
  sast: {uses: bandit}
rules:
  - {id: no-new-secrets, check: secrets, new_only: true, findings: {}}
  - {id: no-new-issues, check: sast, new_only: true, findings: {}}
"""
    )
    resolved = load_policy(path, entry_points=False)
    created = create_baseline(resolved, repo)
    assert created.per_check["secrets"] >= 1 and created.per_check["sast"] >= 1
    assert "hunter2" not in created.path.read_text()
    verdict = evaluate(resolved, repo, today=TODAY)
    assert verdict.outcome == "pass", verdict.summary
    secrets = next(c for c in verdict.checks if c.name == "secrets")
    assert DEFAULT_BASELINE not in {f.path for f in secrets.findings}


def test_the_json_report_shows_baselines_only_on_rules_that_read_one(policy, repo: Path) -> None:
    body = one_check(findings("A")) + "  - {id: plain, check: scan, findings: {max: 5}}\n"
    create_baseline(policy(body), repo)
    rules = json.loads(evaluate(policy(body), repo, today=TODAY).model_dump_json())["rules"]
    assert "baseline" not in rules[1] and "baselined" not in rules[1]  # reports of other rules keep their shape
    assert rules[0]["baseline"]["path"] == DEFAULT_BASELINE and len(rules[0]["baseline"]["sha256"]) == 64
    assert [f["id"] for f in rules[0]["baselined"]] == ["A"]
    report = evaluate(policy(body), repo, today=TODAY).model_dump_json()
    assert Verdict.model_validate_json(report).model_dump_json() == report  # a stored report reads back the same


def test_a_recorded_rules_baselined_findings_decide_it_again(policy, repo: Path) -> None:
    """What a replay of a stored run needs: the absorbed findings are a baseline that decides the same."""
    create_baseline(policy(one_check(findings("A", "B"))), repo)
    resolved = policy(one_check(findings("A", "B", "C")))
    verdict = evaluate(resolved, repo, today=TODAY)
    recorded = rule_of(verdict)
    assert recorded.baseline is not None
    again = decide(
        resolved,
        {c.name: c for c in verdict.checks},
        today=TODAY,
        mode="enforce",
        baselines={"r": Baseline.from_findings(recorded.baseline, recorded.baselined)},
    )
    assert again.rules[0] == recorded


def test_a_recorded_run_with_baselines_replays_to_the_same_verdict(policy, repo: Path) -> None:
    from gatekeeper.history.records import RunRecord
    from gatekeeper.history.replay import replay

    create_baseline(policy(one_check(findings("A", "B"))), repo)
    resolved = policy(one_check(findings("A", "C")))
    verdict = evaluate(resolved, repo, today=TODAY)
    assert verdict.outcome == "fail"
    record = RunRecord(id=1, recorded_at=NOW, verdict=verdict, policy=json.loads(resolved.canonical_json()))
    replayed = replay(record, plugins=resolved.plugins, now=NOW)
    assert replayed.matches, replayed.differences
    assert [f.id for f in replayed.verdict.rules[0].baselined] == ["A"]


def test_the_digest_of_a_policy_without_baselines_does_not_change(policy) -> None:
    plain = policy(one_check(findings("A"), "findings: {}"))
    assert '"new_only"' not in plain.canonical_json() and '"baseline"' not in plain.canonical_json()
    spelled = policy(one_check(findings("A"), "new_only: false\n    findings: {baseline: null}"))
    assert spelled.digest == plain.digest
    assert policy(one_check(findings("A"))).digest != plain.digest
    assert policy(one_check(findings("A"), "findings: {baseline: b.json}")).digest != plain.digest


def test_the_document_leaves_out_findings_without_a_fingerprint(policy) -> None:
    resolved = policy(one_check(findings("A")))
    bare = Finding.model_construct(id="A", severity=Severity.HIGH, message="m", fingerprint="", path=None, line=None)
    result = CheckResult.model_construct(name="scan", uses="fake", status="ok", findings=[bare])
    text, per_check, left_out = baseline_document(resolved, {"scan": result}, created_at=NOW, version="1")
    assert (json.loads(text)["findings"], dict(per_check), left_out) == ([], {"scan": 0}, 1)


# --- fingerprints on edited repositories, with the real bandit and semgrep ----------------------

FLAWED_POLICY = """
version: 1
checks:
  sast: {uses: USES}
rules:
  - {id: no-new, check: sast, new_only: true, findings: {}}
"""


def _scan(root: Path, uses: str = "bandit") -> tuple[Verdict, ResolvedPolicy]:
    (root / "gatekeeper.yaml").write_text(FLAWED_POLICY.replace("USES", uses))
    resolved = load_policy(root / "gatekeeper.yaml", entry_points=False)
    return evaluate(resolved, root, today=TODAY), resolved


@pytest.fixture
def baselined_repo(fixture_repo: Callable[[str], Path]) -> Path:
    """The flawed repository (7 bandit findings in app/handlers.py) with its baseline."""
    root = fixture_repo("flawed")
    (root / "gatekeeper.yaml").write_text(FLAWED_POLICY.replace("USES", "bandit"))
    created = create_baseline(load_policy(root / "gatekeeper.yaml", entry_points=False), root)
    assert created.per_check == {"sast": 7}
    return root


def test_lines_inserted_above_findings_change_nothing(baselined_repo: Path) -> None:
    handlers = baselined_repo / "app" / "handlers.py"
    before = {f.fingerprint: f.line for f in _scan(baselined_repo)[0].checks[0].findings}
    handlers.write_text('"""Handlers."""\n\nimport os\n\nDEBUG = os.environ.get("DEBUG")\n\n' + handlers.read_text())
    verdict, _ = _scan(baselined_repo)
    after = {f.fingerprint: f.line for f in verdict.checks[0].findings}
    assert after == {fp: line + 6 for fp, line in before.items()}
    assert verdict.outcome == "pass" and len(verdict.rules[0].baselined) == 7


def test_a_file_moved_unchanged_keeps_its_findings_baselined(baselined_repo: Path) -> None:
    target = baselined_repo / "legacy" / "web"
    target.mkdir(parents=True)
    shutil.move(baselined_repo / "app" / "handlers.py", target / "views.py")
    verdict, _ = _scan(baselined_repo)
    assert {f.path for f in verdict.checks[0].findings} == {"legacy/web/views.py"}
    assert verdict.outcome == "pass" and len(verdict.rules[0].baselined) == 7


def test_a_second_copy_of_a_baselined_issue_is_one_new_finding(baselined_repo: Path) -> None:
    handlers = baselined_repo / "app" / "handlers.py"
    handlers.write_text(
        handlers.read_text()
        + '\n\ndef run_again(name):\n    return subprocess.call("report --name " + name, shell=True)\n'
    )
    verdict, _ = _scan(baselined_repo)
    rule = verdict.rules[0]
    assert [(f.id, f.line) for f in rule.findings] == [("B602", 29)]
    assert len(rule.baselined) == 7 and verdict.outcome == "fail"
    assert rule.reason.startswith("1 new finding(s) at or above info (7 in baseline .gatekeeper-baseline.json)")


def test_a_copy_in_another_file_is_one_new_finding(baselined_repo: Path) -> None:
    shutil.copy(baselined_repo / "app" / "handlers.py", baselined_repo / "app" / "copy.py")
    rule = _scan(baselined_repo)[0].rules[0]
    assert len(rule.findings) == 7 and len(rule.baselined) == 7  # every issue now twice: 7 new


def test_a_changed_flagged_line_is_a_new_finding(baselined_repo: Path) -> None:
    handlers = baselined_repo / "app" / "handlers.py"
    handlers.write_text(handlers.read_text().replace("eval(expression)", "eval(expression.strip())"))
    verdict, _ = _scan(baselined_repo)
    rule = verdict.rules[0]
    assert [f.id for f in rule.findings] == ["B307"] and len(rule.baselined) == 6
    assert verdict.outcome == "fail"


def test_a_fixed_issue_leaves_the_rule_passing(baselined_repo: Path) -> None:
    handlers = baselined_repo / "app" / "handlers.py"
    handlers.write_text(handlers.read_text().replace("return eval(expression)", "return int(expression)"))
    verdict, _ = _scan(baselined_repo)
    assert verdict.outcome == "pass" and len(verdict.rules[0].baselined) == 6


def test_semgrep_fingerprints_survive_shifts_and_moves(fixture_repo: Callable[[str], Path]) -> None:
    root = fixture_repo("flawed")
    (root / "gatekeeper.yaml").write_text(FLAWED_POLICY.replace("USES", "semgrep"))
    created = create_baseline(load_policy(root / "gatekeeper.yaml", entry_points=False), root)
    assert created.per_check["sast"] >= 3, "the built-in pack flags the flawed repository"
    target = root / "moved" / "deeper"
    target.mkdir(parents=True)
    source = root / "app" / "handlers.py"
    (target / "handlers.py").write_text("# moved here\n\n\n" + source.read_text())
    source.unlink()
    verdict, _ = _scan(root, "semgrep")
    assert verdict.checks[0].status == "ok", verdict.checks[0].error
    assert {f.path for f in verdict.checks[0].findings} == {"moved/deeper/handlers.py"}
    assert verdict.outcome == "pass" and len(verdict.rules[0].baselined) == created.per_check["sast"]


def test_sarif_results_keep_their_fingerprints_when_the_file_moves(tmp_path: Path) -> None:
    def log(uri: str, line: int, partial: dict[str, str] | None = None) -> str:
        result: dict[str, object] = {
            "ruleId": "R1",
            "message": {"text": "bad"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}],
        }
        if partial:
            result["partialFingerprints"] = partial
        run = {"tool": {"driver": {"name": "Scanner", "rules": [{"id": "R1"}]}}, "results": [result]}
        return json.dumps({"version": "2.1.0", "runs": [run]})

    (tmp_path / "gatekeeper.yaml").write_text(
        "version: 1\nchecks:\n  s: {uses: sarif, with: {reports: [r.sarif]}}\nrules:\n  - {id: r, check: s, findings: {}}\n"
    )
    resolved = load_policy(tmp_path / "gatekeeper.yaml", entry_points=False)

    def fingerprint_of(text: str) -> str:
        (tmp_path / "r.sarif").write_text(text)
        return evaluate(resolved, tmp_path, today=TODAY).checks[0].findings[0].fingerprint

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.py").write_text("import os\nos.system(cmd)\n")
    (tmp_path / "b" / "y.py").write_text("\n\n\nos.system(cmd)\n")
    assert fingerprint_of(log("a/x.py", 2)) == fingerprint_of(log("b/y.py", 4))
    partial = {"primaryLocationLineHash": "abc:1"}
    assert fingerprint_of(log("a/x.py", 2, partial)) == fingerprint_of(log("b/y.py", 9, partial))


def test_a_baseline_over_a_scan_of_changed_files_only_is_refused(policy, repo: Path) -> None:
    """Fingerprints do not name files: in a scan of changed files, a new copy of a known issue would be
    taken for the known one elsewhere. So a baseline rule never reads a scoped check."""
    create_baseline(policy(one_check(findings("A"))), repo)
    body = """
checks:
  sast: {uses: bandit%s}
rules:
  - id: r
    check: sast
    new_only: true
    findings: {}
"""
    scoped = policy(body % ", scope: changed, base: main")
    with pytest.raises(UsageError, match=r"rule 'r' counts findings against a baseline.*'sast' is limited to changed"):
        evaluate(scoped, repo, today=TODAY)
    with pytest.raises(UsageError, match=r"limited to changed files \(--changed-since main\)"):
        evaluate(policy(body % ""), repo, today=TODAY, changed_since="main")
