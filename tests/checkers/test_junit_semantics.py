"""JUnit semantics on small hand-written reports: outcomes, reruns, flaky policy, findings, hostile XML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy


def _gate(root: Path, report: str, with_: str = "") -> Verdict:
    (root / "report.xml").write_text(report)
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks: {{tests: {{uses: junit, with: {{reports: [report.xml]{with_}}}}}}}\n"
        'rules:\n  - {id: green, check: tests, require: ["failed == 0", "errors == 0", "total >= 1"]}\n'
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def _metrics(verdict: Verdict) -> dict[str, int]:
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    return {k: int(v) for k, v in check.metrics.items() if k != "duration_s"}


def test_outcome_precedence_and_status_attributes(tmp_path: Path) -> None:
    report = """<testsuite name="s">
      <testcase classname="a" name="all"><skipped/><failure message="f"/><error message="e"/></testcase>
      <testcase classname="a" name="fail-skip"><skipped/><failure message="f"/></testcase>
      <testcase classname="a" name="disabled" status="disabled"/>
      <testcase classname="a" name="notrun" status="notrun"/>
      <testcase classname="a" name="ctest" status="fail"/>
      <testcase classname="a" name="ignored" ignored="true"/>
      <testcase classname="a" name="ok" status="run"/>
    </testsuite>"""
    metrics = _metrics(_gate(tmp_path, report))
    assert metrics == {"total": 7, "passed": 1, "failed": 2, "errors": 1, "skipped": 3, "flaky": 0, "files": 1}


FLAKY_SUREFIRE = """<testsuite name="s">
  <testcase classname="pkg.T" name="sometimes"><flakyFailure message="timeout">stack</flakyFailure></testcase>
  <testcase classname="pkg.T" name="always"><failure message="boom"/><rerunFailure message="boom again"/></testcase>
  <testcase classname="pkg.T" name="fine"/>
</testsuite>"""


@pytest.mark.parametrize(
    ("policy", "failed", "passed", "flaky_severity"),
    [("fail", 2, 1, "high"), ("warn", 1, 2, "low"), ("pass", 1, 2, None)],
)
def test_flaky_policy(policy: str, failed: int, passed: int, flaky_severity: str | None, tmp_path: Path) -> None:
    verdict = _gate(tmp_path, FLAKY_SUREFIRE, f", flaky: {policy}")
    metrics = _metrics(verdict)
    assert (metrics["failed"], metrics["passed"], metrics["flaky"], metrics["total"]) == (failed, passed, 1, 3)
    findings = {f.id: f for f in verdict.checks[0].findings}
    assert findings["pkg.T::always"].message == "failed: boom"
    if flaky_severity is None:
        assert "pkg.T::sometimes" not in findings
    else:
        assert findings["pkg.T::sometimes"].severity.value == flaky_severity
        assert findings["pkg.T::sometimes"].message == "flaky (passed on a rerun): timeout"


def test_consecutive_reruns_are_one_test(tmp_path: Path) -> None:
    report = """<testsuite name="s">
      <testcase classname="t" name="a" file="tests/test_a.py" line="3"><failure message="1st"/></testcase>
      <testcase classname="t" name="a" file="tests/test_a.py" line="3"><error message="2nd"/></testcase>
      <testcase classname="t" name="a" file="tests/test_a.py" line="3"/>
      <testcase classname="t" name="b"/>
      <testcase classname="t" name="b"/>
    </testsuite>"""
    metrics = _metrics(_gate(tmp_path, report))
    assert (metrics["total"], metrics["passed"], metrics["flaky"]) == (3, 3, 1)


def test_findings_name_the_test_and_point_into_the_repository(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    assert False\n")
    report = """<testsuites><testsuite name="s">
      <testcase classname="tests.test_a" name="test_a" file="tests/test_a.py" line="2">
        <failure message="assert False">AssertionError</failure></testcase>
      <testcase classname="ci" name="elsewhere" file="/home/runner/work/x.py" line="9"><error>Traceback
        more</error></testcase>
    </testsuite></testsuites>"""
    verdict = _gate(tmp_path, report)
    findings = {f.id: f for f in verdict.checks[0].findings}
    first, second = findings["tests.test_a::test_a"], findings["ci::elsewhere"]
    assert (first.id, first.path, first.line, first.message) == (
        "tests.test_a::test_a",
        "tests/test_a.py",
        2,
        "failed: assert False",
    )
    assert (second.path, second.properties["location"], second.message) == (
        None,
        "/home/runner/work/x.py",
        "error: Traceback more",
    )
    assert verdict.outcome == "fail"


def test_fingerprint_is_the_test_identity(tmp_path: Path) -> None:
    report = '<testsuite name="s"><testcase classname="t" name="a" line="LINE"><failure/></testcase></testsuite>'
    first = _gate(tmp_path, report.replace("LINE", "3")).checks[0].findings[0].fingerprint
    assert _gate(tmp_path, report.replace("LINE", "30")).checks[0].findings[0].fingerprint == first


def test_findings_are_capped_but_everything_is_counted(tmp_path: Path) -> None:
    cases = "".join(f'<testcase classname="t" name="n{i}"><failure/></testcase>' for i in range(30))
    verdict = _gate(tmp_path, f"<testsuite>{cases}</testsuite>", ", max_findings: 10")
    check = verdict.checks[0]
    assert check.metrics["failed"] == 30 and len(check.findings) == 10
    assert check.notes == ["20 more failing or flaky tests are counted but not listed"]


def test_counts_come_from_the_contents_not_the_attributes(tmp_path: Path) -> None:
    report = '<testsuite name="s" tests="6" failures="0"><testcase name="a" time="1.5"/><testcase name="b" time="-3"/></testsuite>'
    verdict = _gate(tmp_path, report)
    check = verdict.checks[0]
    assert check.metrics["total"] == 2 and check.metrics["duration_s"] == 1.5
    assert check.notes == [
        "the suites claim 6 tests; the reports contain 2 (counted as found)",
        "1 test case(s) with a negative or unreadable time were left out of duration_s",
    ]


def test_an_empty_report_is_zero_tests_and_never_a_pass(tmp_path: Path) -> None:
    verdict = _gate(tmp_path, "<testsuites/>")
    assert verdict.checks[0].metrics["total"] == 0
    assert verdict.outcome == "fail"
    assert "not met: total >= 1 (total=0)" in verdict.rules[0].reason


def test_several_reports_by_glob_each_counted_once(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    for index in range(3):
        (tmp_path / "out" / f"junit-{index}.xml").write_text(f'<testsuite><testcase name="t{index}"/></testsuite>')
    (tmp_path / "gatekeeper.yaml").write_text(
        'version: 1\nchecks: {tests: {uses: junit, with: {reports: ["out/junit-*.xml", "out/junit-1.xml"]}}}\n'
        'rules: [{id: green, check: tests, require: ["total == 3"]}]\n'
    )
    verdict = evaluate(load_policy(tmp_path / "gatekeeper.yaml", entry_points=False), tmp_path)
    assert verdict.checks[0].metrics["files"] == 3 and verdict.outcome == "pass"
    assert [i.path for i in verdict.checks[0].inputs] == [f"out/junit-{i}.xml" for i in range(3)]


def test_a_glob_matching_nothing_is_an_error_not_zero_tests(tmp_path: Path) -> None:
    (tmp_path / "gatekeeper.yaml").write_text(
        'version: 1\nchecks: {tests: {uses: junit, with: {reports: ["reports/*.xml"]}}}\n'
        'rules: [{id: green, check: tests, require: ["total >= 1"]}]\n'
    )
    check = evaluate(load_policy(tmp_path / "gatekeeper.yaml", entry_points=False), tmp_path).checks[0]
    assert (
        check.error == "report 'reports/*.xml' matches no file; a missing report is not '0 tests' (did the tests run?)"
    )


def test_external_entity_reads_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    report = (
        f'<?xml version="1.0"?>\n<!DOCTYPE testsuite [<!ENTITY leak SYSTEM "file://{secret}">]>\n'
        '<testsuite><testcase name="t"><failure message="&leak;">&leak;</failure></testcase></testsuite>'
    )
    verdict = _gate(tmp_path, report)
    assert verdict.checks[0].status == "error"
    assert (
        verdict.checks[0].error == "report.xml: declares a DTD or entities; refusing it (reports have no use for them)"
    )
    assert "TOP-SECRET-MARKER" not in verdict.model_dump_json()


def test_entity_expansion_bomb_is_refused(tmp_path: Path) -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    report = (
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY l0 "lol">{lol}]><testsuite><testcase name="&l9;"/></testsuite>'
    )
    verdict = _gate(tmp_path, report)
    assert verdict.checks[0].status == "error"
    assert "declares a DTD or entities" in (verdict.checks[0].error or "")


def test_an_undeclared_entity_is_malformed_not_resolved(tmp_path: Path) -> None:
    verdict = _gate(tmp_path, '<testsuite><testcase name="&nope;"/></testsuite>')
    assert verdict.checks[0].error == "report.xml: not well-formed XML at line 1: Entity 'nope' not defined"


def test_missing_skip_uses_what_matches_and_skips_when_nothing_does(tmp_path: Path) -> None:
    policy = (
        'version: 1\nchecks: {tests: {uses: junit, with: {reports: ["reports/*.xml", "junit.xml"], missing: skip}}}\n'
        'rules: [{id: green, check: tests, require: ["total >= 1"], on_skipped: warn}]\n'
    )
    (tmp_path / "gatekeeper.yaml").write_text(policy)
    skipped = evaluate(load_policy(tmp_path / "gatekeeper.yaml", entry_points=False), tmp_path)
    assert skipped.checks[0].status == "skipped"
    assert skipped.checks[0].error == (
        "no JUnit report found (reports/*.xml, junit.xml); write one, e.g. pytest --junitxml=reports/junit.xml"
    )
    assert (skipped.rules[0].outcome, skipped.outcome) == ("warn", "pass")
    (tmp_path / "junit.xml").write_text('<testsuite><testcase name="t"/></testsuite>')
    found = evaluate(load_policy(tmp_path / "gatekeeper.yaml", entry_points=False), tmp_path)
    assert found.checks[0].status == "ok" and found.checks[0].metrics["total"] == 1


def test_a_comment_cannot_hide_a_doctype_from_the_check(tmp_path: Path) -> None:
    report = (
        '<?xml version="1.0"?><!-- <x --><!DOCTYPE t [<!ENTITY e "x">]><testsuite><testcase name="&e;"/></testsuite>'
    )
    verdict = _gate(tmp_path, report)
    assert (
        verdict.checks[0].error == "report.xml: declares a DTD or entities; refusing it (reports have no use for them)"
    )
