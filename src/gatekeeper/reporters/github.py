"""``--format github``: GitHub Actions workflow commands, and the Markdown job summary.

Annotations (``render_github``), one line each, written to stdout where the runner reads them:

- first one per rule that did not pass (``error`` for fail/error, ``warning`` for warn, and
  ``notice`` when the rule is not enforced: audit mode), with no file;
- then one per finding counted by a rule, most severe first, since GitHub shows only 10
  errors, 10 warnings and 10 notices per step: ``error`` for critical/high, ``warning`` for
  medium, ``notice`` for low/info, with ``file``, ``line``, ``col`` and ``title``.
  Waived findings are not annotated (the summary and SARIF list them).

Escaping follows the Actions toolkit: in the message ``%``, CR and LF become ``%25``, ``%0D``
and ``%0A``; in property values ``:`` and ``,`` also become ``%3A`` and ``%2C``. So no text from a
finding can end the line, start another command, or add a property.

The job summary (``render_summary``) is the Markdown report with every finding that fits
under GitHub's 1 MiB limit for a step's summary, then an "N more" line.
"""

from __future__ import annotations

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import RuleResult, Severity, Verdict
from gatekeeper.reporters import markdown
from gatekeeper.reporters._common import Item, collect, sorted_rules, truncate
from gatekeeper.reporters.base import RenderOptions, Reporter

#: GitHub rejects a step summary over 1 MiB; leave room for what other steps append.
SUMMARY_LIMIT = 1024 * 1024
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}
_RANK = {"error": 0, "warning": 1, "notice": 2}
MESSAGE_LIMIT = 4000  # a long message is cut: annotations are for pointing, the reports hold all


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line: ``::level k=v,k=v::message``."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def _rule_level(rule: RuleResult, verdict: Verdict) -> str:
    if not verdict.enforced or rule.mode == "audit":
        return "notice"
    return {"error": "error", "fail": "error", "warn": "warning"}.get(rule.outcome, "notice")


def _finding_line(item: Item) -> str:
    finding = item.finding
    rules = ", ".join(item.counted_by)
    title = f"{finding.id} [{finding.severity.value}] ({item.check_name}; rule {rules})"
    message = truncate(finding.message.strip() or finding.id, MESSAGE_LIMIT)
    loc = item.location
    if loc is not None and not loc.exact:
        message += "\n(no file in the repository: shown at the check's input file)"
    return command(
        LEVEL[finding.severity],
        message,
        file=loc.path if loc else None,
        line=loc.line if loc else None,
        col=loc.column if loc else None,
        title=title,
    )


def render_github(verdict: Verdict, options: RenderOptions) -> str:
    lines: list[tuple[int, str]] = []
    for rule in sorted_rules(verdict.rules):
        if rule.outcome in ("pass", "waived", "skipped"):
            continue
        level = _rule_level(rule, verdict)
        title = f"gatekeeper rule {rule.id}: {rule.outcome}"
        lines.append((_RANK[level], command(level, rule.reason, title=title)))
    for item in collect(verdict):
        if item.counted_by:
            lines.append((_RANK[LEVEL[item.finding.severity]], _finding_line(item)))
    lines.sort(key=lambda pair: pair[0])  # stable: rules first within a level, then by severity
    text = "\n".join(line for _, line in lines)
    return text + "\n" if text else ""


def render_summary(verdict: Verdict, options: RenderOptions, limit: int = SUMMARY_LIMIT) -> str:
    """The Markdown job summary: all findings that fit in ``limit`` bytes, then "N more"."""
    return markdown.fit(markdown.blocks(verdict, options, top=None), limit)


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("github", render_github, "GitHub Actions annotations (::error file=...::).", "txt")]
