"""The HTML history report: one self-contained page, checked by its structure and in headless Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_runs import NOW, at, evaluate_kinds, record, scenario_records

from gatekeeper import Verdict
from gatekeeper.history.records import RunRecord
from gatekeeper.history.report import HistoryReport, build_report
from gatekeeper.history.report_render import render_report_html
from gatekeeper.models import Finding, RuleResult, Severity
from png_support import CHROMIUM, NO_CHROMIUM, screenshot

Kinds = dict[str, tuple[Verdict, dict[str, object]]]
HOSTILE = "<script>alert('rule')</script>"


class Page(HTMLParser):
    """Each element with its attributes and the ids of the elements it sits in, and the text."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "source", "wbr"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.stack: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.doctype = ""
        self.feed(text)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values, tuple(i for _, i in self.stack if i)))
        if tag not in self.VOID:
            self.stack.append((tag, values.get("id", "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, tuple(i for _, i in self.stack if i)))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, inside: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a, parents in self.elements
            if t == tag
            and (inside is None or inside in parents)
            and all(v in a.get(k, "").split() or a.get(k) == v for k, v in attrs.items())
        ]


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> Kinds:
    return evaluate_kinds(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def records(kinds: Kinds) -> list[RunRecord]:
    return scenario_records(kinds)


@pytest.fixture(scope="module")
def report(records: list[RunRecord]) -> HistoryReport:
    return build_report(records, now=NOW)


@pytest.fixture(scope="module")
def html(report: HistoryReport) -> str:
    return render_report_html(report)


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return Page(html)


def test_one_self_contained_page(page: Page, html: str) -> None:
    assert page.doctype.lower() == "doctype html"
    (csp,) = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in csp["content"]
    tags = {t for t, _, _ in page.elements}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "form", "video", "audio"}
    for tag, attrs, _ in page.elements:
        assert "src" not in attrs and "srcset" not in attrs and "href" not in attrs, tag
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    assert "@import" not in html and "url(" not in html and "@font-face" not in html
    # The only URL in the page is the SVG namespace, which is a name and never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}


def test_trend_chart_has_one_bar_per_period_with_axis_labels(page: Page, report: HistoryReport) -> None:
    (svg,) = page.find("svg", inside="trend")
    assert "trend" in svg["class"].split() and svg["viewbox"].startswith("0 0 ")
    periods = page.find("g", inside="trend", **{"class": "period"})
    assert [(g["data-start"], int(g["data-runs"])) for g in periods] == [
        (b.start.isoformat(), b.runs) for b in report.trend
    ]
    assert len(periods) == 7
    rects = page.find("rect", inside="trend")
    assert [r["class"] for r in rects].count("pass") == 5  # one green segment on each day with a passing run
    assert [r["class"] for r in rects].count("fail") == 3 and [r["class"] for r in rects].count("error") == 1
    error = next(float(r["height"]) for r in rects if r["class"] == "error")  # 1 of 2 runs on the 29th
    fail_27 = next(float(r["height"]) for r in rects if r["class"] == "fail")  # 2 of 3 runs on the 27th, the busiest
    assert fail_27 == pytest.approx(2 * error)
    text = "".join(page.text)
    assert "Apr 24" in text and "Apr 30" in text and "runs" in text and "day" in text


def test_weekly_chart(records: list[RunRecord]) -> None:
    page = Page(render_report_html(build_report(records, now=NOW, period="week")))
    assert [g["data-start"] for g in page.find("g", **{"class": "period"})] == ["2026-04-20", "2026-04-27"]
    assert "Outcomes per week (from Monday)" in "".join(page.text)


def test_top_n_tables(page: Page, report: HistoryReport) -> None:
    assert len(page.find("tr", **{"class": "failing-rule"})) == len(report.failing_rules) == 3
    assert len(page.find("tr", **{"class": "frequent-finding"})) == 6
    assert len(page.find("tr", **{"class": "flaky-test"})) == 2
    assert len(page.find("tr", **{"class": "slow-check"})) == 3
    assert len(page.find("tr", **{"class": "episode"})) == 3
    assert len(page.find("tr", **{"class": "episode-open"})) == 1
    text = " ".join(" ".join(page.text).split())
    assert "com.example.FlakyTest::testFlaky tests 2 0 10 20%" in text
    assert "still red, for 3d 2h" in text and "11h 30m" in text


def test_waiver_table_highlights_the_expiring_row_and_marks_expired(page: Page, html: str) -> None:
    rows = page.find("tr", inside="waivers", **{"class": "waiver"})
    states = [next(c for c in r["class"].split() if c.startswith("waiver-")) for r in rows]
    assert states == ["waiver-expired", "waiver-stale", "waiver-expiring", "waiver-active"]
    assert "tr.waiver-expiring td{background:#fff8c5}" in html, "the expiring row is highlighted"
    row = re.search(r'<tr class="waiver waiver-expiring">(.*?)</tr>', html)
    assert row is not None and "B602" in row.group(1) and "in 3 day(s)" in row.group(1)
    expired = re.search(r'<tr class="waiver waiver-expired">(.*?)</tr>', html)
    assert expired is not None and ">expired<" in expired.group(1) and "expired 11 day(s) ago" in expired.group(1)
    active = re.search(r'<tr class="waiver waiver-active">(.*?)</tr>', html)
    assert active is not None and "B603" in active.group(1) and "in 30 day(s)" in active.group(1)
    assert "reviewed &lt;script&gt;ok&lt;/script&gt;" in active.group(1), "a waiver's reason is escaped"


def test_everything_from_the_history_is_escaped(kinds: Kinds) -> None:
    verdict, policy = kinds["red-sast"]
    finding = Finding(id=HOSTILE, severity=Severity.HIGH, message=f"msg {HOSTILE}", path="src/<img src=x>.py")
    checks = [c.model_copy(update={"findings": [finding]}) if c.name == "sast" else c for c in verdict.checks]
    rules = [RuleResult(id=HOSTILE, outcome="fail", reason="r", findings=[finding])]
    evil = verdict.model_copy(update={"rules": rules, "checks": checks})
    report = build_report([record(1, at("2026-04-27T10:00"), "<marquee>branch</marquee>", evil, policy)], now=NOW)
    html = render_report_html(report)
    page = Page(html)
    assert not page.find("script") and not page.find("img") and not page.find("marquee")
    assert "&lt;script&gt;alert(&#x27;rule&#x27;)&lt;/script&gt;" in html
    assert "src/&lt;img src=x&gt;.py" in html and "&lt;marquee&gt;branch&lt;/marquee&gt;" in html
    assert HOSTILE in "".join(page.text), "shown as text"


def test_an_empty_history_still_renders() -> None:
    page = Page(render_report_html(build_report([], now=NOW)))
    assert page.find("svg", inside="trend") and not page.find("g", **{"class": "period"})
    assert "None in this window." in "".join(page.text)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_renders_in_headless_chromium(tmp_path: Path, html: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    width, bpp, rows = screenshot(page, tmp_path, 1000, 800)
    assert (width, len(rows)) == (1000, 800)
    pixels = [row[i : i + 3] for row in rows for i in range(0, len(row), bpp)]
    assert len(set(pixels[::7])) > 20, "the page is not blank"
    banner = bytes((0x24, 0x29, 0x2F))
    top = [row[i : i + 3] for row in rows[5:40] for i in range(0, len(row), bpp)]
    assert top.count(banner) > len(top) // 2, "the dark banner fills the top of the page"
    colours = set(pixels)
    assert bytes((0x1A, 0x7F, 0x37)) in colours and bytes((0xCF, 0x22, 0x2E)) in colours, "the chart's bars are drawn"
    assert bytes((0x82, 0x50, 0xDF)) in colours, "and the error bar"
