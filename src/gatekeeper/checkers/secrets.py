"""``uses: secrets``: hard-coded credentials in the repository's files, found with detect-secrets.

detect-secrets runs as a library with all its plugins and default filters (a line
marked ``pragma: allowlist secret`` is not reported). Its settings are process-wide,
so scans are serialised with a lock. A finding never carries the secret: its message
names the type and at most the first 4 characters of a long value; its fingerprint is
built from the type, the path and detect-secrets' hash of the value, so it survives
the line moving. Binary files (a NUL byte, or not text in the locale's encoding) and
files over ``max_file_bytes`` are not scanned; a note counts them.
"""

from __future__ import annotations

import locale
import os
import re
import shutil
import threading
from collections import Counter
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from detect_secrets.core.scan import scan_file
from detect_secrets.settings import default_settings
from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.checkers._subprocess import run_tool
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, ToolInfo, fingerprint

WALK_EXCLUDES = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__",
        ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist", ".gatekeeper",
    }
)  # fmt: skip
_SETTINGS_LOCK = threading.Lock()
PREFIX_MIN_LENGTH = 12


class SecretsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(
        default_factory=lambda: ["."],
        description="Files or folders to scan, from the repository root. In a git repository only tracked files "
        "are scanned (git ls-files); elsewhere the folders are walked, skipping .git, virtualenvs, "
        "node_modules, build output and caches.",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Globs of repository paths not to scan; a glob matching a folder excludes what is in it.",
    )
    max_file_bytes: int = Field(
        default=1_000_000, ge=1, description="Larger files are not scanned (a note counts them)."
    )


def slug(secret_type: str) -> str:
    """``AWS Access Key`` -> ``aws-access-key``."""
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-") or "secret"


def _excluded(path: str, globs: list[str]) -> bool:
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatchcase(prefix, glob) for glob in globs for prefix in prefixes)


def _is_git(ctx: CheckContext) -> bool:
    if shutil.which("git") is None:
        return False
    inside = run_tool(["git", "rev-parse", "--is-inside-work-tree"], ctx, ok_codes=(0, 128))
    return inside.returncode == 0 and inside.stdout.strip() == "true"


def _walk(ctx: CheckContext, start: Path) -> list[str]:
    if start.is_file():
        return [ctx.relpath(start)]
    found: list[str] = []
    for folder, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in WALK_EXCLUDES)
        found.extend(ctx.relpath(Path(folder) / name) for name in files if not os.path.islink(Path(folder) / name))
    return found


def _candidates(ctx: CheckContext, options: SecretsOptions) -> tuple[list[str], str]:
    for entry in options.paths:
        if not ctx.resolve(entry).exists():
            raise CheckError(f"path {entry!r} does not exist in the repository (secrets 'paths' option)")
    if _is_git(ctx):
        listed = run_tool(["git", "-c", "core.quotePath=false", "ls-files", "-z", "--", *options.paths], ctx)
        paths = {p for p in listed.stdout.split("\0") if p}
        source = "tracked files (git ls-files)"
    else:
        paths = {p for entry in options.paths for p in _walk(ctx, ctx.resolve(entry))}
        source = "files found by walking the folders (not a git repository)"
    return sorted(p for p in paths if not _excluded(p, options.exclude)), source


def _is_binary(data: bytes, encoding: str) -> bool:
    if b"\0" in data[:8192]:
        return True
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return True
    return False


def _redacted(value: str | None) -> str:
    if not value or len(value) < PREFIX_MIN_LENGTH:
        return ""
    return f" (value starts {value[:4]}…)"


def run(ctx: CheckContext, options: SecretsOptions) -> CheckOutput:
    candidates, source = _candidates(ctx, options)
    encoding = locale.getpreferredencoding(False)  # what detect-secrets opens files with
    inputs: list[InputFile] = []
    findings: list[Finding] = []
    skipped: Counter[str] = Counter()
    seen: Counter[tuple[str, str, str]] = Counter()
    ctx.progress(f"detect-secrets on {len(candidates)} {source}")
    with _SETTINGS_LOCK, default_settings():
        for path in candidates:
            if ctx.cancelled.is_set():
                raise CheckError("cancelled")
            full = ctx.root / path
            if full.is_symlink() or not full.is_file():  # symlinks, submodules, files deleted but tracked
                skipped["not a regular file"] += 1
                continue
            full = ctx.resolve(path)
            if full.stat().st_size > options.max_file_bytes:
                skipped[f"larger than max_file_bytes ({options.max_file_bytes})"] += 1
                continue
            try:
                data = full.read_bytes()
            except OSError as exc:
                raise CheckError(f"{path}: cannot read: {exc.strerror}") from None
            if _is_binary(data, encoding):
                skipped[f"binary (not {encoding} text)"] += 1
                continue
            inputs.append(ctx.input_file(path))
            for secret in scan_file(str(full)):
                kind = slug(secret.type)
                key = (kind, path, secret.secret_hash)
                seen[key] += 1
                findings.append(
                    Finding(
                        id=kind,
                        severity=Severity.HIGH,
                        message=f"{secret.type} found{_redacted(secret.secret_value)}: remove it from the "
                        "repository, revoke it, and load it from the environment or a secret store",
                        path=path,
                        line=secret.line_number or None,
                        fingerprint=fingerprint("secrets", kind, path, secret.secret_hash, seen[key]),
                        properties={"secret_type": secret.type},
                    )
                )
    notes = [f"not scanned: {count} file(s) {why}" for why, count in sorted(skipped.items())]
    metrics = {"files_scanned": float(len(inputs)), "secrets": float(len(findings))}
    return CheckOutput(
        tool=ToolInfo(name="detect-secrets", version=_version()),
        inputs=inputs,
        findings=sorted(findings, key=Finding.sort_key),
        metrics=metrics,
        notes=notes,
    )


def _version() -> str | None:
    from detect_secrets.__version__ import VERSION

    return str(VERSION)


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "secrets",
            run,
            SecretsOptions,
            "Hard-coded credentials in the repository's files (detect-secrets as a library).",
            "1",
        )
    ]
