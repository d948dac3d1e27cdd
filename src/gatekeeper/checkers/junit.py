"""``uses: junit``: test results from JUnit XML reports of any dialect, read in constant memory.

The reports are streamed with the hardened parser in ``_xml.py`` rather than loaded
with junitparser, whose whole-document load grows with the file (831 MiB for 500k
test cases, measured); the test suite checks this reader against junitparser on
every corpus file it can read.

What counts is what the report contains, not what its attributes claim: a suite
saying ``tests="6"`` with no test case in it has 0 tests (and a note says so).
An ``<error>``/``<failure>`` directly under a suite (a class that failed to load)
counts as one more errored/failed test named ``(suite)``. Outcome of a test case: an ``error`` child (or status error) beats a ``failure``
(or status fail/failed) beats ``skipped`` (or status disabled/notrun/skipped, or
``ignored="true"``). Reruns: surefire's ``flakyFailure``/``flakyError`` on a passing
case, or the same test repeated right after a failing attempt (pytest-rerunfailures),
make a test ``flaky``; ``rerunFailure``/``rerunError`` with a failure stay failed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.checkers._findings import repo_path
from gatekeeper.checkers._xml import iterparse, local_name, release
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, Severity, fingerprint

_SKIP_STATUS = {"disabled", "notrun", "not_run", "skipped", "skip", "ignored"}
_FAIL_STATUS = {"fail", "failed", "failure"}
_ERROR_STATUS = {"error", "errored"}
_RESULT_CHILDREN = {"failure", "error", "skipped", "flakyFailure", "flakyError", "rerunFailure", "rerunError"}


class JUnitOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reports: list[str] = Field(
        min_length=1, description="JUnit XML files (globs); a glob matching nothing is an error."
    )
    flaky: Literal["fail", "warn", "pass"] = Field(
        default="warn",
        description="Tests that passed on a rerun: counted as failed (fail), passed with a low finding (warn), "
        "or passed (pass).",
    )
    max_findings: int = Field(default=1000, ge=0, description="Failed tests listed as findings; all are counted.")


@dataclass
class Attempt:
    """One ``<testcase>`` element: a test, or one attempt of a rerun test."""

    key: tuple[str, str, str]
    name: str
    classname: str
    file: str | None
    line: int | None
    time: float
    outcome: Literal["passed", "failed", "error", "skipped"]
    flaky: bool
    message: str


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    duration: float = 0.0
    failures: list[Attempt] = field(default_factory=list)
    flaky: list[Attempt] = field(default_factory=list)
    claimed: int = 0
    bad_times: int = 0


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _attempt(case: Any, children: list[tuple[str, str]]) -> Attempt:
    attrs = case.attrib
    kinds = {kind for kind, _ in children}
    status = (attrs.get("status") or attrs.get("result") or "").strip().lower()
    if "error" in kinds or status in _ERROR_STATUS:
        outcome: Literal["passed", "failed", "error", "skipped"] = "error"
    elif "failure" in kinds or status in _FAIL_STATUS:
        outcome = "failed"
    elif "skipped" in kinds or status in _SKIP_STATUS or attrs.get("ignored", "").lower() == "true":
        outcome = "skipped"
    else:
        outcome = "passed"
    flaky = outcome == "passed" and bool(kinds & {"flakyFailure", "flakyError"})
    wanted = {
        "error": ("error",),
        "failed": ("failure",),
        "skipped": ("skipped",),
        "passed": ("flakyFailure", "flakyError"),
    }
    message = next((text for kind, text in children if kind in wanted[outcome]), "") or status
    name, classname = attrs.get("name", "") or "", attrs.get("classname", "") or ""
    line = attrs.get("line")
    return Attempt(
        key=(classname, name, attrs.get("file", "") or ""),
        name=name,
        classname=classname,
        file=attrs.get("file"),
        line=int(line) if line and line.strip().isdigit() else None,
        time=_float(attrs.get("time")) or 0.0,
        outcome=outcome,
        flaky=flaky,
        message=message,
    )


def _child_text(element: Any) -> str:
    message = element.get("message") or element.get("type") or ""
    if not message and element.text:
        message = element.text.strip()
    return " ".join(message.split())[:500]


def read_report(path: Path, shown: str, tally: Tally) -> None:
    """Stream one report into ``tally``; ``CheckError`` for anything that is not a JUnit report."""
    depth_in_case = 0
    children: list[tuple[str, str]] = []
    pending: Attempt | None = None
    seen_root = False

    def finish(attempt: Attempt) -> None:
        tally.counts[attempt.outcome] += 1
        tally.counts["total"] += 1
        if attempt.flaky:
            tally.flaky.append(attempt)
        if attempt.outcome in ("failed", "error"):
            tally.failures.append(attempt)

    for event, element in iterparse(path, shown):
        tag = local_name(element.tag)
        if not seen_root:
            seen_root = True
            if element.tag not in ("testsuites", "testsuite"):
                raise CheckError(
                    f"{shown}: not a JUnit report (root element <{element.tag}>, not <testsuites> or <testsuite>)"
                )
        if event == "start":
            if tag == "testcase":
                depth_in_case += 1
                children = []
            elif tag == "testsuite":
                tests = _float(element.get("tests"))
                tally.claimed += int(tests) if tests and tests > 0 and "testsuite" not in _ancestors(element) else 0
            continue
        if tag in _RESULT_CHILDREN and depth_in_case:
            children.append((tag, _child_text(element)))
        elif tag in ("error", "failure") and not depth_in_case:
            # The suite itself failed (a class that did not load, a setup that threw): one more failing test.
            suite = element.getparent()
            suite_name = (suite.get("name") if suite is not None else None) or "(unnamed suite)"
            outcome: Literal["failed", "error"] = "error" if tag == "error" else "failed"
            if pending is not None:
                finish(pending)
                pending = None
            finish(
                Attempt(
                    (suite_name, "(suite)", ""),
                    "(suite)",
                    suite_name,
                    None,
                    None,
                    0.0,
                    outcome,
                    False,
                    _child_text(element),
                )
            )
        elif tag == "testcase" and depth_in_case:
            depth_in_case -= 1
            attempt = _attempt(element, children)
            raw_time = _float(element.get("time"))
            if raw_time is not None and raw_time >= 0:
                tally.duration += raw_time
            elif element.get("time") is not None:
                tally.bad_times += 1
            rerun = pending is not None and pending.key == attempt.key and bool(attempt.name)
            if pending is not None and rerun and pending.outcome in ("failed", "error"):
                attempt.flaky = attempt.outcome == "passed"  # passed on a rerun after failing
            elif pending is not None:
                finish(pending)
            pending = attempt
            release(element)
        elif tag in ("testsuite", "testsuites"):
            release(element)
    if pending is not None:
        finish(pending)


def _ancestors(element: Any) -> set[str]:
    return {local_name(a.tag) for a in element.iterancestors()}


def run(ctx: CheckContext, options: JUnitOptions) -> CheckOutput:
    files: list[Path] = []
    for pattern in options.reports:
        matched = sorted(p for p in ctx.root.glob(pattern) if p.is_file())
        if not matched:
            raise CheckError(
                f"report {pattern!r} matches no file; a missing report is not '0 tests' (did the tests run?)"
            )
        files += [m for m in matched if m not in files]
    tally = Tally()
    inputs = []
    for file in files:
        shown = ctx.relpath(file)
        ctx.progress(f"reading {shown}")
        read_report(ctx.resolve(file), shown, tally)
        inputs.append(ctx.input_file(file))

    counts = tally.counts
    flaky = len(tally.flaky)
    failed, passed = counts["failed"], counts["passed"]
    if options.flaky == "fail":
        failed, passed = failed + flaky, passed - flaky
    metrics = {
        "total": float(counts["total"]),
        "passed": float(passed),
        "failed": float(failed),
        "errors": float(counts["error"]),
        "skipped": float(counts["skipped"]),
        "flaky": float(flaky),
        "duration_s": round(tally.duration, 3),
        "files": float(len(files)),
    }
    notes = []
    if tally.claimed and tally.claimed != counts["total"]:
        notes.append(
            f"the suites claim {tally.claimed} tests; the reports contain {counts['total']} (counted as found)"
        )
    if tally.bad_times:
        notes.append(f"{tally.bad_times} test case(s) with a negative or unreadable time were left out of duration_s")

    listed = tally.failures + (tally.flaky if options.flaky != "pass" else [])
    findings = [_finding(ctx, a, options) for a in listed[: options.max_findings]]
    if len(listed) > options.max_findings:
        notes.append(f"{len(listed) - options.max_findings} more failing or flaky tests are counted but not listed")
    return CheckOutput(inputs=inputs, findings=findings, metrics=metrics, notes=notes)


def _finding(ctx: CheckContext, attempt: Attempt, options: JUnitOptions) -> Finding:
    test_id = f"{attempt.classname}::{attempt.name}" if attempt.classname else attempt.name or "(unnamed test)"
    path = repo_path(ctx, attempt.file) if attempt.file else None
    properties: dict[str, str] = {"outcome": attempt.outcome}
    if attempt.file and path is None:
        properties["location"] = attempt.file
    if attempt.flaky:
        kind, severity = "flaky (passed on a rerun)", Severity.HIGH if options.flaky == "fail" else Severity.LOW
    else:
        kind, severity = ("error" if attempt.outcome == "error" else "failed"), Severity.HIGH
    message = f"{kind}: {attempt.message}" if attempt.message else kind
    return Finding(
        id=test_id, severity=severity, message=message, path=path, line=attempt.line,
        fingerprint=fingerprint("junit", test_id, attempt.outcome, attempt.flaky), properties=properties,
    )  # fmt: skip


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [Checker("junit", run, JUnitOptions, "Test results from JUnit XML reports (any dialect, streamed).")]
