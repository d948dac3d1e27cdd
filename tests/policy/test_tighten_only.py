"""Locked rules (issue 12): a policy that extends a base may tighten a locked rule, never loosen it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.policy import canonical_json, load_policy
from gatekeeper.policy.compare import compare_rules
from gatekeeper.policy.model import Rule

BASE = """\
version: 1
allow_weaker_mode: true
checks:
  cov: {uses: coverage, with: {report: coverage.xml}}
  sast: {uses: bandit}
  other: {uses: bandit, with: {paths: [src]}}
rules:
  - id: coverage
    check: cov
    require: ["line_rate >= 0.8", "branch_rate > 0.5"]
    locked: true
  - id: no-high
    check: sast
    findings: {severity: high, max: 2, ids: ["B6*", "B301"]}
    on_error: warn
    on_skipped: warn
    locked: true
    waivable: false
  - id: free
    check: other
    findings: {severity: medium}
"""


def write_pair(write_policy, child_rules: str, *, base: str = BASE, top: str = "") -> Path:
    write_policy(base, name="base.yaml")
    return write_policy(f"version: 1\nextends: base.yaml\n{top}" + (f"rules:\n{child_rules}" if child_rules else ""))


def error_of(path: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(path, entry_points=False)
    return str(info.value).replace(f"{path.parent}/", "")  # file names relative to the policy's folder


COVERAGE = "  - {id: coverage, check: cov, require: %s}\n"
NO_HIGH = "  - {id: no-high, check: sast, findings: %s, on_error: %s, on_skipped: warn}\n"


@pytest.mark.parametrize(
    ("child", "what"),
    [
        (
            COVERAGE % '["line_rate >= 0.7", "branch_rate > 0.5"]',
            "require 'line_rate >= 0.8' became 'line_rate >= 0.7'",
        ),
        (COVERAGE % '["branch_rate > 0.5"]', "require 'line_rate >= 0.8' was removed"),
        (
            COVERAGE % '["line_rate >= 0.8", "branch_rate >= 0.5"]',
            "require 'branch_rate > 0.5' became 'branch_rate >= 0.5'",
        ),
        (
            COVERAGE % '["line_rate <= 0.8", "branch_rate > 0.5"]',
            "require 'line_rate >= 0.8' became 'line_rate <= 0.8'",
        ),
        (COVERAGE % '["cov.line_rate >= 0.8", "branch_rate > 0.5"]', "require 'line_rate >= 0.8' was removed"),
        (NO_HIGH % ("{severity: high, max: 3, ids: [B6*, B301]}", "warn"), "findings.max 2 became 3"),
        (
            NO_HIGH % ("{severity: critical, max: 2, ids: [B6*, B301]}", "warn"),
            "findings.severity 'high' became 'critical'",
        ),
        (NO_HIGH % ("{severity: high, max: 2, ids: [B6*]}", "warn"), "findings.ids [B6*, B301] became [B6*]"),
        (NO_HIGH % ("{severity: high, max: 2, ids: [B6*, B301]}", "pass"), "on_error 'warn' became 'pass'"),
        (
            "  - {id: no-high, check: sast, require: [findings == 0], on_error: warn, on_skipped: warn}\n",
            "findings was removed",
        ),
        (
            "  - {id: no-high, check: sast, findings: {severity: high, max: 2, ids: [B6*, B301]}, on_error: warn, "
            "on_skipped: warn, mode: audit}\n",
            "mode 'enforce' became 'audit'",
        ),
        (
            "  - {id: no-high, check: sast, findings: {severity: high, max: 2, ids: [B6*, B301], baseline: b.json}, "
            "on_error: warn, on_skipped: warn}\n",
            "baseline 'b.json' was added",
        ),
        (
            "  - {id: no-high, check: other, findings: {severity: high, max: 2, ids: [B6*, B301]}, on_error: warn, "
            "on_skipped: warn}\n",
            "check ['sast'] became ['other']",
        ),
        (
            COVERAGE.replace("}", ", locked: false}") % '["line_rate >= 0.8", "branch_rate > 0.5"]',
            "locked true became false",
        ),
        (
            "  - {id: no-high, check: sast, findings: {severity: high, max: 2, ids: [B6*, B301]}, on_error: warn, "
            "on_skipped: warn, waivable: true}\n",
            "waivable false became true",
        ),
    ],
)
def test_each_loosening_is_an_error_naming_rule_base_and_change(write_policy, child: str, what: str) -> None:
    path = write_pair(write_policy, child)
    message = error_of(path)
    rule = "coverage" if "id: coverage" in child else "no-high"
    assert message.startswith(
        f"gatekeeper.yaml:4:5: rules[0] ({rule}): loosens locked rule '{rule}' from base.yaml: "
    ), message
    assert what in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "child",
    [
        COVERAGE % '["line_rate >= 0.9", "branch_rate > 0.5"]',
        COVERAGE % '["branch_rate > 0.5", "line_rate >= 0.80"]',  # same, other order and spelling
        COVERAGE % '["line_rate > 0.8", "branch_rate > 0.5", "failed == 0"]',
        COVERAGE % '["0.8 <= line_rate", "0.5 < branch_rate"]',
        COVERAGE % '["line_rate >= 0.8", "branch_rate == 0.9"]',
        NO_HIGH % ("{severity: medium, max: 0, ids: [B6*, B301, B1*]}", "error"),
        NO_HIGH % ("{severity: high, max: 2}", "warn"),  # no ids: every id counts
        NO_HIGH % ("{severity: high, max: 2, ids: [B6*, B301]}", "warn"),  # restated as it was
        "  - {id: no-high, check: [sast, other], findings: {severity: high, max: 1, ids: [B6*, B301]}, "
        "on_error: warn, on_skipped: error, description: also src}\n",
    ],
)
def test_tightening_or_restating_a_locked_rule_is_accepted(write_policy, child: str) -> None:
    resolved = load_policy(write_pair(write_policy, child), entry_points=False)
    assert all(rule.locked for rule in resolved.policy.rules if rule.id != "free")  # the lock stays


def test_an_unlocked_rule_may_still_be_loosened(write_policy) -> None:
    path = write_pair(write_policy, "  - {id: free, check: other, findings: {severity: critical, max: 9}}\n")
    assert load_policy(path, entry_points=False).policy.rules[2].findings.max == 9  # type: ignore[union-attr]


def test_the_lock_and_waivable_are_kept_when_the_child_does_not_write_them(write_policy) -> None:
    child = NO_HIGH % ("{severity: high, max: 1, ids: [B6*, B301]}", "warn")
    rule = load_policy(write_pair(write_policy, child), entry_points=False).policy.rules[1]
    assert (rule.locked, rule.waivable, rule.findings.max) == (True, False, 1)  # type: ignore[union-attr]


def test_a_grandchild_is_held_to_the_lock_and_the_message_names_both_files(write_policy) -> None:
    write_policy(BASE, name="base.yaml")
    write_policy(
        "version: 1\nextends: base.yaml\nrules:\n" + COVERAGE % '["line_rate >= 0.9", "branch_rate > 0.5"]',
        name="team.yaml",
    )
    path = write_policy(
        "version: 1\nextends: team.yaml\nrules:\n" + COVERAGE % '["line_rate >= 0.85", "branch_rate > 0.5"]'
    )
    message = error_of(path)
    assert "loosens locked rule 'coverage' from team.yaml (locked by base.yaml): " in message
    assert "require 'line_rate >= 0.9' became 'line_rate >= 0.85'" in message


def test_a_weaker_policy_mode_cannot_reach_a_locked_rule(write_policy) -> None:
    path = write_pair(write_policy, "", top="mode: warn\n")
    assert error_of(path) == (
        "gatekeeper.yaml:3:7: mode: 'warn' loosens locked rule 'coverage' from base.yaml: mode 'enforce' became 'warn'"
    )
    path = write_pair(write_policy, "", top="mode: audit\n")
    assert "mode: 'audit' loosens locked rule 'coverage'" in error_of(path)


def test_warn_is_allowed_when_the_locked_rules_keep_their_own_mode(write_policy) -> None:
    base = BASE.replace("    locked: true\n", "    locked: true\n    mode: enforce\n")
    resolved = load_policy(write_pair(write_policy, "", base=base, top="mode: warn\n"), entry_points=False)
    assert resolved.policy.mode == "warn"


@pytest.mark.parametrize(
    ("check", "what"),
    [
        (
            "cov: {uses: coverage, with: {report: other.xml}}",
            'with {"report": "coverage.xml"} became {"report": "other.xml"}',
        ),
        ("sast: {uses: semgrep}", "uses 'bandit' became 'semgrep'"),
        ("sast: {uses: bandit, scope: changed}", "scope 'all' became 'changed'"),
    ],
)
def test_changing_a_check_a_locked_rule_reads_is_an_error(write_policy, check: str, what: str) -> None:
    path = write_pair(write_policy, "", top=f"checks:\n  {check}\n")
    name = check.split(":")[0]
    rule = "coverage" if name == "cov" else "no-high"
    message = error_of(path)
    assert message.startswith("gatekeeper.yaml:4:"), message
    assert f"checks.{name}: changes check '{name}' read by locked rule '{rule}' from base.yaml: {what}" in message


def test_a_check_timeout_or_a_check_of_an_unlocked_rule_may_change(write_policy) -> None:
    top = "checks:\n  cov: {uses: coverage, with: {report: coverage.xml}, timeout: 30}\n  other: {uses: semgrep}\n"
    resolved = load_policy(write_pair(write_policy, "", top=top), entry_points=False)
    assert resolved.policy.checks["cov"].timeout == 30


# --- waivers --------------------------------------------------------------------------------------


def test_a_waiver_of_a_rule_that_is_not_waivable_names_the_base(write_policy, monkeypatch) -> None:
    monkeypatch.setenv("GATEKEEPER_NOW", "2026-05-01")
    top = "waivers:\n  - {rule: no-high, reason: r, owner: o, expires: 2026-05-10}\n"
    path = write_pair(write_policy, "", top=top)
    assert error_of(path) == (
        "gatekeeper.yaml:4:12: waivers[0].rule: rule 'no-high' may not be waived (waivable: false in base.yaml)"
    )


def test_a_rule_max_waiver_days_limits_waivers_from_today(write_policy, monkeypatch) -> None:
    monkeypatch.setenv("GATEKEEPER_NOW", "2026-05-01")
    base = BASE.replace(
        '    require: ["line_rate >= 0.8", "branch_rate > 0.5"]\n',
        '    require: ["line_rate >= 0.8", "branch_rate > 0.5"]\n    max_waiver_days: 30\n',
    )
    ok = "waivers:\n  - {rule: coverage, reason: r, owner: o, expires: 2026-05-31}\n"
    assert load_policy(write_pair(write_policy, "", base=base, top=ok), entry_points=False).policy.waivers
    late = ok.replace("2026-05-31", "2026-06-01")
    path = write_pair(write_policy, "", base=base, top=late)
    assert error_of(path) == (
        "gatekeeper.yaml:4:52: waivers[0].expires: 2026-06-01 is more than 30 days away; rule 'coverage' allows "
        "waivers of at most 30 days (max_waiver_days in base.yaml)"
    )
    raised = COVERAGE.replace("}", ", max_waiver_days: 60}") % '["line_rate >= 0.8", "branch_rate > 0.5"]'
    assert "max_waiver_days 30 became 60" in error_of(write_pair(write_policy, raised, base=base))


# --- the comparison itself, and the digest --------------------------------------------------------


def rule(**changes: object) -> Rule:
    data: dict[str, object] = {"id": "r", "check": ["c"], "require": ["x >= 0.8"]}
    data.update(changes)
    return Rule.model_validate(data)


@pytest.mark.parametrize(
    ("old", "new", "direction"),
    [
        (["x >= 0.8"], ["x >= 0.80"], None),
        (["x >= 0.8"], ["x > 0.8"], "tightened"),
        (["x > 0.8"], ["x >= 0.8"], "loosened"),
        (["x <= 5"], ["x < 5"], "tightened"),
        (["x < 5"], ["x <= 5"], "loosened"),
        (["x <= 5"], ["x <= 6"], "loosened"),
        (["x == 0"], ["x <= 0"], "loosened"),
        (["x <= 0"], ["x == 0"], "tightened"),
        (["x != 1"], ["x == 0"], "tightened"),
        (["a <= b"], ["b >= a"], None),
        (["a <= b"], ["a < b"], "tightened"),
        (["x >= 1", "y == 0"], ["y == 0", "x >= 1"], None),
    ],
)
def test_require_comparison_is_semantic(old: list[str], new: list[str], direction: str | None) -> None:
    changes = compare_rules(rule(require=old), rule(require=new), old_mode="enforce", new_mode="enforce")
    assert [c.direction for c in changes] == ([direction] if direction else [])


def test_when_conditions_and_effective_on_count_when_the_fields_exist() -> None:
    if "when" not in Rule.model_fields or "effective_on" not in Rule.model_fields:
        pytest.skip("when/effective_on not in this version of the model")
    base = rule()
    fewer_applies = compare_rules(base, rule(when=["change.ai_assisted == 1"]), old_mode="enforce", new_mode="enforce")
    assert [(c.aspect, c.direction) for c in fewer_applies] == [("when", "loosened")]
    later = compare_rules(
        rule(effective_on="2026-06-01"), rule(effective_on="2026-07-01"), old_mode="enforce", new_mode="enforce"
    )
    assert [(c.aspect, c.direction) for c in later] == [("effective_on", "loosened")]
    from datetime import date

    past = compare_rules(
        base, rule(effective_on="2026-01-01"), old_mode="enforce", new_mode="enforce", today=date(2026, 5, 1)
    )
    assert past == []  # a date already reached is in force


def test_lock_keys_at_their_defaults_leave_the_digest_alone(write_policy) -> None:
    plain = load_policy(
        write_policy(BASE.replace("    locked: true\n", "").replace("    waivable: false\n", "")), entry_points=False
    )
    assert '"locked"' not in canonical_json(plain.policy) and '"waivable"' not in canonical_json(plain.policy)
    locked = load_policy(write_policy(BASE, name="locked.yaml"), entry_points=False)
    assert '"locked":true' in canonical_json(locked.policy) and locked.digest != plain.digest


def test_strict_locks_no_secrets_and_library_still_loads(write_policy) -> None:
    strict = {r.id: r for r in load_policy("builtin:strict", entry_points=False).policy.rules}
    assert strict["no-secrets"].locked and strict["no-secrets"].max_waiver_days == 30
    load_policy("builtin:library", entry_points=False)
    load_policy("builtin:service", entry_points=False)
    path = write_policy(
        'version: 1\nextends: ["builtin:strict"]\nrules:\n  - {id: no-secrets, check: secrets, findings: {max: 1}}\n'
    )
    assert "loosens locked rule 'no-secrets' from builtin:strict: findings.max 0 became 1" in error_of(path)
