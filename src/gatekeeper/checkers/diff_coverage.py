"""``uses: diff-coverage``: how much of the code changed since a base is covered by the tests.

The diff is ``git diff`` from the merge-base of ``base`` and HEAD to the working tree:
committed, staged and unstaged changes of tracked files (the tree the coverage report
was made from). Untracked files are not part of it; a note names those ``include``
matches. Renames are followed (a renamed file counts under its new path, and only its
changed lines); deleted files and binary files are ignored.

A changed line counts when the coverage report lists it as executable; in a changed
file the report does not have at all, every added line that is not blank or a comment
counts, as uncovered: new code the tests never loaded is not exempt. Each run of
uncovered changed lines is a medium finding. With no changed line to measure,
``diff_line_rate`` is absent and marked not applicable, so ``diff_line_rate >= 0.9``
is met with that reason instead of failing on a missing metric.
"""

from __future__ import annotations

from collections import Counter
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from gatekeeper.checkers._coverage_formats import FileCoverage
from gatekeeper.checkers._coverage_report import FORMAT_HELP, LISTED, Format, load_coverage
from gatekeeper.checkers._git import find_merge_base, git, validate_base
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, Severity, fingerprint

# Line-comment starts by file extension, for changed files the coverage report does not have.
_HASH = ("#",)
_SLASH = ("//", "/*", "*")
_C_LIKE = (
    ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".java", ".js", ".jsx", ".mjs", ".ts", ".tsx", ".go", ".rs",
    ".swift", ".kt", ".kts", ".scala", ".dart", ".groovy",
)  # fmt: skip
COMMENTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys([".py", ".pyi", ".pyx", ".rb", ".sh", ".pl", ".r", ".jl", ".ex", ".exs"], _HASH),
    **dict.fromkeys(_C_LIKE, _SLASH),
    ".php": ("#", *_SLASH),
    ".lua": ("--",),
    ".sql": ("--",),
}


class DiffCoverageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    report: str = Field(description="The coverage report, from the repository root (Cobertura, LCOV, coverage.py).")
    format: Format = Field(default="auto", description=FORMAT_HELP)
    base: str = Field(
        default="origin/main",
        description="Branch, tag or commit to compare with; the diff starts at the merge-base of it and HEAD.",
    )
    include: list[str] = Field(
        default_factory=lambda: ["*.py"],
        description="Globs of changed files that count ('*' also matches '/': *.py is every Python file).",
    )
    exclude: list[str] = Field(default_factory=list, description="Globs of changed files that do not count.")

    _base = field_validator("base")(
        classmethod(lambda cls, value: validate_base(value) if value is not None else value)
    )


def _counts(path: str, options: DiffCoverageOptions) -> bool:
    return any(fnmatchcase(path, g) for g in options.include) and not any(fnmatchcase(path, g) for g in options.exclude)


def _added_lines(ctx: CheckContext, merge_base: str, options: DiffCoverageOptions) -> dict[str, set[int]]:
    """Added line numbers (in the working tree) per changed file that counts."""
    diff = git(
        ctx, "diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames",
        "--relative", "--ignore-submodules", "--src-prefix=a/", "--dst-prefix=b/", merge_base, "--",
    )  # fmt: skip
    try:
        patch = PatchSet(diff.stdout)
    except UnidiffParseError as exc:
        raise CheckError(f"cannot read the output of git diff: {exc}") from None
    added: dict[str, set[int]] = {}
    for patched in patch:
        if patched.is_removed_file or patched.is_binary_file:
            continue
        target = patched.target_file
        path = target[2:] if target.startswith("b/") else patched.path
        if not _counts(path, options):
            continue
        lines = {line.target_line_no for hunk in patched for line in hunk if line.is_added and line.target_line_no}
        if lines:
            added[path] = lines
    return added


def _text(ctx: CheckContext, path: str) -> list[str]:
    try:
        return ctx.resolve(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise CheckError(f"{path}: changed but cannot be read: {exc.strerror}") from None


def _measurable(path: str, lines: set[int], text: list[str]) -> set[int]:
    """For a file the report lacks: the added lines that are not blank or comments."""
    starts = COMMENTS.get(PurePosixPath(path).suffix.lower(), ())
    kept = set()
    for number in lines:
        stripped = text[number - 1].strip() if number <= len(text) else ""
        if stripped and not stripped.startswith(starts):
            kept.add(number)
    return kept


def _ranges(uncovered: list[int], added: set[int], counted: set[int]) -> list[tuple[int, int]]:
    """Runs of uncovered lines; only added lines that do not count (blank, comments) may sit between two."""
    runs: list[tuple[int, int]] = []
    for number in uncovered:
        if runs:
            start, end = runs[-1]
            if all(n in added and n not in counted for n in range(end + 1, number)):
                runs[-1] = (start, number)
                continue
        runs.append((number, number))
    return runs


def run(ctx: CheckContext, options: DiffCoverageOptions) -> CheckOutput:
    coverage = load_coverage(ctx, options.report, options.format)
    merge_base = find_merge_base(ctx, options.base, "diff coverage")
    added = _added_lines(ctx, merge_base, options)
    ctx.progress(f"{len(added)} changed file(s) since {merge_base[:12]}")
    findings: list[Finding] = []
    seen: Counter[tuple[str, str]] = Counter()
    changed = uncovered_total = 0
    absent: list[str] = []
    for path, lines in sorted(added.items()):
        report: FileCoverage | None = coverage.by_path.get(path)
        text = _text(ctx, path)
        if report is None:
            hits = dict.fromkeys(_measurable(path, lines, text), 0)
            absent += [path] if hits else []
        else:
            hits = {n: report.lines[n] for n in lines if n in report.lines}
        uncovered = sorted(n for n, h in hits.items() if h == 0)
        changed += len(hits)
        uncovered_total += len(uncovered)
        for start, end in _ranges(uncovered, lines, set(hits)):
            span = f"line {start}" if start == end else f"lines {start}-{end}"
            body = "\n".join(text[n - 1].strip() for n in range(start, end + 1) if n <= len(text))
            seen[(path, body)] += 1
            findings.append(
                Finding(
                    id="uncovered-change",
                    severity=Severity.MEDIUM,
                    message=f"{span} changed but not covered",
                    path=path,
                    line=start,
                    fingerprint=fingerprint("diff-coverage", path, body, seen[(path, body)]),
                    properties={"end_line": str(end), "in_report": "no" if report is None else "yes"},
                )
            )
    notes = [
        *coverage.notes,
        f"diff from {merge_base[:12]} (merge-base of {options.base} and HEAD) to the working tree, "
        f"files matching {', '.join(options.include)}",
    ]
    if absent:
        notes.append(
            f"{len(absent)} changed file(s) are not in the coverage report; their added lines count as uncovered: "
            + ", ".join(absent[:LISTED])
            + (" ..." if len(absent) > LISTED else "")
        )
    untracked = [
        p for p in git(ctx, "ls-files", "--others", "--exclude-standard").stdout.splitlines() if _counts(p, options)
    ]
    if untracked:
        notes.append(
            f"{len(untracked)} untracked file(s) are not part of the diff (git add them to count them): "
            + ", ".join(untracked[:LISTED])
            + (" ..." if len(untracked) > LISTED else "")
        )
    metrics = {"changed_lines": float(changed), "uncovered_changed_lines": float(uncovered_total)}
    not_applicable: dict[str, str] = {}
    if changed:
        metrics["diff_line_rate"] = (changed - uncovered_total) / changed
    else:
        why = (
            f"no line changed since {options.base} (merge-base {merge_base[:12]}) is executable code "
            f"in files matching {', '.join(options.include)}"
        )
        not_applicable["diff_line_rate"] = why
        notes.append(f"diff_line_rate not applicable: {why}")
    return CheckOutput(
        tool=coverage.tool,
        inputs=[coverage.input],
        findings=findings,
        metrics=metrics,
        not_applicable=not_applicable,
        notes=notes,
    )


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "diff-coverage",
            run,
            DiffCoverageOptions,
            "Coverage of the lines changed since a base branch (git diff and a coverage report).",
        )
    ]
