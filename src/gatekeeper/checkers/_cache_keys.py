"""``cache_inputs`` of the built-in checkers: what each one's answer depends on (``docs/cache.md``).

Each function mirrors how its checker chooses the files it reads, erring on the side of more:
a file hashed needlessly costs a cache miss, a file missed would let a stale result through.
Two guards keep that promise as the checkers change:

- the option names each function knows are listed; an options model with any other field
  makes the check uncacheable (``None``) until the function learns what the field does;
- the engine refuses to store a result one of whose inputs was not among the hashed files.

Checkers that read git history (diff-coverage, codeowners, git, required-files' git checks)
and the secrets and licenses checkers are not cached.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import platform
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from gatekeeper.checkers._subprocess import find_tool, run_tool
from gatekeeper.checkers.base import CacheInputs, CheckContext
from gatekeeper.digests import sha256_file

if TYPE_CHECKING:
    from gatekeeper.checkers.bandit import BanditOptions
    from gatekeeper.checkers.coverage import CoverageOptions
    from gatekeeper.checkers.junit import JUnitOptions
    from gatekeeper.checkers.pip_audit import PipAuditOptions
    from gatekeeper.checkers.sarif import SarifOptions
    from gatekeeper.checkers.semgrep import SemgrepOptions


def knows(options: BaseModel, *names: str) -> bool:
    """Whether the options model has exactly these fields (a new one may change what is read)."""
    return set(type(options).model_fields) == set(names)


# --- tool identity -------------------------------------------------------------------------------

_TOOLS: dict[tuple[str, int, int, int], str] = {}
_TOOLS_LOCK = threading.Lock()


def tool_identity(ctx: CheckContext, command: str, package: str, env: dict[str, str] | None = None) -> str:
    """``package VERSION ...`` of the tool the checker will run, remembered for the process.

    A tool installed beside this Python is the package this Python sees, so its version comes
    from the package metadata (semgrep takes over a second to print it); any other runs
    ``--version``. Raises ``CheckError`` when the tool is missing (the run then says so).
    """
    exe = find_tool(command, package)
    info = os.stat(exe)
    memo = (os.path.realpath(exe), info.st_size, info.st_mtime_ns, info.st_ino)
    with _TOOLS_LOCK:
        known = _TOOLS.get(memo)
    if known is not None:
        return known
    identity: str | None = None
    if Path(exe).parent == Path(sys.executable).parent:
        try:
            identity = f"{package} {importlib.metadata.version(package)} python {platform.python_version()}"
        except importlib.metadata.PackageNotFoundError:
            identity = None
    if identity is None:
        identity = " ".join(run_tool([exe, "--version"], ctx, env=env).stdout.split())
    with _TOOLS_LOCK:
        _TOOLS[memo] = identity
    return identity


# --- walking the repository as a tool would ------------------------------------------------------


def globbed(ctx: CheckContext, patterns: Iterable[str]) -> list[str]:
    """The files the report checkers' globs match, exactly as they expand them."""
    files: list[str] = []
    for pattern in patterns:
        files += [p.relative_to(ctx.root).as_posix() for p in sorted(ctx.root.glob(pattern)) if p.is_file()]
    return list(dict.fromkeys(files))


def _walk(ctx: CheckContext, top: str) -> Iterable[tuple[str, list[str], list[str]]]:
    """``os.walk`` of ``top`` (relative to the root), with folder names as a tool run in the root sees them."""
    base = ctx.root / top
    for folder, dirs, files in os.walk(base):
        rel = os.path.relpath(folder, base)
        yield (top if rel == "." else os.path.join(top, rel)), dirs, files


def _repo(tool_path: str) -> str:
    """A path as a tool run in the root names it (``./src/a.py``), relative to the root."""
    return Path(os.path.normpath(tool_path)).as_posix()


# --- bandit --------------------------------------------------------------------------------------


def bandit_inputs(ctx: CheckContext, options: BanditOptions) -> CacheInputs | None:
    """The files the checker names to bandit (its own choice: ``bandit._walk``), and the ``.bandit`` it gives it."""
    from gatekeeper.checkers.bandit import _walk

    if not knows(options, "paths", "exclude", "skip", "severity", "confidence", "report", "baseline",
                 "unparsed_files", "jobs", "shard_min_files"):  # fmt: skip
        return None
    if options.report is not None:
        return CacheInputs(files=[options.report])  # files named in it are re-checked as the run resolved them
    tree = _walk(ctx, options)
    files = [*tree.files, *tree.ini]
    if options.baseline is not None:
        files.append(options.baseline)
    extra = {"workers": ctx.workers(options.jobs)}  # how it shards shows in its notes
    return CacheInputs(files=files, tool=tool_identity(ctx, "bandit", "bandit"), extra=extra)


# --- semgrep -------------------------------------------------------------------------------------


def semgrep_inputs(ctx: CheckContext, options: SemgrepOptions) -> CacheInputs | None:
    """The rules (by digest) and every file under ``paths`` (semgrep decides which it reads).

    semgrep also skips git-ignored files; the ignore files are hashed rather than applied. An
    ``exclude`` pattern prunes only where it surely applies (a name pattern, no ``/``).
    """
    from gatekeeper.checkers.semgrep import _REGISTRY, _describe, _known_configs

    if not knows(options, "config", "paths", "exclude", "report", "jobs", "per_file_timeout", "gaps"):
        return None
    local = [entry for entry in options.config if not entry.startswith("builtin:") and not _REGISTRY.match(entry)]
    known = _known_configs(ctx, options)
    rules = {_describe(path): _tree_digest(path) for path in known if not _inside(ctx, path)}
    if options.report is not None:
        return CacheInputs(files=[options.report, *local], extra={"rules": rules})
    names = [p for p in options.exclude if "/" not in p and "\\" not in p and not p.startswith("!")]
    files: list[str] = [*local, ".semgrepignore", ".gitignore", ".git/info/exclude"]
    for target in options.paths:
        files += [f"{parent.as_posix()}/.gitignore" for parent in Path(target).parents if parent != Path(".")]
        if not (ctx.root / target).is_dir():
            files.append(target)
            continue
        for folder, dirs, found in _walk(ctx, target):
            dirs[:] = [d for d in dirs if d != ".git" and not _matches(d, names)]  # semgrep never reads .git
            for name in found:
                if _matches(name, names):
                    continue
                # Every file, not only those with a rule language's suffix: semgrep also reads files it
                # recognises otherwise (Django's manage.py-tpl), and a file missing here is a result never cached.
                files.append(_repo(os.path.join(folder, name)))
    env = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    return CacheInputs(files=files, tool=tool_identity(ctx, "semgrep", "semgrep", env), extra={"rules": rules})


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _inside(ctx: CheckContext, path: Path) -> bool:
    root = ctx.root.resolve()
    return path.resolve() == root or root in path.resolve().parents


def _tree_digest(path: Path) -> str:
    """A rule file's or rule folder's digest (files outside the repository, e.g. the built-in packs)."""
    if not path.is_dir():
        return sha256_file(path)
    parts = [f"{f.relative_to(path).as_posix()}:{sha256_file(f)}" for f in sorted(path.rglob("*")) if f.is_file()]
    return ";".join(parts)


# --- pip-audit (external: cached for the policy's ttl_external) ---------------------------------


def pip_audit_inputs(ctx: CheckContext, options: PipAuditOptions) -> CacheInputs | None:
    """The dependency files (or installed metadata) it audits, the service it asks and the tool."""
    from gatekeeper.checkers.pip_audit import OSV_URL_ENV, _sources

    if not knows(options, "requirements", "project", "environment", "resolve", "service", "osv_url",
                 "request_timeout", "unaudited", "missing", "severity", "report"):  # fmt: skip
        return None
    if options.report is not None:
        return CacheInputs(files=[options.report])
    _, found = _sources(ctx, options)
    if not found:
        return None  # skipped or an error: nothing to cache
    extra = {"osv_url": options.osv_url or os.environ.get(OSV_URL_ENV)}
    if options.resolve:
        extra.update({name: os.environ.get(name) for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")})
    files = [p.relative_to(ctx.root.resolve()).as_posix() for p in found]
    return CacheInputs(files=files, tool=tool_identity(ctx, "pip-audit", "pip-audit"), extra=extra)


# --- report readers ------------------------------------------------------------------------------


def junit_inputs(ctx: CheckContext, options: JUnitOptions) -> CacheInputs | None:
    if not knows(options, "reports", "flaky", "max_findings", "missing"):
        return None
    return CacheInputs(files=globbed(ctx, options.reports))


def sarif_inputs(ctx: CheckContext, options: SarifOptions) -> CacheInputs | None:
    if not knows(options, "reports", "tools", "suppressed"):
        return None
    return CacheInputs(files=globbed(ctx, options.reports))


def coverage_inputs(ctx: CheckContext, options: CoverageOptions) -> CacheInputs | None:
    """The report; which repository files its paths map to is re-checked as the run resolved them."""
    if not knows(options, "report", "format", "file_threshold"):
        return None
    return CacheInputs(files=[options.report])
