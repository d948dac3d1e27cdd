"""``--format junit``: the verdict as a JUnit XML test report, one test case per rule.

GitLab (``artifacts:reports:junit``), Jenkins (``junit``), CircleCI (``store_test_results``) and
Azure Pipelines (``PublishTestResults``) all show it as a test run:

- ``pass`` and ``warn`` rules pass (a warn rule does not block; its reason is in
  ``system-out``);
- ``fail`` and ``error`` rules have a ``<failure>`` (``type`` says which), with the reason as
  message and the counted findings as text;
- ``waived`` rules, and rules not enforced (audit mode), are ``<skipped>``.

The document validates against the Ant/Jenkins JUnit XSD: one ``<testsuites>`` holding one
``<testsuite>`` with every required attribute, ``<properties>`` (policy, digest, outcome,
commit), ``<system-out>`` and ``<system-err>``. Characters XML 1.0 cannot hold are replaced
with U+FFFD.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from lxml import etree

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import RuleResult, Verdict
from gatekeeper.reporters._common import first_line, truncate
from gatekeeper.reporters.base import RenderOptions, Reporter

LISTED = 50  # findings listed in a failure's text
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _token(text: str) -> str:
    """An ``xs:token`` value: no line breaks or tabs, single spaces, not empty."""
    return " ".join(xml_text(text).split()) or "-"


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _utc(moment: datetime) -> str:
    """An ISO 8601 time without a zone, as the XSD wants: UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _state(rule: RuleResult, verdict: Verdict) -> str:
    if rule.outcome in ("waived", "skipped") or not verdict.enforced or rule.mode == "audit":
        return "skipped"
    return "failure" if rule.outcome in ("fail", "error") else "pass"


def _findings_text(rule: RuleResult) -> str:
    lines = []
    for finding in rule.findings[:LISTED]:
        where = finding.path or "(no file)"
        if finding.line:
            where += f":{finding.line}"
        lines.append(f"{where}  {finding.id} [{finding.severity.value}] {first_line(finding.message)}")
    if len(rule.findings) > LISTED:
        lines.append(f"... and {len(rule.findings) - LISTED} more (see the JSON or SARIF report)")
    if rule.waived:
        lines.append(f"{len(rule.waived)} finding(s) waived")
    return "\n".join(lines)


def build_junit(verdict: Verdict) -> etree._Element:
    durations = {c.name: c.duration_s for c in verdict.checks}
    states = [_state(rule, verdict) for rule in verdict.rules]
    elapsed = (verdict.finished_at - verdict.started_at).total_seconds()
    root = etree.Element("testsuites")
    suite = etree.SubElement(
        root,
        "testsuite",
        name=_token(f"gatekeeper {verdict.policy.name}"),
        package="gatekeeper",
        id="0",
        timestamp=_utc(verdict.started_at),
        hostname="localhost",
        tests=str(len(verdict.rules)),
        failures=str(states.count("failure")),
        errors="0",
        skipped=str(states.count("skipped")),
        time=_seconds(elapsed),
    )
    properties = etree.SubElement(suite, "properties")
    facts = {
        "gatekeeper.outcome": verdict.outcome,
        "gatekeeper.enforced": str(verdict.enforced).lower(),
        "gatekeeper.mode": verdict.mode,
        "gatekeeper.policy": verdict.policy.name,
        "gatekeeper.policy.digest": verdict.policy.digest,
        "gatekeeper.version": verdict.gatekeeper_version,
        "gatekeeper.commit": verdict.subject.commit,
        "gatekeeper.branch": verdict.subject.branch,
    }
    for name, value in facts.items():
        if value:
            etree.SubElement(properties, "property", name=name, value=xml_text(value))
    classname = _token(f"gatekeeper.{verdict.policy.name}")
    out = [verdict.summary]
    for rule, state in zip(verdict.rules, states, strict=True):
        time = sum(durations.get(name, 0.0) for name in rule.checks)
        case = etree.SubElement(suite, "testcase", name=_token(rule.id), classname=classname, time=_seconds(time))
        mode = "" if rule.mode == "enforce" else f" ({rule.mode} mode)"
        if state == "failure":
            failure = etree.SubElement(
                case, "failure", message=xml_text(truncate(rule.reason, 1000)), type=f"gatekeeper.{rule.outcome}"
            )
            failure.text = xml_text(f"{rule.outcome}{mode}: {rule.reason}\n{_findings_text(rule)}".rstrip("\n"))
        elif state == "skipped":
            why = (
                rule.outcome
                if rule.outcome in ("waived", "skipped")
                else f"not enforced (audit): would be {rule.outcome}"
            )
            etree.SubElement(case, "skipped", message=xml_text(f"{why}: {truncate(rule.reason, 1000)}"))
        if rule.outcome == "warn" or state == "skipped":
            out.append(f"{rule.id}: {rule.outcome}{mode}: {rule.reason}")
            if rule.findings:
                out.append(_findings_text(rule))
    for check in verdict.checks:
        if check.status != "ok":
            out.append(f"check {check.name} ({check.uses}) {check.status}: {check.error or ''}")
    etree.SubElement(suite, "system-out").text = xml_text("\n".join(out))
    etree.SubElement(suite, "system-err").text = ""
    return root


def render_junit(verdict: Verdict, options: RenderOptions) -> str:
    body = etree.tostring(build_junit(verdict), pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [
        Reporter("junit", render_junit, "JUnit XML, one test case per rule (GitLab, Jenkins, Azure, CircleCI).", "xml")
    ]
