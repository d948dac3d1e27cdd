from __future__ import annotations

from datetime import datetime, timezone

from gatekeeper import Finding, Severity, Verdict
from gatekeeper.models import CheckResult, InputFile, RuleResult
from gatekeeper.reporters import markdown
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.github import SUMMARY_LIMIT, render_summary


def _many(base: Verdict, count: int, message: str = "m") -> Verdict:
    findings = [
        Finding(id=f"B{n}", severity=Severity.HIGH, message=f"{message} {n}", path=f"src/m{n}.py", line=n + 1)
        for n in range(count)
    ]
    check = CheckResult(
        name="sast", uses="bandit", status="ok", inputs=[InputFile(path="src/a.py", sha256="0" * 64)], findings=findings
    )
    rule = RuleResult(id="no-high", outcome="fail", reason="many", checks=["sast"], findings=findings)
    return base.model_copy(update={"checks": [check], "rules": [rule], "waivers": []})


def test_outcome_failing_rules_and_finding_links(ci_verdict: Verdict) -> None:
    text = markdown.render_markdown(ci_verdict, RenderOptions())
    assert text.startswith("## ⛔ gatekeeper: **ERROR**\n")
    assert "| ❌ fail | `no-high-findings` | 3 finding(s) at or above high | 3 |" in text
    assert "`coverage`" not in text.split("### Top findings")[0], "passing rules are only counted"
    assert "2 rule(s) passed, 1 waived." in text
    assert "[src/app.py:12](src/app.py#L12) `B602`" in text
    assert "[src/über.py" not in text, "waived findings are not top findings"
    assert "(src/we%2Cird%3Ana%3Bme%5D.py#L7)" in text
    assert "[requirements.txt (the check's input)](requirements.txt)" in text


def test_links_use_the_base_when_given(ci_verdict: Verdict) -> None:
    base = "https://github.com/acme/service/blob/abc/"
    text = markdown.render_markdown(ci_verdict, RenderOptions(link_base=base))
    assert f"[src/app.py:12]({base}src/app.py#L12)" in text


def test_waivers_expiring_soon_expired_and_stale(ci_verdict: Verdict) -> None:
    text = markdown.render_markdown(ci_verdict, RenderOptions())
    section = text.split("### Waivers needing attention")[1]
    assert "`no-hardcoded-passwords` expires 2026-01-20 (in 19 day(s))" in section
    assert "`no-high-findings` **expired** 2025-12-01" in section
    assert "`few-findings` **stale**" in section
    assert "2026-11-30" not in section, "a waiver far from expiry needs no attention"
    later = ci_verdict.model_copy(update={"finished_at": datetime(2025, 11, 1, tzinfo=timezone.utc)})
    assert "2026-01-20" not in markdown.render_markdown(later, RenderOptions()).split("### Waivers")[1]


def test_untrusted_text_cannot_add_markup_or_mentions(ci_verdict: Verdict) -> None:
    text = markdown.render_markdown(ci_verdict, RenderOptions())
    assert "<script>" not in text and "<b>" not in text
    assert "@here" not in text and "@acme" not in text
    assert "one-off &lt;b&gt;bold&lt;/b&gt; \\| pipe" in text
    assert "\\#\\#vso\\[task.complete" in text
    assert markdown.escape("a\nb\r\nc") == "a b c"
    assert markdown.code("x`y") == "``x`y``"
    assert markdown.code("a|b", cell=True) == "`a\\|b`"


def test_top_findings_are_capped_with_a_count(failing_verdict: Verdict) -> None:
    text = markdown.render_markdown(_many(failing_verdict, 25), RenderOptions())
    assert text.count("- 🔴 **high**") == markdown.TOP_FINDINGS
    assert "- _… and 15 more finding(s) (see the JSON, SARIF or HTML report)_" in text


def test_a_comment_stays_under_githubs_limit(failing_verdict: Verdict) -> None:
    huge = failing_verdict.model_copy(
        update={
            "summary": "s" * 100,
            "rules": [RuleResult(id=f"r{n}", outcome="fail", reason="x" * 290) for n in range(1000)],
        }
    )
    text = markdown.render_markdown(huge, RenderOptions())
    assert len(text.encode("utf-8")) <= markdown.COMMENT_LIMIT
    assert "more rule(s)" in text


def test_the_job_summary_lists_every_finding_that_fits_in_1_mib(failing_verdict: Verdict) -> None:
    small = render_summary(_many(failing_verdict, 30), RenderOptions())
    assert small.count("- 🔴 **high**") == 30 and "more finding(s)" not in small
    big = render_summary(_many(failing_verdict, 20_000, "x" * 200), RenderOptions())
    assert len(big.encode("utf-8")) <= SUMMARY_LIMIT
    shown = big.count("- 🔴 **high**")
    assert 1000 < shown < 20_000
    assert f"- _… and {20_000 - shown} more finding(s) (see the JSON, SARIF or HTML report)_" in big
    tight = render_summary(_many(failing_verdict, 100), RenderOptions(), limit=4000)
    assert len(tight.encode("utf-8")) <= 4000 and "more finding(s)" in tight
