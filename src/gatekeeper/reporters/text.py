"""``--format text``: a summary for people. Outcome first, then what to fix and how to waive."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import Finding, HistoryStatus, RuleResult, Verdict
from gatekeeper.reporters.base import RenderOptions, Reporter

TOP_FINDINGS = 5
_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "error": "bold magenta",
    "warn": "yellow",
    "waived": "cyan",
    "skipped": "dim",
}
_MARK = {"pass": "✓", "fail": "✗", "error": "!", "warn": "~", "waived": "-", "skipped": "·"}


def _finding_line(finding: Finding) -> str:
    where = finding.path or "(no file)"
    if finding.line:
        where += f":{finding.line}"
    first_line = finding.message.splitlines()[0] if finding.message else ""
    return "      " + escape(f"{where}  {finding.id} [{finding.severity.value}] {first_line}")


def _rule_lines(rule: RuleResult) -> list[str]:
    style = _STYLE[rule.outcome]
    lines = [f"  [{style}]{_MARK[rule.outcome]} {rule.outcome.upper():6}[/] {escape(rule.id)}: {escape(rule.reason)}"]
    if rule.outcome in ("fail", "warn", "error"):
        for finding in rule.findings[:TOP_FINDINGS]:
            lines.append(_finding_line(finding))
        if len(rule.findings) > TOP_FINDINGS:
            lines.append(f"      ... and {len(rule.findings) - TOP_FINDINGS} more (see --format json)")
    return lines


def render_text(verdict: Verdict, options: RenderOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=options.color,
        no_color=not options.color,
        width=options.width,
        highlight=False,
        emoji=False,
        soft_wrap=True,
    )
    style = _STYLE[verdict.outcome]
    enforced = "" if verdict.enforced else "  (audit mode: reported, not enforced)"
    console.print(f"[{style}]gatekeeper: {verdict.outcome.upper()}[/]{enforced}")
    console.print(f"policy {escape(verdict.policy.name)} {verdict.policy.digest[:19]}…  mode {verdict.mode}")
    subject = verdict.subject
    if subject.commit:
        dirty = " (dirty)" if subject.dirty else ""
        console.print(
            f"subject {escape(subject.repository or '')} @ {subject.commit[:12]} {escape(subject.branch or '')}{dirty}"
        )
    console.print(escape(verdict.summary))
    console.print("")
    console.print("Rules:")
    order = {"error": 0, "fail": 1, "warn": 2, "waived": 3, "pass": 4, "skipped": 5}
    for rule in sorted(verdict.rules, key=lambda r: order[r.outcome]):
        for line in _rule_lines(rule):
            console.print(line)
    console.print("")
    console.print("Checks:")
    for check in verdict.checks:
        tool = f" ({check.tool.name} {check.tool.version or ''})".rstrip(" )") + ")" if check.tool else ""
        detail = (
            f": {check.error}" if check.error else f", {len(check.inputs)} input(s), {len(check.findings)} finding(s)"
        )
        cstyle = "green" if check.status == "ok" else "bold magenta"
        cached = " (cached)" if check.cached else ""
        console.print(
            f"  [{cstyle}]{check.status:7}[/] {escape(check.name)}{escape(tool)} {check.duration_s:.1f}s{cached}"
            f"{escape(detail)}"
        )
        for note in check.notes:
            console.print(f"      note: {escape(note)}")
    problems = [w for w in verdict.waivers if w.status != "active"]
    if problems:
        console.print("")
        console.print("Waivers needing attention:")
        for waiver in problems:
            console.print(
                f"  {waiver.status:7} rule {escape(waiver.rule)} (owner {escape(waiver.owner)}, expires {waiver.expires})"
            )
    failing = next((r for r in verdict.rules if r.outcome == "fail" and r.findings), None)
    if failing is not None:
        first = failing.findings[0]
        path_part = f', path: "{first.path}"' if first.path else ""  # "*" would not match a path-less one
        console.print("")
        console.print("To accept a finding for a while, add a waiver to the policy:")
        console.print(
            escape(
                f"  waivers:\n    - rule: {failing.id}\n      match: {{finding: {first.id}{path_part}}}\n"
                "      reason: why this is acceptable\n      owner: team@example.com\n      expires: YYYY-MM-DD"
            )
        )
    if verdict.history is not None:
        console.print("")
        console.print(escape(_history_line(verdict.history)))
    return buffer.getvalue()


def _history_line(history: HistoryStatus) -> str:
    if history.recorded:
        return f"history: recorded as run {history.run_id} in {history.store}"
    return f"history: NOT recorded in {history.store}: {history.error}"


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("text", render_text, "A summary for people (default).", "txt")]
