"""``uses: sarif``: findings from any SARIF 2.1.0 log (CodeQL, semgrep, ESLint, bandit, clang-tidy...).

Severity: a ``security-severity`` property (on the result or its rule, as GitHub code
scanning reads it) wins: >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low, else info.
Otherwise the SARIF level (result, else the rule's defaultConfiguration, else the
spec's default ``warning``): error -> high, warning -> medium, note -> low, none -> info.

Results of kind pass/notApplicable are not findings. Results the producing tool marked
as suppressed (a suppression with status accepted, the default) are left out and counted (``suppressed: include`` keeps them). A run
with no ``results`` array did not report results, which is an error, not zero findings.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.checkers._cache_keys import sarif_inputs
from gatekeeper.checkers._findings import Fingerprinter, repo_path, severity_metrics
from gatekeeper.checkers._ingest import parse_json, read_report
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, ToolInfo

LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
NOT_FINDINGS = {"pass", "notApplicable"}


class SarifOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reports: list[str] = Field(min_length=1, description="SARIF files (globs) from earlier pipeline steps.")
    tools: list[str] = Field(default_factory=list, description="Only results of these tools (driver names).")
    suppressed: Literal["exclude", "include"] = Field(
        default="exclude", description="Results the producing tool marked suppressed: left out (counted) or kept."
    )


@dataclass
class SarifLog:
    """What one SARIF file said, normalised."""

    findings: list[Finding] = field(default_factory=list)
    tools: dict[str, str | None] = field(default_factory=dict)
    results: int = 0
    suppressed: int = 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_suppressed(result: dict[str, Any]) -> bool:
    """Suppressed per SARIF: a suppression whose status is accepted (the default); underReview or rejected is not."""
    return any(_dict(s).get("status", "accepted") == "accepted" for s in _list(result.get("suppressions")))


def _security_severity(*bags: dict[str, Any]) -> Severity | None:
    for bag in bags:
        raw = _dict(bag.get("properties")).get("security-severity")
        if raw is None:
            continue
        try:
            score = float(raw)
        except (TypeError, ValueError):
            continue
        if score >= 9.0:
            return Severity.CRITICAL
        if score >= 7.0:
            return Severity.HIGH
        if score >= 4.0:
            return Severity.MEDIUM
        return Severity.LOW if score > 0 else Severity.INFO
    return None


def _message(result: dict[str, Any], rule: dict[str, Any]) -> str:
    message = _dict(result.get("message"))
    text = message.get("text")
    if not isinstance(text, str) and isinstance(message.get("id"), str):
        template = _dict(_dict(rule.get("messageStrings")).get(message["id"])).get("text")
        text = template if isinstance(template, str) else message["id"]
    if not isinstance(text, str):
        text = _dict(rule.get("shortDescription")).get("text") or ""
    for index, argument in enumerate(_list(message.get("arguments"))):
        text = text.replace("{" + str(index) + "}", str(argument))
    return " ".join(str(text).split())


class _Locator:
    """Turns an artifactLocation into a repository path, following uriBaseId and artifact indexes."""

    def __init__(self, ctx: CheckContext, run: dict[str, Any]):
        self.ctx = ctx
        self.bases: dict[str, Any] = {k: _dict(v).get("uri") for k, v in _dict(run.get("originalUriBaseIds")).items()}
        self.artifacts: list[Any] = _list(run.get("artifacts"))

    def path(self, location: dict[str, Any]) -> tuple[str | None, str]:
        artifact = _dict(location.get("artifactLocation"))
        uri = artifact.get("uri")
        index = artifact.get("index")
        if not isinstance(uri, str) and isinstance(index, int) and 0 <= index < len(self.artifacts):
            artifact = _dict(_dict(self.artifacts[index]).get("location"))
            uri = artifact.get("uri")
        if not isinstance(uri, str) or not uri:
            return None, ""
        base = self.bases.get(str(artifact.get("uriBaseId")))
        raw = urllib.parse.urljoin(base, uri) if isinstance(base, str) and base.startswith("file:") else uri
        parsed = urllib.parse.urlparse(raw)
        if parsed.scheme == "file":
            local = urllib.parse.unquote(parsed.path)
        elif parsed.scheme and len(parsed.scheme) > 1:  # http(s) and friends: not a repository file
            return None, raw
        else:
            local = urllib.parse.unquote(raw)
        if not Path(local).is_absolute():
            local = str(Path(local))  # drop ./ segments; ../ stays and is refused below
        return repo_path(self.ctx, local), raw


def parse_sarif(ctx: CheckContext, data: Any, *, tools: list[str] = (), suppressed: str = "exclude") -> SarifLog:  # type: ignore[assignment]
    """Normalise a SARIF 2.1.0 log; ``CheckError`` with a one-line reason when it is not one."""
    if not isinstance(data, dict):
        raise CheckError("not a SARIF log (the top level is not an object)")
    version = data.get("version")
    if version != "2.1.0":
        raise CheckError(f"SARIF version {version!r} is not supported; only 2.1.0 logs are read")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise CheckError("not a SARIF log ('runs' is not a list)")
    if not runs:
        raise CheckError("the SARIF log has no runs: no tool reported anything")
    log = SarifLog()
    for number, run in enumerate(runs, start=1):
        run = _dict(run)
        driver = _dict(_dict(run.get("tool")).get("driver"))
        name = str(driver.get("name") or f"run {number}")
        if tools and name not in tools:
            continue
        results = run.get("results")
        if not isinstance(results, list):
            why = (
                "has no results array (the tool reported no results)"
                if results is None
                else "has 'results' that is not a list"
            )
            raise CheckError(f"run {number} ({name}) {why}")
        log.tools[name] = str(driver["version"]) if driver.get("version") is not None else driver.get("semanticVersion")
        rules = [_dict(r) for r in driver.get("rules") or [] if isinstance(r, dict)]
        by_id = {str(r.get("id")): r for r in rules if r.get("id")}
        locator = _Locator(ctx, run)
        fingerprinter = Fingerprinter(ctx, f"sarif:{name}")
        for result in results:
            if not isinstance(result, dict):
                raise CheckError(f"run {number} ({name}): a result is not an object")
            if result.get("kind") in NOT_FINDINGS:
                continue
            log.results += 1
            if _is_suppressed(result) and suppressed == "exclude":
                log.suppressed += 1
                continue
            rule_ref = _dict(result.get("rule"))
            rule_index = result.get("ruleIndex", rule_ref.get("index"))
            rule_id = result.get("ruleId") or rule_ref.get("id")
            rule = by_id.get(str(rule_id), {})
            if not rule and isinstance(rule_index, int) and 0 <= rule_index < len(rules):
                rule = rules[rule_index]
                rule_id = rule_id or rule.get("id")
            rule_id = str(rule_id or "(no rule id)")
            level = result.get("level") or _dict(rule.get("defaultConfiguration")).get("level") or "warning"
            severity = _security_severity(result, rule)
            props = {"tool": name}
            if severity is None:
                severity = LEVELS.get(str(level))
                if severity is None:
                    severity, props["unmapped_level"] = Severity.MEDIUM, str(level)
            if result.get("kind") == "informational":
                severity = Severity.INFO
            locations = _list(result.get("locations"))
            physical = _dict(_dict(locations[0]).get("physicalLocation")) if locations else {}
            path, raw_uri = locator.path(physical)
            if raw_uri and path is None:
                props["location"] = raw_uri
            region = _dict(physical.get("region"))
            line = region.get("startLine") if isinstance(region.get("startLine"), int) else None
            column = region.get("startColumn") if isinstance(region.get("startColumn"), int) else None
            tags = _dict(rule.get("properties")).get("tags")
            cwes = sorted({m.upper() for t in tags or [] for m in re.findall(r"cwe-\d+", str(t).lower())})
            if cwes:
                props["cwe"] = ",".join(c.replace("CWE-0", "CWE-").lstrip() for c in cwes)
            if isinstance(rule.get("helpUri"), str):
                props["url"] = rule["helpUri"]
            partial = _dict(result.get("partialFingerprints")) or _dict(result.get("fingerprints"))
            stable = (  # the tool's own fingerprints, without the path: a moved file keeps them
                fingerprinter.numbered(rule_id, *(f"{k}={partial[k]}" for k in sorted(partial)))
                if partial
                else fingerprinter(rule_id, path, line)
            )
            log.findings.append(
                Finding(
                    id=rule_id, severity=severity, message=_message(result, rule), path=path, line=line,
                    column=column, fingerprint=stable, properties=props,
                )
            )  # fmt: skip
    return log


def sarif_output(ctx: CheckContext, data: Any, inputs: list[InputFile], tool: str) -> CheckOutput:
    """A checker's result from its tool's SARIF output (bandit and semgrep ingest SARIF this way)."""
    log = parse_sarif(ctx, data)
    version = next((v for v in log.tools.values() if v), None)
    notes = [f"{log.suppressed} result(s) suppressed by {tool} were left out"] if log.suppressed else []
    metrics = severity_metrics(log.findings)
    metrics["suppressed"] = float(log.suppressed)
    return CheckOutput(
        tool=ToolInfo(name=tool, version=version), inputs=inputs, findings=log.findings, metrics=metrics, notes=notes
    )


def run(ctx: CheckContext, options: SarifOptions) -> CheckOutput:
    files: list[Path] = []
    for pattern in options.reports:
        matched = sorted(p for p in ctx.root.glob(pattern) if p.is_file())
        if not matched:
            raise CheckError(f"report {pattern!r} matches no file; did the step that writes it run?")
        files += [m for m in matched if m not in files]  # a file two globs match is read once
    findings, inputs, notes = [], [], []
    tools: dict[str, str | None] = {}
    results = suppressed = 0
    for file in files:
        path, text = read_report(ctx, str(file))
        shown = ctx.relpath(path)
        try:
            log = parse_sarif(ctx, parse_json(text, shown), tools=options.tools, suppressed=options.suppressed)
        except CheckError as exc:
            message = str(exc)
            raise CheckError(message if message.startswith(shown) else f"{shown}: {message}") from None
        findings += log.findings
        tools.update(log.tools)
        results += log.results
        suppressed += log.suppressed
        inputs.append(ctx.input_file(path))
    if options.tools and not tools:
        raise CheckError(f"no run of {', '.join(options.tools)} in {', '.join(ctx.relpath(f) for f in files)}")
    if suppressed:
        notes.append(f"{suppressed} result(s) suppressed by the producing tool were left out")
    names = sorted(tools)
    tool = ToolInfo(name=names[0], version=tools[names[0]]) if len(names) == 1 else ToolInfo(name="sarif")
    if len(names) > 1:
        notes.append("tools: " + ", ".join(f"{n} {tools[n] or ''}".strip() for n in names))
    metrics = severity_metrics(findings)
    metrics.update({"results": float(results), "suppressed": float(suppressed), "reports": float(len(files))})
    return CheckOutput(tool=tool, inputs=inputs, findings=findings, metrics=metrics, notes=notes)


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    description = "Findings from any SARIF 2.1.0 log an earlier step produced."
    return [Checker("sarif", run, SarifOptions, description, cache_inputs=sarif_inputs)]
