"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and any SARIF viewer.

One result per finding of every check. What GitHub code scanning needs beyond the schema:

- ``tool.driver.rules``: one rule per ``<checker>/<finding id>`` (``bandit/B602``), each with
  ``shortDescription``, ``fullDescription``, ``help`` and, for security findings,
  ``properties.security-severity`` (the highest of its results) and the ``security`` tag;
- each result has a message, exactly one location relative to the repository root
  (``uriBaseId: %SRCROOT%``, 1-based ``startLine``/``startColumn``), ``partialFingerprints``
  from the finding's stable fingerprint, and ``level`` from its severity;
- ``automationDetails.id`` (GitHub's "category"): ``RenderOptions.sarif_category``, else the
  variable ``GATEKEEPER_SARIF_CATEGORY``, else ``gatekeeper/<policy name>/``;
- waived findings stay, marked with an accepted external ``suppressions`` entry.

A finding without a file in the repository is located at its check's first input file,
line 1; one whose check read no file has no location (GitHub then rejects the result, which
no built-in checker produces: a check that read nothing is an error, not a finding).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import Severity, Verdict
from gatekeeper.reporters._common import Item, collect, first_line, truncate
from gatekeeper.reporters.base import RenderOptions, Reporter

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
CATEGORY_ENV = "GATEKEEPER_SARIF_CATEGORY"
FINGERPRINT_KEY = "gatekeeper/v1"
#: GitHub code scanning accepts at most 25,000 results per run; the most severe are kept.
MAX_RESULTS = 25_000

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_LEVEL_RANK = {"none": 0, "note": 1, "warning": 2, "error": 3}
_CWE = re.compile(r"CWE-?(\d+)", re.IGNORECASE)


def category(verdict: Verdict, options: RenderOptions) -> str:
    """``automationDetails.id``: the option, the environment, or ``gatekeeper/<policy>/``."""
    chosen = options.sarif_category or os.environ.get(CATEGORY_ENV, "").strip()
    return chosen or f"gatekeeper/{verdict.policy.name}/"


def rule_id(item: Item) -> str:
    return f"{item.uses}/{item.finding.id}"


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _location(item: Item) -> list[dict[str, Any]]:
    loc = item.location
    if loc is None:
        return []
    region: dict[str, Any] = {"startLine": loc.line or 1}
    if loc.column:
        region["startColumn"] = loc.column
    physical = {"artifactLocation": {"uri": _uri(loc.path), "uriBaseId": "%SRCROOT%"}, "region": region}
    return [{"physicalLocation": physical}]


def _justification(item: Item, verdict: Verdict) -> str:
    waivers = [w for w in verdict.waivers if w.rule in item.waived_by and w.status == "active"]
    if not waivers:
        return f"waived for rule(s) {', '.join(item.waived_by)}"
    return "; ".join(f"waived for rule {w.rule} by {w.owner} until {w.expires}: {w.reason}" for w in waivers)


def _result(item: Item, index: int, verdict: Verdict) -> dict[str, Any]:
    finding = item.finding
    properties: dict[str, Any] = {"severity": finding.severity.value, "check": item.check_name}
    if item.security:
        properties["security-severity"] = SECURITY_SEVERITY[finding.severity]
    if item.counted_by:
        properties["gateRules"] = list(item.counted_by)
    if item.waived_by:
        properties["waivedBy"] = list(item.waived_by)
    if item.location is not None and not item.location.exact:
        properties["locationNote"] = "the finding has no file in the repository; shown at its check's input file"
    properties.update({f"tool/{k}": v for k, v in sorted(finding.properties.items())})
    result: dict[str, Any] = {
        "ruleId": rule_id(item),
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message.strip() or finding.id},
        "locations": _location(item),
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    if not result["locations"]:
        del result["locations"]
    if item.suppressed:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": _justification(item, verdict)}
        ]
    return result


def _descriptor(rid: str, items: list[Item]) -> dict[str, Any]:
    first = items[0]
    finding = first.finding
    lines = {first_line(i.finding.message) for i in items}
    short = truncate(lines.pop(), 120) if len(lines) == 1 and first_line(finding.message) else ""
    short = short or f"{finding.id} ({first.uses})"
    checks = sorted({i.check_name for i in items if i.check_name})
    tool = first.check.tool if first.check and first.check.tool else None
    by = f"{tool.name} {tool.version or ''}".strip() if tool else first.uses
    full = f"{finding.id}, reported by {by} in check(s) {', '.join(checks) or '-'}."
    gate_rules = sorted({r for i in items for r in i.counted_by})
    waived_for = sorted({r for i in items for r in i.waived_by})
    status = []
    if gate_rules:
        status.append(f"Counted by gate rule(s) {', '.join(gate_rules)}.")
    if waived_for:
        status.append(f"Waived for gate rule(s) {', '.join(waived_for)}.")
    said = " ".join(status) or "Read by no gate rule."
    path = next((i.location.path for i in items if i.location and i.location.exact), "*")
    waiver = (
        f"waivers:\n  - rule: {json.dumps((gate_rules or waived_for or ['RULE'])[0], ensure_ascii=False)}\n"
        f"    match: {{finding: {json.dumps(finding.id, ensure_ascii=False)}, path: {json.dumps(path, ensure_ascii=False)}}}\n"
        "    reason: why this is acceptable\n    owner: team@example.com\n    expires: YYYY-MM-DD"
    )
    url = finding.properties.get("url", "")
    more = url if url.startswith(("https://", "http://")) else ""
    help_text = f"{said} To accept such a finding for a while, add a waiver to the policy:\n{waiver}"
    help_md = f"{said}\n\nTo accept such a finding for a while, add a waiver to the policy:\n\n```yaml\n{waiver}\n```"
    if more:
        help_text += f"\nMore: {more}"
        help_md += f"\n\nMore: <{more}>"
    descriptor: dict[str, Any] = {
        "id": rid,
        "name": re.sub(r"[^A-Za-z0-9]+", "_", rid).strip("_") or "finding",
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {
            "level": max((LEVEL[i.finding.severity] for i in items), key=lambda lv: _LEVEL_RANK[lv])
        },
    }
    if more:
        descriptor["helpUri"] = url
    properties: dict[str, Any] = {}
    tags: list[str] = []
    security = [i for i in items if i.security]
    if security:
        top = max(security, key=lambda i: i.finding.severity.rank).finding.severity
        properties["security-severity"] = SECURITY_SEVERITY[top]
        tags.append("security")
    for cwe in sorted({m.group(1) for i in items for m in _CWE.finditer(i.finding.properties.get("cwe", ""))}, key=int):
        tags.append(f"external/cwe/cwe-{int(cwe):03d}")
    if tags:
        properties["tags"] = tags
    if properties:
        descriptor["properties"] = properties
    return descriptor


def build_sarif(verdict: Verdict, options: RenderOptions) -> dict[str, Any]:
    items = collect(verdict)
    kept, dropped = items[:MAX_RESULTS], len(items) - MAX_RESULTS
    grouped: dict[str, list[Item]] = {}
    for item in kept:
        grouped.setdefault(rule_id(item), []).append(item)
    rule_ids = sorted(grouped)
    index = {rid: n for n, rid in enumerate(rule_ids)}
    notifications: list[dict[str, Any]] = []
    for check in verdict.checks:
        if check.status != "ok":
            level = "error" if check.status == "error" else "warning"
            text = f"check {check.name} ({check.uses}) is {check.status}: {check.error or 'no reason given'}"
            notifications.append({"level": level, "message": {"text": text}})
    if dropped > 0:
        text = f"{dropped} more finding(s) not included: GitHub accepts {MAX_RESULTS} results per run"
        notifications.append({"level": "warning", "message": {"text": text}})
    invocation: dict[str, Any] = {
        "executionSuccessful": all(c.status == "ok" for c in verdict.checks),
        "startTimeUtc": verdict.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endTimeUtc": verdict.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gatekeeper",
                "version": verdict.gatekeeper_version,
                "semanticVersion": verdict.gatekeeper_version,
                "rules": [_descriptor(rid, grouped[rid]) for rid in rule_ids],
            }
        },
        "automationDetails": {"id": category(verdict, options)},
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The root of the gated repository."}}},
        "invocations": [invocation],
        "results": [_result(item, index[rule_id(item)], verdict) for item in kept],
        "properties": {
            "outcome": verdict.outcome,
            "enforced": verdict.enforced,
            "mode": verdict.mode,
            "summary": verdict.summary,
            "policy": {"name": verdict.policy.name, "digest": verdict.policy.digest},
            "rules": [{"id": r.id, "outcome": r.outcome, "reason": r.reason} for r in verdict.rules],
        },
    }
    subject = verdict.subject
    if subject.commit and subject.repository and subject.repository.startswith(("https://", "http://")):
        provenance: dict[str, Any] = {"repositoryUri": subject.repository, "revisionId": subject.commit}
        if subject.branch:
            provenance["branch"] = subject.branch
        run["versionControlProvenance"] = [provenance]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(verdict: Verdict, options: RenderOptions) -> str:
    return json.dumps(build_sarif(verdict, options), indent=2, ensure_ascii=False) + "\n"


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("sarif", render_sarif, "SARIF 2.1.0 for GitHub code scanning and SARIF viewers.", "sarif")]
