"""``--format html``: one self-contained page for people.

An outcome banner, the rules table, test and coverage figures with small inline SVG charts,
the findings grouped by rule (with ``file:line`` and, when ``RenderOptions.source_root`` is
set, the lines around each finding), the checks, the waivers with their expiry, and the
policy's name, sources and digest.

The page fetches nothing: styles are inline, charts are inline SVG, there is no script, and a
Content-Security-Policy (``default-src 'none'``) makes sure of it. Every text from the verdict
is HTML-escaped. With ``source_root`` set, ``render`` reads the files it shows (only inside
that root, and only files under 2 MiB).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckResult, RuleResult, Verdict
from gatekeeper.reporters._common import Item, Location, collect, days_left, sorted_rules
from gatekeeper.reporters.base import RenderOptions, Reporter

PER_RULE = 200  # findings shown per rule
CONTEXT = 2  # lines shown before and after a finding's line
MAX_SOURCE_BYTES = 2 * 1024 * 1024
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
COLOURS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "error": "#8250df",
    "warn": "#9a6700",
    "waived": "#57606a",
    "skipped": "#6e7781",
}
SEV_COLOURS = {"critical": "#8250df", "high": "#cf222e", "medium": "#bc4c00", "low": "#9a6700", "info": "#57606a"}

#: The page's CSS, shared with the history report (which adds its own after it).
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header.banner{color:#fff;padding:20px 32px}
header.banner h1{margin:0 0 6px;font-size:28px}
header.banner p{margin:4px 0}
header.banner dl{display:flex;flex-wrap:wrap;gap:4px 24px;margin:10px 0 0}
header.banner dt{opacity:.8}header.banner dd{margin:0 0 0 6px;font-family:ui-monospace,monospace}
header.banner dl div{display:flex}
main{padding:8px 32px 24px;max-width:1200px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 20px;margin:16px 0}
h2{font-size:19px;margin:6px 0 12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #d8dee4;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;text-transform:uppercase}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
ol.findings{padding-left:22px}ol.findings li{margin:8px 0}
.msg{white-space:pre-wrap;overflow-wrap:anywhere;margin:2px 0}
pre.code{background:#f6f8fa;border:1px solid #d8dee4;border-radius:6px;padding:6px 0;overflow-x:auto;margin:4px 0}
pre.code span{display:block;padding:0 10px}pre.code span.hit{background:#fff8c5}
pre.code i{font-style:normal;color:#8c959f;display:inline-block;min-width:4em}
.figures{display:flex;flex-wrap:wrap;gap:24px}.figure{min-width:320px}
.key{margin-right:12px;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.muted{color:#57606a}.waived{opacity:.75}
footer{padding:0 32px 24px;color:#57606a;font-size:13px}
"""


def escape_html(text: object) -> str:
    """``text`` as HTML text or attribute value (quotes escaped too); shared with the history report."""
    return escape(str(text), quote=True)


def _lines(text: str) -> str:
    """Text with its line breaks as plain LF (a CR in a message shows as nothing anyway)."""
    return "\n".join(text.splitlines())


def badge(label: str, colour: str) -> str:
    """A coloured pill with ``label`` in it; shared with the history report."""
    return f'<span class="badge" style="background:{colour}">{escape_html(label)}</span>'


def _where(loc: Location | None) -> str:
    if loc is None:
        return "(no file)"
    text = f"{loc.path}:{loc.line}" if loc.line else loc.path
    if loc.column and loc.line:
        text += f":{loc.column}"
    return text if loc.exact else f"{text} (the check's input file; the finding has no file)"


class _Sources:
    """Reads the lines around a finding from the repository, each file once, never outside it."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None else None
        self.cache: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if self.root is None:
            return None
        if path not in self.cache:
            self.cache[path] = None
            target = (self.root / path).resolve()
            try:
                if target.is_relative_to(self.root) and target.is_file() and target.stat().st_size <= MAX_SOURCE_BYTES:
                    self.cache[path] = target.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                pass
        return self.cache[path]

    def context(self, loc: Location | None) -> str:
        if loc is None or not loc.exact or not loc.line:
            return ""
        lines = self.lines(loc.path)
        if not lines or loc.line > len(lines):
            return ""
        start, end = max(loc.line - CONTEXT, 1), min(loc.line + CONTEXT, len(lines))
        rows = []
        for number in range(start, end + 1):
            hit = ' class="hit"' if number == loc.line else ""
            rows.append(f"<span{hit}><i>{number}</i>{escape_html(lines[number - 1])}</span>")
        return f'<pre class="code">{"".join(rows)}</pre>'


def _banner(verdict: Verdict) -> str:
    colour = COLOURS[verdict.outcome]
    audit = "" if verdict.enforced else " <small>(audit mode: reported, not enforced)</small>"
    facts = [("policy", verdict.policy.name), ("digest", verdict.policy.digest), ("mode", verdict.mode)]
    subject = verdict.subject
    if subject.repository:
        facts.append(("repository", subject.repository))
    if subject.commit:
        facts.append(("commit", subject.commit[:12] + (" (dirty)" if subject.dirty else "")))
    if subject.branch:
        facts.append(("branch", subject.branch))
    seconds = (verdict.finished_at - verdict.started_at).total_seconds()
    facts.append(("finished", f"{verdict.finished_at.isoformat()} ({seconds:.1f}s)"))
    dl = "".join(f"<div><dt>{escape_html(k)}</dt><dd>{escape_html(v)}</dd></div>" for k, v in facts)
    return (
        f'<header class="banner outcome-{verdict.outcome}" id="outcome" style="background:{colour}">'
        f"<h1>gatekeeper: {escape_html(verdict.outcome.upper())}{audit}</h1>"
        f'<p class="summary">{escape_html(verdict.summary)}</p><dl>{dl}</dl></header>'
    )


def _rules_table(verdict: Verdict) -> str:
    rows = []
    for rule in sorted_rules(verdict.rules):
        mode = (
            "" if rule.mode in ("enforce", rule.outcome) else f' <span class="muted">({escape_html(rule.mode)})</span>'
        )
        description = f'<div class="muted">{escape_html(rule.description)}</div>' if rule.description else ""
        rows.append(
            f'<tr class="rule rule-{rule.outcome}" id="rule-{escape_html(rule.id)}"><td>{badge(rule.outcome, COLOURS[rule.outcome])}'
            f"{mode}</td><td><code>{escape_html(rule.id)}</code>{description}</td><td>{escape_html(rule.reason)}</td>"
            f'<td class="mono">{escape_html(", ".join(rule.checks))}</td><td>{len(rule.findings)}</td><td>{len(rule.waived)}</td></tr>'
        )
    head = "<tr><th>Outcome</th><th>Rule</th><th>Why</th><th>Checks</th><th>Findings</th><th>Waived</th></tr>"
    return f'<section id="rules"><h2>Rules</h2><table>{head}{"".join(rows)}</table></section>'


def _bar(parts: list[tuple[float, str, str]], width: int = 320, height: int = 18) -> str:
    """A horizontal stacked bar: (value, colour, label) parts, scaled to their sum."""
    total = sum(v for v, _, _ in parts) or 1.0
    x = 0.0
    rects = [f'<rect width="{width}" height="{height}" rx="3" fill="#eaeef2"/>']
    for value, colour, label in parts:
        w = width * value / total
        if w > 0:
            rects.append(
                f'<rect x="{x:.1f}" width="{w:.1f}" height="{height}" fill="{colour}"><title>{escape_html(label)}</title></rect>'
            )
        x += w
    return (
        f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(rects)}</svg>'
    )


def _rate(label: str, check: CheckResult, metric: str) -> str:
    if metric in check.metrics:
        value = min(max(check.metrics[metric], 0.0), 1.0)
        chart = _bar([(value, "#1a7f37", f"{value:.1%}"), (1 - value, "#eaeef2", "")])
        return f"<p>{escape_html(label)}: <b>{value:.1%}</b><br>{chart}</p>"
    if metric in check.not_applicable:
        return f'<p>{escape_html(label)}: <span class="muted">not applicable: {escape_html(check.not_applicable[metric])}</span></p>'
    return ""


def _figures(verdict: Verdict) -> str:
    cards = []
    for check in verdict.checks:
        m = check.metrics
        if check.uses == "junit" and "total" in m:
            parts = [
                (m.get("passed", 0.0), COLOURS["pass"], "passed"),
                (m.get("failed", 0.0), COLOURS["fail"], "failed"),
                (m.get("errors", 0.0), COLOURS["error"], "errors"),
                (m.get("skipped", 0.0), "#8c959f", "skipped"),
            ]
            legend = " ".join(
                f'<span class="key"><i style="background:{colour}"></i>{int(v)} {label}</span>'
                for v, colour, label in parts
            )
            flaky = int(m.get("flaky", 0.0))
            cards.append(
                f'<div class="figure tests"><h3>Tests: <code>{escape_html(check.name)}</code></h3>'
                f"<p><b>{int(m['total'])}</b> tests, {flaky} flaky</p>{_bar(parts)}<p>{legend}</p></div>"
            )
        elif check.uses in ("coverage", "diff-coverage"):
            rates = (
                _rate("line coverage", check, "line_rate")
                + _rate("branch coverage", check, "branch_rate")
                + _rate("changed-line coverage", check, "diff_line_rate")
            )
            if rates:
                cards.append(
                    f'<div class="figure coverage"><h3>Coverage: <code>{escape_html(check.name)}</code></h3>{rates}</div>'
                )
    if not cards:
        return ""
    return f'<section id="figures"><h2>Tests and coverage</h2><div class="figures">{"".join(cards)}</div></section>'


def _finding(item: Item, waived: bool, sources: _Sources) -> str:
    finding = item.finding
    sev = finding.severity.value
    cls = f"finding sev-{sev}" + (" waived" if waived else "")
    tag = " " + badge("waived", COLOURS["waived"]) if waived else ""
    url = finding.properties.get("url", "")
    more = f' <a href="{escape_html(url)}" rel="noopener noreferrer">more</a>' if url.startswith("https://") else ""
    return (
        f'<li class="{cls}">{badge(sev, SEV_COLOURS[sev])}{tag} <span class="mono where">{escape_html(_where(item.location))}</span> '
        f'<code>{escape_html(finding.id)}</code> <span class="muted">({escape_html(item.check_name or item.uses)})</span>{more}'
        f'<div class="msg">{escape_html(_lines(finding.message))}</div>{sources.context(item.location)}</li>'
    )


def _group(
    title: str, anchor: str, entries: list[tuple[Item, bool]], sources: _Sources, rule: RuleResult | None
) -> str:
    shown = entries[:PER_RULE]
    items = "".join(_finding(item, waived, sources) for item, waived in shown)
    if len(entries) > PER_RULE:
        items += f'<li class="muted">… and {len(entries) - PER_RULE} more (see the JSON or SARIF report)</li>'
    label = badge(rule.outcome, COLOURS[rule.outcome]) + " " if rule else ""
    return (
        f'<details open class="group" id="{escape_html(anchor)}"><summary>{label}<code>{escape_html(title)}</code> '
        f'<span class="muted">({len(entries)} finding(s))</span></summary><ol class="findings">{items}</ol></details>'
    )


def _findings(verdict: Verdict, sources: _Sources) -> str:
    items = collect(verdict)
    groups = []
    for rule in sorted_rules(verdict.rules):
        entries = [(i, False) for i in items if rule.id in i.counted_by]
        entries += [(i, True) for i in items if rule.id in i.waived_by]
        if entries:
            groups.append(_group(rule.id, f"findings-{rule.id}", entries, sources, rule))
    unread = [(i, False) for i in items if not i.counted_by and not i.waived_by]
    if unread:
        groups.append(_group("read by no rule", "findings-unread", unread, sources, None))
    body = "".join(groups) or '<p class="muted">No findings.</p>'
    return f'<section id="findings"><h2>Findings by rule</h2>{body}</section>'


def _checks(verdict: Verdict) -> str:
    rows = []
    for check in verdict.checks:
        tool = f"{check.tool.name} {check.tool.version or ''}".strip() if check.tool else ""
        colour = COLOURS["pass"] if check.status == "ok" else COLOURS["error"] if check.status == "error" else "#8c959f"
        detail = escape_html(check.error or "") + "".join(
            f'<div class="muted">note: {escape_html(n)}</div>' for n in check.notes
        )
        rows.append(
            f"<tr><td>{badge(check.status, colour)}</td><td><code>{escape_html(check.name)}</code></td><td>{escape_html(check.uses)}</td>"
            f"<td>{escape_html(tool)}</td><td>{check.duration_s:.1f}s</td><td>{len(check.inputs)}</td>"
            f"<td>{len(check.findings)}</td><td>{detail}</td></tr>"
        )
    head = "<tr><th>Status</th><th>Check</th><th>Uses</th><th>Tool</th><th>Time</th><th>Inputs</th><th>Findings</th><th>Notes</th></tr>"
    return f'<section id="checks"><h2>Checks</h2><table>{head}{"".join(rows)}</table></section>'


def _waivers(verdict: Verdict) -> str:
    if not verdict.waivers:
        return ""
    rows = []
    for waiver in verdict.waivers:
        left = days_left(waiver, verdict)
        due = "" if left is None else ("expired" if left < 0 else f"in {left} day(s)")
        colour = {"active": COLOURS["pass"], "expired": COLOURS["fail"], "stale": COLOURS["warn"]}[waiver.status]
        match = ", ".join(f"{k}: {v}" for k, v in sorted(waiver.match.items()))
        rows.append(
            f'<tr class="waiver waiver-{waiver.status}"><td>{badge(waiver.status, colour)}</td><td><code>{escape_html(waiver.rule)}</code></td>'
            f'<td class="mono">{escape_html(match)}</td><td>{escape_html(waiver.reason)}</td><td>{escape_html(waiver.owner)}</td>'
            f'<td>{escape_html(waiver.expires)} <span class="muted">{escape_html(due)}</span></td><td>{waiver.matched}</td></tr>'
        )
    head = "<tr><th>Status</th><th>Rule</th><th>Match</th><th>Reason</th><th>Owner</th><th>Expires</th><th>Matched</th></tr>"
    return f'<section id="waivers"><h2>Waivers</h2><table>{head}{"".join(rows)}</table></section>'


def render_html(verdict: Verdict, options: RenderOptions) -> str:
    sources = _Sources(options.source_root)
    title = f"gatekeeper: {verdict.outcome.upper()} — {verdict.policy.name}"
    footer = (
        f"<footer>policy <code>{escape_html(verdict.policy.name)}</code> <code>{escape_html(verdict.policy.digest)}</code>"
        f" from {escape_html(', '.join(verdict.policy.sources) or '-')} · gatekeeper {escape_html(verdict.gatekeeper_version)}</footer>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape_html(title)}</title><style>{STYLE}</style></head><body>",
        _banner(verdict),
        "<main>",
        _rules_table(verdict),
        _figures(verdict),
        _findings(verdict, sources),
        _checks(verdict),
        _waivers(verdict),
        "</main>",
        footer,
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("html", render_html, "One self-contained HTML page for people.", "html")]
