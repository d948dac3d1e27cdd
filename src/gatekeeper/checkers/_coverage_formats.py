"""The three coverage formats (Cobertura XML, LCOV, coverage.py JSON) parsed into lines and branches per file.

Counts are what the per-line entries say; summary figures (Cobertura ``line-rate`` and
``lines-valid``, LCOV ``LF``/``LH``/``BRF``, coverage.py ``totals``) are only kept, as
``claimed*``, so a note can say when they disagree. A line listed several times for one
file (in several classes, twice in a record) counts once, covered when any entry has
hits. Entries numbered below 1 name no source line and are counted as ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.checkers._ingest import parse_json
from gatekeeper.checkers._xml import iterparse, local_name, release
from gatekeeper.errors import CheckError
from gatekeeper.models import ToolInfo

_CONDITION = re.compile(r"\(\s*(\d+)\s*/\s*(\d+)\s*\)")


@dataclass
class FileCoverage:
    """One source file: hits per line, and ``(covered, valid)`` branches per line."""

    lines: dict[int, int] = field(default_factory=dict)
    branches: dict[int, tuple[int, int]] = field(default_factory=dict)

    def hit(self, line: int, hits: int) -> None:
        self.lines[line] = max(hits, self.lines.get(line, 0))

    def branch(self, line: int, covered: int, valid: int) -> None:
        old_covered, old_valid = self.branches.get(line, (0, 0))
        if (valid, covered) > (old_valid, old_covered):
            self.branches[line] = (covered, valid)

    def merge(self, other: FileCoverage) -> None:
        for line, hits in other.lines.items():
            self.hit(line, hits)
        for line, (covered, valid) in other.branches.items():
            self.branch(line, covered, valid)

    @property
    def valid(self) -> int:
        return len(self.lines)

    @property
    def covered(self) -> int:
        return sum(1 for hits in self.lines.values() if hits > 0)


@dataclass
class Report:
    """A parsed report, files keyed by the name the report gives them."""

    tool: ToolInfo
    files: dict[str, FileCoverage] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    claimed: tuple[int, int] | None = None  # the summary's (covered, valid) lines
    claimed_rate: float | None = None  # the summary's line rate, when it gives no counts
    claimed_branches: int | None = None  # the summary's number of branches
    ignored: int = 0


def _number(text: str | None) -> int | None:
    """A non-negative count or line number as written ('3', '3.0', '18446744073709551615'), else None."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


def _count(text: str | None, what: str, where: str) -> int:
    value = _number(text)
    if value is None or value < 0:
        raise CheckError(f"{where}: {what} {text!r} is not a count")
    return value


def _cobertura_line(element: Any, target: FileCoverage, report: Report, shown: str) -> None:
    where = f"{shown}: line {element.sourceline}"
    number = _number(element.get("number"))
    if number is None:
        raise CheckError(f"{where}: line number {element.get('number')!r} is not a number")
    hits = _count(element.get("hits"), "hits", where)
    if number < 1:
        report.ignored += 1
        return
    target.hit(number, hits)
    condition = element.get("condition-coverage")
    if (element.get("branch") or "").lower() == "true" and condition:
        match = _CONDITION.search(condition)
        if match is None:
            raise CheckError(f"{where}: condition-coverage {condition!r} has no (covered/valid) counts")
        covered, valid = int(match.group(1)), int(match.group(2))
        if covered > valid:
            raise CheckError(f"{where}: condition-coverage {condition!r} covers more branches than exist")
        target.branch(number, covered, valid)


def parse_cobertura(path: Path, shown: str) -> Report:
    """A class's own ``<lines>`` are its lines. Its methods' lines count only for a class with
    no ``<lines>`` of its own (Swift writers): Istanbul lists function declarations there,
    which are not statements, and Cobertura itself repeats the class's lines."""
    report = Report(ToolInfo(name="cobertura"))
    filename: str | None = None
    own: FileCoverage | None = None
    methods = FileCoverage()
    in_method, first = False, True
    for event, element in iterparse(path, shown, external_dtd=True):
        name = local_name(element.tag)
        if event == "start":
            if first:
                first = False
                _cobertura_root(element, report, shown)
            elif name == "class":
                filename, own, methods = element.get("filename"), None, FileCoverage()
                if not filename:
                    raise CheckError(f"{shown}: line {element.sourceline}: a <class> without a filename")
            elif name == "method":
                in_method = True
            elif name == "lines" and filename is not None and not in_method and own is None:
                own = FileCoverage()
        elif name == "line":
            if filename is None:
                raise CheckError(f"{shown}: line {element.sourceline}: a <line> outside any <class>")
            _cobertura_line(element, methods if in_method or own is None else own, report, shown)
        elif name == "method":
            in_method = False
        elif name == "source" and (element.text or "").strip():
            report.sources.append((element.text or "").strip())
        elif name == "class" and filename is not None:
            report.files.setdefault(filename, FileCoverage()).merge(own if own is not None else methods)
            filename = None
            release(element)
        elif name == "package":
            release(element)
    return report


def _cobertura_root(element: Any, report: Report, shown: str) -> None:
    name = local_name(element.tag)
    if name != "coverage":
        raise CheckError(f"{shown}: XML with root <{name}>, not a Cobertura coverage report")
    report.tool = ToolInfo(name="cobertura", version=element.get("version") or None)
    report.claimed_branches = _number(element.get("branches-valid"))
    valid, covered = _number(element.get("lines-valid")), _number(element.get("lines-covered"))
    if valid is not None and covered is not None:
        report.claimed = (covered, valid)
    elif _is_float(element.get("line-rate") or ""):
        report.claimed_rate = float(element.get("line-rate") or "")


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def parse_lcov(text: str, shown: str) -> Report:
    report = Report(ToolInfo(name="lcov"))
    current: FileCoverage | None = None
    name = ""
    taken: dict[tuple[int, str, str], int] = {}
    claimed_valid = claimed_covered = 0
    summaries = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        kind, _, value = raw.strip().partition(":")
        where = f"{shown}: line {number}"
        if kind == "SF":
            if current is not None:
                raise CheckError(f"{where}: SF: inside the record of {name} (no end_of_record before it)")
            name, current, taken = value.strip(), FileCoverage(), {}
            if not name:
                raise CheckError(f"{where}: SF: without a file name")
        elif kind in ("DA", "BRDA", "LF", "LH", "end_of_record") and current is None:
            raise CheckError(f"{where}: {kind} outside a file record (no SF: before it)")
        elif kind == "DA" and current is not None:
            fields = value.split(",")
            line = _number(fields[0])
            if len(fields) < 2 or line is None:
                raise CheckError(f"{where}: malformed DA record {raw.strip()!r}")
            hits = _count(fields[1], "DA hit count", where)
            if line < 1:
                report.ignored += 1
            else:
                current.hit(line, hits)
        elif kind == "BRDA":
            fields = value.split(",")
            line = _number(fields[0])
            if len(fields) != 4 or line is None:
                raise CheckError(f"{where}: malformed BRDA record {raw.strip()!r}")
            count = 0 if fields[3].strip() == "-" else _count(fields[3], "BRDA taken count", where)
            if line >= 1:
                key = (line, fields[1].strip(), fields[2].strip())
                taken[key] = max(count, taken.get(key, 0))
        elif kind in ("LF", "LH"):
            summaries += 1
            count = _count(value, kind, where)
            claimed_valid += count if kind == "LF" else 0
            claimed_covered += count if kind == "LH" else 0
        elif kind == "BRF":
            report.claimed_branches = (report.claimed_branches or 0) + _count(value, kind, where)
        elif kind == "end_of_record" and current is not None:
            per_line: dict[int, list[int]] = {}
            for (line, _, _), count in taken.items():
                per_line.setdefault(line, []).append(count)
            for line, counts in per_line.items():
                current.branch(line, sum(1 for c in counts if c > 0), len(counts))
            report.files.setdefault(name, FileCoverage()).merge(current)
            current = None
    if current is not None:
        raise CheckError(f"{shown}: ends inside the record of {name} (no end_of_record); is it truncated?")
    if not report.files:
        raise CheckError(f"{shown}: no SF: record, so not an LCOV tracefile")
    report.claimed = (claimed_covered, claimed_valid) if summaries else None
    return report


def _line_numbers(value: Any, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise CheckError(f"{what} is not a list of line numbers")
    return value


def _arcs(value: Any, what: str) -> list[list[int]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(a, list) and len(a) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in a)
        for a in value
    ):
        raise CheckError(f"{what} is not a list of [from, to] line pairs")
    return value


def parse_coveragepy(text: str, shown: str) -> Report:
    data = parse_json(text, shown)
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise CheckError(f"{shown}: not a coverage.py JSON report (no 'files' object)")
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    version = meta.get("version")
    report = Report(ToolInfo(name="coverage.py", version=str(version) if version is not None else None))
    for name, entry in files.items():
        what = f"{shown}: file {name!r}"
        if not isinstance(entry, dict):
            raise CheckError(f"{what} is not an object")
        cov = report.files.setdefault(name, FileCoverage())
        for key, hits in (("missing_lines", 0), ("executed_lines", 1)):
            for line in _line_numbers(entry.get(key), f"{what}: '{key}'"):
                if line < 1:
                    report.ignored += 1
                else:
                    cov.hit(line, hits)
        if meta.get("branch_coverage") is True:
            per_line: dict[int, list[int]] = {}
            for key, hit in (("executed_branches", 1), ("missing_branches", 0)):
                for source, _ in _arcs(entry.get(key), f"{what}: '{key}'"):
                    if source >= 1:
                        per_line.setdefault(source, []).append(hit)
            for line, hits_list in per_line.items():
                cov.branch(line, sum(hits_list), len(hits_list))
    totals = data.get("totals")
    if isinstance(totals, dict):
        covered, valid = totals.get("covered_lines"), totals.get("num_statements")
        if isinstance(covered, int) and isinstance(valid, int):
            report.claimed = (covered, valid)
        branches = totals.get("num_branches")
        report.claimed_branches = branches if isinstance(branches, int) else None
    return report
