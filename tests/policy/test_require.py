"""The ``require:`` mini-language: parsing, evaluating, and looking metrics up across a rule's checks."""

from __future__ import annotations

import math

import pytest

from gatekeeper.policy.require import MissingMetric, Requirement, RequireSyntaxError, lookup_in, parse_requirement

OPS = "==, !=, <=, >=, <, >"


def fixed(**values: float):
    return lambda name: values[name]


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["==", "!=", "<=", ">=", "<", ">"])
def test_each_operator_parses(op: str) -> None:
    assert parse_requirement(f"failed {op} 0") == Requirement(f"failed {op} 0", "failed", op, 0.0)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("x == 0", 0.0),
        ("x >= 85", 85.0),
        ("x >= 85.5", 85.5),
        ("x == .5", 0.5),
        ("x == 5.", 5.0),
        ("x < 1e-3", 0.001),
        ("x <= 1E3", 1000.0),
        ("x != -1.5e+2", -150.0),
        ("x > -2", -2.0),
        ("x >= +3", 3.0),
        ("x<-1", -1.0),
        ("x<=-1", -1.0),
    ],
)
def test_numbers(text: str, number: float) -> None:
    requirement = parse_requirement(text)
    assert requirement.right == number
    assert isinstance(requirement.right, float)


def test_whitespace_is_optional_and_trimmed() -> None:
    assert parse_requirement("failed==0") == Requirement("failed==0", "failed", "==", 0.0)
    assert parse_requirement("  failed   >=   1  \n") == Requirement("failed   >=   1", "failed", ">=", 1.0)


def test_metric_against_metric() -> None:
    requirement = parse_requirement("covered >= total")
    assert (requirement.left, requirement.op, requirement.right) == ("covered", ">=", "total")
    assert requirement.metrics() == ["covered", "total"]


def test_number_on_the_left() -> None:
    requirement = parse_requirement("0 == failed")
    assert (requirement.left, requirement.right) == (0.0, "failed")
    assert requirement.metrics() == ["failed"]


def test_qualified_metric_parses() -> None:
    requirement = parse_requirement("tests.failed == 0")
    assert requirement.left == "tests.failed"
    assert requirement.metrics() == ["tests.failed"]


def test_check_names_with_dashes_and_dots_qualify_metrics() -> None:
    requirement = parse_requirement("python-security.v2.findings_high<=0")
    assert requirement.metrics() == ["python-security.v2.findings_high"]
    metrics = {"python-security.v2": {"findings_high": 3.0}, "python": {"security.v2.findings_high": 9.0}}
    assert lookup_in(metrics)("python-security.v2.findings_high") == 3.0


NOT_A_COMPARISON = "is not a comparison; write 'metric OP number', e.g. 'failed == 0' (OP is one of " + OPS + ")"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("failed = 0", "cannot read '= 0' in 'failed = 0'"),
        ("failed === 0", "cannot read '= 0' in 'failed === 0'"),
        ("failed => 0", "cannot read '=> 0' in 'failed => 0'"),
        ("failed == 0x10", "cannot read '0x10' in 'failed == 0x10'"),
        ("failed == 1e", "cannot read '1e' in 'failed == 1e'"),
        ("failed == 0;", "cannot read ';' in 'failed == 0;'"),
        ("__import__('os') == 0", "cannot read \"('os') == 0\" in \"__import__('os') == 0\""),
        ("failed == ", f"'failed == ' {NOT_A_COMPARISON}"),
        ("failed", f"'failed' {NOT_A_COMPARISON}"),
        ("", f"'' {NOT_A_COMPARISON}"),
        ("import os", f"'import os' {NOT_A_COMPARISON}"),
        ("failed == 0 and x", f"'failed == 0 and x' {NOT_A_COMPARISON}"),
        ("failed <> 0", f"'failed <> 0' {NOT_A_COMPARISON}"),
        ("== failed 0", f"'== failed 0' {NOT_A_COMPARISON}"),
        ("failed 0 ==", f"'failed 0 ==' {NOT_A_COMPARISON}"),
        ("1 == 1", "'1 == 1' compares two numbers; name a metric"),
        ("-1 < 2.5", "'-1 < 2.5' compares two numbers; name a metric"),
    ],
)
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(RequireSyntaxError) as info:
        parse_requirement(text)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


# --- evaluating ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "below", "equal", "above"),
    [
        ("==", False, True, False),
        ("!=", True, False, True),
        ("<=", True, True, False),
        (">=", False, True, True),
        ("<", True, False, False),
        (">", False, False, True),
    ],
)
def test_each_operator_at_the_boundary(op: str, below: bool, equal: bool, above: bool) -> None:
    requirement = parse_requirement(f"x {op} 10")
    assert [requirement.evaluate(fixed(x=v))[0] for v in (9.5, 10.0, 10.5)] == [below, equal, above]


def test_message_shows_the_actual_values() -> None:
    assert parse_requirement("failed == 0").evaluate(fixed(failed=0.0)) == (True, "failed == 0 (failed=0)")
    assert parse_requirement("failed == 0").evaluate(fixed(failed=2.0)) == (False, "failed == 0 (failed=2)")
    assert parse_requirement("cov >= 85.5").evaluate(fixed(cov=80.25)) == (False, "cov >= 85.5 (cov=80.25)")
    assert parse_requirement("0 == failed").evaluate(fixed(failed=3.0)) == (False, "0 == failed (failed=3)")


def test_metric_against_metric_evaluates_both() -> None:
    requirement = parse_requirement("covered >= total")
    assert requirement.evaluate(fixed(covered=3.0, total=4.0)) == (False, "covered >= total (covered=3 total=4)")
    assert requirement.evaluate(fixed(covered=4.0, total=4.0)) == (True, "covered >= total (covered=4 total=4)")


def test_shown_value_is_never_rounded_to_look_like_the_threshold() -> None:
    ok, text = parse_requirement("cov >= 85.5").evaluate(fixed(cov=85.49999))
    assert (ok, text) == (False, "cov >= 85.5 (cov=85.49999)")
    ok, text = parse_requirement("lines >= 1000000").evaluate(fixed(lines=999999.5))
    assert (ok, text) == (False, "lines >= 1000000 (lines=999999.5)")


@pytest.mark.parametrize(("value", "shown"), [(math.inf, "inf"), (-math.inf, "-inf"), (1e20, "1e+20")])
def test_infinite_and_huge_values_are_shown(value: float, shown: str) -> None:
    assert parse_requirement("x <= 100").evaluate(fixed(x=value)) == (value < 0, f"x <= 100 (x={shown})")


@pytest.mark.parametrize("op", ["==", "!=", "<=", ">=", "<", ">"])
def test_nan_never_satisfies(op: str) -> None:
    nan = float("nan")
    assert parse_requirement(f"x {op} 0").evaluate(fixed(x=nan)) == (False, f"x {op} 0 (a value is not a number)")
    assert parse_requirement(f"a {op} b").evaluate(fixed(a=1.0, b=nan)) == (
        False,
        f"a {op} b (a value is not a number)",
    )


def test_a_missing_metric_propagates() -> None:
    requirement = parse_requirement("failed == 0")
    with pytest.raises(MissingMetric, match="no check reported metric 'failed'"):
        requirement.evaluate(lookup_in({"tests": {"passed": 3.0}}))


# --- looking metrics up ----------------------------------------------------------------------

METRICS = {
    "unit": {"failed": 0.0, "passed": 10.0},
    "integration": {"failed": 2.0, "duration": 31.5},
}


def test_unqualified_metric_reported_by_one_check() -> None:
    lookup = lookup_in(METRICS)
    assert lookup("passed") == 10.0
    assert lookup("duration") == 31.5


@pytest.mark.parametrize(("name", "value"), [("unit.failed", 0.0), ("integration.failed", 2.0)])
def test_qualified_metric_lookup(name: str, value: float) -> None:
    assert lookup_in(METRICS)(name) == value


def test_ambiguous_unqualified_metric_asks_for_qualification() -> None:
    with pytest.raises(MissingMetric) as info:
        lookup_in(METRICS)("failed")
    assert str(info.value) == "metric 'failed' is reported by several checks; qualify it as CHECK.failed"


def test_missing_metric_lists_what_was_reported() -> None:
    with pytest.raises(MissingMetric) as info:
        lookup_in(METRICS)("skipped")
    assert str(info.value) == "no check reported metric 'skipped' (reported: duration, failed, passed)"
    assert isinstance(info.value, LookupError)


def test_missing_metric_when_nothing_was_reported() -> None:
    with pytest.raises(MissingMetric) as info:
        lookup_in({"unit": {}})("failed")
    assert str(info.value) == "no check reported metric 'failed' (the check reported no metrics)"


def test_qualified_metric_missing_from_its_check() -> None:
    with pytest.raises(MissingMetric) as info:
        lookup_in(METRICS)("unit.duration")
    assert str(info.value) == "check 'unit' reported no metric 'duration'"


def test_unknown_qualifier_falls_back_to_a_dotted_metric_name() -> None:
    lookup = lookup_in({"coverage": {"line.rate": 0.9}})
    assert lookup("line.rate") == 0.9
    with pytest.raises(MissingMetric) as info:
        lookup("tset.failed")
    assert str(info.value) == "no check reported metric 'tset.failed' (reported: line.rate)"


def test_end_to_end_with_a_qualified_requirement() -> None:
    requirement = parse_requirement("integration.failed <= unit.passed")
    assert requirement.evaluate(lookup_in(METRICS)) == (
        True,
        "integration.failed <= unit.passed (integration.failed=2 unit.passed=10)",
    )
