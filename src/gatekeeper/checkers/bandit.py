"""``uses: bandit``: run bandit on the repository, or read a bandit JSON report.

Severity mapping (bandit -> gatekeeper): LOW -> low, MEDIUM -> medium, HIGH -> high,
UNDEFINED or anything else -> medium, flagged in the finding's properties.
Files bandit could not parse (its ``errors`` array) are gaps in evidence: by
default they make the check an error (``unparsed_files: error``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.checkers._findings import Fingerprinter, repo_path, severity_metrics, shown_path
from gatekeeper.checkers._ingest import parse_json, read_report
from gatekeeper.checkers._subprocess import find_tool, run_tool
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.checkers.sarif import sarif_output
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, ToolInfo

SEVERITY = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
DEFAULT_EXCLUDES = [
    ".git",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "node_modules",
    "build",
    "dist",
    ".gatekeeper",
    "__pycache__",
]


class BanditOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(
        default_factory=lambda: ["."], description="Files or folders to scan, from the repository root."
    )
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDES), description="Paths or globs bandit skips."
    )
    skip: list[str] = Field(default_factory=list, description="Bandit test ids not to run, e.g. B101.")
    severity: Literal["low", "medium", "high"] = Field(default="low", description="Lowest bandit severity to report.")
    confidence: Literal["low", "medium", "high"] = Field(
        default="low", description="Lowest bandit confidence to report."
    )
    report: str | None = Field(default=None, description="Read this bandit JSON report instead of running bandit.")
    baseline: str | None = Field(
        default=None, description="A bandit JSON report of accepted findings; only findings not in it are reported."
    )
    unparsed_files: Literal["error", "warn"] = Field(
        default="error", description="Files bandit could not parse: an error (default) or a note."
    )


def run(ctx: CheckContext, options: BanditOptions) -> CheckOutput:
    if options.report is not None:
        path, text = read_report(ctx, options.report)
        data = parse_json(text, ctx.relpath(path))
        if isinstance(data, dict) and "runs" in data:  # the tool's SARIF output
            return sarif_output(ctx, data, [ctx.input_file(path)], "bandit")
        return _normalise(ctx, data, options, [ctx.input_file(path)], ToolInfo(name="bandit"), scanned_inputs=False)

    for entry in options.paths:
        if not ctx.resolve(entry).exists():
            raise CheckError(f"path {entry!r} does not exist in the repository (bandit 'paths' option)")
    exe = find_tool("bandit", "bandit")
    version_run = run_tool([exe, "--version"], ctx)
    version = version_run.stdout.split()[1] if len(version_run.stdout.split()) > 1 else None
    argv = [
        exe,
        "-r",
        "-f",
        "json",
        "-q",
        "--severity-level",
        options.severity,
        "--confidence-level",
        options.confidence,
    ]
    if options.exclude:
        argv += ["-x", ",".join(options.exclude)]
    if options.skip:
        argv += ["-s", ",".join(options.skip)]
    baseline: list[InputFile] = []
    if options.baseline is not None:
        baseline_path = ctx.resolve(options.baseline)
        if not baseline_path.is_file():
            raise CheckError(f"bandit baseline {options.baseline} not found in the repository")
        argv += ["-b", str(baseline_path)]
        baseline = [ctx.input_file(baseline_path)]
    argv += ["--", *options.paths]
    ctx.progress(f"bandit on {', '.join(options.paths)}")
    result = run_tool(argv, ctx, ok_codes=(0, 1))
    data = parse_json(result.stdout, "bandit output")
    output = _normalise(ctx, data, options, [], ToolInfo(name="bandit", version=version), scanned_inputs=True)
    if baseline and output.status == "ok" and output.inputs:  # a scan of nothing stays an error
        output = output.model_copy(update={"inputs": [*output.inputs, *baseline]})
    return output


def _normalise(
    ctx: CheckContext,
    data: Any,
    options: BanditOptions,
    inputs: list[InputFile],
    tool: ToolInfo,
    *,
    scanned_inputs: bool,
) -> CheckOutput:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise CheckError("not a bandit JSON report (no 'results' list)")
    notes: list[str] = []
    errors = data.get("errors") or []
    unparsed = sorted({shown_path(ctx, str(e.get("filename", "?"))) for e in errors if isinstance(e, dict)})
    if unparsed:
        message = f"bandit could not scan {len(unparsed)} file(s): {', '.join(unparsed[:5])}" + (
            " ..." if len(unparsed) > 5 else ""
        )
        if options.unparsed_files == "error":
            return CheckOutput(
                status="error", error=message + " (set unparsed_files: warn to accept the gap)", tool=tool
            )
        notes.append(message)

    if scanned_inputs:
        scanned = sorted(k for k in (data.get("metrics") or {}) if k != "_totals")
        inputs = [ctx.input_file(name) for name in scanned if ctx.resolve(name).is_file()]

    findings: list[Finding] = []
    fingerprint = Fingerprinter(ctx, "bandit")
    for item in sorted(
        data["results"], key=lambda r: (str(r.get("filename")), r.get("line_number") or 0, str(r.get("test_id")))
    ):
        if not isinstance(item, dict):
            raise CheckError("bandit report: a result is not an object")
        path = repo_path(ctx, str(item.get("filename", "")))
        line = item.get("line_number") if isinstance(item.get("line_number"), int) else None
        raw = str(item.get("issue_severity", "UNDEFINED")).upper()
        props = {"confidence": str(item.get("issue_confidence", "")).lower()}
        if path is None and item.get("filename"):
            props["location"] = str(item["filename"])  # outside the repository: never a finding's path
        if raw not in SEVERITY:
            props["unmapped_severity"] = raw
        cwe = item.get("issue_cwe")
        if isinstance(cwe, dict) and cwe.get("id"):
            props["cwe"] = f"CWE-{cwe['id']}"
        if item.get("more_info"):
            props["url"] = str(item["more_info"])
        test_id = str(item.get("test_id", "bandit"))
        findings.append(
            Finding(
                id=test_id,
                severity=SEVERITY.get(raw, Severity.MEDIUM),
                message=str(item.get("issue_text", "")),
                path=path,
                line=line,
                column=(item["col_offset"] + 1) if isinstance(item.get("col_offset"), int) else None,
                fingerprint=fingerprint(test_id, path, line),
                properties=props,
            )
        )
    metrics = severity_metrics(findings)
    metrics.update({"files_scanned": float(len(inputs)), "unparsed_files": float(len(unparsed))})
    return CheckOutput(tool=tool, inputs=inputs, findings=findings, metrics=metrics, notes=notes)


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker("bandit", run, BanditOptions, "Python security linter (runs bandit, or reads its JSON report).", "1")
    ]
