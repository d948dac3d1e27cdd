"""``uses: coverage``: line and branch coverage from a Cobertura XML, LCOV or coverage.py JSON report.

The format is detected from the content (``format`` overrides it). Totals are counted
from the report's per-line entries, not its summary figures; rates are fractions 0..1.
A line listed several times for one file counts once. Report paths are mapped to
repository files; files that map to none are still counted (a note lists them), but a
report none of whose files is in the repository is an error, as is a report with no
measurable line: neither is evidence of anything, so never 0% or 100%.

Metrics: ``line_rate``, ``lines_valid``, ``lines_covered``, ``files`` (files with at
least one measurable line), ``min_file_line_rate``; ``branch_rate``, ``branches_valid``,
``branches_covered`` only when the report has branch data (a requirement on them is
then an error, never a silent pass); ``files_below_threshold`` with ``file_threshold``,
which also makes each file below it a medium finding.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.checkers._cache_keys import coverage_inputs
from gatekeeper.checkers._coverage_report import FORMAT_HELP, Format, Unit, load_coverage
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, Severity, fingerprint


class CoverageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    report: str = Field(description="The coverage report, from the repository root (e.g. coverage.xml, lcov.info).")
    format: Format = Field(default="auto", description=FORMAT_HELP)
    file_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Each file whose line rate (0..1) is below this becomes a medium finding.",
    )


def _rate(covered: int, valid: int) -> float:
    return covered / valid


def _below(unit: Unit, threshold: float) -> Finding:
    cov = unit.coverage
    properties = {"line_rate": f"{_rate(cov.covered, cov.valid):.4f}"}
    if unit.path is None:
        properties["location"] = unit.name  # not a repository file: never a finding's path
    return Finding(
        id="file-below-threshold",
        severity=Severity.MEDIUM,
        message=(
            f"{unit.name}: line rate {_rate(cov.covered, cov.valid):.4f} ({cov.covered} of {cov.valid} lines) "
            f"is below file_threshold {threshold:g}"
        ),
        path=unit.path,
        fingerprint=fingerprint("coverage", "file-below-threshold", unit.path or unit.name),
        properties=properties,
    )


def run(ctx: CheckContext, options: CoverageOptions) -> CheckOutput:
    coverage = load_coverage(ctx, options.report, options.format)
    measured = [u for u in coverage.units() if u.coverage.valid > 0]
    valid = sum(u.coverage.valid for u in measured)
    covered = sum(u.coverage.covered for u in measured)
    metrics = {
        "line_rate": _rate(covered, valid),
        "lines_valid": float(valid),
        "lines_covered": float(covered),
        "files": float(len(measured)),
        "min_file_line_rate": min(_rate(u.coverage.covered, u.coverage.valid) for u in measured),
    }
    branches = [b for u in measured for b in u.coverage.branches.values()]
    branches_valid = sum(v for _, v in branches)
    if branches_valid:
        branches_covered = sum(c for c, _ in branches)
        metrics.update(
            {
                "branch_rate": _rate(branches_covered, branches_valid),
                "branches_valid": float(branches_valid),
                "branches_covered": float(branches_covered),
            }
        )
    findings: list[Finding] = []
    if options.file_threshold is not None:
        threshold = options.file_threshold
        findings = [_below(u, threshold) for u in measured if _rate(u.coverage.covered, u.coverage.valid) < threshold]
        metrics["files_below_threshold"] = float(len(findings))
    return CheckOutput(
        tool=coverage.tool, inputs=[coverage.input], findings=findings, metrics=metrics, notes=coverage.notes
    )


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "coverage",
            run,
            CoverageOptions,
            "Line and branch coverage from a Cobertura, LCOV or coverage.py report.",
            cache_inputs=coverage_inputs,
        )
    ]
