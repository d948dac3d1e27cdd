from __future__ import annotations

import pytest
from lxml import etree
from reporters_support import DATA

from gatekeeper import Finding, Severity, Verdict
from gatekeeper.models import RuleResult
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.junit_xml import render_junit

XSD = DATA / "schema" / "junit-spekt-jenkins.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def _doc(verdict: Verdict) -> etree._Element:
    return etree.fromstring(render_junit(verdict, RenderOptions()).encode("utf-8"))


def test_validates_against_the_junit_xsd(
    schema: etree.XMLSchema, ci_verdict: Verdict, failing_verdict: Verdict
) -> None:
    audit = ci_verdict.model_copy(update={"enforced": False, "mode": "audit"})
    for verdict in (ci_verdict, failing_verdict, audit):
        doc = _doc(verdict)
        assert schema.validate(doc), schema.error_log


def test_one_testcase_per_rule_with_the_outcome_mapped(ci_verdict: Verdict) -> None:
    suite = _doc(ci_verdict).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [r.id for r in ci_verdict.rules]
    state = {name: (case[0].tag if len(case) else "pass") for name, case in cases.items()}
    assert state == {
        "no-high-findings": "failure",
        "few-findings": "pass",
        "no-hardcoded-passwords": "skipped",
        "tests-green": "failure",
        "no-flaky-tests": "skipped",  # audit mode: not enforced
        "coverage": "pass",
        "docs-todo": "pass",
        "secrets-scan": "failure",
    }
    assert cases["secrets-scan"][0].get("type") == "gatekeeper.error"
    assert cases["no-high-findings"][0].get("type") == "gatekeeper.fail"
    assert cases["no-high-findings"][0].get("message") == "3 finding(s) at or above high"
    assert "src/app.py:12  B602 [high]" in (cases["no-high-findings"][0].text or "")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "8",
        "3",
        "0",
        "2",
    )
    out = suite.findtext("system-out") or ""
    assert "few-findings: warn" in out and "src/app.py:40  B608" in out


def test_audit_mode_skips_every_rule(ci_verdict: Verdict) -> None:
    suite = _doc(ci_verdict.model_copy(update={"enforced": False, "mode": "audit"})).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "0" and suite.get("skipped") == "8"
    skipped = [c.find("skipped") for c in suite.iter("testcase")]
    assert all(s is not None for s in skipped)
    assert "would be fail" in (skipped[0].get("message") or "")  # type: ignore[union-attr]


def test_text_xml_cannot_hold_is_replaced(schema: etree.XMLSchema, failing_verdict: Verdict) -> None:
    nasty = 'bell\x07 nul\x00 esc\x1b ]]> </failure> & "quotes" \ufffe ok ✓'
    finding = Finding(id="X", severity=Severity.HIGH, message=nasty, path="a.py", line=1)
    rule = RuleResult(id="r\x01 id\nwith newline", outcome="fail", reason=nasty, checks=["sast"], findings=[finding])
    verdict = failing_verdict.model_copy(update={"rules": [rule]})
    doc = _doc(verdict)
    assert schema.validate(doc), schema.error_log
    failure = doc.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'bell\ufffd nul\ufffd esc\ufffd ]]> </failure> & "quotes" \ufffd ok ✓'
    assert doc.find("testsuite/testcase").get("name") == "r\ufffd id with newline"  # type: ignore[union-attr]
