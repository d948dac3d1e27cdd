"""``--format markdown``: a summary sized for a pull-request comment.

The outcome, the rules that did not pass, the most severe findings as links
(``path#Lline``, relative unless ``RenderOptions.link_base`` is set), and the waivers that
need attention (expired, stale, or expiring within 30 days of the run). The same text, with
every finding and a 1 MiB budget, is the GitHub job summary (``github.render_summary``).

Text from findings is escaped so it cannot add Markdown or HTML, and ``@`` cannot mention
anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import Verdict
from gatekeeper.reporters._common import (
    EXPIRING_SOON_DAYS,
    Item,
    collect,
    first_line,
    sorted_rules,
    truncate,
    waivers_needing_attention,
)
from gatekeeper.reporters.base import RenderOptions, Reporter

#: A GitHub comment holds 65,536 characters; stay well under it.
COMMENT_LIMIT = 60_000
TOP_FINDINGS = 10
_ICON = {"pass": "✅", "fail": "❌", "error": "⛔", "warn": "⚠️", "waived": "➖", "skipped": "⏭️"}
_SEVERITY_ICON = {"critical": "🟣", "high": "🔴", "medium": "🟠", "low": "🟡", "info": "⚪"}
_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def escape(text: str) -> str:
    """Inline Markdown for untrusted text: one line, no markup, no HTML, no @mentions."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "&#64;")


def code(text: str, *, cell: bool = False) -> str:
    """``text`` as an inline code span; ``cell``: inside a table, where ``|`` must be escaped."""
    text = " ".join(text.split()) or " "
    if cell:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def link(item: Item, options: RenderOptions) -> str:
    loc = item.location
    if loc is None:
        return "(no file)"
    label = f"{loc.path}:{loc.line}" if loc.line else loc.path
    if not loc.exact:
        label += " (the check's input)"
    target = quote(loc.path, safe="/") + (f"#L{loc.line}" if loc.line else "")
    if options.link_base:
        target = options.link_base.rstrip("/") + "/" + target
    return f"[{escape(label)}]({target})"


@dataclass
class Block:
    """A section: lines always shown, then items while the budget lasts, then an "N more" line."""

    head: list[str]
    items: list[str] = field(default_factory=list)
    more: str = "_… and {n} more (see the JSON, SARIF or HTML report)_"
    tail: list[str] = field(default_factory=list)
    hidden: int = 0  # items left out before fitting, counted in the "N more" line


def fit(blocks: list[Block], limit: int) -> str:
    """Join the blocks within ``limit`` UTF-8 bytes, dropping items (with a count) when needed."""

    def size(lines: list[str]) -> int:
        return sum(len(line.encode("utf-8")) + 1 for line in lines)

    reserve = 200 * len(blocks)  # room for each block's "N more" line
    used = sum(size(b.head) + size(b.tail) for b in blocks) + reserve
    full = True
    out: list[str] = []
    for block in blocks:
        out.extend(block.head)
        shown = 0
        for line in block.items:
            cost = size([line])
            if not full or used + cost > limit:
                full = False
                break
            out.append(line)
            used += cost
            shown += 1
        if shown < len(block.items) or block.hidden:
            out.append(block.more.format(n=len(block.items) - shown + block.hidden))
        out.extend(block.tail)
    text = "\n".join(out).rstrip("\n") + "\n"
    if len(text.encode("utf-8")) > limit:  # heads alone are too big: cut hard, on a line
        cut = text.encode("utf-8")[: max(limit - 100, 0)].decode("utf-8", "ignore")
        text = cut[: cut.rfind("\n") + 1] + "_… truncated to fit the size limit_\n"
    return text


def blocks(verdict: Verdict, options: RenderOptions, *, top: int | None, title: str = "gatekeeper") -> list[Block]:
    """The sections of the summary; ``top`` caps the findings listed (None: all that fit)."""
    outcome = verdict.outcome
    audit = "" if verdict.enforced else " (audit mode: reported, not enforced)"
    head = [f"## {_ICON[outcome]} {escape(title)}: **{outcome.upper()}**{audit}", ""]
    facts = [f"policy {code(verdict.policy.name)} {code(verdict.policy.digest[:19] + '…')}", f"mode {verdict.mode}"]
    subject = verdict.subject
    if subject.commit:
        facts.append(f"commit {code(subject.commit[:12])}" + (f" on {code(subject.branch)}" if subject.branch else ""))
    head += [" · ".join(facts), ""]
    if verdict.summary:
        head += [f"> {escape(verdict.summary)}", ""]
    out = [Block(head)]

    rules = [r for r in sorted_rules(verdict.rules) if r.outcome in ("error", "fail", "warn")]
    passed = sum(r.outcome == "pass" for r in verdict.rules)
    waived = sum(r.outcome == "waived" for r in verdict.rules)
    rest = f"{passed} rule(s) passed, {waived} waived."
    not_applied = sum(r.outcome == "skipped" for r in verdict.rules)
    if not_applied:
        rest += f" {not_applied} skipped (their when: conditions are false)."
    if rules:
        rows = []
        for rule in rules:
            mode = "" if rule.mode in ("enforce", rule.outcome) else f" ({rule.mode})"
            rows.append(
                f"| {_ICON[rule.outcome]} {rule.outcome}{mode} | {code(rule.id, cell=True)} "
                f"| {escape(truncate(rule.reason, 300))} | {len(rule.findings)} |"
            )
        table = ["### Rules that did not pass", "", "| Outcome | Rule | Why | Findings |", "|---|---|---|---:|"]
        out.append(Block(table, rows, "| … | {n} more rule(s) | | |", ["", rest, ""]))
    else:
        out.append(Block([f"All rules passed or were waived: {rest}", ""]))

    counted = [i for i in collect(verdict) if i.counted_by]
    if counted:
        shown = counted if top is None else counted[:top]
        lines = []
        for item in shown:
            finding = item.finding
            sev = finding.severity.value
            lines.append(
                f"- {_SEVERITY_ICON[sev]} **{sev}** {link(item, options)} {code(finding.id)} "
                f"{escape(truncate(first_line(finding.message), 200))} (rule {', '.join(item.counted_by)})"
            )
        heading = ["### Top findings" if top is not None else "### Findings", ""]
        more = "- _… and {n} more finding(s) (see the JSON, SARIF or HTML report)_"
        out.append(Block(heading, lines, more, [""], hidden=len(counted) - len(shown)))

    attention = waivers_needing_attention(verdict)
    if attention:
        lines = []
        for waiver, left in attention:
            if waiver.status == "active":
                when = f"expires {waiver.expires} (in {left} day(s))"
                icon = "⏳"
            elif waiver.status == "expired":
                when, icon = f"**expired** {waiver.expires}", "⛔"
            else:
                when, icon = f"**stale** (matched nothing), expires {waiver.expires}", "🧹"
            lines.append(
                f"- {icon} {code(waiver.rule)} {when}, owner {escape(waiver.owner)}: {escape(truncate(waiver.reason, 200))}"
            )
        heading = [f"### Waivers needing attention (expired, stale, or expiring within {EXPIRING_SOON_DAYS} days)", ""]
        out.append(Block(heading, lines, "- _… and {n} more waiver(s)_", [""]))
    errors = [c for c in verdict.checks if c.status != "ok"]
    if errors:
        lines = [
            f"- {code(c.name)} ({escape(c.uses)}) {c.status}: {escape(truncate(c.error or '', 300))}" for c in errors
        ]
        out.append(Block(["### Checks that did not run cleanly", ""], lines, "- _… and {n} more check(s)_", [""]))
    return out


def render_markdown(verdict: Verdict, options: RenderOptions) -> str:
    return fit(blocks(verdict, options, top=TOP_FINDINGS), COMMENT_LIMIT)


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [
        Reporter("markdown", render_markdown, "A pull-request comment: outcome, failing rules, top findings.", "md")
    ]
