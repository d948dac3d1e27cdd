"""The built-in default pack on real fixture repositories, with the real tools."""

from __future__ import annotations

from datetime import date

import pytest

from gatekeeper import evaluate, load_policy


def test_flawed_repository_fails_on_bandit_and_semgrep_findings(fixture_repo) -> None:
    verdict = evaluate(
        load_policy("builtin:default", entry_points=False), fixture_repo("flawed"), today=date(2026, 1, 1)
    )
    rules = {r.id: r for r in verdict.rules}
    assert verdict.outcome == "fail"
    assert rules["no-high-security-findings"].outcome == "fail"
    tools = {f.id for f in rules["no-high-security-findings"].findings}
    assert "B602" in tools and "python-command-injection" in tools
    assert rules["no-known-vulnerabilities"].outcome == "warn"
    assert "no dependency files found" in rules["no-known-vulnerabilities"].reason


def test_clean_repository_passes_and_says_what_evidence_is_missing(fixture_repo) -> None:
    verdict = evaluate(
        load_policy("builtin:default", entry_points=False), fixture_repo("clean"), today=date(2026, 1, 1)
    )
    assert verdict.outcome == "pass"
    assert [(r.id, r.outcome) for r in verdict.rules] == [
        ("no-high-security-findings", "pass"),
        ("review-medium-security-findings", "pass"),
        ("tests-pass", "warn"),
        ("no-known-vulnerabilities", "warn"),
    ]
    assert "skipped checks let through by on_skipped: tests-pass, no-known-vulnerabilities" in verdict.summary


def test_failing_test_report_fails_the_default_pack(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "reports").mkdir()
    (root / "reports" / "junit.xml").write_text(
        '<testsuite name="t"><testcase classname="tests.test_app" name="test_token"><failure message="boom"/>'
        '</testcase><testcase classname="tests.test_app" name="test_ok"/></testsuite>'
    )
    verdict = evaluate(load_policy("builtin:default", entry_points=False), root, today=date(2026, 1, 1))
    rule = next(r for r in verdict.rules if r.id == "tests-pass")
    assert rule.outcome == "fail"
    assert "not met: failed == 0 (failed=1)" in rule.reason
    assert verdict.outcome == "fail"


def test_known_vulnerabilities_fail_the_default_pack(fixture_repo, osv_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKEEPER_OSV_URL", osv_server.url)
    root = fixture_repo("clean")
    (root / "requirements.txt").write_text("jinja2==2.10\n")
    verdict = evaluate(load_policy("builtin:default", entry_points=False), root, today=date(2026, 1, 1))
    rule = next(r for r in verdict.rules if r.id == "no-known-vulnerabilities")
    assert rule.outcome == "fail"
    assert "PYSEC-2019-217" in {f.id for f in rule.findings}
    assert verdict.outcome == "fail"


def test_the_pack_leaves_the_repository_unchanged(fixture_repo) -> None:
    root = fixture_repo("clean")
    before = sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*"))
    evaluate(load_policy("builtin:default", entry_points=False), root)
    assert sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*")) == before
