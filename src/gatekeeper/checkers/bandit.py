"""``uses: bandit``: run bandit on the repository, or read a bandit JSON report.

Severity mapping (bandit -> gatekeeper): LOW -> low, MEDIUM -> medium, HIGH -> high,
UNDEFINED or anything else -> medium, flagged in the finding's properties.
Files bandit could not parse (its ``errors`` array) are gaps in evidence: by
default they make the check an error (``unparsed_files: error``).

gatekeeper chooses the files, never bandit: the ``*.py`` and ``*.pyw`` files under ``paths``,
less those the ``exclude`` entries match with gitignore semantics (``pathspec``), are named
one by one on bandit's command line with ``-x ""``, so bandit's own ``-x``, which matches an
entry as a plain substring of the path (``dist`` dropped ``src/distance.py``), never applies.
Every file named must come back in bandit's report, or the check is an error.

bandit is single-process. With more than ``shard_min_files`` files it is run as ``jobs``
processes at once (at most the run's ``--jobs``), each on a batch of the files (balanced by
size), and their reports are merged into one before anything is read from them, so the result
is the one a single run gives. With ``scope: changed`` it runs on the changed files only.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pathspec
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
#: gitignore-style entries: a bare name matches a file or folder of that name at any depth.
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
#: The files bandit reads in a folder.
SUFFIXES = (".py", ".pyw")
#: Bytes of file names given to one bandit process (far below the kernel's limit on arguments).
ARGV_BUDGET = 100_000


class BanditOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(
        default_factory=lambda: ["."], description="Files or folders to scan, from the repository root."
    )
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDES),
        description="gitignore-style patterns, from the repository root, of files and folders not to scan.",
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
        description="bandit processes to run at once on a large tree (default: the machine's cores, at most the "
        "run's --jobs); 1: one process.",
    )
    shard_min_files: int = Field(
        default=100, ge=1, description="Split the files over 'jobs' bandit processes when there are more than this."
    )

    @field_validator("exclude")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                exclude_spec([entry])
            except ValueError as exc:
                raise ValueError(f"exclude entry {entry!r} is not a valid gitignore-style pattern: {exc}") from None
        return value


def exclude_spec(entries: list[str]) -> pathspec.GitIgnoreSpec:
    """The ``exclude`` entries as one gitignore file at the repository root.

    A leading ``./`` means the root, as a leading ``/`` does (``./build``: only the root's ``build``).
    """
    lines = ["/" + entry[2:] if entry.startswith("./") else entry for entry in entries]
    return pathspec.GitIgnoreSpec.from_lines(lines)


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
        "-f",
        "json",
        "-q",
        "--severity-level",
        options.severity,
        "--confidence-level",
        options.confidence,
        "-x",
        "",  # no substring exclusion by bandit (not even its defaults, nor a .bandit file's): the files are chosen
    ]
    if options.skip:
        argv += ["-s", ",".join(options.skip)]
    baseline: list[InputFile] = []
    baseline_path: Path | None = None
    if options.baseline is not None:
        baseline_path = ctx.resolve(options.baseline)
        if not baseline_path.is_file():
            raise CheckError(f"bandit baseline {options.baseline} not found in the repository")
        baseline = [ctx.input_file(baseline_path)]
    jobs = ctx.workers(options.jobs)
    change = changed_files(ctx, ctx.changed_since) if ctx.changed_since is not None else None
    notes: list[str] = []
    tree = _walk(ctx, options)
    files = tree.files
    if change is not None:
        files = [f for f in files if f in change.changed]
        scanned = set(files)
        present = change.changed
        change = change.select(lambda p: p in scanned or (p not in present and tree.would_scan(p)))
        notes.append(change.describe())
        if not files:
            metrics = {**severity_metrics([]), **change.metrics(0), "unparsed_files": 0.0}
            why = nothing_to_scan(change, "bandit")
            return CheckOutput(tool=tool, metrics=metrics, notes=notes, empty_scope=why)
    # No file to scan: an ok result that read no input, which the engine turns into an error.
    report: dict[str, Any] = {"results": [], "errors": [], "metrics": {}}
    if files:
        batches = _batches(ctx, files, jobs if len(files) > options.shard_min_files else 1)
        if len(batches) > 1:
            notes.append(
                f"bandit ran as {len(batches)} processes, {min(jobs, len(batches))} at a time, on {len(files)} files"
            )
        report = _run_batches(ctx, argv, batches, tree, baseline_path, workers=jobs)
    output = _normalise(ctx, report, options, [], tool, scanned_inputs=True)
    if change is not None and output.status == "ok":
        metrics = {**output.metrics, **change.metrics(len(output.inputs))}
        output = output.model_copy(update={"metrics": metrics})
    if notes:
        output = output.model_copy(update={"notes": [*notes, *output.notes]})
    if baseline and output.status == "ok" and output.inputs:  # a scan of nothing stays an error
        output = output.model_copy(update={"inputs": [*output.inputs, *baseline]})
    return output


@dataclass(frozen=True)
class _Tree:
    """The files bandit scans (repository paths, sorted), the ``.bandit`` files among them, and how they were chosen."""

    files: list[str]
    ini: list[str]
    targets: list[str]
    spec: pathspec.GitIgnoreSpec

    def would_scan(self, path: str) -> bool:
        """Whether the repository path ``path`` is scanned (it need not exist: a deleted file)."""
        for target in self.targets:
            if path == target:  # a file named in 'paths': scanned whatever its suffix
                return not _excluded(self.spec, path)
            if target == "." or path.startswith(target + "/"):
                return path.endswith(SUFFIXES) and not _excluded(self.spec, path)
        return False


def _excluded(spec: pathspec.GitIgnoreSpec, path: str, *, folder: bool = False) -> bool:
    """Whether ``exclude`` leaves out the repository path ``path`` (a file, or a ``folder``): it, or a
    folder holding it, matches (as in git, a file in an excluded folder cannot be brought back with ``!``)."""
    parts = path.split("/")
    folders = ["/".join(parts[: n + 1]) + "/" for n in range(len(parts) - 1)]
    return any(spec.match_file(f) for f in folders) or spec.match_file(path + "/" if folder else path)


def _walk(ctx: CheckContext, options: BanditOptions) -> _Tree:
    """The files bandit scans: ``*.py`` and ``*.pyw`` under each folder of ``paths`` and each file named
    there, less what ``exclude`` matches (an excluded folder is not entered), as repository paths."""
    spec = exclude_spec(options.exclude)
    targets = [
        ctx.relpath(e) if Path(e).is_absolute() else posixpath.normpath(Path(e).as_posix()) for e in options.paths
    ]
    files: set[str] = set()
    ini: set[str] = set()
    for target in targets:
        top = ctx.root / target
        if not top.is_dir():
            if not _excluded(spec, target):
                files.add(target)  # named on its own: bandit scans it whatever its suffix
            continue
        if target != "." and _excluded(spec, target, folder=True):  # the folder itself, or one holding it
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            rel = Path(dirpath).relative_to(ctx.root).as_posix()
            here = "" if rel == "." else rel + "/"
            dirnames[:] = sorted(d for d in dirnames if not spec.match_file(f"{here}{d}/"))
            for filename in filenames:
                name = here + filename
                if spec.match_file(name):
                    continue
                if filename == ".bandit":
                    ini.add(name)
                elif filename.endswith(SUFFIXES):
                    files.add(name)
    return _Tree(sorted(files), sorted(ini), targets, spec)


def _batches(ctx: CheckContext, files: list[str], count: int) -> list[list[str]]:
    """``files`` in ``count`` batches of about equal bytes (more when the names would not fit one command line)."""
    count = max(count, -(-sum(len(f) + 1 for f in files) // ARGV_BUDGET), 1)
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
    """bandit on each batch, ``workers`` at once; their reports merged. Any process failing fails the check,
    and so does a file named to bandit that its report does not name (scanned, or unparsable)."""
    if len(tree.ini) > 1:
        raise CheckError(
            f"several .bandit files under the scanned paths ({', '.join(tree.ini[:5])}); bandit refuses to choose "
            "one: keep one, or narrow 'paths' or 'exclude'"
        )
    extra = ["--ini", tree.ini[0]] if tree.ini else []  # bandit finds it itself only when given folders
    ctx.progress(f"bandit on {sum(map(len, batches))} files in {len(batches)} batch(es)")
    with tempfile.TemporaryDirectory(prefix="gatekeeper-bandit-") as tmp:
        if baseline is not None:
            extra += ["-b", _baseline_for_named_files(ctx, baseline, Path(tmp))]
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
                    names = [_argument(name) for name in batches[index]]
                    result = run_tool([*argv, *extra, "--", *names], ctx, ok_codes=(0, 1), stop=stop)
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
    reported = {posixpath.normpath(name) for name in merged["metrics"]}
    reported |= {posixpath.normpath(str(e.get("filename"))) for e in merged["errors"] if isinstance(e, dict)}
    missing = [name for batch in batches for name in batch if name not in reported]
    if missing:
        raise CheckError(
            f"bandit left out {len(missing)} of the files it was given: {', '.join(sorted(missing)[:5])}"
            + (" ..." if len(missing) > 5 else "")
            + " (an 'exclude_dirs' in a bandit configuration file?); leave files out with the check's 'exclude'"
        )
    return merged


def _argument(name: str) -> str:
    """A repository path as a command-line argument bandit reads as a file (``-`` would be standard input)."""
    return "./-" if name == "-" else name


def _repository_name(ctx: CheckContext, name: str) -> str | None:
    """A file name bandit printed as a repository path (symbolic links kept), or None outside the repository."""
    path = Path(name)
    if path.is_absolute():
        try:
            path = path.relative_to(ctx.root.absolute())
        except ValueError:
            return None
    normal = posixpath.normpath(path.as_posix())
    return None if normal in (".", "..") or normal.startswith("../") else normal


def _baseline_for_named_files(ctx: CheckContext, baseline: Path, folder: Path) -> str:
    """The baseline, with file names as bandit prints them for the files gatekeeper names (``./src/a.py``).

    bandit matches baseline findings by the exact file name it prints; a baseline written by
    ``bandit -r .`` names ``./src/a.py``, one written by ``bandit -r src`` names ``src/a.py``. The
    copy names every file inside the repository as ``./`` and its repository path, so an entry
    matches the findings in that file, whichever way the baseline was written.
    """
    try:
        data = json.loads(baseline.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return str(baseline)  # bandit reads it (and warns) as it would in a single run
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return str(baseline)
    for item in data["results"]:
        if isinstance(item, dict) and isinstance(item.get("filename"), str):
            path = _repository_name(ctx, item["filename"])
            if path is not None:
                item["filename"] = "./" + path
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
