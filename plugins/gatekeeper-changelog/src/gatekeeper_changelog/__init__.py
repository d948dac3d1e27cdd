"""gatekeeper-changelog: ``uses: changelog``, a change that touches the source must say so in the changelog.

The change is what was committed between the merge-base of ``base`` and HEAD (the working
tree is not looked at): ``git diff --numstat -M MERGE_BASE HEAD``. When a changed file
(added, modified, deleted, or renamed from or to a path) matches one of ``paths``, at least
one line must have been added to ``changelog`` in that range, unless the change is waived:

- by the label ``skip_label`` on the pull or merge request, read from ``GATEKEEPER_PR_LABELS``
  (comma-separated, any CI), the GitHub event file ``GITHUB_EVENT_PATH``
  (``pull_request.labels[].name``) and GitLab's ``CI_MERGE_REQUEST_LABELS`` (comma-separated);
- by the git trailer ``skip_trailer`` (``No-Changelog: typo fix``) in any commit of the
  range, as git itself parses trailers (the last paragraph of the message).

``paths`` are ``.gitignore`` patterns, matched by ``pathspec.GitIgnoreSpec``: in order, the
last glob that matches a path decides, so ``!glob`` takes back paths an earlier glob matched
(``["src/**", "!src/generated/**"]``). Unlike git, a ``!`` glob takes a file back even when
an earlier glob matched one of its folders. A glob that is empty, comes first with ``!``,
contains ``\\`` or a POSIX class (``[[:alpha:]]``), has an empty, ``.`` or ``..`` segment, does
not compile, or can match nothing (``# comment``, ``a[b``) is a policy error.

Metrics: ``source_files_changed``, ``changelog_lines_added``, ``skipped`` and
``missing_entries``; a missing entry is also one medium finding ``CHANGELOG001`` on the
changelog file. Anything that stops the check from reading the change (not a repository,
an unknown base, a shallow clone without the merge-base, no git, a timeout, an unreadable
GitHub event file) raises ``CheckError``: the check is ``error``, never an empty ``ok``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pathspec import GitIgnoreSpec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gatekeeper import (
    CheckContext,
    Checker,
    CheckError,
    CheckOutput,
    Finding,
    InputFile,
    Severity,
    ToolInfo,
    fingerprint,
    hookimpl,
)

__version__ = "0.1.0"

__all__ = ["FINDING_ID", "ChangelogOptions", "__version__", "run"]

FINDING_ID = "CHANGELOG001"
#: Variables holding the pull/merge request's labels as a comma-separated list.
LABEL_VARIABLES = ("GATEKEEPER_PR_LABELS", "CI_MERGE_REQUEST_LABELS")
#: At most this many changed files are named in the finding's message.
NAMED_FILES = 5
_FIELD, _RECORD = "\x1f", "\x1e"
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


# ---------------------------------------------------------------------------------------------
# .gitignore-style globs (matched by pathspec)

_POSIX_CLASS = re.compile(r"\[:[a-z]+:\]")


def _check_glob(pattern: str, *, first: bool) -> None:
    """Refuse a ``paths`` glob that pathspec would reject, or that could only ever match nothing."""
    body = pattern.removeprefix("!")
    if not body.strip().strip("/"):
        raise ValueError("a glob must not be empty")
    if body != pattern and first:
        raise ValueError(f"{pattern!r}: a '!' glob takes back paths an earlier glob matched, so it cannot come first")
    if "\\" in pattern:  # far likelier a Windows separator than a gitignore escape
        raise ValueError(f"{pattern!r}: '\\' is not supported (separate folders with '/'; write [*] for a literal '*')")
    if _POSIX_CLASS.search(pattern):  # pathspec would silently read it as a plain [...] class
        raise ValueError(f"{pattern!r}: POSIX classes such as [[:alpha:]] are not supported (write [a-zA-Z])")
    if any(s in ("", ".", "..") for s in body.removeprefix("/").removesuffix("/").split("/")):
        raise ValueError(f"{pattern!r}: empty, '.' and '..' segments are not allowed (globs start at the root)")
    try:
        [compiled] = GitIgnoreSpec.from_lines([pattern]).patterns
    except (ValueError, re.error) as exc:
        raise ValueError(f"{pattern!r}: not a valid .gitignore pattern ({exc})") from None
    if compiled.include is None:
        raise ValueError(f"{pattern!r} matches nothing (a '#' comment, or a '[' without its ']')")


# ---------------------------------------------------------------------------------------------
# options


class ChangelogOptions(BaseModel):
    """The ``with:`` block of a ``uses: changelog`` check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(
        default_factory=lambda: ["src/**"],
        min_length=1,
        description="Globs (.gitignore style, '**' for any folders; a later '!glob' takes paths back) of the files "
        "whose change needs a changelog entry, relative to the gated folder (gatekeeper's root, e.g. services/api "
        "for `gatekeeper run services/api`; the repository root when gating all of it). A rename counts when "
        "either name matches; the changelog itself never counts.",
    )
    changelog: str = Field(
        default="CHANGELOG.md",
        description="The changelog file, relative to the gated folder (gatekeeper's root, which is the repository "
        "root only when gating all of it); at least one line must be added to it.",
    )
    base: str = Field(
        default="origin/main",
        description="Branch, tag or commit the change is compared with; the change starts at the merge-base of it "
        "and HEAD.",
    )
    skip_label: str | None = Field(
        default="no-changelog",
        description="A pull/merge request label that waives the requirement (case-insensitive); null: labels "
        "never waive it.",
    )
    skip_trailer: str | None = Field(
        default="No-Changelog",
        description="A git trailer key that waives the requirement when any commit of the change has it "
        "(e.g. 'No-Changelog: typo fix'; case-insensitive); null: trailers never waive it.",
    )

    @field_validator("paths")
    @classmethod
    def _valid_globs(cls, value: list[str]) -> list[str]:
        for i, pattern in enumerate(value):
            _check_glob(pattern, first=i == 0)
        return value

    def path_spec(self) -> GitIgnoreSpec:
        """``paths`` compiled: ``.match_file(path)`` says whether a changed file needs an entry."""
        return GitIgnoreSpec.from_lines(self.paths)

    @field_validator("changelog")
    @classmethod
    def _relative_file(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not value.strip() or "\\" in value or path.is_absolute() or ".." in path.parts or str(path) == ".":
            raise ValueError("must be a file path relative to the repository root, without '..'")
        return path.as_posix()

    @field_validator("base")
    @classmethod
    def _ref(cls, value: str) -> str:
        if not value.strip() or value.startswith("-") or any(c.isspace() for c in value):
            raise ValueError("must name a branch, tag or commit (no spaces, not starting with '-')")
        return value

    @field_validator("skip_label")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "," in value):
            raise ValueError("must be a label name (not empty, no ',') or null")
        return value.strip() if value is not None else None

    @field_validator("skip_trailer")
    @classmethod
    def _trailer(cls, value: str | None) -> str | None:
        if value is not None and not _TRAILER_KEY.fullmatch(value):
            raise ValueError("must be a git trailer key such as No-Changelog (letters, digits, '-', '_') or null")
        return value


# ---------------------------------------------------------------------------------------------
# git


@dataclass(frozen=True)
class _GitRun:
    returncode: int
    stdout: str
    stderr: str


def _git(ctx: CheckContext, *args: str, ok: tuple[int, ...] = (0,)) -> _GitRun:
    """Run ``git ARGS`` in the repository within the check's remaining time; a failure is a ``CheckError``."""
    if ctx.cancelled.is_set():
        raise CheckError("the check was cancelled (it ran past its timeout)")
    argv = ["git", "-c", "core.quotePath=false", "-c", "diff.renames=true", *args]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        process = subprocess.Popen(
            argv,
            cwd=ctx.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            start_new_session=True,  # its own process group, so a timeout kills whatever it started
        )
    except FileNotFoundError:
        raise CheckError(
            "git is not installed (or not on PATH); the changelog check reads the change from git"
        ) from None
    except OSError as exc:
        raise CheckError(f"cannot run git: {exc.strerror}") from None
    try:
        stdout, stderr = process.communicate(timeout=ctx.remaining())
    except subprocess.TimeoutExpired:
        _kill(process)
        raise CheckError(
            f"git {args[0]} timed out after {ctx.timeout:g}s (the check's timeout; raise 'timeout' on the check)"
        ) from None
    except BaseException:
        _kill(process)
        raise
    if process.returncode not in ok:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        raise CheckError(
            f"git {args[0]} exited with code {process.returncode}: {lines[-1] if lines else '(no stderr)'}"
        )
    return _GitRun(process.returncode, stdout, stderr)


def _kill(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups to kill
            process.kill()
    process.communicate()


def _merge_base(ctx: CheckContext, base: str) -> str:
    inside = _git(ctx, "rev-parse", "--is-inside-work-tree", ok=(0, 128))
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise CheckError(f"{ctx.root} is not a git working tree; the changelog check reads the change from git history")
    head = _git(ctx, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok=(0, 1, 128))
    if head.returncode != 0:
        raise CheckError("HEAD is not a commit (a repository without commits?); the change must be committed")
    found = _git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}", ok=(0, 1, 128))
    if found.returncode != 0:
        raise CheckError(
            f"base {base!r} not found in this repository: fetch it (e.g. `{_fetch_hint(ctx, base)}`; "
            "in CI also fetch the history, e.g. fetch-depth: 0) or set `base:` on the check"
        )
    merged = _git(ctx, "merge-base", found.stdout.strip(), "HEAD", ok=(0, 1))
    if merged.returncode == 0 and merged.stdout.strip():
        return merged.stdout.strip()
    if _git(ctx, "rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        raise CheckError(
            f"no merge-base of {base!r} and HEAD in this shallow clone: fetch more history "
            "(`git fetch --unshallow`, or fetch-depth: 0 in CI)"
        )
    raise CheckError(f"{base!r} and HEAD have no common history (no merge-base); set `base:` to the target branch")


def _fetch_hint(ctx: CheckContext, base: str) -> str:
    remotes = _git(ctx, "remote").stdout.split()
    for remote in sorted(remotes, key=len, reverse=True):
        if base.startswith(f"{remote}/"):
            return f"git fetch {remote} {base[len(remote) + 1 :]}"
    remote, slash, branch = base.partition("/")
    return f"git fetch {remote} {branch}" if slash and branch else f"git fetch origin {base}"


@dataclass(frozen=True)
class _Change:
    """One file of the committed diff; ``old_path`` is set for a rename."""

    path: str
    old_path: str | None
    added: int | None  # None for a binary file

    def paths(self) -> tuple[str, ...]:
        return (self.path,) if self.old_path is None else (self.old_path, self.path)

    def describe(self) -> str:
        return self.path if self.old_path is None else f"{self.old_path} -> {self.path}"


def _changes(ctx: CheckContext, merge_base: str) -> list[_Change]:
    """The committed diff ``MERGE_BASE..HEAD``, paths relative to the checked folder, renames detected."""
    diff = _git(
        ctx, "diff", "--numstat", "-z", "-M", "--relative", "--no-color", "--no-ext-diff", "--no-textconv",
        merge_base, "HEAD", "--",
    )  # fmt: skip
    tokens = diff.stdout.split("\0")
    changes: list[_Change] = []
    i = 0
    while i < len(tokens):
        entry = tokens[i]
        i += 1
        if not entry:
            continue
        added, _, rest = entry.partition("\t")
        _, tab, path = rest.partition("\t")
        if not tab:
            raise CheckError(f"git diff --numstat: cannot read the line {entry[:80]!r}")
        old: str | None = None
        if not path:  # a rename: "added<TAB>removed<TAB>" then the old and the new path
            if i + 1 >= len(tokens):
                raise CheckError("git diff --numstat: a rename without its two paths")
            old, path = tokens[i], tokens[i + 1]
            i += 2
        changes.append(_Change(path, old, int(added) if added.isdigit() else None))
    return changes


def _trailer_waiver(ctx: CheckContext, merge_base: str, key: str) -> str | None:
    """The first commit of the change (newest first) with the trailer ``key``, described; None if none has it."""
    log = _git(
        ctx, "log", "--no-color", f"--format=%H{_FIELD}%(trailers:only,unfold){_RECORD}", f"{merge_base}..HEAD", "--"
    )
    for record in log.stdout.split(_RECORD):
        sha, _, trailers = record.strip("\n").partition(_FIELD)
        for line in trailers.splitlines():
            name, colon, value = line.partition(":")
            if colon and name.strip().casefold() == key.casefold():
                said = f"{name.strip()}: {value.strip()}".rstrip()
                return f"trailer '{said}' in commit {sha[:12]}"
    return None


# ---------------------------------------------------------------------------------------------
# labels


def _labels() -> list[tuple[str, str]]:
    """The pull/merge request's labels and where each was read: ``[(label, variable), ...]``."""
    found: list[tuple[str, str]] = []
    for variable in LABEL_VARIABLES:
        found += [(label.strip(), variable) for label in os.environ.get(variable, "").split(",") if label.strip()]
    event = os.environ.get("GITHUB_EVENT_PATH", "").strip()
    if event:
        found += [(label, "GITHUB_EVENT_PATH") for label in _github_labels(Path(event))]
    return found


def _github_labels(path: Path) -> list[str]:
    """``pull_request.labels[].name`` of a GitHub Actions event file; none for an event without a pull request.

    A file that cannot be read or is not an event's JSON is an error: a waiver is never
    assumed absent because its source could not be read.
    """

    def bad(why: str) -> CheckError:
        return CheckError(f"GITHUB_EVENT_PATH {path}: {why}; cannot tell whether the pull request is labelled")

    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise bad(f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise bad("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise bad(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(event, dict):
        raise bad(f"not a GitHub event (a JSON {type(event).__name__}, not an object)")
    request = event.get("pull_request")
    if request is None:
        return []  # a push, a schedule, ...: no pull request, no labels
    labels = request.get("labels") if isinstance(request, dict) else None
    if not isinstance(labels, list):
        raise bad("pull_request.labels is missing or not a list")
    names: list[str] = []
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else None
        if not isinstance(name, str):
            raise bad("a pull_request.labels entry has no name")
        names.append(name)
    return names


# ---------------------------------------------------------------------------------------------
# the check


def run(ctx: CheckContext, options: ChangelogOptions) -> CheckOutput:
    """Decide whether the change since ``options.base`` needs, and has, a changelog entry."""
    if not ctx.root.is_dir():
        raise CheckError(f"{ctx.root} is not a folder")
    spec = options.path_spec()
    labels = _labels()
    ctx.progress(f"finding the merge-base with {options.base}")
    merge_base = _merge_base(ctx, options.base)
    ctx.progress("reading the change")
    changes = _changes(ctx, merge_base)
    changelog = options.changelog
    sources = [
        change
        for change in changes
        if changelog not in change.paths() and any(spec.match_file(p) for p in change.paths())
    ]
    in_changelog = [c for c in changes if c.path == changelog]
    lines_added = sum(c.added or 0 for c in in_changelog)

    waivers: list[str] = []
    if options.skip_label is not None:
        wanted = options.skip_label.casefold()
        waivers += [f"label '{label}' ({variable})" for label, variable in labels if label.casefold() == wanted]
    if options.skip_trailer is not None:
        trailer = _trailer_waiver(ctx, merge_base, options.skip_trailer)
        waivers += [trailer] if trailer else []

    notes = [f"change: {merge_base[:12]}..HEAD (merge-base of {options.base} and HEAD), committed changes only"]
    if any(c.added is None for c in in_changelog):
        notes.append(f"{changelog} changed as a binary file: its added lines cannot be counted")
    skipped = missing = 0
    if not sources:
        notes.append(f"no changed file matches {', '.join(options.paths)}: no changelog entry is needed")
    elif lines_added == 0 and waivers:
        skipped = 1
        notes.append(f"the changelog entry is not required: waived by {waivers[0]}")
    elif lines_added == 0:
        missing = 1
    if waivers and not skipped:
        notes.append(f"waiver present but not needed: {waivers[0]}")

    findings = [_missing_entry(options, merge_base, sources)] if missing else []
    resolved = ctx.resolve(changelog)
    inputs: list[InputFile] = [ctx.input_file(changelog)] if resolved.is_file() else []
    if missing and not resolved.exists():
        notes.append(f"{changelog} does not exist: create it with an entry for this change")
    version = _git(ctx, "--version").stdout.strip().removeprefix("git version ")
    return CheckOutput(
        tool=ToolInfo(name="git", version=version or None),
        inputs=inputs,
        findings=findings,
        metrics={
            "source_files_changed": float(len(sources)),
            "changelog_lines_added": float(lines_added),
            "skipped": float(skipped),
            "missing_entries": float(missing),
        },
        notes=notes,
    )


def _missing_entry(options: ChangelogOptions, merge_base: str, sources: list[_Change]) -> Finding:
    described = sorted(c.describe() for c in sources)
    named = ", ".join(described[:NAMED_FILES])
    if len(described) > NAMED_FILES:
        named += f" and {len(described) - NAMED_FILES} more"
    ways = []
    if options.skip_label is not None:
        ways.append(f"label the pull/merge request '{options.skip_label}'")
    if options.skip_trailer is not None:
        ways.append(f"add a '{options.skip_trailer}: <reason>' trailer to a commit message")
    skip = f"; to skip, {' or '.join(ways)}" if ways else " (skipping is turned off)"
    return Finding(
        id=FINDING_ID,
        severity=Severity.MEDIUM,
        message=f"{len(described)} file(s) matching {', '.join(options.paths)} changed since {options.base} "
        f"({named}) but no line was added to {options.changelog}: add an entry{skip}",
        path=options.changelog,
        # the same set of changed files keeps the same fingerprint whatever else changes (base, commits, lines)
        fingerprint=fingerprint(FINDING_ID, options.changelog, *described),
        properties={"base": options.base, "merge_base": merge_base, "source_files_changed": str(len(described))},
    )


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "changelog",
            run,
            ChangelogOptions,
            "A change that touches src/ adds a CHANGELOG.md entry, or carries a no-changelog label or trailer.",
            version=__version__,
            # The evidence is git history (the commits between the merge-base and HEAD), not a file:
            # the changelog may rightly be absent (a docs-only change in a repository without one),
            # and its working-tree copy is not what is judged. An ok never rests on nothing, though:
            # every failure to read that history raises CheckError, and the changelog file is
            # recorded as an input whenever it exists.
            needs_input=False,
        )
    ]
