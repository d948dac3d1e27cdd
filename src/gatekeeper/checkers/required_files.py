"""``uses: required-files``: files every repository must have (licence, README, security policy, owners).

Each required item is a list of alternative globs (relative to the repository root,
matched case-sensitively); it is present when one of them matches a regular file whose
content is not blank and, when the item has a ``pattern``, matches that regular
expression. One ``medium`` finding per missing item. A repository with none of the
files is still a valid result (every item missing), so the check does not need inputs.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, fingerprint

#: A CODEOWNERS line that is not a comment: a pattern, then an owner (@user, @org/team or an email).
OWNER_LINE = r"(?m)^[ \t]*[^#\s]\S*[ \t]+\S*@\S+"
MAX_READ = 1_000_000


class RequiredFile(BaseModel):
    """One required item; written as a string ``"A|B|C"`` or as an object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any_of: list[str] = Field(min_length=1, description="Globs from the repository root; any one match will do.")
    pattern: str | None = Field(
        default=None, description="A regular expression the file's content must match (searched, multi-line)."
    )
    description: str | None = Field(default=None, description="What the file is, for the finding's message.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"any_of": [part.strip() for part in data.split("|")]}
        return data

    @field_validator("any_of")
    @classmethod
    def _relative_globs(cls, value: list[str]) -> list[str]:
        for glob in value:
            if not glob or PurePosixPath(glob).is_absolute() or ".." in PurePosixPath(glob).parts:
                raise ValueError(f"{glob!r}: must be a non-empty glob relative to the repository root, without '..'")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


DEFAULT_FILES = [
    RequiredFile(any_of=["LICENSE", "LICENSE.*", "COPYING", "COPYING.*"], description="a licence"),
    RequiredFile(any_of=["README*", "readme*"], description="a README"),
    RequiredFile(
        any_of=["SECURITY.md", ".github/SECURITY.md", "docs/SECURITY.md"],
        description="a security policy (how to report a vulnerability)",
    ),
    RequiredFile(
        any_of=["CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"],
        pattern=OWNER_LINE,
        description="a CODEOWNERS file naming at least one owner",
    ),
]


class RequiredFilesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    files: list[RequiredFile] = Field(
        default_factory=lambda: list(DEFAULT_FILES),
        description="Required items: 'A|B' strings or {any_of, pattern, description} objects. Default: a "
        "licence (LICENSE, LICENSE.*, COPYING), a README, SECURITY.md (root, .github/ or docs/) and a "
        "CODEOWNERS file (root, .github/ or docs/) naming an owner.",
    )


def _candidates(ctx: CheckContext, item: RequiredFile) -> list[str]:
    root = ctx.root.resolve()
    found: set[str] = set()
    for glob in item.any_of:
        for match in root.glob(glob):
            if match.is_file():
                found.add(ctx.relpath(match))  # refuses a symlink that leads out of the repository
    return sorted(found)


def _why_not(ctx: CheckContext, path: str, item: RequiredFile) -> str | None:
    """None when ``path`` satisfies the item, else why not."""
    try:
        with ctx.resolve(path).open("rb") as handle:
            data = handle.read(MAX_READ)
    except OSError as exc:
        raise CheckError(f"{path}: cannot read: {exc.strerror}") from None
    if not data.strip():
        return f"{path} is empty"
    if item.pattern is not None and not re.search(item.pattern, data.decode("utf-8", errors="replace"), re.MULTILINE):
        return f"{path} does not match {item.pattern!r}"
    return None


def run(ctx: CheckContext, options: RequiredFilesOptions) -> CheckOutput:
    findings: list[Finding] = []
    inputs: list[InputFile] = []
    for item in options.files:
        first = item.any_of[0]
        reasons: list[str] = []
        for path in _candidates(ctx, item):
            why = _why_not(ctx, path, item)
            if why is None:
                inputs.append(ctx.input_file(path))
                break
            reasons.append(why)
        else:
            what = item.description or " or ".join(item.any_of)
            alternatives = f" (or any of: {', '.join(item.any_of[1:])})" if len(item.any_of) > 1 else ""
            found = f" ({'; '.join(reasons)})" if reasons else ""
            findings.append(
                Finding(
                    id=f"missing:{first}",
                    severity=Severity.MEDIUM,
                    message=f"missing {what}{found}: add {first}{alternatives}",
                    fingerprint=fingerprint("required-files", *item.any_of),
                    properties={"any_of": " | ".join(item.any_of)},
                )
            )
    required = len(options.files)
    metrics = {"required": float(required), "present": float(required - len(findings)), "missing": float(len(findings))}
    return CheckOutput(inputs=inputs, findings=findings, metrics=metrics)


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "required-files",
            run,
            RequiredFilesOptions,
            "Files the repository must have: licence, README, security policy, CODEOWNERS (configurable).",
            "1",
            needs_input=False,
        )
    ]
