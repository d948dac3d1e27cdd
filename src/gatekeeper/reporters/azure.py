"""``--format azure``: Azure Pipelines ``##vso[task.logissue]`` logging commands.

One line per rule that did not pass, then one per finding counted by a rule (most severe
first), written to stdout where the agent reads them. ``logissue`` knows only ``error`` and
``warning``: rules that fail or error and critical/high findings are errors, the rest warnings
(rules not enforced, in audit mode, are warnings too). Findings carry ``sourcepath``,
``linenumber``, ``columnnumber`` and ``code``.

Escaping is the one the agent's task library uses: in the message ``%``, CR and LF become
``%AZP25``, ``%0D`` and ``%0A``; property values also escape ``;`` (``%3B``) and ``]`` (``%5D``).
So no text from a finding can end the line, close the property list, or start a command.
"""

from __future__ import annotations

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import Severity, Verdict
from gatekeeper.reporters._common import collect, sorted_rules, truncate
from gatekeeper.reporters.base import RenderOptions, Reporter

MESSAGE_LIMIT = 4000
_ERROR = {Severity.CRITICAL, Severity.HIGH}


def escape_data(text: str) -> str:
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace("]", "%5D").replace(";", "%3B")


def logissue(kind: str, message: str, **properties: str | int | None) -> str:
    props = "".join(f"{key}={escape_property(str(value))};" for key, value in properties.items() if value is not None)
    return f"##vso[task.logissue type={kind};{props}]{escape_data(message)}"


def render_azure(verdict: Verdict, options: RenderOptions) -> str:
    lines: list[tuple[int, str]] = []
    for rule in sorted_rules(verdict.rules):
        if rule.outcome in ("pass", "waived", "skipped"):
            continue
        enforced = verdict.enforced and rule.mode != "audit"
        kind = "error" if enforced and rule.outcome in ("fail", "error") else "warning"
        message = f"gatekeeper rule {rule.id}: {rule.outcome}: {rule.reason}"
        lines.append((0 if kind == "error" else 1, logissue(kind, message, code=f"gatekeeper/{rule.id}")))
    for item in collect(verdict):
        if not item.counted_by:
            continue
        finding, loc = item.finding, item.location
        kind = "error" if finding.severity in _ERROR else "warning"
        message = f"{finding.id} [{finding.severity.value}] {truncate(finding.message.strip(), MESSAGE_LIMIT)}"
        message += f" (check {item.check_name}; rule {', '.join(item.counted_by)})"
        line = logissue(
            kind,
            message,
            sourcepath=loc.path if loc else None,
            linenumber=loc.line if loc else None,
            columnnumber=loc.column if loc else None,
            code=f"{item.uses}/{finding.id}",
        )
        lines.append((0 if kind == "error" else 1, line))
    lines.sort(key=lambda pair: pair[0])
    text = "\n".join(line for _, line in lines)
    return text + "\n" if text else ""


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("azure", render_azure, "Azure Pipelines ##vso[task.logissue] lines.", "txt")]
