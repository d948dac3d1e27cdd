"""The fixed verdict of the CI reporters' golden files, and where their data lives."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from gatekeeper import CheckResult, Finding, RuleResult, Severity, Verdict
from gatekeeper.models import InputFile, PolicyRef, Subject, ToolInfo, WaiverReport

#: The characters every CI format must escape somewhere, in one message.
HOSTILE = (
    "100% bad:: value] next; ##vso[task.complete result=Succeeded]done\r\n"
    "::error::injected, <script>alert(1)</script> | `tick` *star* @here &amp; naïve café ✓ 日本語"
)


def make_ci_verdict() -> Verdict:
    """The fixed verdict of the golden files: every severity, every rule outcome, waivers in
    every state, a finding without a file, unicode, and characters each format must escape."""
    b602 = Finding(
        id="B602",
        severity=Severity.HIGH,
        message="subprocess call with shell=True identified, security issue.",
        path="src/app.py",
        line=12,
        column=5,
        properties={
            "cwe": "CWE-78",
            "confidence": "high",
            "url": "https://bandit.readthedocs.io/en/latest/plugins/b602_subprocess_popen_with_shell_equals_true.html",
        },
    )
    b608 = Finding(
        id="B608",
        severity=Severity.MEDIUM,
        message="Possible SQL injection vector through string-based query construction: `SELECT * FROM t WHERE a = '%s'`",
        path="src/app.py",
        line=40,
        column=12,
        properties={"cwe": "CWE-89", "confidence": "low"},
    )
    b105 = Finding(
        id="B105",
        severity=Severity.LOW,
        message="Possible hardcoded password: 'hunter2'",
        path="src/über.py",
        line=3,
        column=1,
        properties={"cwe": "CWE-259", "confidence": "medium"},
    )
    hostile = Finding(
        id="B999",
        severity=Severity.CRITICAL,
        message=HOSTILE,
        path="src/we,ird:na;me].py",
        line=7,
        column=3,
    )
    todo = Finding(
        id="python.todo-marker",
        severity=Severity.INFO,
        message="TODO left in code — naïve café ✓",
        path="src/app.py",
        line=1,
    )
    vuln = Finding(
        id="PYSEC-2019-217",
        severity=Severity.HIGH,
        message="jinja2 2.10 is vulnerable to PYSEC-2019-217 (CVE-2019-10906); fixed in 2.10.1",
        properties={"package": "jinja2", "version": "2.10", "severity_source": "policy"},
    )
    test_fail = Finding(
        id="tests.test_api::test_login",
        severity=Severity.HIGH,
        message="AssertionError: expected 200, got 500\nassert 500 == 200",
        path="tests/test_api.py",
        line=42,
    )
    flaky = Finding(id="tests.test_ui::test_click", severity=Severity.LOW, message="passed on rerun 2 of 3 (flaky)")
    below = Finding(
        id="file-below-threshold",
        severity=Severity.MEDIUM,
        message="src/legacy.py: line rate 0.4000 (40 of 100 lines) is below file_threshold 0.6",
        path="src/legacy.py",
        properties={"line_rate": "0.4000"},
    )
    return Verdict(
        outcome="error",
        summary="ERROR: 8 rule(s); error: secrets-scan; fail: no-high-findings, tests-green; warn: few-findings; waived: no-hardcoded-passwords",
        policy=PolicyRef(name="acme-service", digest="sha256:" + "cd" * 32, sources=["builtin:default", "gatekeeper.yaml"]),
        subject=Subject(repository="https://github.com/acme/service", commit="89abcdef0123456789abcdef0123456789abcdef", branch="feature/ci-😀", dirty=False),
        rules=[
            RuleResult(id="no-high-findings", outcome="fail", reason="3 finding(s) at or above high", description="No high or critical finding — ever.",
                       checks=["sast", "patterns", "deps"], findings=[hostile, b602, vuln]),
            RuleResult(id="few-findings", outcome="warn", mode="warn", reason="not met: sast.findings <= 2 (sast.findings=4)",
                       checks=["sast", "patterns"], findings=[b608]),
            RuleResult(id="no-hardcoded-passwords", outcome="waived", reason="1 finding(s), all waived", checks=["sast"], waived=[b105]),
            RuleResult(id="tests-green", outcome="fail", reason="not met: failed == 0 (failed=2)", checks=["tests"], findings=[test_fail]),
            RuleResult(id="no-flaky-tests", outcome="fail", mode="audit", reason="not met: flaky == 0 (flaky=1)", checks=["tests"], findings=[flaky]),
            RuleResult(id="coverage", outcome="pass", reason="met: line_rate >= 0.8 (line_rate=0.8312); diff_line_rate not applicable",
                       checks=["coverage", "diffcov"], findings=[below]),
            RuleResult(id="docs-todo", outcome="pass", reason="met: 1 finding(s) at or above info, max 5", checks=["patterns"], findings=[todo]),
            RuleResult(id="secrets-scan", outcome="error", reason="check secrets is error: report out/gitleaks.sarif not found; did the step that writes it run?",
                       checks=["secrets"]),
        ],
        checks=[
            CheckResult(name="sast", uses="bandit", status="ok", tool=ToolInfo(name="bandit", version="1.9.4"),
                        inputs=[InputFile(path="src/app.py", sha256="1" * 64), InputFile(path="src/über.py", sha256="2" * 64)],
                        findings=[b602, b608, b105, hostile], metrics={"findings": 4.0, "files_scanned": 2.0}, duration_s=2.5),
            CheckResult(name="patterns", uses="semgrep", status="ok", tool=ToolInfo(name="semgrep", version="1.185.0"),
                        inputs=[InputFile(path="src/app.py", sha256="1" * 64)], findings=[todo], metrics={"findings": 1.0}, duration_s=8.0),
            CheckResult(name="deps", uses="pip-audit", status="ok", tool=ToolInfo(name="pip-audit", version="2.9.0"),
                        inputs=[InputFile(path="requirements.txt", sha256="3" * 64)], findings=[vuln], metrics={"vulnerabilities": 1.0}, duration_s=4.0),
            CheckResult(name="tests", uses="junit", status="ok", inputs=[InputFile(path="reports/junit.xml", sha256="4" * 64)],
                        findings=[test_fail, flaky],
                        metrics={"total": 120.0, "passed": 115.0, "failed": 2.0, "errors": 1.0, "skipped": 2.0, "flaky": 1.0, "duration_s": 12.5, "files": 1.0},
                        notes=["1 failing test not listed (max_findings: 1)"], duration_s=0.2),
            CheckResult(name="coverage", uses="coverage", status="ok", tool=ToolInfo(name="coverage.py", version="7.6.1"),
                        inputs=[InputFile(path="coverage.xml", sha256="5" * 64)], findings=[below],
                        metrics={"line_rate": 0.8312, "branch_rate": 0.71, "lines_valid": 1000.0, "lines_covered": 831.0, "files": 12.0, "files_below_threshold": 1.0},
                        duration_s=0.1),
            CheckResult(name="diffcov", uses="diff-coverage", status="ok", inputs=[InputFile(path="coverage.xml", sha256="5" * 64)],
                        metrics={"changed_lines": 0.0, "uncovered_changed_lines": 0.0},
                        not_applicable={"diff_line_rate": "no line changed since origin/main is executable code"},
                        notes=["diff_line_rate not applicable: no line changed since origin/main is executable code"], duration_s=0.3),
            CheckResult(name="secrets", uses="sarif", status="error",
                        error="report out/gitleaks.sarif not found; did the step that writes it run?", duration_s=0.0),
        ],
        waivers=[
            WaiverReport(rule="no-hardcoded-passwords", owner="sec@acme.example", reason="test fixture, not a real password",
                         expires="2026-01-20", status="active", matched=1, match={"finding": "B105", "path": "src/über.py"}),
            WaiverReport(rule="no-hardcoded-passwords", owner="sec@acme.example", reason="legacy module; rewrite planned",
                         expires="2026-11-30", status="active", matched=0, match={"path": "src/legacy/*"}),
            WaiverReport(rule="no-high-findings", owner="ops@acme.example", reason="legacy; tracked in JIRA-12",
                         expires="2025-12-01", status="expired", matched=0, match={"finding": "B602"}),
            WaiverReport(rule="few-findings", owner="dev@acme.example", reason="one-off <b>bold</b> | pipe",
                         expires="2027-06-30", status="stale", matched=0, match={"fingerprint": "0" * 32}),
        ],
        gatekeeper_version="0.1.0",
        started_at=datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc),
        finished_at=datetime(2026, 1, 1, 12, 1, 30, tzinfo=timezone.utc),
    )  # fmt: skip


DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = DATA / "golden"
#: Where the golden verdict's findings point, for the HTML report's code context.
SOURCE_ROOT = DATA / "reporters" / "repo"
#: The official schemas that may not be copied here (SARIF: OASIS IPR policy); tests skip without them.
SHARED_SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "schema"
UPDATE_ENV = "GATEKEEPER_UPDATE_GOLDEN"
