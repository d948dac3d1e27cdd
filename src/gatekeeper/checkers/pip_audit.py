"""``uses: pip-audit``: known vulnerabilities in the project's Python dependencies, through the real pip-audit.

What is audited, one source per check: the requirements files named by
``requirements`` (globs), or the project's ``pyproject.toml`` (``project: true``), or
an installed environment (``environment: .venv``); with none of these set,
``requirements*.txt`` and ``requirements/*.txt`` at the repository root are found
automatically.

Fails closed on what was not audited: a dependency pip-audit skipped (an URL or
editable requirement, a package the service does not know), an audit of zero
dependencies, an unreachable or broken vulnerability service, are all errors
(``unaudited: warn`` accepts skipped dependencies as a noted gap).

pip-audit's JSON carries no severity, so every known vulnerability gets the
policy's ``severity`` (default ``high``), recorded as ``severity_source: policy``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gatekeeper.checkers._cache_keys import pip_audit_inputs
from gatekeeper.checkers._ingest import parse_json, read_report
from gatekeeper.checkers._subprocess import find_tool, run_tool
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, ToolInfo, fingerprint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

AUTO_REQUIREMENTS = ("requirements*.txt", "requirements/*.txt")
OSV_URL_ENV = "GATEKEEPER_OSV_URL"


class PipAuditOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: list[str] = Field(default_factory=list, description="Requirements files (globs) to audit.")
    project: bool = Field(
        default=False,
        description="Audit pyproject.toml's [project].dependencies: as pinned (==), or resolved with resolve: true.",
    )
    environment: str | None = Field(default=None, description="A virtual environment in the repository to audit.")
    resolve: bool = Field(
        default=False,
        description="Let pip-audit resolve unpinned requirements and their dependencies through a package index. "
        "Off: requirements must be pinned (==) and are audited as written.",
    )
    service: Literal["osv", "pypi"] | None = Field(
        default=None, description="Vulnerability service; default osv when an OSV URL is set, else pypi."
    )
    osv_url: str | None = Field(default=None, description=f"OSV API query URL (also from ${OSV_URL_ENV}).")
    request_timeout: int = Field(default=30, ge=1, description="Seconds pip-audit waits for the service.")
    unaudited: Literal["error", "warn"] = Field(
        default="error", description="Dependencies pip-audit could not audit: an error (default) or a note."
    )
    missing: Literal["error", "skip"] = Field(
        default="error", description="No dependency files found: an error, or a skipped check the rules decide on."
    )
    severity: Literal["low", "medium", "high", "critical"] = Field(
        default="high", description="Severity given to each known vulnerability (pip-audit reports none)."
    )
    report: str | None = Field(default=None, description="Read this pip-audit JSON report instead of running it.")

    @model_validator(mode="after")
    def _one_source(self) -> PipAuditOptions:
        chosen = [n for n, on in (("requirements", bool(self.requirements)), ("project", self.project),
                                  ("environment", self.environment is not None)) if on]  # fmt: skip
        if len(chosen) > 1:
            raise ValueError(f"choose one of requirements, project and environment (got {' and '.join(chosen)})")
        return self


def _sources(ctx: CheckContext, options: PipAuditOptions) -> tuple[list[str], list[Path]]:
    """The pip-audit arguments naming what to audit, and the files they read."""
    if options.environment is not None:
        site = sorted(ctx.resolve(options.environment).glob("lib/python*/site-packages"))
        if not site:
            raise CheckError(
                f"environment {options.environment}: no lib/python*/site-packages inside; is it a virtualenv?"
            )
        metadata = sorted(site[0].glob("*.dist-info/METADATA"))
        return ["--path", str(site[0])], metadata
    if options.project:
        pyproject = ctx.resolve("pyproject.toml")
        if not pyproject.is_file():
            raise CheckError("project: true but there is no pyproject.toml at the repository root")
        return ([str(ctx.root)] if options.resolve else []), [pyproject]
    patterns = options.requirements or list(AUTO_REQUIREMENTS)
    files: list[Path] = []
    for pattern in patterns:
        matched = sorted(p for p in ctx.root.glob(pattern) if p.is_file())
        if not matched and options.requirements:
            raise CheckError(f"requirements {pattern!r} matches no file in the repository")
        files += [ctx.resolve(p) for p in matched]
    args = [arg for file in files for arg in ("-r", str(file))]
    return args, files


def pinned_project_requirements(pyproject: Path) -> str:
    """``[project].dependencies`` as a requirements file, when every one is pinned with ``==``.

    Auditing pins needs no package index; ranges do (``resolve: true``).
    """
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CheckError(f"pyproject.toml: cannot read it: {exc}") from None
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list):
        raise CheckError("pyproject.toml: [project].dependencies is not a list")
    lines = []
    for text in dependencies:
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement as exc:
            raise CheckError(f"pyproject.toml: dependency {text!r} is not valid: {exc}") from None
        pins = [spec for spec in requirement.specifier if spec.operator in ("==", "===")]
        if requirement.url or len(pins) != 1 or "*" in pins[0].version:
            raise CheckError(
                f"pyproject.toml: dependency {text!r} is not pinned with ==; pin it, or set resolve: true "
                "to let pip-audit resolve the project through a package index"
            )
        lines.append(f"{requirement.name}=={pins[0].version}")
    return "".join(f"{line}\n" for line in lines)


def run(ctx: CheckContext, options: PipAuditOptions) -> CheckOutput:
    if options.report is not None:
        path, text = read_report(ctx, options.report)
        data = parse_json(text, ctx.relpath(path))
        return _normalise(ctx, data, options, [ctx.input_file(path)], [], ToolInfo(name="pip-audit"))

    args, files = _sources(ctx, options)
    if not files:
        message = (
            "no dependency files found (requirements*.txt, requirements/*.txt); name them with 'requirements', "
            "or set 'project: true' or 'environment'"
        )
        if options.missing == "skip":
            return CheckOutput(status="skipped", error=message)
        raise CheckError(message)
    exe = find_tool("pip-audit", "pip-audit")
    osv_url = options.osv_url or os.environ.get(OSV_URL_ENV)
    service = options.service or ("osv" if osv_url else "pypi")
    argv = [exe, *args, "-f", "json", "--progress-spinner", "off", "--timeout", str(options.request_timeout)]
    argv += ["-s", service]
    if service == "osv" and osv_url:
        argv += ["--osv-url", osv_url]
    if not options.resolve and options.environment is None:
        argv += ["--no-deps", "--disable-pip"]
    version_run = run_tool([exe, "--version"], ctx)
    version = version_run.stdout.split()[-1] if version_run.stdout.split() else None
    ctx.progress(f"pip-audit ({service}) on {len(files)} file(s)")
    with tempfile.TemporaryDirectory(prefix="gatekeeper-pip-audit-") as scratch:
        if options.project and not options.resolve:
            pinned = Path(scratch) / "requirements.txt"
            pinned.write_text(pinned_project_requirements(files[0]), encoding="utf-8")
            argv[1:1] = ["-r", str(pinned)]
        result = run_tool(argv, ctx, ok_codes=(0, 1))
    if not result.stdout.strip():
        raise CheckError(f"pip-audit failed: {result.stderr_tail()}")
    data = parse_json(result.stdout, "pip-audit output")
    inputs = [ctx.input_file(f) for f in files if _inside(ctx, f)]
    requirement_files = [f for f in files if f.suffix == ".txt" or f.name == "pyproject.toml"]
    return _normalise(ctx, data, options, inputs, requirement_files, ToolInfo(name="pip-audit", version=version))


def _inside(ctx: CheckContext, path: Path) -> bool:
    try:
        ctx.resolve(path)
    except CheckError:
        return False
    return True


def _locate(ctx: CheckContext, files: list[Path], package: str) -> tuple[str | None, int | None]:
    """The requirements file and line that names ``package``, for annotations."""
    wanted = re.sub(r"[-_.]+", "-", package).lower()
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            match = re.match(r"\s*[\"']?([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match and re.sub(r"[-_.]+", "-", match.group(1)).lower() == wanted:
                return ctx.relpath(file), number
    return (ctx.relpath(files[0]), None) if len(files) == 1 else (None, None)


def _normalise(
    ctx: CheckContext, data: Any, options: PipAuditOptions, inputs: list[InputFile], files: list[Path], tool: ToolInfo
) -> CheckOutput:
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(dependencies, list):
        raise CheckError("not a pip-audit JSON report (no 'dependencies' list)")
    if not dependencies:
        raise CheckError("pip-audit audited no dependencies; an empty audit is no evidence (is the file empty?)")
    skipped = [d for d in dependencies if isinstance(d, dict) and d.get("skip_reason")]
    notes: list[str] = []
    if skipped:
        listed = "; ".join(f"{d.get('name')}: {d.get('skip_reason')}" for d in skipped[:5])
        message = f"pip-audit could not audit {len(skipped)} of {len(dependencies)} dependencies ({listed})"
        if options.unaudited == "error":
            return CheckOutput(status="error", error=message + " (set unaudited: warn to accept the gap)", tool=tool)
        notes.append(message)

    findings: list[Finding] = []
    for dep in dependencies:
        if not isinstance(dep, dict) or dep.get("skip_reason"):
            continue
        name, version = str(dep.get("name", "?")), str(dep.get("version", "?"))
        vulns = dep.get("vulns") or []
        if not isinstance(vulns, list):
            raise CheckError(f"pip-audit report: 'vulns' of {name} is not a list")
        path, line = _locate(ctx, files, name) if files else (None, None)
        for vuln in vulns:
            advisory = str(vuln.get("id", "?"))
            aliases = sorted(str(a) for a in vuln.get("aliases") or [])  # pip-audit prints them in set order
            fixes = [str(f) for f in vuln.get("fix_versions") or []]
            fix_text = f"fixed in {', '.join(fixes)}" if fixes else "no fixed version yet"
            description = " ".join(str(vuln.get("description") or "").split())
            findings.append(
                Finding(
                    id=advisory,
                    severity=Severity(options.severity),
                    message=f"{name} {version}: {advisory} ({fix_text}). {description[:300]}".strip(),
                    path=path,
                    line=line,
                    fingerprint=fingerprint("pip-audit", re.sub(r"[-_.]+", "-", name).lower(), advisory),
                    properties={
                        "package": name,
                        "version": version,
                        "aliases": ",".join(aliases),
                        "fix_versions": ",".join(fixes),
                        "severity_source": "policy",
                    },
                )
            )
    vulnerable = sum(1 for d in dependencies if isinstance(d, dict) and d.get("vulns"))
    metrics = {
        "dependencies": float(len(dependencies)),
        "audited": float(len(dependencies) - len(skipped)),
        "unaudited": float(len(skipped)),
        "vulnerable_dependencies": float(vulnerable),
        "vulnerabilities": float(len(findings)),
    }
    return CheckOutput(tool=tool, inputs=inputs, findings=findings, metrics=metrics, notes=notes)


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "pip-audit",
            run,
            PipAuditOptions,
            "Known vulnerabilities in Python dependencies (runs pip-audit).",
            cache_inputs=pip_audit_inputs,
            external=True,  # the advisory database changes: cached for the policy's cache.ttl_external only
        )
    ]
