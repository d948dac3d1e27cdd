from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from reporters_support import SHARED_SCHEMAS

from gatekeeper import Finding, Severity, Verdict
from gatekeeper.models import CheckResult, InputFile, RuleResult
from gatekeeper.reporters import sarif
from gatekeeper.reporters.base import RenderOptions


def _log(verdict: Verdict, options: RenderOptions | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sarif.render_sarif(verdict, options or RenderOptions()))
    return data


def _results(verdict: Verdict) -> dict[str, dict[str, Any]]:
    return {r["ruleId"]: r for r in _log(verdict)["runs"][0]["results"]}


@pytest.fixture(autouse=True)
def _no_category_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sarif.CATEGORY_ENV, raising=False)


def test_validates_against_the_official_sarif_schema(ci_verdict: Verdict, failing_verdict: Verdict) -> None:
    schema_file = SHARED_SCHEMAS / "sarif-schema-2.1.0.json"
    if not schema_file.is_file():
        pytest.skip(f"the official SARIF schema is not at {schema_file} (it may not be copied into the repository)")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    for verdict in (ci_verdict, failing_verdict):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_log(verdict))]
        assert errors == []


def test_rules_have_what_github_code_scanning_requires(ci_verdict: Verdict) -> None:
    run = _log(ci_verdict)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    for rule in rules:
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip(), (rule["id"], key)
        assert len(rule["shortDescription"]["text"]) <= 120
    by_id = {r["id"]: r for r in rules}
    assert by_id["bandit/B602"]["properties"] == {
        "security-severity": "8.0",
        "tags": ["security", "external/cwe/cwe-078"],
    }
    assert by_id["bandit/B602"]["helpUri"].startswith("https://bandit.readthedocs.io/")
    assert "security-severity" not in by_id["junit/tests.test_api::test_login"].get("properties", {})
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_results_have_one_relative_location_and_a_fingerprint(ci_verdict: Verdict) -> None:
    results = _log(ci_verdict)["runs"][0]["results"]
    findings = [f for c in ci_verdict.checks for f in c.findings]
    assert len(results) == len(findings), "every finding is a result, waived ones too"
    for result in results:
        assert result["message"]["text"].strip()
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:", "..")) and "://" not in uri
        assert physical["region"]["startLine"] >= 1
        assert physical["region"].get("startColumn", 1) >= 1
    by_rule = {r["ruleId"]: r for r in results}
    b602 = by_rule["bandit/B602"]
    assert b602["locations"][0]["physicalLocation"]["region"] == {"startLine": 12, "startColumn": 5}
    assert b602["partialFingerprints"] == {sarif.FINGERPRINT_KEY: findings[0].fingerprint}
    hostile = by_rule["bandit/B999"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert hostile == "src/we%2Cird%3Ana%3Bme%5D.py"
    assert by_rule["bandit/B105"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/%C3%BCber.py"


def test_a_finding_without_a_file_is_placed_at_its_checks_input(ci_verdict: Verdict) -> None:
    result = _results(ci_verdict)["pip-audit/PYSEC-2019-217"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "requirements.txt"
    assert physical["region"] == {"startLine": 1}
    assert "no file in the repository" in result["properties"]["locationNote"]


@pytest.mark.parametrize(
    "outside", ["/etc/passwd", "../other/x.py", "C:/x.py", "https://example.com/x.py", "a/../../x"]
)
def test_a_path_outside_the_repository_is_never_used(outside: str, failing_verdict: Verdict) -> None:
    finding = Finding(id="X1", severity=Severity.HIGH, message="m", path=outside, line=3)
    check = failing_verdict.checks[0].model_copy(update={"findings": [finding]})
    verdict = failing_verdict.model_copy(update={"checks": [check], "rules": []})
    (result,) = _log(verdict)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/app.py"


def test_no_location_at_all_when_the_check_read_no_file(failing_verdict: Verdict) -> None:
    finding = Finding(id="X1", severity=Severity.LOW, message="m")
    verdict = failing_verdict.model_copy(
        update={"checks": [CheckResult(name="c", uses="custom", status="ok", findings=[finding])], "rules": []}
    )
    (result,) = _log(verdict)["runs"][0]["results"]
    assert "locations" not in result


@pytest.mark.parametrize(
    ("severity", "level", "security"),
    [
        ("critical", "error", "9.5"),
        ("high", "error", "8.0"),
        ("medium", "warning", "5.5"),
        ("low", "note", "3.0"),
        ("info", "note", "0.0"),
    ],
)
def test_level_and_security_severity_follow_the_severity(
    severity: str, level: str, security: str, failing_verdict: Verdict
) -> None:
    finding = Finding(id="X1", severity=Severity(severity), message="m", path="a.py", line=1)
    plain = Finding(id="X2", severity=Severity(severity), message="m", path="a.py", line=2)
    cwe = Finding(id="X3", severity=Severity(severity), message="m", path="a.py", line=3, properties={"cwe": "CWE-22"})
    checks = [
        CheckResult(
            name="s", uses="semgrep", status="ok", inputs=[InputFile(path="a.py", sha256="0" * 64)], findings=[finding]
        ),
        CheckResult(
            name="t",
            uses="custom",
            status="ok",
            inputs=[InputFile(path="a.py", sha256="0" * 64)],
            findings=[plain, cwe],
        ),
    ]
    results = _results(failing_verdict.model_copy(update={"checks": checks, "rules": []}))
    assert results["semgrep/X1"]["level"] == level
    assert results["semgrep/X1"]["properties"]["security-severity"] == security
    assert "security-severity" not in results["custom/X2"]["properties"], "not a security checker, no cwe"
    assert results["custom/X3"]["properties"]["security-severity"] == security, "a cwe makes it a security finding"


def test_waived_findings_are_suppressed_not_dropped(ci_verdict: Verdict) -> None:
    results = _results(ci_verdict)
    (suppression,) = results["bandit/B105"]["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert "sec@acme.example" in suppression["justification"]
    assert "test fixture, not a real password" in suppression["justification"]
    assert results["bandit/B105"]["properties"]["waivedBy"] == ["no-hardcoded-passwords"]
    assert all("suppressions" not in r for rid, r in results.items() if rid != "bandit/B105")


def test_a_finding_waived_for_one_rule_but_counted_by_another_is_not_suppressed(ci_verdict: Verdict) -> None:
    b105 = ci_verdict.rules[2].waived[0]
    rules = [*ci_verdict.rules, RuleResult(id="strict", outcome="fail", reason="r", checks=["sast"], findings=[b105])]
    result = _results(ci_verdict.model_copy(update={"rules": rules}))["bandit/B105"]
    assert "suppressions" not in result
    assert result["properties"]["gateRules"] == ["strict"]


def test_category_from_option_then_environment_then_policy_name(
    ci_verdict: Verdict, monkeypatch: pytest.MonkeyPatch
) -> None:
    def category(options: RenderOptions) -> str:
        return str(_log(ci_verdict, options)["runs"][0]["automationDetails"]["id"])

    assert category(RenderOptions()) == "gatekeeper/acme-service/"
    monkeypatch.setenv(sarif.CATEGORY_ENV, "gate/backend/")
    assert category(RenderOptions()) == "gate/backend/"
    assert category(RenderOptions(sarif_category="custom/")) == "custom/"


def test_check_errors_are_tool_execution_notifications(ci_verdict: Verdict) -> None:
    (invocation,) = _log(ci_verdict)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert "out/gitleaks.sarif not found" in note["message"]["text"]


def test_results_are_capped_most_severe_first(failing_verdict: Verdict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 3)
    low = Finding(id="L", severity=Severity.LOW, message="low", path="src/app.py", line=1)
    check = failing_verdict.checks[0]
    verdict = failing_verdict.model_copy(
        update={"checks": [check.model_copy(update={"findings": [low, *check.findings]})]}
    )
    run = _log(verdict)["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error"] * 3
    assert "5 more finding(s) not included" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_provenance_and_gate_outcome_are_recorded(ci_verdict: Verdict) -> None:
    run = _log(ci_verdict)["runs"][0]
    assert run["versionControlProvenance"] == [
        {
            "repositoryUri": "https://github.com/acme/service",
            "revisionId": "89abcdef0123456789abcdef0123456789abcdef",
            "branch": "feature/ci-😀",
        }
    ]
    assert run["properties"]["outcome"] == "error"
    assert run["properties"]["policy"]["digest"] == "sha256:" + "cd" * 32
