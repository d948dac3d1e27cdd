"""``scope: changed``: the files changed since a base, for scanners that run on those files only.

The change is what a developer expects locally and what CI sees: ``git diff`` from the
merge-base of the base and HEAD to the working tree (committed, staged and unstaged
changes of tracked files), plus untracked files that git does not ignore. Renames are
followed (the file counts under its new path, the old path is neither changed nor
deleted); copies count under the new path; deleted files have nothing to scan and are
only counted. A base that cannot be found is an error, never an empty scan.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gatekeeper.checkers._findings import severity_metrics
from gatekeeper.checkers._git import find_merge_base, git
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError
from gatekeeper.models import CheckOutput

#: The base of ``scope: changed`` when the check names none.
DEFAULT_BASE = "origin/main"
#: How many paths a note lists before "...".
LISTED = 5


@dataclass(frozen=True)
class ChangedFiles:
    """Files changed since ``merge_base``, repository-relative ('/'-separated, relative to the check's root)."""

    base: str
    merge_base: str
    changed: frozenset[str]
    """Files that exist now and changed: added, modified, renamed or copied (new path), untracked."""
    deleted: frozenset[str]
    renamed: tuple[tuple[str, str], ...] = ()
    """(old path, new path) of each rename."""
    untracked: frozenset[str] = frozenset()

    def select(self, keep: Callable[[str], bool]) -> ChangedFiles:
        """The same change, narrowed to the paths ``keep`` accepts (what a scanner would scan)."""
        return ChangedFiles(
            base=self.base,
            merge_base=self.merge_base,
            changed=frozenset(p for p in self.changed if keep(p)),
            deleted=frozenset(p for p in self.deleted if keep(p)),
            renamed=tuple((old, new) for old, new in self.renamed if keep(new)),
            untracked=frozenset(p for p in self.untracked if keep(p)),
        )

    def describe(self) -> str:
        """One line for the check's notes: what the scope was."""
        parts = [f"{len(self.changed)} changed"]
        if self.renamed:
            parts.append(f"{len(self.renamed)} renamed")
        if self.untracked:
            parts.append(f"{len(self.untracked)} untracked")
        parts.append(f"{len(self.deleted)} deleted")
        return (
            f"scope: files changed since {self.base} (merge-base {self.merge_base[:12]}, working tree included): "
            + ", ".join(parts)
            + " file(s) in scope"
        )

    def metrics(self, scanned: int) -> dict[str, float]:
        return {
            "files_scanned": float(scanned),
            "files_changed": float(len(self.changed)),
            "files_deleted": float(len(self.deleted)),
        }


def changed_files(ctx: CheckContext, base: str) -> ChangedFiles:
    """The files changed since the merge-base of ``base`` and HEAD; ``CheckError`` when the base cannot be found."""
    if not base.strip() or base.startswith("-"):
        raise CheckError(f"base {base!r} must name a branch, tag or commit (and not start with '-')")
    inside = git(ctx, "rev-parse", "--is-inside-work-tree", ok=(0, 128))
    if inside.returncode == 0 and inside.stdout.strip() == "true":
        found = git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}", ok=(0, 1, 128))
        if found.returncode != 0:
            raise CheckError(
                f"base {base} not found; fetch it ({_fetch_hint(base)}; fetch-depth: 0 in CI) or set the check's "
                "'base:' (or --changed-since)"
            )
    merge_base = find_merge_base(ctx, base, "scope: changed")  # also: not a repository, no common history
    diff = git(
        ctx, "diff", "--name-status", "-z", "--find-renames", "--relative", "--no-ext-diff",
        "--ignore-submodules", merge_base, "--",
    )  # fmt: skip
    changed: set[str] = set()
    deleted: set[str] = set()
    renamed: list[tuple[str, str]] = []
    fields = diff.stdout.split("\0")
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index]
        kind = status[:1]
        if kind in ("R", "C"):
            if index + 2 >= len(fields):
                raise CheckError("cannot read the output of git diff --name-status (a rename without its paths)")
            old, new = fields[index + 1], fields[index + 2]
            index += 3
            changed.add(new)
            if kind == "R":
                renamed.append((old, new))
            continue
        if index + 1 >= len(fields):
            raise CheckError(f"cannot read the output of git diff --name-status (status {status!r} without a path)")
        path = fields[index + 1]
        index += 2
        if kind == "D":
            deleted.add(path)
        else:  # A, M, T, U (unmerged, in the working tree), X: the file is there to scan
            changed.add(path)
    others = git(ctx, "ls-files", "--others", "--exclude-standard", "-z")
    untracked = {p for p in others.stdout.split("\0") if p}
    changed |= untracked
    deleted -= changed  # deleted in the index but back in the working tree (or untracked again): scan it
    return ChangedFiles(
        base=base,
        merge_base=merge_base,
        changed=frozenset(changed),
        deleted=frozenset(deleted),
        renamed=tuple(sorted(renamed)),
        untracked=frozenset(untracked),
    )


def _fetch_hint(base: str) -> str:
    remote, slash, branch = base.partition("/")
    if slash and remote and branch and not base.startswith("refs/"):
        return f"git fetch {remote} {branch}"
    return f"git fetch origin {base}"


def under(path: str, targets: Iterable[str]) -> bool:
    """Whether the repository path ``path`` is one of ``targets`` (files or folders, from the root) or inside one."""
    for target in targets:
        folder = posixpath.normpath(target.replace("\\", "/"))
        if folder == "." or path == folder or path.startswith(folder + "/"):
            return True
    return False


def limit_to_changed(output: CheckOutput, change: ChangedFiles) -> CheckOutput:
    """An ingested report's findings limited to the changed files (the report itself is the input)."""
    if output.status != "ok":
        return output
    findings = [f for f in output.findings if f.path is not None and f.path in change.changed]
    metrics = {**output.metrics, **severity_metrics(findings)}
    metrics.update({"files_changed": float(len(change.changed)), "files_deleted": float(len(change.deleted))})
    dropped = len(output.findings) - len(findings)
    note = f"{change.describe()}; the report's findings outside them were left out ({dropped})"
    return output.model_copy(update={"findings": findings, "metrics": metrics, "notes": [*output.notes, note]})


def nothing_to_scan(change: ChangedFiles, tool: str) -> str:
    """The reason an ok check scoped to changed files read nothing."""
    deleted = f", {len(change.deleted)} deleted" if change.deleted else ""
    return (
        f"no changed files in scope: nothing {tool} scans changed since {change.base} "
        f"(merge-base {change.merge_base[:12]}){deleted}"
    )
