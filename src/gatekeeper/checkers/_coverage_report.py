"""A coverage report, whatever its format, read into covered lines per repository file.

The format is detected from the content (or named); ``_coverage_formats`` parses it.
Counts come from the per-line entries, never from summary figures, which producers get
wrong; a note says when they disagree. Report paths are mapped to repository files
(``map_path``); a report none of whose files is in the repository is an error (it was
made from some other checkout), and so is a report with no measurable line.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gatekeeper.checkers._coverage_formats import FileCoverage, parse_cobertura, parse_coveragepy, parse_lcov
from gatekeeper.checkers._ingest import locate_report, read_report
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError
from gatekeeper.models import InputFile, ToolInfo

Format = Literal["auto", "cobertura", "lcov", "coveragepy-json"]
FORMAT_HELP = "Report format: auto (detected from the content), cobertura, lcov or coveragepy-json."
LISTED = 5
_HEAD_BYTES = 64 * 1024
_PROLOG = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_DRIVE = re.compile(r"^[A-Za-z]:(?=/|$)")


@dataclass
class Unit:
    """A measured file: its repository path (None when it maps to none) and the report's name for it."""

    path: str | None
    name: str
    coverage: FileCoverage


@dataclass
class Coverage:
    input: InputFile
    tool: ToolInfo
    by_path: dict[str, FileCoverage]
    unmapped: dict[str, FileCoverage]
    notes: list[str]

    def units(self) -> list[Unit]:
        mapped = [Unit(path, path, cov) for path, cov in sorted(self.by_path.items())]
        return mapped + [Unit(None, name, cov) for name, cov in sorted(self.unmapped.items())]


def _list_lines(items: list[str], total: int) -> str:
    return ", ".join(items[:LISTED]) + (f" (and {total - LISTED} more)" if total > LISTED else "")


# --- format detection --------------------------------------------------------------------------


def _sniff(ctx: CheckContext, report: str) -> tuple[Path, str, str]:
    """The report's path, its name for messages, and its first bytes as text; missing/huge/empty is an error."""
    resolved, shown, size = locate_report(ctx, report)
    with resolved.open("rb") as handle:
        head = handle.read(_HEAD_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not head and size <= _HEAD_BYTES:
        raise CheckError(f"report {shown} is empty; an empty report is no evidence")
    return resolved, shown, head


def _detect(head: str, shown: str, fmt: Format) -> Format:
    if head.startswith("<") and fmt in ("auto", "cobertura"):
        found = _ROOT.search(_PROLOG.sub("", head))
        root = found.group(1).split(":")[-1] if found else "?"
        if root == "report" and ("JACOCO" in head.upper() or "<sessioninfo" in head):
            raise CheckError(
                f"{shown}: a JaCoCo XML report, not Cobertura; convert it to Cobertura or LCOV "
                "(e.g. with ReportGenerator) and give that"
            )
        if root != "coverage":
            raise CheckError(f"{shown}: XML with root <{root}>, not a Cobertura coverage report")
        return "cobertura"
    if fmt == "cobertura":
        raise CheckError(f"{shown}: not XML, so not a Cobertura report (format: cobertura)")
    if fmt != "auto":
        return fmt
    if head.startswith(("{", "[")):
        return "coveragepy-json"
    if re.match(r"(TN|SF|VER):", head):
        return "lcov"
    raise CheckError(f"{shown}: not a coverage report gatekeeper reads (Cobertura XML, LCOV or coverage.py JSON)")


# --- the three formats -------------------------------------------------------------------------


# --- mapping to the repository -----------------------------------------------------------------


def _posix(name: str) -> str:
    return name.replace("\\", "/")


def _is_repo_file(ctx: CheckContext, rel: str) -> bool:
    try:
        return ctx.resolve(rel).is_file()
    except (CheckError, OSError):
        return False


def map_path(ctx: CheckContext, name: str, sources: list[str]) -> str | None:
    """The repository file a report's file name means, or None.

    Tried in order: each ``<source>`` joined with the name, then the name itself, as a
    path inside the repository (absolute ones only when under the root); then the
    longest tail of any of them (leading directories stripped) that is a repository file.
    """
    name = _posix(name)
    candidates = []
    for source in sources:
        joined = name if name.startswith("/") or _DRIVE.match(name) else _posix(source).rstrip("/") + "/" + name
        candidates.append(joined)
    candidates.append(name)
    roots = {ctx.root.absolute(), ctx.root.resolve()}
    tails: list[list[str]] = []
    for candidate in candidates:
        drive = _DRIVE.match(candidate) is not None
        normal = posixpath.normpath(_DRIVE.sub("", candidate) or "/")
        if normal.startswith("/") and not drive:
            absolute = Path(normal)
            for root in roots:
                if root in absolute.parents and _is_repo_file(ctx, absolute.relative_to(root).as_posix()):
                    return absolute.relative_to(root).as_posix()
        parts = [p for p in normal.split("/") if p not in ("", ".")]
        if not normal.startswith("/") and ".." not in parts and parts and _is_repo_file(ctx, "/".join(parts)):
            return "/".join(parts)
        tails.append(parts)
    best: str | None = None
    longest = 0
    for parts in tails:
        for start in range(len(parts)):
            tail = parts[start:]
            if len(tail) <= longest:
                break
            if ".." not in tail and _is_repo_file(ctx, "/".join(tail)):
                best, longest = "/".join(tail), len(tail)
                break
    return best


# --- putting it together -----------------------------------------------------------------------


def load_coverage(ctx: CheckContext, report: str, fmt: Format = "auto") -> Coverage:
    """Read, check and map a coverage report; every way it can be no evidence is a ``CheckError``."""
    path, shown, head = _sniff(ctx, report)
    kind = _detect(head, shown, fmt)
    if kind == "cobertura":
        parsed = parse_cobertura(path, shown)
    else:
        _, text = read_report(ctx, report)
        parsed = parse_lcov(text, shown) if kind == "lcov" else parse_coveragepy(text, shown)

    valid = sum(f.valid for f in parsed.files.values())
    covered = sum(f.covered for f in parsed.files.values())
    if valid == 0:
        ignored = f", {parsed.ignored} entries numbered below 1 ignored" if parsed.ignored else ""
        raise CheckError(
            f"{shown}: no measurable lines in its {len(parsed.files)} file(s){ignored}; "
            "an empty measurement is no evidence"
        )
    by_path: dict[str, FileCoverage] = {}
    unmapped: dict[str, FileCoverage] = {}
    for name, cov in parsed.files.items():
        target = map_path(ctx, name, parsed.sources)
        if target is None:
            unmapped.setdefault(_posix(name), FileCoverage()).merge(cov)
        else:
            by_path.setdefault(target, FileCoverage()).merge(cov)
    names = sorted(unmapped)
    if not by_path:
        raise CheckError(
            f"{shown}: each of its {len(names)} file(s) maps to no file in the repository; was it made from "
            f"another checkout? (report paths: {_list_lines(names, len(names))})"
        )
    notes: list[str] = []
    if unmapped:
        notes.append(
            f"{len(names)} of {len(parsed.files)} file(s) in the report map to no file in the repository "
            f"(counted as reported): {_list_lines(names, len(names))}"
        )
    if parsed.ignored:
        notes.append(f"{parsed.ignored} line entries numbered below 1 (no source line) were ignored")
    if parsed.claimed is not None and parsed.claimed != (covered, valid):
        notes.append(
            f"the report's summary says {parsed.claimed[0]} of {parsed.claimed[1]} lines covered; "
            f"its line entries say {covered} of {valid}, which is what counts"
        )
    elif parsed.claimed_rate is not None and abs(parsed.claimed_rate - covered / valid) > 0.0005:
        notes.append(
            f"the report's summary says line rate {parsed.claimed_rate:g}; "
            f"its line entries say {covered / valid:.4f} ({covered} of {valid}), which is what counts"
        )
    branches = sum(v for f in parsed.files.values() for _, v in f.branches.values())
    if parsed.claimed_branches and not branches:
        notes.append(
            f"the report's summary counts {parsed.claimed_branches} branch(es), but no line entry has branch data; "
            "branch metrics are left out"
        )
    return Coverage(ctx.input_file(path), parsed.tool, by_path, unmapped, notes)
