"""The history report for people: plain text for a terminal, one self-contained HTML page.

The JSON form is ``report.model_dump_json(indent=2)``. The HTML page follows the verdict
page (``reporters/html.py``): inline styles, charts as inline SVG, no script, a
Content-Security-Policy of ``default-src 'none'``, and every text from the history escaped.
The text form replaces control characters, so a rule id cannot drive the terminal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime

from gatekeeper.history.report import HistoryReport, PeriodBucket
from gatekeeper.history.waiver_debt import WaiverDebtItem
from gatekeeper.reporters.html import COLOURS, CSP, STYLE, badge, escape_html

__all__ = ["render_report_html", "render_report_json", "render_report_text", "span"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def span(seconds: float) -> str:
    """A duration for people: 45s, 12m, 3h 20m, 2d 4h."""
    total = max(round(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _period_label(report: HistoryReport) -> str:
    return "day" if report.period == "day" else "week (from Monday)"


def _overview(report: HistoryReport) -> str:
    runs = report.runs
    first, last = report.first_run_at, report.last_run_at
    window = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else "no runs"
    return (
        f"{runs} run(s), {window}: {report.passed} pass ({_pct(report.passed / runs if runs else None)}), "
        f"{report.failed} fail ({_pct(report.failed / runs if runs else None)}), "
        f"{report.errors} error ({_pct(report.errors / runs if runs else None)})"
    )


def render_report_json(report: HistoryReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


# --- text -------------------------------------------------------------------------------------


def _clean(value: object) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> list[str]:
    """Aligned columns: numbers right-aligned, the rest left-aligned, two spaces apart."""
    cells = [[_clean(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return ("  " + "  ".join(parts)).rstrip()

    return [line(list(headers)), *(line(r) for r in cells)]


def _section(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> list[str]:
    body = _table(headers, rows, numeric) if rows else ["  (none)"]
    return ["", title, *body]


def render_report_text(report: HistoryReport) -> str:
    lines = [
        f"gatekeeper report: {_overview(report)}",
        f"as of {report.generated_at:%Y-%m-%d %H:%M} UTC; policies: {_clean(', '.join(report.policies) or '-')}; "
        f"branches: {_clean(', '.join(report.branches) or '-')}",
    ]
    bar_width = 20
    trend_rows = []
    for b in report.trend:
        filled = round(bar_width * (b.pass_rate or 0.0))
        bar = ("#" * filled + "." * (bar_width - filled)) if b.runs else ""
        trend_rows.append([b.start.isoformat(), b.runs, b.passed, b.failed, b.errors, _pct(b.pass_rate), bar])
    lines += _section(
        f"Outcomes per {_period_label(report)}",
        ["period", "runs", "pass", "fail", "error", "pass rate", "pass bar"],
        trend_rows,
        {1, 2, 3, 4, 5},
    )
    lines += _section(
        f"Top failing rules (top {report.top})",
        ["rule", "failed runs", "errored runs", "runs", "share", "last failed"],
        [
            [r.rule, r.failed_runs, r.errored_runs, r.runs, _pct(r.share), _when(r.last_failed_at)]
            for r in report.failing_rules
        ],
        {1, 2, 3, 4},
    )
    lines += _section(
        f"Most frequent findings (top {report.top})",
        ["runs", "check", "finding", "severity", "path", "fingerprint", "last seen"],
        [
            [f.runs, f.check, f.id, f.severity.value, f.path or "-", f.fingerprint[:12], _when(f.last_seen)]
            for f in report.frequent_findings
        ],
        {0},
    )
    lines += _section(
        f"Flaky tests (top {report.top})",
        ["test", "check", "flaky runs", "failed runs", "runs", "flake rate"],
        [[t.test, t.check, t.flaky_runs, t.failed_runs, t.runs, _pct(t.flake_rate)] for t in report.flaky_tests],
        {2, 3, 4, 5},
    )
    ttg_rows: list[list[object]] = []
    for branch in report.time_to_green:
        median = span(branch.median_s) if branch.median_s is not None else "-"
        for e in branch.episodes:
            took = f"open for {span(e.age_s or 0.0)}" if e.open else span(e.duration_s or 0.0)
            green = f"#{e.next_passing_run} {_when(e.passed_at)}" if e.next_passing_run is not None else "still red"
            ttg_rows.append([e.branch, f"#{e.first_failing_run} {_when(e.failed_at)}", green, e.red_runs, took, median])
    lines += _section(
        "Time to green (first failing run to the branch's next passing run)",
        ["branch", "first failing run", "next passing run", "red runs", "time to green", "branch median"],
        ttg_rows,
        {3},
    )
    lines += _section(
        f"Slowest checks (top {report.top}, seconds)",
        ["check", "uses", "runs", "mean", "p95", "max"],
        [
            [c.check, c.uses, c.runs, f"{c.mean_s:.1f}", f"{c.p95_s:.1f}", f"{c.max_s:.1f}"]
            for c in report.slowest_checks
        ],
        {2, 3, 4, 5},
    )
    debt = report.waiver_debt
    lines += _section(
        "Waivers per owner",
        ["owner", "active", "expiring", "expired", "stale"],
        [[o.owner, o.active, o.expiring, o.expired, o.stale] for o in debt.owners],
        {1, 2, 3, 4},
    )
    lines += _section(
        f"Waiver debt (expiring: within {debt.expiring_within_days} days)",
        ["state", "expires", "days left", "owner", "rule", "match", "matched", "policy"],
        [
            [w.state, w.expires.isoformat(), w.days_left, w.owner, w.rule, _match(w), _matched(w), w.policy]
            for w in debt.waivers
        ],
        {2, 6},
    )
    return "\n".join(lines) + "\n"


def _match(waiver: WaiverDebtItem) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(waiver.match.items())) or "(the whole rule)"


def _matched(waiver: WaiverDebtItem) -> str:
    return "?" if waiver.matched is None else str(waiver.matched)


# --- HTML -------------------------------------------------------------------------------------

_EXTRA_STYLE = """
header.banner{background:#24292f}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #d0d7de;border-radius:8px;padding:8px 16px;min-width:140px}
.card b{display:block;font-size:24px}
svg.trend text{font:11px system-ui,sans-serif;fill:#57606a}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.when{white-space:nowrap}td.message{overflow-wrap:anywhere;min-width:18em}section{overflow-x:auto}
tr.waiver-expiring td{background:#fff8c5}
tr.waiver-expired td{background:#ffebe9}
tr.waiver-expired td.expires{color:#cf222e;font-weight:600}
tr.waiver-stale td{color:#57606a}
tr.episode-open td{background:#ffebe9}
"""
STATE_COLOURS = {"active": COLOURS["pass"], "expiring": COLOURS["warn"], "expired": COLOURS["fail"], "stale": "#57606a"}
CHART_W, CHART_H, LEFT, BOTTOM, TOP = 860, 200, 44, 34, 10


def _td(value: object, numeric: bool = False, cls: str = "") -> str:
    classes = " ".join(c for c in ("num" if numeric else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{escape_html(value)}</td>"


def _html_table(
    section: str, title: str, headers: Sequence[str], rows: Sequence[str], numeric: set[int], note: str = ""
) -> str:
    head = "".join(
        f'<th class="num">{escape_html(h)}</th>' if i in numeric else f"<th>{escape_html(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = f"<table><tr>{head}</tr>{''.join(rows)}</table>" if rows else '<p class="muted">None in this window.</p>'
    extra = f'<p class="muted">{escape_html(note)}</p>' if note else ""
    return f'<section id="{section}"><h2>{escape_html(title)}</h2>{extra}{body}</section>'


def _chart(trend: Sequence[PeriodBucket], period_label: str) -> str:
    """A stacked bar per period (pass, fail, error from the bottom), scaled to the busiest period."""
    n = len(trend)
    plot_w, plot_h = CHART_W - LEFT - 10, CHART_H - TOP - BOTTOM
    peak = max((b.runs for b in trend), default=0) or 1
    step = plot_w / max(n, 1)
    bar_w = max(step * 0.7, 1.0)
    parts = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#8c959f"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#8c959f"/>',
    ]
    for tick in sorted({0, math.ceil(peak / 2), peak}):
        y = TOP + plot_h - plot_h * tick / peak
        parts.append(f'<text class="y-label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eaeef2"/>')
    label_every = max(math.ceil(n / 10), 1)
    for i, bucket in enumerate(trend):
        x = LEFT + i * step + (step - bar_w) / 2
        y = TOP + plot_h
        rects = []
        for count, colour, name in (
            (bucket.passed, COLOURS["pass"], "pass"),
            (bucket.failed, COLOURS["fail"], "fail"),
            (bucket.errors, COLOURS["error"], "error"),
        ):
            if count:
                h = plot_h * count / peak
                y -= h
                rects.append(
                    f'<rect class="{name}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"/>'
                )
        tip = (
            f"{bucket.start.isoformat()}: {bucket.runs} run(s), {bucket.passed} pass, {bucket.failed} fail, "
            f"{bucket.errors} error"
        )
        parts.append(
            f'<g class="period" data-start="{bucket.start.isoformat()}" data-runs="{bucket.runs}">'
            f"<title>{escape_html(tip)}</title>{''.join(rects)}</g>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text class="x-label" x="{x + bar_w / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                f"{escape_html(_short(bucket.start))}</text>"
            )
    parts.append(
        f'<text class="axis-title" x="{LEFT + plot_w / 2:.1f}" y="{CHART_H - 2}" text-anchor="middle">'
        f"{escape_html(period_label)}</text>"
    )
    parts.append(
        f'<text class="axis-title" x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">runs</text>'
    )
    return (
        f'<svg class="chart trend" role="img" aria-label="runs per {escape_html(period_label)} by outcome" width="{CHART_W}" '
        f'height="{CHART_H}" viewBox="0 0 {CHART_W} {CHART_H}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(parts)}</svg>"
    )


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(day: date) -> str:
    return day.strftime("%b %d").replace(" 0", " ")


def _trend_section(report: HistoryReport) -> str:
    legend = " ".join(
        f'<span class="key"><i style="background:{COLOURS[k]}"></i>{label}</span>'
        for k, label in (("pass", "pass"), ("fail", "fail"), ("error", "error"))
    )
    label = _period_label(report)
    return f'<section id="trend"><h2>Outcomes per {escape_html(label)}</h2>{_chart(report.trend, label)}<p>{legend}</p></section>'


def _cards(report: HistoryReport) -> str:
    runs = report.runs
    open_red = [e for b in report.time_to_green for e in b.episodes if e.open]
    debt = report.waiver_debt.waivers
    cards = [
        ("runs", str(runs)),
        ("pass rate", _pct(report.passed / runs if runs else None)),
        ("failed runs", str(report.failed)),
        ("errored runs", str(report.errors)),
        ("branches still red", str(len(open_red))),
        ("waivers expiring", str(sum(w.state == "expiring" for w in debt))),
        ("waivers expired", str(sum(w.state == "expired" for w in debt))),
    ]
    body = "".join(
        f'<div class="card"><b>{escape_html(v)}</b><span class="muted">{escape_html(k)}</span></div>' for k, v in cards
    )
    return f'<section id="overview"><h2>Overview</h2><div class="cards">{body}</div></section>'


def _waiver_rows(report: HistoryReport) -> list[str]:
    rows = []
    for w in report.waiver_debt.waivers:
        left = f"expired {-w.days_left} day(s) ago" if w.days_left < 0 else f"in {w.days_left} day(s)"
        rows.append(
            f'<tr class="waiver waiver-{w.state}"><td>{badge(w.state, STATE_COLOURS[w.state])}</td>'
            f"{_td(w.owner)}<td><code>{escape_html(w.rule)}</code></td>{_td(_match(w), cls='mono')}{_td(w.reason)}"
            f'<td class="expires">{escape_html(w.expires.isoformat())} <span class="muted">{escape_html(left)}</span></td>'
            f"{_td(_matched(w), True)}{_td(w.policy)}</tr>"
        )
    return rows


def render_report_html(report: HistoryReport) -> str:
    first, last = report.first_run_at, report.last_run_at
    window = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else "no runs"
    banner = (
        '<header class="banner" id="outcome"><h1>gatekeeper: run history</h1>'
        f'<p class="summary">{escape_html(_overview(report))}</p><dl>'
        f"<div><dt>window</dt><dd>{escape_html(window)}</dd></div>"
        f"<div><dt>policies</dt><dd>{escape_html(', '.join(report.policies) or '-')}</dd></div>"
        f"<div><dt>branches</dt><dd>{escape_html(', '.join(report.branches) or '-')}</dd></div>"
        f"<div><dt>as of</dt><dd>{escape_html(report.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</dd></div></dl></header>"
    )
    rules = _html_table(
        "failing-rules", f"Top failing rules (top {report.top})",
        ["Rule", "Failed runs", "Errored runs", "Runs", "Share", "Last failed"],
        [
            f'<tr class="failing-rule"><td><code>{escape_html(r.rule)}</code></td>{_td(r.failed_runs, True)}'
            f"{_td(r.errored_runs, True)}{_td(r.runs, True)}{_td(_pct(r.share), True)}{_td(_when(r.last_failed_at), cls='when')}</tr>"
            for r in report.failing_rules
        ],
        {1, 2, 3, 4}, "Share: runs in which the rule failed, over the runs that decided it.",
    )  # fmt: skip
    findings = _html_table(
        "frequent-findings", f"Most frequent findings (top {report.top})",
        ["Runs", "Check", "Finding", "Severity", "Path", "Fingerprint", "Last seen"],
        [
            f'<tr class="frequent-finding">{_td(f.runs, True)}<td><code>{escape_html(f.check)}</code></td>'
            f'<td class="message"><code>{escape_html(f.id)}</code><div class="muted">{escape_html(_clip(f.message))}</div></td>'
            f"{_td(f.severity.value)}{_td(f.path or '-', cls='mono')}{_td(f.fingerprint[:12], cls='mono')}"
            f"{_td(_when(f.last_seen), cls='when')}</tr>"
            for f in report.frequent_findings
        ],
        {0}, "One finding is a check and a fingerprint; runs counts the runs that reported it.",
    )  # fmt: skip
    flaky = _html_table(
        "flaky-tests", f"Flaky tests (top {report.top})",
        ["Test", "Check", "Flaky runs", "Failed runs", "Runs", "Flake rate"],
        [
            f'<tr class="flaky-test"><td><code>{escape_html(t.test)}</code></td>{_td(t.check)}{_td(t.flaky_runs, True)}'
            f"{_td(t.failed_runs, True)}{_td(t.runs, True)}{_td(_pct(t.flake_rate), True)}</tr>"
            for t in report.flaky_tests
        ],
        {2, 3, 4, 5}, "Flake rate: runs in which the test passed only on a rerun, over the runs of its check.",
    )  # fmt: skip
    episodes = []
    for branch in report.time_to_green:
        median = span(branch.median_s) if branch.median_s is not None else "-"
        for e in branch.episodes:
            took = f"still red, for {span(e.age_s or 0.0)}" if e.open else span(e.duration_s or 0.0)
            green = f"#{e.next_passing_run} at {_when(e.passed_at)}" if e.next_passing_run is not None else "-"
            cls = "episode episode-open" if e.open else "episode"
            episodes.append(
                f'<tr class="{cls}"><td><code>{escape_html(e.branch)}</code></td>{_td(f"#{e.first_failing_run} at {_when(e.failed_at)}")}'
                f"{_td(green)}{_td(e.red_runs, True)}{_td(took)}{_td(median)}</tr>"
            )
    green = _html_table(
        "time-to-green", "Time to green",
        ["Branch", "First failing run", "Next passing run", "Red runs", "Time to green", "Branch median"],
        episodes, {3}, "From a branch's first run that did not pass to its next passing run.",
    )  # fmt: skip
    slow = _html_table(
        "slowest-checks", f"Slowest checks (top {report.top})",
        ["Check", "Uses", "Runs", "Mean", "p95", "Max"],
        [
            f'<tr class="slow-check"><td><code>{escape_html(c.check)}</code></td>{_td(c.uses)}{_td(c.runs, True)}'
            f"{_td(f'{c.mean_s:.1f}s', True)}{_td(f'{c.p95_s:.1f}s', True)}{_td(f'{c.max_s:.1f}s', True)}</tr>"
            for c in report.slowest_checks
        ],
        {2, 3, 4, 5},
    )  # fmt: skip
    debt = report.waiver_debt
    owners = _html_table(
        "waiver-owners", "Waivers per owner",
        ["Owner", "Active", "Expiring", "Expired", "Stale"],
        [
            f'<tr class="owner">{_td(o.owner)}{_td(o.active, True)}{_td(o.expiring, True)}{_td(o.expired, True)}'
            f"{_td(o.stale, True)}</tr>"
            for o in debt.owners
        ],
        {1, 2, 3, 4},
    )  # fmt: skip
    waivers = _html_table(
        "waivers", "Waiver debt",
        ["State", "Owner", "Rule", "Match", "Reason", "Expires", "Matched", "Policy"],
        _waiver_rows(report), {6},
        f"From each policy's most recent run. Expiring: within {debt.expiring_within_days} days; "
        "stale: matched no finding in that run; expired: past its date and still in the policy.",
    )  # fmt: skip
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>gatekeeper report — {escape_html(window)}</title><style>{STYLE}{_EXTRA_STYLE}</style></head><body>",
        banner,
        "<main>",
        _cards(report),
        _trend_section(report),
        rules,
        findings,
        flaky,
        green,
        slow,
        owners,
        waivers,
        "</main>",
        f"<footer>generated by gatekeeper report from {report.runs} recorded run(s)</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
