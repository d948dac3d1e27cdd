"""``uses: bandit``: run bandit on the repository, or read a bandit JSON report.

Severity mapping (bandit -> gatekeeper): LOW -> low, MEDIUM -> medium, HIGH -> high,
UNDEFINED or anything else -> medium, flagged in the finding's properties.
Files bandit could not parse (its ``errors`` array) are gaps in evidence: by
default they make the check an error (``unparsed_files: error``).

bandit is single-process. On a tree of more than ``shard_min_files`` files it is run as
``jobs`` processes at once, each on a batch of the files (balanced by size), and their
reports are merged into one before anything is read from them, so the result is the one
a single run gives. With ``scope: changed`` it runs on the changed files only.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import posixpath
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.checkers._cache_keys import bandit_inputs
from gatekeeper.checkers._findings import Fingerprinter, repo_path, severity_metrics, shown_path
from gatekeeper.checkers._ingest import parse_json, read_report
from gatekeeper.checkers._scope import changed_files, limit_to_changed, nothing_to_scan
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
#: What bandit itself leaves out when no ``-x`` is given (``exclude: []``), and the files it reads in a folder.
BANDIT_EXCLUDES = (".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".eggs", "*.egg")
BANDIT_INCLUDES = ("*.py", "*.pyw")
#: Bytes of file names given to one bandit process (far below the kernel's limit on arguments).
ARGV_BUDGET = 100_000


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
    jobs: int | None = Field(
        default=None,
        ge=1,
        description="bandit processes to run at once on a large tree (default: the machine's cores); 1: one process.",
    )
    shard_min_files: int = Field(
        default=100, ge=1, description="Split the files over 'jobs' bandit processes when there are more than this."
    )


def run(ctx: CheckContext, options: BanditOptions) -> CheckOutput:
    if options.report is not None:
        path, text = read_report(ctx, options.report)
        data = parse_json(text, ctx.relpath(path))
        if isinstance(data, dict) and "runs" in data:  # the tool's SARIF output
            output = sarif_output(ctx, data, [ctx.input_file(path)], "bandit")
        else:
            tool = ToolInfo(name="bandit")
            output = _normalise(ctx, data, options, [ctx.input_file(path)], tool, scanned_inputs=False)
        if ctx.changed_since is not None:
            output = limit_to_changed(output, changed_files(ctx, ctx.changed_since))
        return output

    for entry in options.paths:
        if not ctx.resolve(entry).exists():
            raise CheckError(f"path {entry!r} does not exist in the repository (bandit 'paths' option)")
    exe = find_tool("bandit", "bandit")
    version_run = run_tool([exe, "--version"], ctx)
    version = version_run.stdout.split()[1] if len(version_run.stdout.split()) > 1 else None
    tool = ToolInfo(name="bandit", version=version)
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
    baseline_path: Path | None = None
    if options.baseline is not None:
        baseline_path = ctx.resolve(options.baseline)
        if not baseline_path.is_file():
            raise CheckError(f"bandit baseline {options.baseline} not found in the repository")
        baseline = [ctx.input_file(baseline_path)]
    jobs = options.jobs or os.cpu_count() or 1
    change = changed_files(ctx, ctx.changed_since) if ctx.changed_since is not None else None
    notes: list[str] = []
    if change is None and jobs == 1:
        data = _run_whole(ctx, argv, options.paths, baseline_path)
    else:
        tree = _walk(ctx, options)
        files = tree.files
        if change is not None:
            files = [f for f in files if posixpath.normpath(f) in change.changed]
            scanned = {posixpath.normpath(f) for f in files}
            present = change.changed
            change = change.select(lambda p: p in scanned or (p not in present and tree.would_scan(p)))
            notes.append(change.describe())
            if not files:
                metrics = {**severity_metrics([]), **change.metrics(0), "unparsed_files": 0.0}
                why = nothing_to_scan(change, "bandit")
                return CheckOutput(tool=tool, metrics=metrics, notes=notes, empty_scope=why)
        if change is None and len(files) <= options.shard_min_files:
            data = _run_whole(ctx, argv, options.paths, baseline_path)
        else:
            batches = _batches(ctx, files, jobs if len(files) > options.shard_min_files else 1)
            if len(batches) > 1:
                notes.append(
                    f"bandit ran as {len(batches)} processes, {min(jobs, len(batches))} at a time, on {len(files)} files"
                )
            data = _run_batches(ctx, argv, batches, tree, baseline_path, workers=jobs)
    output = _normalise(ctx, data, options, [], tool, scanned_inputs=True)
    if change is not None and output.status == "ok":
        findings = [f for f in output.findings if f.path in change.changed]
        inputs = [i for i in output.inputs if i.path in change.changed]
        metrics = {**output.metrics, **severity_metrics(findings), **change.metrics(len(inputs))}
        output = output.model_copy(update={"findings": findings, "inputs": inputs, "metrics": metrics})
        if not inputs:  # bandit's own configuration left out every changed file it was given
            output = output.model_copy(update={"empty_scope": nothing_to_scan(change, "bandit")})
    if notes:
        output = output.model_copy(update={"notes": [*notes, *output.notes]})
    if baseline and output.status == "ok" and output.inputs:  # a scan of nothing stays an error
        output = output.model_copy(update={"inputs": [*output.inputs, *baseline]})
    return output


def _run_whole(ctx: CheckContext, argv: list[str], paths: list[str], baseline: Path | None) -> Any:
    """One bandit process over ``paths``, as a user would run it."""
    ctx.progress(f"bandit on {', '.join(paths)}")
    extra = ["-b", str(baseline)] if baseline is not None else []
    result = run_tool([*argv, *extra, "--", *paths], ctx, ok_codes=(0, 1))
    return parse_json(result.stdout, "bandit output")


@dataclass(frozen=True)
class _Tree:
    """The files bandit would scan, named as bandit names them (``./pkg/a.py`` under ``.``, ``src/a.py``
    under ``src``), so a run on them applies ``exclude`` to the same strings as ``bandit -r``."""

    files: list[str]
    ini: list[str]
    targets: list[str]
    excludes: list[str]

    def name(self, path: str) -> str | None:
        """bandit's name for the repository path ``path`` under the first target holding it."""
        for target in self.targets:
            folder = posixpath.normpath(target)
            if path == folder:
                return target
            if folder == "." or path.startswith(folder + "/"):
                return os.path.join(target, path if folder == "." else path[len(folder) + 1 :])
        return None

    def would_scan(self, path: str) -> bool:
        """Whether bandit scans the repository path ``path`` (it need not exist: a deleted file)."""
        name = self.name(path)
        if name is None:
            return False
        named = name in self.targets  # a file named in 'paths': bandit reads it whatever its suffix
        return (named or _included(name)) and not _excluded(name, self.excludes)


def _included(name: str) -> bool:
    return any(fnmatch.fnmatch(name, glob) for glob in BANDIT_INCLUDES)


def _excluded(name: str, excludes: list[str]) -> bool:
    """bandit's own test (``_is_file_included``): a glob match or a substring."""
    return any(fnmatch.fnmatch(name, x) for x in excludes) or any(x in name for x in excludes)


def _walk(ctx: CheckContext, options: BanditOptions) -> _Tree:
    """What ``bandit -r PATHS`` scans, found the way bandit finds it (``os.walk`` from the root)."""
    excludes = []
    for entry in options.exclude or BANDIT_EXCLUDES:
        excludes.append(os.path.join(entry, "*") if (ctx.root / entry).is_dir() else entry)
    files: set[str] = set()
    ini: list[str] = []
    root = str(ctx.root)
    for target in options.paths:
        top = os.path.join(root, target)
        if not os.path.isdir(top):
            if not _excluded(target, excludes):
                files.add(target)  # named on its own: bandit scans it whatever its suffix
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            sub = dirpath[len(top) :].lstrip(os.sep)
            here = os.path.join(target, sub) if sub else target
            # Every file below a folder whose name holds an exclude string is excluded: do not descend.
            dirnames[:] = [d for d in dirnames if not any(x in os.path.join(here, d) + os.sep for x in excludes)]
            for filename in filenames:
                name = os.path.join(here, filename)
                if filename == ".bandit":
                    ini.append(name)
                if _included(name) and not _excluded(name, excludes):
                    files.add(name)
    return _Tree(sorted(files), sorted(ini), list(options.paths), excludes)


def _batches(ctx: CheckContext, files: list[str], count: int) -> list[list[str]]:
    """``files`` in ``count`` batches of about equal bytes (more when the names would not fit one command line)."""
    count = max(count, math.ceil(sum(len(f) + 1 for f in files) / ARGV_BUDGET), 1)
    sizes = {}
    for name in files:
        try:
            sizes[name] = os.stat(os.path.join(ctx.root, name)).st_size
        except OSError:
            sizes[name] = 0  # bandit reports it if it cannot read it
    bins: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for name in sorted(files, key=lambda f: (-sizes[f], f)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        bins[lightest].append(name)
        loads[lightest] += sizes[name] + 1
    return [sorted(b) for b in bins if b]


def _run_batches(
    ctx: CheckContext, argv: list[str], batches: list[list[str]], tree: _Tree, baseline: Path | None, *, workers: int
) -> dict[str, Any]:
    """bandit on each batch, ``workers`` at once; their reports merged. Any process failing fails the check."""
    if len(tree.ini) > 1:
        raise CheckError(
            f"several .bandit files under the scanned paths ({', '.join(tree.ini[:5])}); bandit refuses to choose "
            "one: keep one, or narrow 'paths'"
        )
    extra = ["--ini", tree.ini[0]] if tree.ini else []  # bandit finds it itself only when given folders
    ctx.progress(f"bandit on {sum(map(len, batches))} files in {len(batches)} batch(es)")
    with tempfile.TemporaryDirectory(prefix="gatekeeper-bandit-") as tmp:
        if baseline is not None:
            extra += ["-b", _baseline_for_named_files(baseline, batches, Path(tmp))]
        stop = threading.Event()
        reports: list[Any] = [None] * len(batches)
        failures: list[BaseException] = []
        queue = list(range(len(batches)))
        lock = threading.Lock()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    index = queue.pop(0)
                try:
                    result = run_tool([*argv, *extra, "--", *batches[index]], ctx, ok_codes=(0, 1), stop=stop)
                    reports[index] = parse_json(result.stdout, "bandit output")
                except BaseException as exc:  # re-raised below, in the check's own thread
                    with lock:
                        failures.append(exc)
                    stop.set()
                    return

        threads = [
            threading.Thread(target=work, name=f"gatekeeper-{ctx.check}-bandit-{n}", daemon=True)
            for n in range(min(workers, len(batches)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    merged: dict[str, Any] = {"results": [], "errors": [], "metrics": {}}
    for report in reports:
        if not isinstance(report, dict) or not isinstance(report.get("results"), list):
            raise CheckError("not a bandit JSON report (no 'results' list)")
        merged["results"] += report["results"]
        merged["errors"] += report.get("errors") or []
        merged["metrics"].update({k: v for k, v in (report.get("metrics") or {}).items() if k != "_totals"})
    return merged


def _baseline_for_named_files(baseline: Path, batches: list[list[str]], folder: Path) -> str:
    """The baseline, with file names as bandit prints them for files named on its command line.

    bandit matches baseline findings by the exact file name it prints: ``-r .`` prints
    ``./pkg/a.py``, a file named ``./pkg/a.py`` prints as ``././pkg/a.py``. The copy renames
    the first form to the second, and makes an entry that only matches the second form match
    nothing, so the baseline matches exactly the findings it matches in a single ``-r`` run.
    """
    try:
        data = json.loads(baseline.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return str(baseline)  # bandit reads it (and warns) as it would in a single run
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return str(baseline)
    named = {name for batch in batches for name in batch}
    printed = {os.path.join(".", name) for name in named}
    for item in data["results"]:
        if isinstance(item, dict) and isinstance(item.get("filename"), str):
            if item["filename"] in named:
                item["filename"] = os.path.join(".", item["filename"])
            elif item["filename"] in printed:
                item["filename"] += "\0(another form of the name)"
    target = folder / "baseline.json"
    target.write_text(json.dumps(data), encoding="utf-8")
    return str(target)


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
    if not all(isinstance(item, dict) for item in data["results"]):
        raise CheckError("bandit report: a result is not an object")
    for item in sorted(data["results"], key=lambda r: _order(ctx, r)):
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


def _order(ctx: CheckContext, item: dict[str, Any]) -> tuple[str, int, str]:
    """Results in path, line, test order, whatever form of a file's name bandit printed."""
    name = str(item.get("filename", ""))
    line = item.get("line_number")
    return (repo_path(ctx, name) or name, line if isinstance(line, int) else 0, str(item.get("test_id")))


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "bandit",
            run,
            BanditOptions,
            "Python security linter (runs bandit, or reads its JSON report).",
            "1",
            supports_scope=True,
            cache_inputs=bandit_inputs,
        )
    ]
