"""``uses: git``: facts about the change since a base branch, read from git, for rules.

The change is the commits reachable from HEAD and not from the merge-base of ``base``
and HEAD (``git log merge-base..HEAD``, merge commits left out unless ``merges: true``),
and the committed diff ``git diff --numstat merge-base HEAD`` (renames are a deletion and
an addition; binary files count as changed files with no lines). An unknown ``base`` or a
folder that is not a git working tree is an error; zero commits is not (metrics are 0).

Per commit:

- DCO sign-off: with ``dco: author`` (default) a ``Signed-off-by:`` trailer carrying the
  commit author's email (case-insensitive); with ``dco: any``, any ``Signed-off-by:``.
- signed: ``git log --format=%G?`` is anything but ``N`` (a GPG/SSH/X.509 signature is
  present, whether or not this machine can verify it).
- conventional: the subject is ``type(scope)!: description`` with one of ``types``.
- AI-assisted: a ``Co-authored-by:`` trailer naming one of ``ai_assistants`` as a word
  (case-insensitive), e.g. ``Co-authored-by: Claude <noreply@anthropic.com>``, or an
  ``AI-Assisted:`` trailer saying ``yes`` (or ``true``, ``1``). ``ai_assisted`` is 1.0 when any
  commit of the change is, so a policy can ask more of such changes (``when:``).

Changed files are source when they match ``source`` and not ``tests``; test files when
they match ``tests``. A glob without '/' matches the file name, one with '/' the whole
path ('*' also matches '/'). ``tests_touched`` is 1.0 when source and tests both changed,
0.0 when source changed without tests, and absent (not applicable) when no source changed.
``changed_lines`` is ``lines_added + lines_removed``; ``touches_<name>`` is 1.0 when a changed
file matches one of the globs ``paths: {<name>: [...]}`` gives that name, else 0.0.

Findings (capped at ``max_findings`` per kind): a low ``dco:<short sha>`` per commit
without sign-off, a low ``conventional:<short sha>`` per non-conventional subject.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gatekeeper.checkers._git import find_merge_base, git, validate_base
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, Severity, ToolInfo, fingerprint

CONVENTIONAL_TYPES = ["feat", "fix", "docs", "style", "refactor", "perf", "test", "build", "ci", "chore", "revert"]
AI_ASSISTANTS = [
    "Copilot", "Claude", "ChatGPT", "OpenAI", "Codex", "Cursor", "Codeium", "Windsurf", "Gemini", "Devin", "aider",
]  # fmt: skip
_AI_YES = {"yes", "true", "1"}
_FIELD, _RECORD = "\x1f", "\x1e"


class GitOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str = Field(
        default="origin/main",
        description="Branch, tag or commit to compare with; the change starts at the merge-base of it and HEAD.",
    )
    source: list[str] = Field(
        default_factory=lambda: ["src/**", "*.py"], description="Globs of source files (test files excluded)."
    )
    tests: list[str] = Field(
        default_factory=lambda: ["tests/**", "test/**", "test_*.py", "*_test.py"], description="Globs of test files."
    )
    dco: Literal["author", "any"] = Field(
        default="author",
        description="Sign-off needed: a Signed-off-by trailer with the author's email (author), or any one (any).",
    )
    types: list[str] = Field(
        default_factory=lambda: list(CONVENTIONAL_TYPES), min_length=1, description="Conventional commit types."
    )
    ai_assistants: list[str] = Field(
        default_factory=lambda: list(AI_ASSISTANTS),
        description="Names that mark a Co-authored-by trailer as an AI assistant (case-insensitive, whole words).",
    )
    paths: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Named groups of path globs; each gives a metric touches_<name>: 1 when a changed file "
        "matches one of its globs, else 0 (e.g. {migrations: ['migrations/**']}).",
    )
    merges: bool = Field(default=False, description="Count merge commits too.")
    max_findings: int = Field(default=50, ge=0, description="At most this many findings of each kind.")

    _base = field_validator("base")(
        classmethod(lambda cls, value: validate_base(value) if value is not None else value)
    )

    @field_validator("paths")
    @classmethod
    def _path_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, globs in value.items():
            if not re.fullmatch(r"[a-z0-9_]+", name):
                raise ValueError(f"paths name {name!r}: use lower-case letters, digits and '_' (metric touches_{name})")
            if not globs:
                raise ValueError(f"paths.{name}: give at least one glob")
        return value


def _matches(path: str, globs: list[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatchcase(path if "/" in g else name, g) for g in globs)


def _trailers(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            pairs.append((key.strip().lower(), value.strip()))
    return pairs


def _signed_off(trailers: list[tuple[str, str]], email: str, dco: str) -> bool:
    offs = [v for k, v in trailers if k == "signed-off-by"]
    if dco == "any":
        return bool(offs)
    return any(f"<{email.lower()}>" in v.lower() for v in offs)


def run(ctx: CheckContext, options: GitOptions) -> CheckOutput:
    merge_base = find_merge_base(ctx, options.base, "the git check")
    log = git(
        ctx, "log", "--no-color", *([] if options.merges else ["--no-merges"]),
        f"--format=%H{_FIELD}%G?{_FIELD}%ae{_FIELD}%s{_FIELD}%(trailers:unfold){_RECORD}", f"{merge_base}..HEAD", "--",
    )  # fmt: skip
    conventional = re.compile(rf"^(?:{'|'.join(map(re.escape, options.types))})(?:\([^()\r\n]+\))?!?: \S")
    assistants = [re.compile(rf"(?<!\w){re.escape(a)}(?!\w)", re.IGNORECASE) for a in options.ai_assistants]
    counts = dict.fromkeys(
        ("commits", "signed_off_commits", "unsigned_off_commits", "signed_commits", "conventional_commits",
         "nonconventional_commits", "ai_assisted_commits"), 0.0,
    )  # fmt: skip
    dco_findings: list[Finding] = []
    conv_findings: list[Finding] = []
    for record in log.stdout.split(_RECORD):
        if not record.strip():
            continue
        sha, signature, email, subject, trailer_text = (record.strip("\n").split(_FIELD) + [""] * 5)[:5]
        short = sha[:12]
        trailers = _trailers(trailer_text)
        counts["commits"] += 1
        counts["signed_commits"] += signature.strip() not in ("N", "")
        props = {"commit": sha, "subject": subject}
        if _signed_off(trailers, email, options.dco):
            counts["signed_off_commits"] += 1
        else:
            counts["unsigned_off_commits"] += 1
            need = (
                f"a Signed-off-by trailer with the author's email <{email}>"
                if options.dco == "author"
                else "a Signed-off-by trailer"
            )
            dco_findings.append(_finding(f"dco:{short}", f"commit {short} {subject!r} lacks {need} (DCO)", props))
        if conventional.match(subject):
            counts["conventional_commits"] += 1
        else:
            counts["nonconventional_commits"] += 1
            conv_findings.append(
                _finding(
                    f"conventional:{short}",
                    f"commit {short} {subject!r} is not a conventional commit subject (type(scope)!: description)",
                    props,
                )
            )
        co_authors = [v for k, v in trailers if k == "co-authored-by"]
        declared = any(k == "ai-assisted" and v.lower() in _AI_YES for k, v in trailers)
        counts["ai_assisted_commits"] += declared or any(p.search(v) for v in co_authors for p in assistants)
    notes = [f"commits {merge_base[:12]}..HEAD (merge-base of {options.base} and HEAD)"
             + ("" if options.merges else ", merge commits left out")]  # fmt: skip
    findings: list[Finding] = []
    for kind, found in (("DCO", dco_findings), ("conventional", conv_findings)):
        findings += found[: options.max_findings]
        if len(found) > options.max_findings:
            notes.append(f"{len(found) - options.max_findings} more {kind} finding(s) not listed")
    counts["ai_assisted"] = 1.0 if counts["ai_assisted_commits"] else 0.0
    counts.update(_diff_metrics(ctx, merge_base, options))
    not_applicable: dict[str, str] = {}
    if counts["source_files_changed"]:
        counts["tests_touched"] = 1.0 if counts["test_files_changed"] else 0.0
    else:
        why = f"no source file ({', '.join(options.source)}) changed since {options.base}"
        not_applicable["tests_touched"] = why
        notes.append(f"tests_touched not applicable: {why}")
    version = git(ctx, "--version").stdout.strip().removeprefix("git version ")
    return CheckOutput(
        tool=ToolInfo(name="git", version=version or None),
        findings=findings,
        metrics=counts,
        not_applicable=not_applicable,
        notes=notes,
    )


def _diff_metrics(ctx: CheckContext, merge_base: str, options: GitOptions) -> dict[str, float]:
    diff = git(ctx, "diff", "--numstat", "-z", "--no-renames", "--no-color", "--no-ext-diff", merge_base, "HEAD", "--")
    metrics = dict.fromkeys(
        ("files_changed", "lines_added", "lines_removed", "source_files_changed", "test_files_changed"), 0.0
    )
    metrics.update(dict.fromkeys((f"touches_{name}" for name in options.paths), 0.0))
    for entry in diff.stdout.split("\0"):
        added, _, rest = entry.partition("\t")
        removed, _, path = rest.partition("\t")
        if not path:
            continue
        metrics["files_changed"] += 1
        metrics["lines_added"] += int(added) if added.isdigit() else 0
        metrics["lines_removed"] += int(removed) if removed.isdigit() else 0
        if _matches(path, options.tests):
            metrics["test_files_changed"] += 1
        elif _matches(path, options.source):
            metrics["source_files_changed"] += 1
        for name, globs in options.paths.items():
            if _matches(path, globs):
                metrics[f"touches_{name}"] = 1.0
    metrics["changed_lines"] = metrics["lines_added"] + metrics["lines_removed"]
    return metrics


def _finding(id_: str, message: str, properties: dict[str, str]) -> Finding:
    kind = id_.split(":", 1)[0]
    return Finding(
        id=id_,
        severity=Severity.LOW,
        message=message,
        fingerprint=fingerprint("git", kind, properties["commit"]),
        properties=properties,
    )


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "git",
            run,
            GitOptions,
            "Facts about the change since a base branch: commits, DCO sign-off, signatures, conventional "
            "subjects, AI co-authors, diff size, whether tests changed with the source, paths touched.",
            needs_input=False,
        )
    ]
