"""A local plugin for the result cache tests: checkers that count their runs and declare their cache inputs.

``counter`` reads report files of lines ``SEVERITY ID [PATH]`` (one finding each, PATH being a
source file it also reads, through the context, for the finding's message) and reports findings
whose line number in the report is above ``skip_first``. Each run appends the check's name to the
file ``$GK_TEST_RUN_LOG`` names, so a test can tell a run from a cache hit. Its tool version is
``$GK_TEST_TOOL_VERSION`` (default 1.0), declared in its cache inputs like a real tool's.

``counter-external`` is the same, marked ``external`` (cached for the policy's ttl_external);
``counter-plain`` has no ``cache_inputs`` and is never cached.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper import CacheInputs, CheckContext, Checker, CheckError, CheckOutput, Finding, ToolInfo, hookimpl


class CounterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reports: list[str] = Field(default_factory=lambda: ["report.txt"])
    skip_first: int = 0
    status: Literal["ok", "error", "skipped"] = "ok"
    declare: Literal["all", "none", "not-the-reports", "raise", "wrong-type", "outside", "not-json"] = "all"
    sleep: float = 0.0


def _version() -> str:
    return os.environ.get("GK_TEST_TOOL_VERSION", "1.0")


def run(ctx: CheckContext, options: CounterOptions) -> CheckOutput:
    log = os.environ.get("GK_TEST_RUN_LOG")
    if log:
        with Path(log).open("a", encoding="utf-8") as out:
            out.write(f"{ctx.check}\n")
    if options.sleep:
        ctx.cancelled.wait(options.sleep)
    if options.status != "ok":
        return CheckOutput(status=options.status, error=f"told to be {options.status}")
    findings = []
    for report in options.reports:
        path = ctx.resolve(report)
        if not path.is_file():
            raise CheckError(f"{report} not found")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            parts = line.split()
            if number <= options.skip_first or len(parts) < 2:
                continue
            source = parts[2] if len(parts) > 2 else None
            message = f"{parts[1]} in {report}"
            if source is not None:
                target = ctx.resolve(source)
                text = target.read_text(encoding="utf-8").strip() if target.is_file() else "(missing)"
                message += f": {text}"
            findings.append(Finding(id=parts[1], severity=parts[0], message=message, path=source))
    return CheckOutput(
        tool=ToolInfo(name="counter", version=_version()),
        inputs=[ctx.input_file(report) for report in options.reports],
        findings=findings,
        metrics={"findings": float(len(findings))},
    )


def cache_inputs(ctx: CheckContext, options: CounterOptions) -> Any:
    if options.declare == "none":
        return None
    if options.declare == "raise":
        raise RuntimeError("cache_inputs broke")
    if options.declare == "wrong-type":
        return {"files": options.reports}
    if options.declare == "outside":
        return CacheInputs(files=["../elsewhere.txt"])
    if options.declare == "not-json":
        return CacheInputs(files=options.reports, extra={"when": object()})
    files = [] if options.declare == "not-the-reports" else options.reports
    return CacheInputs(files=files, tool=f"counter {_version()}")


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker("counter", run, CounterOptions, "Counts its runs (cache tests).", cache_inputs=cache_inputs),
        Checker(
            "counter-external",
            run,
            CounterOptions,
            "Counts its runs; asks the outside world (cache tests).",
            cache_inputs=cache_inputs,
            external=True,
        ),
        Checker("counter-plain", run, CounterOptions, "Counts its runs; never cached (cache tests)."),
    ]
