from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from reporters_support import SOURCE_ROOT

from gatekeeper import Finding, Severity, Verdict
from gatekeeper.models import CheckResult, InputFile, RuleResult
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.html import render_html
from png_support import CHROMIUM, NO_CHROMIUM, screenshot


class Page(HTMLParser):
    """The elements of a page, with their attributes and the text inside selected ones."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.doctype = ""
        self.feed(text)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if t == tag and all(v in a.get(k, "").split() or a.get(k) == v for k, v in attrs.items())
        ]


@pytest.fixture
def page(ci_verdict: Verdict) -> Page:
    return Page(render_html(ci_verdict, RenderOptions(source_root=SOURCE_ROOT)))


def test_self_contained_nothing_is_fetched(page: Page, ci_verdict: Verdict) -> None:
    text = render_html(ci_verdict, RenderOptions(source_root=SOURCE_ROOT))
    assert page.doctype.lower() == "doctype html"
    (csp,) = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in csp["content"]
    tags = {t for t, _ in page.elements}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "form", "video", "audio"}
    for tag, attrs in page.elements:
        assert "src" not in attrs and "srcset" not in attrs, tag
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    assert all(a["href"].startswith("https://") for a in page.find("a"))
    assert "url(" not in text and "@import" not in text


def test_outcome_banner_policy_and_digest(page: Page) -> None:
    (banner,) = page.find("header", id="outcome")
    assert "outcome-error" in banner["class"]
    text = "".join(page.text)
    assert "gatekeeper: ERROR" in text
    assert "acme-service" in text and "sha256:" + "cd" * 32 in text
    assert "builtin:default, gatekeeper.yaml" in text


def test_rules_table_in_reading_order(page: Page, ci_verdict: Verdict) -> None:
    rows = page.find("tr", **{"class": "rule"})
    assert len(rows) == len(ci_verdict.rules)
    outcomes = [next(c for c in r["class"].split() if c.startswith("rule-")) for r in rows]
    assert outcomes == [
        "rule-error",
        "rule-fail",
        "rule-fail",
        "rule-fail",
        "rule-warn",
        "rule-waived",
        "rule-pass",
        "rule-pass",
    ]


def test_findings_grouped_by_rule_with_code_context(page: Page, ci_verdict: Verdict) -> None:
    groups = [a["id"] for a in page.find("details")]
    assert groups == [
        "findings-no-high-findings", "findings-tests-green", "findings-no-flaky-tests", "findings-few-findings",
        "findings-no-hardcoded-passwords", "findings-coverage", "findings-docs-todo",
    ]  # fmt: skip
    assert len(page.find("li", **{"class": "waived"})) == 1
    text = render_html(ci_verdict, RenderOptions(source_root=SOURCE_ROOT))
    assert (
        '<span class="hit"><i>12</i>    return subprocess.call([cmd])  # stands where the flagged shell=True call would be</span>'
        in text
    )
    assert "&lt;/pre&gt;&lt;script&gt;alert(&#x27;not run&#x27;)&lt;/script&gt;" in text, "source is escaped"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, "messages are escaped"
    assert "src/app.py:12:5" in text and "requirements.txt (the check&#x27;s input file" in text
    assert len(page.find("pre", **{"class": "code"})) == 3  # B602, B608, the TODO; no file for the others


def test_no_code_without_a_source_root(ci_verdict: Verdict) -> None:
    assert '<pre class="code">' not in render_html(ci_verdict, RenderOptions())


def test_code_context_never_reads_outside_the_root(tmp_path: Path, failing_verdict: Verdict) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "secret.py").write_text("TOP SECRET\n" * 20)
    (root / "link.py").symlink_to(tmp_path / "secret.py")
    (root / "ok.py").write_text("fine\n" * 20)
    findings = [
        Finding(id=f"X{n}", severity=Severity.HIGH, message="m", path=p, line=2)
        for n, p in enumerate(["link.py", "ok.py", "../secret.py"])
    ]
    check = CheckResult(
        name="c", uses="custom", status="ok", inputs=[InputFile(path="ok.py", sha256="0" * 64)], findings=findings
    )
    rule = RuleResult(id="r", outcome="fail", reason="r", checks=["c"], findings=findings)
    text = render_html(
        failing_verdict.model_copy(update={"checks": [check], "rules": [rule]}), RenderOptions(source_root=root)
    )
    assert "TOP SECRET" not in text
    assert '<span class="hit"><i>2</i>fine</span>' in text


def test_test_and_coverage_figures(page: Page) -> None:
    assert len(page.find("svg", **{"class": "chart"})) == 3  # tests, line and branch coverage
    text = " ".join("".join(page.text).split())
    assert "120 tests, 1 flaky" in text
    assert "115 passed 2 failed 1 errors 2 skipped" in text
    assert "line coverage: 83.1%" in text and "branch coverage: 71.0%" in text
    assert "changed-line coverage: not applicable: no line changed since origin/main" in text


def test_waivers_with_expiry(page: Page) -> None:
    rows = page.find("tr", **{"class": "waiver"})
    assert [next(c for c in r["class"].split() if c.startswith("waiver-")) for r in rows] == [
        "waiver-active", "waiver-active", "waiver-expired", "waiver-stale",
    ]  # fmt: skip
    text = "".join(page.text)
    assert "in 19 day(s)" in text and "expired" in text
    assert "one-off <b>bold</b> | pipe" in text, "shown as text, not markup"


def test_a_passing_verdict_renders_too(failing_verdict: Verdict) -> None:
    clean = failing_verdict.model_copy(
        update={"outcome": "pass", "rules": failing_verdict.rules[:1], "checks": [], "waivers": []}
    )
    page = Page(render_html(clean, RenderOptions()))
    assert "outcome-pass" in page.find("header", id="outcome")[0]["class"]
    assert "No findings." in "".join(page.text)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_renders_in_headless_chromium(tmp_path: Path, ci_verdict: Verdict) -> None:
    report = tmp_path / "report.html"
    report.write_text(render_html(ci_verdict, RenderOptions(source_root=SOURCE_ROOT)), encoding="utf-8")
    width, bpp, rows = screenshot(report, tmp_path, 900, 700)
    assert (width, len(rows)) == (900, 700)
    pixels = {row[i : i + 3] for row in rows[::4] for i in range(0, len(row), bpp * 4)}
    assert len(pixels) > 20, "the page is not blank"
    banner = bytes((0x82, 0x50, 0xDF))  # the ERROR banner's purple
    top = [row[i : i + 3] for row in rows[5:60] for i in range(0, len(row), bpp)]
    assert top.count(banner) > len(top) // 2, "the outcome banner fills the top of the page"
