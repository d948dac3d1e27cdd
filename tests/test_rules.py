"""Rule decisions: findings thresholds, metric requirements, waivers, modes, and the verdict outcome.

Checks use the fake checker, whose findings and metrics the policy dictates."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import UsageError, Verdict, evaluate, fingerprint, load_policy

TODAY = date(2024, 6, 1)

FIVE_SEVERITIES = """
checks:
  c:
    uses: fake
    with:
      findings:
        - {id: I1, severity: info}
        - {id: L1, severity: low}
        - {id: M1, severity: medium}
        - {id: H1, severity: high}
        - {id: C1, severity: critical}
rules:
  - {id: r, check: c, findings: {severity: SEVERITY, max: 0}}
"""

SCAN = """
checks:
  scan:
    uses: fake
    with:
      findings:
        - {id: B602, path: app/run.py, line: 4, message: shell call}
        - {id: B101, path: app/run.py, line: 9, message: assert used}
        - {id: B603, path: vendor/lib/x.py, line: 1, message: subprocess}
rules:
  - {id: sast, check: scan, findings: {max: 0}}
"""

METRICS = """
checks:
  tests: {uses: fake, with: {metrics: {failed: 2, coverage: 81.5}}}
rules:
  - {id: tests, check: tests, require: ["failed == 0", "coverage >= 80"]}
"""


@pytest.fixture
def gate(write_policy: Callable[..., Path], repo: Path) -> Callable[..., Verdict]:
    """Evaluate a policy body (after version, name and the fake plugin) on the test repository."""

    def run(body: str, *, header: str = "", **kwargs: object) -> Verdict:
        text = 'version: 1\nname: demo\nplugins: ["{fake}"]\n' + header + textwrap.dedent(body)
        policy = load_policy(write_policy(text), entry_points=False)
        return evaluate(policy, repo, today=TODAY, **kwargs)  # type: ignore[arg-type]

    return run


def waiver(**fields: str) -> str:
    """A ``waivers:`` block with one waiver (owner alice, reason 'accepted risk' unless given)."""
    values = {"owner": "alice", "reason": "accepted risk", "expires": "2024-12-31", **fields}
    match = values.pop("match", None)
    lines = [f"  - rule: {values.pop('rule')}"] + [f"    {k}: {v}" for k, v in values.items()]
    if match is not None:
        lines.append(f"    match: {match}")
    return "waivers:\n" + "\n".join(lines) + "\n"


# --- findings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "counted"),
    [
        ("info", ["C1", "H1", "I1", "L1", "M1"]),
        ("low", ["C1", "H1", "L1", "M1"]),
        ("medium", ["C1", "H1", "M1"]),
        ("high", ["C1", "H1"]),
        ("critical", ["C1"]),
    ],
)
def test_findings_are_counted_at_or_above_the_severity(
    gate: Callable[..., Verdict], severity: str, counted: list[str]
) -> None:
    verdict = gate(FIVE_SEVERITIES.replace("SEVERITY", severity))
    rule = verdict.rules[0]
    assert rule.outcome == "fail"
    assert rule.reason == f"{len(counted)} finding(s) at or above {severity}, at most 0 allowed"
    assert sorted(f.id for f in rule.findings) == counted
    assert verdict.outcome == "fail"


@pytest.mark.parametrize(("limit", "outcome"), [(2, "pass"), (3, "pass"), (1, "fail"), (0, "fail")])
def test_max_is_the_largest_count_that_passes(gate: Callable[..., Verdict], limit: int, outcome: str) -> None:
    verdict = gate(FIVE_SEVERITIES.replace("SEVERITY", "high").replace("max: 0", f"max: {limit}"))
    rule = verdict.rules[0]
    assert (rule.outcome, rule.reason) == (outcome, f"2 finding(s) at or above high, at most {limit} allowed")
    assert [f.id for f in rule.findings] == ["C1", "H1"]  # counted, even when within the limit


def test_ids_globs_filter_what_is_counted(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN.replace("findings: {max: 0}", 'findings: {max: 0, ids: ["B6*", "X*"]}'))
    rule = verdict.rules[0]
    assert [f.id for f in rule.findings] == ["B602", "B603"]
    assert rule.reason == "2 finding(s) at or above info, at most 0 allowed"
    verdict = gate(SCAN.replace("findings: {max: 0}", 'findings: {max: 0, ids: ["B1??"]}'))
    assert [f.id for f in verdict.rules[0].findings] == ["B101"]
    verdict = gate(SCAN.replace("findings: {max: 0}", 'findings: {max: 0, ids: ["b602"]}'))
    assert (verdict.rules[0].outcome, verdict.rules[0].findings) == ("pass", [])  # ids are case-sensitive


# --- require ----------------------------------------------------------------------------------


def test_requirements_pass_and_fail_with_their_values(gate: Callable[..., Verdict]) -> None:
    rule = gate(METRICS).rules[0]
    assert rule.outcome == "fail"
    assert rule.reason == "not met: failed == 0 (failed=2); met: coverage >= 80 (coverage=81.5)"
    rule = gate(METRICS.replace("failed: 2", "failed: 0")).rules[0]
    assert rule.outcome == "pass"
    assert rule.reason == "met: failed == 0 (failed=0); met: coverage >= 80 (coverage=81.5)"


def test_a_missing_metric_is_an_error_naming_it(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS.replace('"coverage >= 80"', '"skipped == 0"'))
    rule = verdict.rules[0]
    assert rule.outcome == "error"
    assert (
        rule.reason == "cannot evaluate 'skipped == 0': no check reported metric 'skipped' (reported: coverage, failed)"
    )
    assert verdict.outcome == "error"


def test_a_not_a_number_metric_never_meets_a_requirement(gate: Callable[..., Verdict]) -> None:
    rule = gate(METRICS.replace("failed: 2", "failed: .nan")).rules[0]
    assert rule.outcome == "fail"
    assert rule.reason.startswith("not met: failed == 0 (a value is not a number)")


MULTI = """
checks:
  unit: {uses: fake, with: {metrics: {failed: 0}, findings: [{id: U1, path: u.py}]}}
  integration: {uses: fake, with: {metrics: {failed: 1, flaky: 3}, findings: [{id: I1, path: i.py}]}}
rules:
  - {id: r, check: [unit, integration], findings: {max: 2}, require: REQUIRE}
"""


def test_a_rule_reading_several_checks_uses_qualified_metrics(gate: Callable[..., Verdict]) -> None:
    rule = gate(MULTI.replace("REQUIRE", '["unit.failed == 0", "integration.failed <= 1", "flaky < 5"]')).rules[0]
    assert rule.checks == ["unit", "integration"]
    assert rule.outcome == "pass"
    assert rule.reason == (
        "2 finding(s) at or above info, at most 2 allowed; met: unit.failed == 0 (unit.failed=0); "
        "met: integration.failed <= 1 (integration.failed=1); met: flaky < 5 (flaky=3)"
    )
    assert [f.id for f in rule.findings] == ["I1", "U1"]
    rule = gate(MULTI.replace("REQUIRE", '["integration.failed == 0"]')).rules[0]
    assert (rule.outcome, rule.reason.split("; ")[1]) == (
        "fail",
        "not met: integration.failed == 0 (integration.failed=1)",
    )


def test_an_ambiguous_metric_is_an_error(gate: Callable[..., Verdict]) -> None:
    rule = gate(MULTI.replace("REQUIRE", '"failed == 0"')).rules[0]
    assert rule.outcome == "error"
    assert rule.reason == (
        "cannot evaluate 'failed == 0': metric 'failed' is reported by several checks; qualify it as CHECK.failed"
    )


# A checker that can leave a metric out on purpose, saying why (``CheckOutput.not_applicable``).
PARTIAL_PLUGIN = """
from pydantic import BaseModel, ConfigDict, Field

from gatekeeper import Checker, CheckOutput, hookimpl


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metrics: dict[str, float] = Field(default_factory=dict)
    not_applicable: dict[str, str] = Field(default_factory=dict)


def run(ctx, options):
    return CheckOutput(
        inputs=[ctx.input_file("input.txt")], metrics=options.metrics, not_applicable=options.not_applicable
    )


@hookimpl
def gatekeeper_checkers():
    return [Checker("partial", run, Options)]
"""

NOT_APPLICABLE = """
checks:
  diff: {uses: partial, with: {metrics: {changed_lines: 0}, not_applicable: {diff_line_rate: nothing changed}}}
  other: {uses: fake, with: {metrics: {floor: 0.5}}}
rules:
  - {id: r, check: CHECKS, require: REQUIRE}
  - {id: o, check: other, require: ["floor >= 0"]}
"""


@pytest.fixture
def gate_partial(write_policy: Callable[..., Path], repo: Path) -> Callable[..., Verdict]:
    (repo / "partial_plugin.py").write_text(PARTIAL_PLUGIN)

    def run(require: str, checks: str = "diff", body: str = NOT_APPLICABLE) -> Verdict:
        text = 'version: 1\nplugins: ["{fake}", partial_plugin.py]\n' + body.replace("REQUIRE", require)
        policy = load_policy(write_policy(text.replace("CHECKS", checks)), entry_points=False)
        return evaluate(policy, repo, today=TODAY)

    return run


@pytest.mark.parametrize(
    ("require", "checks"),
    [
        ('["diff_line_rate >= 0.9"]', "diff"),
        ('["diff.diff_line_rate >= 0.9"]', "[diff, other]"),
        ('["diff_line_rate >= floor"]', "[diff, other]"),
    ],
)
def test_a_requirement_on_a_not_applicable_metric_is_met_with_the_reason(
    require: str, checks: str, gate_partial: Callable[..., Verdict]
) -> None:
    verdict = gate_partial(require, checks)
    assert verdict.checks[0].not_applicable == {"diff_line_rate": "nothing changed"}
    assert (verdict.rules[0].outcome, verdict.rules[0].reason) == ("pass", "not applicable: nothing changed")
    assert verdict.outcome == "pass"


def test_not_applicable_sits_beside_the_other_requirements(gate_partial: Callable[..., Verdict]) -> None:
    rule = gate_partial('["changed_lines == 0", "diff_line_rate >= 0.9"]').rules[0]
    assert rule.outcome == "pass"
    assert rule.reason == "met: changed_lines == 0 (changed_lines=0); not applicable: nothing changed"
    rule = gate_partial('["changed_lines > 0", "diff_line_rate >= 0.9"]').rules[0]
    assert rule.outcome == "fail"
    assert rule.reason == "not met: changed_lines > 0 (changed_lines=0); not applicable: nothing changed"


def test_not_applicable_does_not_hide_a_missing_metric(gate_partial: Callable[..., Verdict]) -> None:
    verdict = gate_partial('["diff_line_rate >= flor"]', "[diff, other]")
    assert verdict.rules[0].outcome == "error"
    assert verdict.rules[0].reason == (
        "cannot evaluate 'diff_line_rate >= flor': no check reported metric 'flor' (reported: changed_lines, floor)"
    )
    unlisted = gate_partial('["branch_rate >= 0.9"]').rules[0]
    assert unlisted.outcome == "error"
    assert unlisted.reason.startswith("cannot evaluate 'branch_rate >= 0.9': no check reported metric")


def test_a_reported_metric_is_evaluated_even_if_also_listed_as_not_applicable(
    gate_partial: Callable[..., Verdict],
) -> None:
    body = NOT_APPLICABLE.replace("{changed_lines: 0}", "{changed_lines: 0, diff_line_rate: 0.5}")
    rule = gate_partial('["diff_line_rate >= 0.9"]', body=body).rules[0]
    assert (rule.outcome, rule.reason) == ("fail", "not met: diff_line_rate >= 0.9 (diff_line_rate=0.5)")
    other = NOT_APPLICABLE.replace("{floor: 0.5}", "{floor: 0.5, diff_line_rate: 0.95}")
    rule = gate_partial('["diff_line_rate >= 0.9"]', "[diff, other]", body=other).rules[0]
    assert (rule.outcome, rule.reason) == ("pass", "met: diff_line_rate >= 0.9 (diff_line_rate=0.95)")


# --- waivers ----------------------------------------------------------------------------------


def test_a_waiver_by_finding_glob_waives_only_what_it_matches(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN + waiver(rule="sast", match='{finding: "B6*"}'))
    rule = verdict.rules[0]
    assert [f.id for f in rule.waived] == ["B602", "B603"]
    assert [f.id for f in rule.findings] == ["B101"]
    assert (rule.outcome, rule.reason) == ("fail", "1 finding(s) at or above info, at most 0 allowed")
    (report,) = verdict.waivers
    assert (report.rule, report.status, report.matched, report.match) == ("sast", "active", 2, {"finding": "B6*"})


def test_a_rule_whose_findings_are_all_waived_is_waived(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN + waiver(rule="sast", match='{finding: "B*"}'))
    rule = verdict.rules[0]
    assert rule.outcome == "waived"
    assert rule.reason == "0 finding(s) at or above info, at most 0 allowed (3 waived)"
    assert rule.findings == [] and len(rule.waived) == 3
    assert verdict.outcome == "pass"
    assert verdict.summary == "PASS: 1 rule(s); waived: sast"


def test_waived_findings_within_the_limit_leave_the_rule_passing(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN.replace("max: 0", "max: 3") + waiver(rule="sast", match="{finding: B101}"))
    rule = verdict.rules[0]
    assert (rule.outcome, [f.id for f in rule.waived]) == ("pass", ["B101"])


def test_a_waiver_by_path_glob(gate: Callable[..., Verdict]) -> None:
    body = SCAN.replace("- {id: B603", "- {id: N1, message: no path}\n        - {id: B603")
    verdict = gate(body + waiver(rule="sast", match='{path: "vendor/*"}'))
    rule = verdict.rules[0]
    assert [f.id for f in rule.waived] == ["B603"]
    assert [f.id for f in rule.findings] == ["N1", "B602", "B101"]  # a finding without a path is never matched


def test_a_waiver_with_several_keys_needs_all_of_them(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN + waiver(rule="sast", match='{finding: "B6*", path: "app/*"}'))
    assert [f.id for f in verdict.rules[0].waived] == ["B602"]


def test_a_waiver_by_fingerprint(gate: Callable[..., Verdict]) -> None:
    print_ = fingerprint("B101", "app/run.py", "assert used")
    verdict = gate(SCAN + waiver(rule="sast", match=f"{{fingerprint: {print_}}}"))
    rule = verdict.rules[0]
    assert [(f.id, f.fingerprint) for f in rule.waived] == [("B101", print_)]
    assert [f.id for f in rule.findings] == ["B602", "B603"]
    assert verdict.waivers[0].match == {"fingerprint": print_}


def test_a_waiver_for_another_rule_does_not_apply(gate: Callable[..., Verdict]) -> None:
    body = SCAN + "  - {id: other, check: scan, findings: {max: 5}}\n"
    verdict = gate(body + waiver(rule="other", match='{finding: "B*"}'))
    sast, other = verdict.rules
    assert (sast.outcome, sast.waived) == ("fail", [])
    assert (other.outcome, len(other.waived)) == ("pass", 3)


def test_an_expired_waiver_waives_nothing(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN + waiver(rule="sast", match='{finding: "B*"}', expires="2024-05-31"))
    rule = verdict.rules[0]
    assert (rule.outcome, rule.waived, len(rule.findings)) == ("fail", [], 3)
    (report,) = verdict.waivers
    assert (report.status, report.matched, report.expires) == ("expired", 0, "2024-05-31")
    assert verdict.summary == "FAIL: 1 rule(s); fail: sast; 1 expired waiver(s)"


def test_a_waiver_is_active_on_its_expiry_day(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN + waiver(rule="sast", match='{finding: "B*"}', expires=TODAY.isoformat()))
    assert verdict.rules[0].outcome == "waived"
    assert verdict.waivers[0].status == "active"


def test_an_active_waiver_that_matches_nothing_is_stale(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SCAN + waiver(rule="sast", match="{finding: Z999}"))
    assert verdict.rules[0].outcome == "fail"
    (report,) = verdict.waivers
    assert (report.status, report.matched) == ("stale", 0)
    assert verdict.summary == "FAIL: 1 rule(s); fail: sast; 1 stale waiver(s)"


def test_a_matchless_waiver_waives_a_failing_requirement(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS + waiver(rule="tests", owner="bob", reason="flaky upstream"))
    rule = verdict.rules[0]
    assert rule.outcome == "waived"
    assert rule.reason == (
        "not met: failed == 0 (failed=2); met: coverage >= 80 (coverage=81.5)"
        " — waived by bob until 2024-12-31: flaky upstream"
    )
    assert verdict.outcome == "pass"
    (report,) = verdict.waivers
    assert (report.status, report.matched, report.match, report.owner) == ("active", 1, {}, "bob")


def test_a_matchless_waiver_on_a_passing_rule_is_stale(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS.replace("failed: 2", "failed: 0") + waiver(rule="tests"))
    assert verdict.rules[0].outcome == "pass"
    assert verdict.waivers[0].status == "stale"


def test_an_expired_matchless_waiver_waives_nothing(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS + waiver(rule="tests", expires="2024-01-01"))
    assert verdict.rules[0].outcome == "fail"
    assert verdict.waivers[0].status == "expired"


def test_a_waiver_never_covers_a_check_error(gate: Callable[..., Verdict]) -> None:
    verdict = gate(
        SCAN.replace("with:", "with:\n      status: error\n      error: scanner missing") + waiver(rule="sast")
    )
    assert (verdict.rules[0].outcome, verdict.rules[0].reason) == ("error", "check 'scan' errored: scanner missing")
    assert verdict.outcome == "error"


# --- modes and the verdict outcome --------------------------------------------------------------


def test_policy_mode_warn_turns_a_fail_into_a_warning(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS, header="mode: warn\n")
    rule = verdict.rules[0]
    assert (rule.outcome, rule.mode) == ("warn", "warn")
    assert rule.reason.endswith("(mode: warn, not enforced)")
    assert (verdict.outcome, verdict.enforced, verdict.mode) == ("pass", True, "warn")
    assert verdict.summary == "PASS: 1 rule(s); warn: tests"


def test_a_rule_in_warn_mode_inside_an_enforcing_policy(gate: Callable[..., Verdict]) -> None:
    body = METRICS + "  - {id: hard, check: tests, require: 'failed < 1'}\n"
    verdict = gate(body.replace('coverage >= 80"]}', 'coverage >= 80"], mode: warn}'))
    assert [(r.id, r.outcome, r.mode) for r in verdict.rules] == [
        ("tests", "warn", "warn"),
        ("hard", "fail", "enforce"),
    ]
    assert verdict.outcome == "fail"
    assert verdict.summary == "FAIL: 2 rule(s); fail: hard; warn: tests"


def test_a_rule_in_enforce_mode_inside_a_warn_policy_still_fails(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS.replace('coverage >= 80"]}', 'coverage >= 80"], mode: enforce}'), header="mode: warn\n")
    assert verdict.rules[0].outcome == "fail"
    assert verdict.outcome == "fail"


def test_a_rule_in_audit_mode_warns(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS.replace('coverage >= 80"]}', 'coverage >= 80"], mode: audit}'))
    rule = verdict.rules[0]
    assert (rule.outcome, rule.mode) == ("warn", "audit")
    assert rule.reason.endswith("(mode: audit, not enforced)")
    assert verdict.outcome == "pass"


def test_policy_mode_audit_keeps_the_outcome_but_does_not_enforce(gate: Callable[..., Verdict]) -> None:
    verdict = gate(METRICS, header="mode: audit\n")
    assert verdict.rules[0].outcome == "fail"
    assert (verdict.outcome, verdict.enforced, verdict.mode) == ("fail", False, "audit")
    assert verdict.summary == "FAIL: 1 rule(s); fail: tests (audit mode: not enforced)"


def test_evaluate_mode_overrides_the_policy_mode(gate: Callable[..., Verdict]) -> None:
    audited = gate(METRICS, mode="audit")
    assert (audited.outcome, audited.enforced, audited.mode) == ("fail", False, "audit")
    assert audited.rules[0].outcome == "fail"
    enforced = gate(METRICS, header="mode: warn\n", mode="enforce")
    assert (enforced.outcome, enforced.enforced, enforced.rules[0].outcome) == ("fail", True, "fail")
    warned = gate(METRICS, mode="warn")
    assert (warned.outcome, warned.rules[0].outcome) == ("pass", "warn")


def test_evaluate_rejects_an_unknown_mode(gate: Callable[..., Verdict]) -> None:
    with pytest.raises(UsageError, match=r"unknown mode 'lenient'; use enforce, warn or audit"):
        gate(METRICS, mode="lenient")


OUTCOMES = """
checks:
  good: {uses: fake, with: {metrics: {n: 0}}}
  bad: {uses: fake, with: {metrics: {n: 1}}}
  broken: {uses: fake, with: {behaviour: raise}}
rules:
  - {id: passes, check: good, require: "n == 0"}
  - {id: fails, check: bad, require: "n == 0"}
  - {id: errors, check: broken, require: "n == 0"}
"""


@pytest.mark.parametrize(
    ("drop", "outcome", "summary"),
    [
        ((), "error", "ERROR: 3 rule(s); error: errors; fail: fails"),
        (("errors",), "fail", "FAIL: 2 rule(s); fail: fails"),
        (("errors", "fails"), "pass", "PASS: 1 rule(s)"),
    ],
)
def test_verdict_outcome_precedence(
    gate: Callable[..., Verdict], drop: tuple[str, ...], outcome: str, summary: str
) -> None:
    body = OUTCOMES
    for rule in drop:
        check = {"errors": "broken", "fails": "bad"}[rule]
        body = "\n".join(line for line in body.splitlines() if rule not in line and f"  {check}:" not in line)
    verdict = gate(body)
    assert verdict.outcome == outcome
    assert verdict.summary == summary


def test_an_error_outranks_a_fail_even_in_warn_and_audit(gate: Callable[..., Verdict]) -> None:
    for mode in ("warn", "audit"):
        verdict = gate(OUTCOMES, mode=mode)
        assert [r.outcome for r in verdict.rules] == ["pass", "warn" if mode == "warn" else "fail", "error"]
        assert verdict.outcome == "error"


# --- skipped checks ---------------------------------------------------------------------------

SKIPPED = """
checks:
  deps: {uses: fake, with: {status: skipped, error: no dependency files found, inputs: []}}
rules:
  - {id: vulns, check: deps, findings: {max: 0}ON_SKIPPED}
"""


def test_a_skipped_check_is_an_error_by_default(gate: Callable[..., Verdict]) -> None:
    verdict = gate(SKIPPED.replace("ON_SKIPPED", ""))
    assert verdict.rules[0].outcome == "error"
    assert verdict.rules[0].reason == "check 'deps' was skipped: no dependency files found"
    assert verdict.outcome == "error"


@pytest.mark.parametrize("choice", ["warn", "pass"])
def test_on_skipped_lets_a_skip_through_and_says_so(choice: str, gate: Callable[..., Verdict]) -> None:
    verdict = gate(SKIPPED.replace("ON_SKIPPED", f", on_skipped: {choice}"))
    rule = verdict.rules[0]
    assert (rule.outcome, rule.let_through) == (choice, "on_skipped")
    assert rule.reason.endswith(f"(the policy says on_skipped: {choice})")
    assert "skipped checks let through by on_skipped: vulns" in verdict.summary
    assert verdict.outcome == "pass"


def test_on_skipped_does_not_cover_an_error(gate: Callable[..., Verdict]) -> None:
    body = SKIPPED.replace("status: skipped, error: no dependency files found, inputs: []", "behaviour: raise")
    verdict = gate(body.replace("ON_SKIPPED", ", on_skipped: pass"))
    assert verdict.rules[0].outcome == "error"
    assert verdict.outcome == "error"


MIXED = """
checks:
  t: {uses: fake, with: {metrics: {failed: FAILED}}}
  u: {uses: fake, with: {status: skipped, error: nothing to read, inputs: []}}
rules:
  - {id: r, check: [t, u], require: ["t.failed == 0", "u.failed == 0"], on_skipped: pass}
"""


def test_a_skipped_check_does_not_hide_a_failure_of_another(gate: Callable[..., Verdict]) -> None:
    verdict = gate(MIXED.replace("FAILED", "2"))
    rule = verdict.rules[0]
    assert rule.outcome == "fail"
    assert "not met: t.failed == 0 (t.failed=2)" in rule.reason
    assert "check 'u' was skipped: nothing to read" in rule.reason


def test_a_skipped_check_with_the_others_passing_is_let_through(gate: Callable[..., Verdict]) -> None:
    verdict = gate(MIXED.replace("FAILED", "0"))
    rule = verdict.rules[0]
    assert (rule.outcome, rule.let_through) == ("pass", "on_skipped")
    assert rule.reason.startswith("check 'u' was skipped: nothing to read (the policy says on_skipped: pass); ")
    assert "met: t.failed == 0" in rule.reason
    assert "not evaluated: u.failed == 0" in rule.reason


def test_a_typo_on_a_check_that_ran_is_still_an_error_when_another_is_let_through(gate: Callable[..., Verdict]) -> None:
    body = MIXED.replace("FAILED", "0").replace('"t.failed == 0", "u.failed == 0"', '"t.faild == 0"')
    rule = gate(body).rules[0]
    assert rule.outcome == "error"
    assert "cannot evaluate 't.faild == 0'" in rule.reason
