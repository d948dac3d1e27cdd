"""Validating a policy: unknown keys, wrong types, missing keys and dangling references, each at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.errors import Location, PolicyError
from gatekeeper.policy import load_policy

# Line numbers in the expectations below count from the first line of each text.
RULES = """\
version: 1
checks:
  sast: {uses: bandit}
rules:
  - {id: no-high, check: sast, findings: {severity: high}}
"""


def error_of(path: Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(path, entry_points=False)
    return info.value


def assert_error(path: Path, line: int, column: int, detail: str) -> None:
    error = error_of(path)
    assert str(error) == f"{path}:{line}:{column}: {detail}"
    assert error.location == Location(str(path), line, column)


# --- unknown keys ----------------------------------------------------------------------------

UNKNOWN_KEYS = [
    ("version: 1\nrulez: []\n", 2, 1, "rulez: unknown key (did you mean 'rules'?)"),
    (
        RULES + "  - id: tests\n    check: sast\n    requir: ['failed == 0']\n",
        8,
        5,
        "rules[1].requir: unknown key (did you mean 'require'?)",
    ),
    (
        "version: 1\nchecks:\n  sast:\n    uses: bandit\n    timout: 3\n",
        5,
        5,
        "checks.sast.timout: unknown key (did you mean 'timeout'?)",
    ),
    (
        RULES
        + "waivers:\n  - rule: no-high\n    reason: r\n    owner: o\n    expires: 2030-01-01\n    mach: {finding: B1}\n",
        11,
        5,
        "waivers[0].mach: unknown key (did you mean 'match'?)",
    ),
    (
        RULES + "waivers:\n  - {rule: no-high, reason: r, owner: o, expires: 2030-01-01, match: {findng: B1}}\n",
        7,
        71,
        "waivers[0].match.findng: unknown key (did you mean 'finding'?)",
    ),
    (
        "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - id: a\n    check: sast\n    findings:\n      severty: high\n",
        8,
        7,
        "rules[0].findings.severty: unknown key (did you mean 'severity'?)",
    ),
    (
        "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - {id: a, check: sast, findings: {max: 0}, zzzz: 1}\n",
        5,
        46,
        "rules[0].zzzz: unknown key (known keys: check, description, effective_on, findings, id, locked, max_waiver_days, mode, new_only, on_error, on_skipped, require, waivable, when)",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "detail"), UNKNOWN_KEYS)
def test_unknown_key(write_policy, text: str, line: int, column: int, detail: str) -> None:
    assert_error(write_policy(text), line, column, detail)


# --- wrong types and values ------------------------------------------------------------------


def _rule_with(findings: str) -> str:
    return (
        f"version: 1\nchecks:\n  sast: {{uses: bandit}}\nrules:\n  - id: a\n    check: sast\n    findings: {findings}\n"
    )


WRONG_VALUES = [
    ("version: 1\nmode: fast\n", 2, 7, "mode: Input should be 'enforce', 'warn' or 'audit'"),
    ("version: 2\n", 1, 10, "version: Input should be 1"),
    ("version: '1'\n", 1, 10, "version: Input should be 1"),
    ("version: true\n", 1, 10, "version: Input should be 1"),
    ("version: 1.0\n", 1, 10, "version: Input should be 1"),
    (_rule_with("{max: -1}"), 7, 21, "rules[0].findings.max: Input should be greater than or equal to 0"),
    (_rule_with('{max: "0"}'), 7, 21, "rules[0].findings.max: Input should be a valid integer"),
    (_rule_with("{max: true}"), 7, 21, "rules[0].findings.max: Input should be a valid integer"),
    (_rule_with("{max: 1.5}"), 7, 21, "rules[0].findings.max: Input should be a valid integer"),
    (
        _rule_with("{severity: huge}"),
        7,
        26,
        "rules[0].findings.severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'",
    ),
    ("version: 1\nallow_weaker_mode: yes\n", 2, 20, "allow_weaker_mode: Input should be a valid boolean"),
    (
        "version: 1\nchecks:\n  sast: {uses: bandit, timeout: '10'}\n",
        3,
        33,
        "checks.sast.timeout: Input should be a valid number",
    ),
    (
        "version: 1\nchecks:\n  sast: {uses: bandit, timeout: 0}\n",
        3,
        33,
        "checks.sast.timeout: Input should be greater than 0",
    ),
    ("version: 1\nextends: 5\n", 2, 10, "extends: Input should be a valid list"),
    ("version: 1\nname: my policy\n", 2, 7, "name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'"),
    (
        "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - {id: my rule, check: sast, findings: {}}\n",
        5,
        10,
        "rules[0].id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'",
    ),
    (
        "version: 1\nchecks:\n  my check: {uses: bandit}\n",
        3,
        3,
        "checks: check name 'my check' must be letters, digits, '_', '.', '-'",
    ),
    (
        RULES.replace("findings: {severity: high}", "findings: {}, on_error: ignore"),
        5,
        56,
        "rules[0].on_error: Input should be 'error', 'warn' or 'pass'",
    ),
    (
        RULES.replace("check: sast, findings: {severity: high}", "check: 5, findings: {}"),
        5,
        26,
        "rules[0].check: Input should be a valid list",
    ),
    (
        RULES + "waivers:\n  - {rule: no-high, reason: r, owner: o, expires: soon}\n",
        7,
        51,
        "waivers[0].expires: Input should be a valid date or datetime, input is too short",
    ),
    (
        RULES + "waivers:\n  - {rule: no-high, reason: '', owner: o, expires: 2030-01-01}\n",
        7,
        29,
        "waivers[0].reason: String should have at least 1 character",
    ),
    (RULES + "waivers:\n", 6, 1, "waivers: Input should be a valid list"),
    # an empty value is located at its key, not at the next key down
    ("version: 1\nchecks:\n\n# none yet\nname: x\n", 2, 1, "checks: Input should be a valid dictionary"),
]


@pytest.mark.parametrize(("text", "line", "column", "detail"), WRONG_VALUES)
def test_wrong_type_or_value(write_policy, text: str, line: int, column: int, detail: str) -> None:
    assert_error(write_policy(text), line, column, detail)


# --- missing keys ----------------------------------------------------------------------------

WAIVER = "  - rule: no-high\n    reason: accepted\n    owner: team\n    expires: 2030-01-01\n"


@pytest.mark.parametrize("missing", ["owner", "reason", "expires"])
def test_waiver_without_a_required_key(write_policy, missing: str) -> None:
    lines = [line for line in WAIVER.splitlines(keepends=True) if f"{missing}:" not in line]
    path = write_policy(RULES + "waivers:\n" + "".join(lines))
    assert_error(path, 7, 5, f"waivers[0].{missing}: missing required key")


def test_several_problems_are_counted(write_policy) -> None:
    path = write_policy(RULES + "waivers:\n  - rule: no-high\n")
    assert_error(path, 7, 5, "waivers[0].reason: missing required key (and 2 more problems)")
    path = write_policy(RULES + "waivers:\n  - {rule: no-high, expires: 2030-01-01}\n")
    assert_error(path, 7, 5, "waivers[0].reason: missing required key (and 1 more problem)")


@pytest.mark.parametrize(
    ("text", "line", "column", "detail"),
    [
        ("name: x\n", 1, 1, "version: missing required key"),
        ("version: 1\nchecks:\n  sast:\n    with: {}\n", 4, 5, "checks.sast.uses: missing required key"),
        (
            "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - id: a\n    findings: {max: 0}\n",
            5,
            5,
            "rules[0].check: missing required key",
        ),
        (
            "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - id: a\n    check: sast\n",
            5,
            5,
            "rules[0]: a rule needs 'findings' or 'require' (or both) to decide anything",
        ),
        (
            "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - {id: a, check: [], findings: {}}\n",
            5,
            5,
            "rules[0]: a rule needs at least one check",
        ),
    ],
)
def test_missing_or_empty(write_policy, text: str, line: int, column: int, detail: str) -> None:
    assert_error(write_policy(text), line, column, detail)


# --- checkers and their options --------------------------------------------------------------


def _check(block: str) -> str:
    return f"version: 1\nchecks:\n  sast:\n{block}rules:\n  - {{id: a, check: sast, findings: {{}}}}\n"


@pytest.mark.parametrize(
    ("uses", "hint"),
    [("bandti", "did you mean 'bandit'? "), ("fake", ""), ("zzzzzz", "")],
)
def test_unknown_checker(write_policy, uses: str, hint: str) -> None:
    path = write_policy(_check(f"    uses: {uses}\n"))
    assert_error(
        path, 4, 11, f"checks.sast.uses: no checker {uses!r}; {hint}`gatekeeper plugins` lists the installed ones"
    )


def test_a_local_plugin_provides_its_checker(write_policy) -> None:
    path = write_policy('plugins: ["{fake}"]\n' + _check("    uses: fake\n    with: {metrics: {x: 1}}\n"))
    resolved = load_policy(path, entry_points=False)
    assert type(resolved.options["sast"]).__name__ == "FakeOptions"
    assert resolved.options["sast"].metrics == {"x": 1.0}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("with_block", "line", "column", "detail"),
    [
        ("      paths: src\n", 6, 14, "checks.sast.with.paths: Input should be a valid list"),
        (
            "      paths: [src]\n      sevrity: high\n",
            7,
            7,
            "checks.sast.with.sevrity: unknown key (did you mean 'severity'?)",
        ),
        ("      severity: critical\n", 6, 17, "checks.sast.with.severity: Input should be 'low', 'medium' or 'high'"),
        (
            "      qqqq: 1\n",
            6,
            7,
            "checks.sast.with.qqqq: unknown key "
            "(known keys: baseline, confidence, exclude, jobs, paths, report, severity, shard_min_files, skip, "
            "unparsed_files)",
        ),
    ],
)
def test_bad_checker_option_points_into_the_with_block(
    write_policy, with_block: str, line: int, column: int, detail: str
) -> None:
    path = write_policy(_check("    uses: bandit\n    with:\n" + with_block))
    assert_error(path, line, column, detail)


def test_with_must_be_a_mapping(write_policy) -> None:
    path = write_policy(_check("    uses: bandit\n    with: [src]\n"))
    assert_error(path, 5, 11, "checks.sast.with: Input should be a valid dictionary")


def test_nested_option_typo_is_suggested_from_the_nested_model(write_policy) -> None:
    path = write_policy(
        'version: 1\nplugins: ["{fake}"]\nchecks:\n  t:\n    uses: fake\n    with:\n      findings:\n'
        "        - {id: x, sevrity: high}\nrules:\n  - {id: a, check: t, findings: {}}\n"
    )
    assert_error(path, 8, 19, "checks.t.with.findings[0].sevrity: unknown key (did you mean 'severity'?)")


# --- references between sections ------------------------------------------------------------


def test_rule_refers_to_an_unknown_check(write_policy) -> None:
    path = write_policy(RULES + "  - {id: b, check: [sast, tests], findings: {}}\n")
    assert_error(path, 6, 27, "rules[1].check: no check named 'tests' (checks: sast)")


def test_rule_refers_to_an_unknown_check_given_as_a_string(write_policy) -> None:
    path = write_policy("version: 1\nrules:\n  - id: a\n    check: tests\n    findings: {}\n")
    assert_error(path, 4, 12, "rules[0].check: no check named 'tests' (checks: none defined)")


def test_a_check_no_rule_reads(write_policy) -> None:
    path = write_policy(RULES.replace("  sast: {uses: bandit}\n", "  sast: {uses: bandit}\n  extra: {uses: bandit}\n"))
    assert_error(path, 4, 3, "checks.extra: no rule reads this check; add a rule with 'check: extra' or remove it")


def test_waiver_for_an_unknown_rule(write_policy) -> None:
    path = write_policy(RULES + "waivers:\n  - {rule: no-hihg, reason: r, owner: o, expires: 2030-01-01}\n")
    assert_error(path, 7, 12, "waivers[0].rule: no rule 'no-hihg' to waive")


def test_duplicate_rule_id_in_one_file(write_policy) -> None:
    path = write_policy(
        RULES + "  - {id: other, check: sast, findings: {}}\n  - {id: no-high, check: sast, findings: {}}\n"
    )
    assert_error(path, 7, 10, "rules[2]: rule id 'no-high' is used twice in this file")


OPS = "==, !=, <=, >=, <, >"


@pytest.mark.parametrize(
    ("requirement", "detail"),
    [
        ("failed = 0", "cannot read '= 0' in 'failed = 0'"),
        (
            "failed == ",
            f"'failed == ' is not a comparison; write 'metric OP number', e.g. 'failed == 0' (OP is one of {OPS})",
        ),
        ("1 == 1", "'1 == 1' compares two numbers; name a metric"),
        (
            "import os",
            f"'import os' is not a comparison; write 'metric OP number', e.g. 'failed == 0' (OP is one of {OPS})",
        ),
        (
            "failed == 0 and x",
            f"'failed == 0 and x' is not a comparison; write 'metric OP number', e.g. 'failed == 0' (OP is one of {OPS})",
        ),
    ],
)
def test_invalid_require_is_located_at_its_item(write_policy, requirement: str, detail: str) -> None:
    path = write_policy(
        "version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - id: a\n    check: sast\n    require:\n"
        f'      - "total >= 1"\n      - "{requirement}"\n'
    )
    assert_error(path, 9, 9, f"rules[0].require[1]: {detail}")


def test_require_item_must_be_a_string(write_policy) -> None:
    path = write_policy("version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - {id: a, check: sast, require: [1]}\n")
    assert_error(path, 5, 36, "rules[0].require[0]: Input should be a valid string")


def test_errors_in_a_later_file_section_name_the_right_rule_index(write_policy) -> None:
    # the second rule is the broken one; its index, not the first rule's, is reported
    path = write_policy(RULES + "  - id: b\n    check: sast\n    require: ['failed => 0']\n")
    assert_error(path, 8, 15, "rules[1].require[0]: cannot read '=> 0' in 'failed => 0'")


# --- policies that would decide nothing, or more than they say ----------------------------------


def test_a_policy_without_rules_is_refused(write_policy) -> None:
    path = write_policy("version: 1\nname: empty\n")
    assert_error(path, 1, 1, "the policy has no rules, so it would pass anything; add a rule or extend builtin:default")


def test_a_dotted_metric_must_name_a_check_the_rule_reads(write_policy) -> None:
    path = write_policy(RULES + "  - {id: green, check: sast, require: ['tset.failed == 0']}\n")
    assert_error(
        path, 6, 40,
        "rules[1].require[0]: 'tset.failed': a dotted name is CHECK.METRIC and this rule reads no such check (it reads sast)",
    )  # fmt: skip


def test_a_metric_qualified_by_a_hyphenated_check_name(write_policy) -> None:
    path = write_policy(
        "version: 1\nchecks:\n  python-security: {uses: bandit}\n"
        "rules:\n  - {id: few, check: python-security, require: ['python-security.findings_low <= 5']}\n"
    )
    assert load_policy(path, entry_points=False).requirements["few"][0].left == "python-security.findings_low"


def test_an_empty_waiver_match_is_refused(write_policy) -> None:
    path = write_policy(RULES + "waivers:\n  - {rule: no-high, match: {}, reason: r, owner: o, expires: 2030-01-01}\n")
    error = error_of(path)
    assert "waivers[0].match: an empty match would waive every finding of the rule" in str(error)


def test_a_mapping_used_as_a_key_is_a_policy_error(write_policy) -> None:
    path = write_policy("version: 1\nchecks:\n  c: {uses: bandit, with: {a: 1}, {b: 2}}\n")
    assert str(error_of(path)) == f"{path}:3:35: invalid YAML: a key must be plain text, not a mapping or list"


def test_waivers_longer_than_the_policy_allows_are_refused(write_policy) -> None:
    from datetime import date, timedelta

    too_far = (date.today() + timedelta(days=120)).isoformat()
    ok = (date.today() + timedelta(days=30)).isoformat()
    base = (
        RULES
        + "max_waiver_days: 90\nwaivers:\n  - {rule: no-high, match: {finding: B1}, reason: r, owner: o, expires: EXP}\n"
    )
    path = write_policy(base.replace("EXP", too_far))
    assert str(error_of(path)).endswith(
        f"waivers[0].expires: {too_far} is more than 90 days away; the policy allows waivers of at most 90 days "
        "(max_waiver_days)"
    )
    assert load_policy(write_policy(base.replace("EXP", ok)), entry_points=False).policy.max_waiver_days == 90


def test_a_child_cannot_lengthen_the_waiver_limit(write_policy) -> None:
    write_policy(RULES + "max_waiver_days: 90\n", name="base.yaml")
    path = write_policy("version: 1\nextends: base.yaml\nmax_waiver_days: 365\n")
    assert load_policy(path, entry_points=False).policy.max_waiver_days == 90
