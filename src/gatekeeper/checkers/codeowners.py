"""``uses: codeowners``: every tracked file (or every file changed since ``base``) has a code owner.

The CODEOWNERS file is looked for where GitHub looks, in GitHub's order: ``.github/``,
the repository root, ``docs/``; the first one found is used. Patterns are matched the
way GitHub documents them (gitignore-style, the last matching line wins) by the
``codeowners`` package, a port of hmarr/codeowners. A file whose last matching line
names no owner is unowned, as on GitHub. Owners are not checked against the forge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeowners import CodeOwners
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gatekeeper.checkers._git import find_merge_base, git, validate_base
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, Severity, fingerprint

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


class CodeownersOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str | None = Field(
        default=None,
        description="Branch, tag or commit: only files changed from the merge-base of it and HEAD to the working "
        "tree (deleted files aside) must have an owner. Default: every tracked file.",
    )
    file: str | None = Field(
        default=None, description="The CODEOWNERS file to use, instead of looking in .github/, the root and docs/."
    )
    max_findings: int = Field(default=100, ge=0, description="Unowned files listed as findings; all are counted.")

    @field_validator("base")
    @classmethod
    def _a_ref(cls, value: str | None) -> str | None:
        return value if value is None else validate_base(value)


def _require_top_level(ctx: CheckContext) -> None:
    top = git(ctx, "rev-parse", "--show-toplevel", ok=(0, 128))
    if top.returncode != 0 or not top.stdout.strip():
        raise CheckError(f"{ctx.root} is not a git repository ({top.stderr_tail(1)}); codeowners reads git ls-files")
    top_level = Path(top.stdout.strip()).resolve()
    if top_level != ctx.root.resolve():  # CODEOWNERS patterns are relative to the top level
        raise CheckError(
            f"{ctx.root} is inside the git repository at {top_level}, not its top level; "
            "CODEOWNERS patterns are relative to the top level, so run the gate there"
        )


def _paths(ctx: CheckContext, base: str | None) -> tuple[list[str], str]:
    if base is None:
        listed = git(ctx, "ls-files", "-z")
        scope = "tracked files"
    else:
        merge_base = find_merge_base(ctx, base, "codeowners")
        listed = git(ctx, "diff", "--name-only", "--no-renames", "--diff-filter=d", "-z", merge_base, "--")
        scope = f"files changed since {base} (merge-base {merge_base[:12]})"
    return sorted({p for p in listed.stdout.split("\0") if p}), scope


def _codeowners_file(ctx: CheckContext, chosen: str | None) -> str:
    if chosen is not None:
        if not ctx.resolve(chosen).is_file():
            raise CheckError(f"CODEOWNERS file {chosen} not found (codeowners 'file' option)")
        return ctx.relpath(chosen)
    for location in LOCATIONS:
        if ctx.resolve(location).is_file():
            return location
    raise CheckError(f"no CODEOWNERS file: looked for {', '.join(LOCATIONS)}; add one (or set 'file')")


def run(ctx: CheckContext, options: CodeownersOptions) -> CheckOutput:
    _require_top_level(ctx)
    owners_path = _codeowners_file(ctx, options.file)
    owners_input = ctx.input_file(owners_path)
    try:
        text = ctx.resolve(owners_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckError(f"{owners_path}: cannot read as UTF-8 text: {exc}") from None
    try:
        rules = CodeOwners(text)
    except ValueError as exc:
        raise CheckError(f"{owners_path}: {exc}") from None
    paths, scope = _paths(ctx, options.base)
    ctx.progress(f"owners of {len(paths)} {scope}")

    unowned: list[tuple[str, str]] = []
    for path in paths:
        owners, line, pattern, _section = rules.matching_line(path)
        if owners:
            continue
        if line is None:
            why = f"no line of {owners_path} matches it"
        else:
            why = f"its last matching line in {owners_path} (line {line}: {pattern}) names no owner"
        unowned.append((path, why))

    findings = [
        Finding(
            id="unowned",
            severity=Severity.LOW,
            message=f"{path} has no code owner: {why}",
            path=path,
            fingerprint=fingerprint("codeowners", "unowned", path),
        )
        for path, why in unowned[: options.max_findings]
    ]
    notes = [f"checked {len(paths)} {scope} against {owners_path}"]
    if len(unowned) > len(findings):
        notes.append(f"{len(unowned)} unowned files; the first {len(findings)} are listed (max_findings)")
    metrics = {
        "files": float(len(paths)),
        "owned_files": float(len(paths) - len(unowned)),
        "unowned_files": float(len(unowned)),
    }
    return CheckOutput(inputs=[owners_input], findings=findings, metrics=metrics, notes=notes)


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "codeowners",
            run,
            CodeownersOptions,
            "Every tracked file (or every file changed since a base) has an owner in CODEOWNERS.",
            "1",
        )
    ]
