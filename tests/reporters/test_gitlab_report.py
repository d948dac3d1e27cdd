from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from reporters_support import DATA

from gatekeeper import Finding, Severity, Verdict
from gatekeeper.models import CheckResult, InputFile
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.gitlab import render_gitlab

SCHEMA = json.loads((DATA / "schema" / "gitlab-codequality.schema.json").read_text(encoding="utf-8"))


def _issues(verdict: Verdict) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(render_gitlab(verdict, RenderOptions()))
    return data


def test_validates_against_the_code_quality_schema(ci_verdict: Verdict, failing_verdict: Verdict) -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    for verdict in (ci_verdict, failing_verdict):
        jsonschema.validate(_issues(verdict), SCHEMA, cls=jsonschema.Draft7Validator)


@pytest.mark.parametrize(
    "bad", [{"path": "/abs.py", "lines": {"begin": 1}}, {"path": "../x.py", "lines": {"begin": 1}}, {"path": "a.py"}]
)
def test_the_schema_rejects_what_gitlab_cannot_place(bad: dict[str, Any]) -> None:
    issue = {"description": "d", "check_name": "c", "fingerprint": "f", "severity": "info", "location": bad}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([issue], SCHEMA, cls=jsonschema.Draft7Validator)


def test_fields_severity_and_location(ci_verdict: Verdict) -> None:
    issues = {i["check_name"]: i for i in _issues(ci_verdict)}
    assert "bandit/B105" not in issues, "waived findings are not issues"
    assert len(issues) == sum(len(c.findings) for c in ci_verdict.checks) - 1
    assert {
        k: issues[k]["severity"]
        for k in (
            "bandit/B999",
            "bandit/B602",
            "bandit/B608",
            "junit/tests.test_ui::test_click",
            "semgrep/python.todo-marker",
        )
    } == {
        "bandit/B999": "blocker",
        "bandit/B602": "critical",
        "bandit/B608": "major",
        "junit/tests.test_ui::test_click": "minor",
        "semgrep/python.todo-marker": "info",
    }
    assert issues["bandit/B602"]["location"] == {"path": "src/app.py", "lines": {"begin": 12}}
    assert issues["bandit/B602"]["description"] == "subprocess call with shell=True identified, security issue."
    assert issues["pip-audit/PYSEC-2019-217"]["location"] == {"path": "requirements.txt", "lines": {"begin": 1}}
    assert issues["bandit/B999"]["location"]["path"] == "src/we,ird:na;me].py"


def _verdict_with(findings: list[Finding], base: Verdict) -> Verdict:
    check = CheckResult(
        name="sast", uses="bandit", status="ok", inputs=[InputFile(path="a.py", sha256="0" * 64)], findings=findings
    )
    return base.model_copy(update={"checks": [check], "rules": []})


def test_fingerprints_are_unique_and_stable_across_commits(failing_verdict: Verdict) -> None:
    same = [
        Finding(id="B1", severity=Severity.LOW, message="same text", path="a.py", line=n, fingerprint="f" * 32)
        for n in (3, 9)
    ]
    other = Finding(id="B2", severity=Severity.HIGH, message="other", path="a.py", line=1)
    before = _issues(_verdict_with([*same, other], failing_verdict))
    fingerprints = [i["fingerprint"] for i in before]
    assert len(set(fingerprints)) == 3, "unique even when two findings share the checker's fingerprint"
    moved = [f.model_copy(update={"line": (f.line or 0) + 20}) for f in [*same, other]]
    after = _issues(_verdict_with(moved, failing_verdict))
    assert [i["fingerprint"] for i in after] == fingerprints, "lines moved, fingerprints stayed"
    assert [i["location"]["lines"]["begin"] for i in after] == [21, 23, 29]
