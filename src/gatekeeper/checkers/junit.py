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

from gatekeeper.checkers._cache_keys import junit_inputs
from gatekeeper.checkers._findings import repo_path
from gatekeeper.checkers._xml import iterparse, local_name, release, root_tag
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, Severity, fingerprint

_SKIP_STATUS = {"disabled", "notrun", "not_run", "skipped", "skip", "ignored"}
_FAIL_STATUS = {"fail", "failed", "failure"}
_ERROR_STATUS = {"error", "errored"}
_TAGS = ("testcase", "testsuite", "testsuites", "error", "failure")
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
    missing: Literal["error", "skip"] = Field(
        default="error",
        description="error: every glob must match a file. skip: use whichever globs match; none at all is a "
        "skipped check (the rules decide, see on_skipped).",
    )


Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(slots=True)
class Attempt:
    """One ``<testcase>`` element: a test, or one attempt of a rerun test."""

    key: tuple[str, str, str]
    name: str
    classname: str
    file: str | None
    line: int | None
    time: float
    outcome: Outcome
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


_WANTED = {
    "error": ("error",),
    "failed": ("failure",),
    "skipped": ("skipped",),
    "passed": ("flakyFailure", "flakyError"),
}
_FAILING = ("failed", "error")
_SLOW_ATTRIBUTES = {"status", "result", "ignored"}

#: What is kept of a test case until the next one shows whether it was rerun:
#: (classname, name, file), outcome, flaky, message, line attribute.
Pending = tuple[tuple[str, str, str], Outcome, bool, str, "str | None"]


def _classify(case: Any) -> tuple[Outcome, bool, str]:
    """Outcome, flaky and message of a test case that has children or a status (the slow path)."""
    children = [(child.tag, _child_text(child)) for child in case if child.tag in _RESULT_CHILDREN]
    kinds = {kind for kind, _ in children}
    status = (case.get("status") or case.get("result") or "").strip().lower()
    outcome: Outcome
    if "error" in kinds or status in _ERROR_STATUS:
        outcome = "error"
    elif "failure" in kinds or status in _FAIL_STATUS:
        outcome = "failed"
    elif "skipped" in kinds or status in _SKIP_STATUS or (case.get("ignored") or "").lower() == "true":
        outcome = "skipped"
    else:
        outcome = "passed"
    flaky = outcome == "passed" and bool(kinds & {"flakyFailure", "flakyError"})
    message = next((text for kind, text in children if kind in _WANTED[outcome]), "") or status
    return outcome, flaky, message


def _child_text(element: Any) -> str:
    message = element.get("message") or element.get("type") or ""
    if not message and element.text:
        message = element.text.strip()
    return " ".join(message.split())[:500]


def read_report(path: Path, shown: str, tally: Tally) -> None:
    """Stream one report into ``tally``; ``CheckError`` for anything that is not a JUnit report.

    The loop is the hot path of a 500k-case report: a plain passing test case costs a
    few attribute reads and no object beyond a tuple.
    """
    root = root_tag(path, shown)
    if root not in ("testsuites", "testsuite"):
        raise CheckError(f"{shown}: not a JUnit report (root element <{root}>, not <testsuites> or <testsuite>)")
    counts = tally.counts
    pending: Pending | None = None

    def finish(entry: Pending) -> None:
        key, outcome, flaky, message, line = entry
        counts[outcome] += 1
        counts["total"] += 1
        if flaky or outcome in _FAILING:
            attempt = Attempt(
                key, key[1], key[0], key[2] or None, int(line) if line and line.strip().isdigit() else None,
                0.0, outcome, flaky, message,
            )  # fmt: skip
            (tally.flaky if flaky else tally.failures).append(attempt)

    for _, element in iterparse(path, shown, events=("end",), tags=_TAGS):
        tag = element.tag
        if tag == "testcase":
            get = element.get
            raw = get("time")
            if raw is not None:
                try:
                    seconds = float(raw)
                except ValueError:
                    seconds = -1.0
                if 0 <= seconds < math.inf:
                    tally.duration += seconds
                else:
                    tally.bad_times += 1
            if len(element) or not _SLOW_ATTRIBUTES.isdisjoint(element.keys()):
                outcome, flaky, message = _classify(element)
            elif pending is None:  # the hot path: a plain passing test with no failing attempt before it
                counts["passed"] += 1
                counts["total"] += 1
                release(element)
                continue
            else:
                outcome, flaky, message = "passed", False, ""
            key = (get("classname") or "", get("name") or "", get("file") or "")
            if pending is not None and pending[0] == key and key[1] and pending[1] in _FAILING:
                flaky = outcome == "passed"  # a rerun right after a failing attempt
            elif pending is not None:
                finish(pending)
            pending = (key, outcome, flaky, message, get("line"))
            if outcome == "passed" and not flaky:
                finish(pending)  # nothing reruns a passing test: no need to hold it
                pending = None
            release(element)
        elif tag in ("error", "failure"):
            suite = element.getparent()
            if suite is None or suite.tag != "testsuite":
                continue  # inside a <testcase>: read when the test case ends
            # The suite itself failed (a class that did not load, a setup that threw): one more failing test.
            if pending is not None:
                finish(pending)
                pending = None
            name = suite.get("name") or "(unnamed suite)"
            finish(((name, "(suite)", ""), "error" if tag == "error" else "failed", False, _child_text(element), None))
        else:
            if tag == "testsuite" and "testsuite" not in _ancestors(element):
                tests = _float(element.get("tests"))
                tally.claimed += int(tests) if tests and tests > 0 else 0
            release(element)
    if pending is not None:
        finish(pending)


def _ancestors(element: Any) -> set[str]:
    return {local_name(a.tag) for a in element.iterancestors()}


def run(ctx: CheckContext, options: JUnitOptions) -> CheckOutput:
    files: list[Path] = []
    for pattern in options.reports:
        matched = sorted(p for p in ctx.root.glob(pattern) if p.is_file())
        if not matched and options.missing == "error":
            raise CheckError(
                f"report {pattern!r} matches no file; a missing report is not '0 tests' (did the tests run?)"
            )
        files += [m for m in matched if m not in files]
    if not files:
        return CheckOutput(
            status="skipped",
            error=f"no JUnit report found ({', '.join(options.reports)}); "
            "write one, e.g. pytest --junitxml=reports/junit.xml",
        )
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
    description = "Test results from JUnit XML reports (any dialect, streamed)."
    return [Checker("junit", run, JUnitOptions, description, cache_inputs=junit_inputs)]
