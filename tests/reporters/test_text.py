from __future__ import annotations

from gatekeeper import Verdict
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.text import render_text


def test_outcome_comes_first_and_failures_show_findings(failing_verdict: Verdict) -> None:
    text = render_text(failing_verdict, RenderOptions())
    lines = text.splitlines()
    assert lines[0] == "gatekeeper: FAIL"
    assert "subject acme @ 0123456789ab main (dirty)" in text
    failing = lines.index(next(line for line in lines if "FAIL   no-high" in line))
    passing = lines.index(next(line for line in lines if "PASS   tests-green" in line))
    assert failing < passing, "failing rules are listed before passing ones"
    assert "      src/app.py:10  B600 [high] problem 0" in lines
    assert "second line" not in text
    assert "... and 2 more (see --format json)" in text


def test_check_table_notes_and_waiver_attention(failing_verdict: Verdict) -> None:
    text = render_text(failing_verdict, RenderOptions())
    assert "  ok      sast (bandit 1.9.4) 1.2s, 1 input(s), 7 finding(s)" in text
    assert "      note: 2 files skipped" in text
    assert "  expired rule no-high (owner sec@acme, expires 2020-01-01)" in text


def test_explains_how_to_waive(failing_verdict: Verdict) -> None:
    text = render_text(failing_verdict, RenderOptions())
    assert '      match: {finding: B600, path: "src/app.py"}' in text
    assert "      expires: YYYY-MM-DD" in text


def test_colour_only_when_asked(failing_verdict: Verdict) -> None:
    assert "\x1b[" not in render_text(failing_verdict, RenderOptions(color=False))
    assert "\x1b[" in render_text(failing_verdict, RenderOptions(color=True))


def test_markup_in_messages_is_not_interpreted(failing_verdict: Verdict) -> None:
    rule = failing_verdict.rules[1]
    finding = rule.findings[0].model_copy(update={"message": "[bold]not markup[/bold]"})
    verdict = failing_verdict.model_copy(update={"rules": [rule.model_copy(update={"findings": [finding]})]})
    assert "[bold]not markup[/bold]" in render_text(verdict, RenderOptions())
