"""``uses: semgrep``: run semgrep offline with local rules, or read a semgrep JSON report.

Offline means: ``--metrics=off --disable-version-check``, rules only from local files
(``builtin:NAME`` packs shipped in ``policies/semgrep/``, or files in the repository);
a registry name such as ``p/python`` is refused rather than fetched.

Severity mapping (semgrep -> gatekeeper): CRITICAL -> critical; HIGH, ERROR -> high;
MEDIUM, WARNING -> medium; LOW, INFO -> low; EXPERIMENT, INVENTORY -> info; anything
else -> medium, flagged in the finding's properties.

Gaps in evidence are surfaced: files semgrep skipped (too big, failed to parse, timed
out, too many matches) and errors tied to a file make the check an error unless the
policy says ``gaps: warn``. semgrep's own default ignore list (which silently skips
``tests/`` and more) is switched off when the repository has no ``.semgrepignore``.

With ``scope: changed``, semgrep walks ``paths`` as usual but analyses only the changed
files (one ``--include`` each), and every changed file it should read must come back as
scanned or skipped: a file it silently left out is an error, never a pass.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from gatekeeper.checkers._cache_keys import semgrep_inputs
from gatekeeper.checkers._findings import Fingerprinter, repo_path, severity_metrics, shown_path
from gatekeeper.checkers._git import git
from gatekeeper.checkers._ingest import parse_json, read_report
from gatekeeper.checkers._scope import ChangedFiles, changed_files, limit_to_changed, nothing_to_scan, under
from gatekeeper.checkers._subprocess import find_tool, run_tool
from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.checkers.sarif import sarif_output
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, ToolInfo

SEVERITY = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "ERROR": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "WARNING": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "INFO": Severity.LOW,
    "EXPERIMENT": Severity.INFO,
    "INVENTORY": Severity.INFO,
}
#: Skip reasons that mean "a file we were asked to scan was not analysed".
GAP_REASONS = {
    "exceeded_size_limit",
    "too_big",
    "analysis_failed_parser_or_internal_error",
    "too_many_matches",
    "insufficient_permissions",
    "timeout",
}
DEFAULT_EXCLUDES = [".git", ".venv", "venv", ".tox", ".nox", "node_modules", "build", "dist", ".gatekeeper"]
#: semgrep's skip reason for a file no ``--include`` selected.
NOT_INCLUDED = "cli_include_flags_do_not_match"
#: Bytes of ``--include`` patterns on one command line; past it, semgrep scans ``paths`` whole and
#: only the changed files' results are kept.
INCLUDE_BUDGET = 200_000
_REGISTRY = re.compile(r"^(p|r|s|c)/|^https?://|^auto$")


class SemgrepOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config: list[str] = Field(
        default_factory=lambda: ["builtin:python"], description="Rule files: builtin:NAME or paths in the repository."
    )
    paths: list[str] = Field(default_factory=lambda: ["."], description="What to scan, from the repository root.")
    exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDES), description="Patterns semgrep skips.")
    report: str | None = Field(default=None, description="Read this semgrep JSON report instead of running semgrep.")
    jobs: int | None = Field(
        default=None, ge=1, description="semgrep --jobs (default: the machine's cores); at most the run's --jobs."
    )
    per_file_timeout: int = Field(
        default=30, ge=0, description="semgrep --timeout per file and rule, seconds; 0: none."
    )
    gaps: Literal["error", "warn"] = Field(
        default="error", description="Files semgrep was asked to scan but did not analyse: an error, or a note."
    )

    @field_validator("config")
    @classmethod
    def _local_rules_only(cls, value: list[str]) -> list[str]:
        for entry in value:
            if _REGISTRY.match(entry):
                raise ValueError(f"{entry!r} is a registry name; only local rule files are used (semgrep runs offline)")
            if entry.startswith("builtin:"):
                builtin_rules(entry.removeprefix("builtin:"), error=ValueError)
        return value


def builtin_rules(name: str, error: type[Exception] = CheckError) -> Path:
    from gatekeeper.policy.resolve import packs_dir

    path = packs_dir() / "semgrep" / f"{name}.yaml"
    if "/" in name or not path.is_file():
        known = sorted(p.stem for p in (packs_dir() / "semgrep").glob("*.yaml"))
        raise error(f"no built-in semgrep rules {name!r}; available: {', '.join(known)}")
    return path


def _known_configs(ctx: CheckContext, options: SemgrepOptions) -> list[Path]:
    """The rule files that can be read when ingesting a report: built-in packs and files that exist."""
    found = []
    for entry in options.config:
        if entry.startswith("builtin:"):
            found.append(builtin_rules(entry.removeprefix("builtin:")))
        elif not _REGISTRY.match(entry) and ctx.resolve(entry).exists():
            found.append(ctx.resolve(entry))
    return found


def _config_files(ctx: CheckContext, options: SemgrepOptions) -> list[Path]:
    files = []
    for entry in options.config:
        if entry.startswith("builtin:"):
            files.append(builtin_rules(entry.removeprefix("builtin:")))
        elif _REGISTRY.match(entry):
            raise CheckError(f"semgrep config {entry!r} is a registry name; only local rule files are used (offline)")
        else:
            path = ctx.resolve(entry)
            if not path.exists():
                raise CheckError(f"semgrep config {entry} not found in the repository")
            files.append(path)
    return files


@dataclass(frozen=True)
class RulesInfo:
    """What the rule files declare: ids (to undo semgrep's prefixing of ids with the rule
    file's folder) and the file suffixes their languages read (None: any file)."""

    ids: frozenset[str] = frozenset()
    suffixes: frozenset[str] | None = None

    def short_id(self, check_id: str) -> str:
        for rule in self.ids:
            if check_id == rule or check_id.endswith("." + rule):
                return rule
        return check_id

    def relevant(self, path: str) -> bool:
        return self.suffixes is None or Path(path).suffix.lower() in self.suffixes


#: File suffixes per semgrep language, to tell a skipped file that matters from one no rule reads.
LANGUAGE_SUFFIXES = {
    "python": (".py", ".pyi"), "javascript": (".js", ".jsx", ".mjs", ".cjs"), "js": (".js", ".jsx", ".mjs", ".cjs"),
    "typescript": (".ts", ".tsx"), "ts": (".ts", ".tsx"), "go": (".go",), "java": (".java",), "ruby": (".rb",),
    "yaml": (".yaml", ".yml"), "json": (".json",), "bash": (".sh", ".bash"), "sh": (".sh", ".bash"),
}  # fmt: skip


def rules_info(files: list[Path]) -> RulesInfo:
    ids: set[str] = set()
    suffixes: set[str] | None = set()
    yaml = YAML(typ="safe")
    for file in files:
        for path in sorted(file.rglob("*.y*ml")) if file.is_dir() else [file]:
            try:
                data = yaml.load(path.read_text(encoding="utf-8"))
            except (OSError, YAMLError, UnicodeDecodeError) as exc:
                raise CheckError(f"semgrep rules {path.name}: cannot read: {exc}") from None
            for rule in (data or {}).get("rules", []) if isinstance(data, dict) else []:
                if not isinstance(rule, dict):
                    continue
                if "id" in rule:
                    ids.add(str(rule["id"]))
                for language in rule.get("languages") or []:
                    known = LANGUAGE_SUFFIXES.get(str(language).lower())
                    if known is None or suffixes is None:
                        suffixes = None  # a language we cannot map: every skipped file may matter
                    else:
                        suffixes.update(known)
    return RulesInfo(frozenset(ids), frozenset(suffixes) if suffixes is not None else None)


def run(ctx: CheckContext, options: SemgrepOptions) -> CheckOutput:
    if options.report is not None:
        path, text = read_report(ctx, options.report)
        data = parse_json(text, ctx.relpath(path))
        # Which rules made the report is unknown, so every file skipped for size or failure is a gap.
        info = RulesInfo(ids=rules_info(_known_configs(ctx, options)).ids, suffixes=None)
        if isinstance(data, dict) and "runs" in data:  # the tool's SARIF output
            output = sarif_output(ctx, data, [ctx.input_file(path)], "semgrep")
            findings = [f.model_copy(update={"id": info.short_id(f.id)}) for f in output.findings]
            output = output.model_copy(update={"findings": findings})
        else:
            output = _normalise(ctx, data, options, info, [ctx.input_file(path)], notes=[])
        if ctx.changed_since is not None:
            output = limit_to_changed(output, changed_files(ctx, ctx.changed_since))
        return output

    for entry in options.paths:
        if not ctx.resolve(entry).exists():
            raise CheckError(f"path {entry!r} does not exist in the repository (semgrep 'paths' option)")
    configs = _config_files(ctx, options)
    exe = find_tool("semgrep", "semgrep")
    argv = [exe, "scan", "--metrics=off", "--disable-version-check", "--json", "--verbose"]
    argv += ["--timeout", str(options.per_file_timeout)]
    for config in configs:
        argv += ["--config", str(config)]
    for pattern in options.exclude:
        argv += ["--exclude", pattern]
    argv += ["--jobs", str(ctx.workers(options.jobs))]  # at most the run's --jobs
    if not (ctx.root / ".semgrepignore").is_file():
        argv.append("--x-ignore-semgrepignore-files")  # semgrep's hidden default list would skip tests/ silently
    notes = [f"rules {_describe(c)} sha256:{_digest(c)}" for c in configs]
    info = rules_info(configs)
    change: ChangedFiles | None = None
    if ctx.changed_since is not None:
        change = _changed_in_scope(ctx, options, info)
        notes.append(change.describe())
        if not change.changed:
            return _empty_scope(change, notes)
        argv += _includes(ctx, change, notes)
    argv += ["--", *options.paths]
    ctx.progress(f"semgrep with {len(configs)} rule file(s) on {', '.join(options.paths)}")
    env = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    result = run_tool(argv, ctx, ok_codes=(0, 1), env=env)
    data = parse_json(result.stdout, "semgrep output") if result.stdout.strip() else None
    if data is None:
        raise CheckError(f"semgrep printed no JSON: {result.stderr_tail()}")
    if change is None:
        return _normalise(ctx, data, options, info, [], notes=notes, scanned_inputs=True)
    data, left_out = _restrict(ctx, data, change, info)
    output = _normalise(ctx, data, options, info, [], notes=notes, scanned_inputs=True)
    if output.status != "ok":
        return output
    change = change.select(lambda p: p not in left_out)
    metrics = {**output.metrics, **change.metrics(len(output.inputs))}
    output = output.model_copy(update={"metrics": metrics})
    if not output.inputs:
        output = output.model_copy(update={"empty_scope": nothing_to_scan(change, "semgrep")})
    return output


def _changed_in_scope(ctx: CheckContext, options: SemgrepOptions, info: RulesInfo) -> ChangedFiles:
    """The changed files under ``paths`` that a rule's language reads (regular files: semgrep skips symlinks)."""
    change = changed_files(ctx, ctx.changed_since or "")

    def keep(path: str) -> bool:
        if not (under(path, options.paths) and info.relevant(path)):
            return False
        if path in change.deleted:
            return True
        file = ctx.root / path
        return file.is_file() and not file.is_symlink()

    return change.select(keep)


def _empty_scope(change: ChangedFiles, notes: list[str]) -> CheckOutput:
    metrics = {**severity_metrics([]), **change.metrics(0), "files_skipped": 0.0, "gaps": 0.0}
    why = nothing_to_scan(change, "semgrep")
    return CheckOutput(tool=ToolInfo(name="semgrep"), metrics=metrics, notes=notes, empty_scope=why)


def _includes(ctx: CheckContext, change: ChangedFiles, notes: list[str]) -> list[str]:
    """One ``--include`` per changed file, anchored where semgrep anchors them (the git work tree's top)."""
    prefix = git(ctx, "rev-parse", "--show-prefix").stdout.strip()
    patterns = ["/" + _literal(prefix + path) for path in sorted(change.changed)]
    if sum(len(p) + 1 for p in patterns) > INCLUDE_BUDGET:
        notes.append(
            f"{len(patterns)} changed files are too many to name on semgrep's command line: it scanned 'paths' "
            "whole and only the changed files' results were kept"
        )
        return []
    return [arg for pattern in patterns for arg in ("--include", pattern)]


def _literal(path: str) -> str:
    """A gitignore-style pattern that matches ``path``: a glob character (or a space, which such patterns
    may strip) matches any one character; anything else it then matches is left out by ``_restrict``."""
    return "".join("?" if c in "*?[]\\!#" or c.isspace() else c for c in path)


def _restrict(ctx: CheckContext, data: Any, change: ChangedFiles, info: RulesInfo) -> tuple[dict[str, Any], set[str]]:
    """semgrep's output cut down to the changed files, and those of them semgrep's own settings left out.

    Every changed file must come back scanned or skipped; one semgrep neither scanned nor skipped
    (or did not select: an ``--include`` that did not match) is an error, never an empty scan.
    """
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise CheckError("not a semgrep JSON report (no 'results' list)")
    expected = change.changed
    folders = {parent for path in expected for parent in _parents(path)}

    def covered(name: Any) -> set[str]:
        path = repo_path(ctx, str(name)) if name else None
        if path is None:
            return set()
        if path in expected:
            return {path}
        if path == "." or path in folders:
            return {p for p in expected if path == "." or p.startswith(path + "/")}
        return set()

    paths = _dict(data.get("paths"))
    scanned = [name for name in paths.get("scanned") or [] if covered(name)]
    seen: set[str] = set().union(*(covered(name) for name in scanned)) if scanned else set()
    skipped, left_out = [], set()
    for entry in paths.get("skipped") or []:
        files = covered(entry.get("path")) if isinstance(entry, dict) else set()
        if not files:
            continue
        if entry.get("reason") == NOT_INCLUDED:
            raise CheckError(
                f"semgrep did not select the changed file {sorted(files)[0]} (its --include did not match); "
                "set 'scope: all' on this check"
            )
        seen |= files
        skipped.append(entry)
        if entry.get("reason") not in GAP_REASONS:
            left_out |= files
    missing = sorted(expected - seen)
    if missing and info.suffixes is not None:
        raise CheckError(
            f"semgrep neither scanned nor skipped {len(missing)} changed file(s): {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
            + "; set 'scope: all' on this check"
        )
    left_out |= set(missing)  # rules of a language semgrep matches by content: it chose not to read them
    errors = [e for e in data.get("errors") or [] if not (isinstance(e, dict) and e.get("path")) or covered(e["path"])]
    results = [r for r in data["results"] if not isinstance(r, dict) or covered(r.get("path"))]
    restricted = {
        **data,
        "results": results,
        "errors": errors,
        "paths": {**paths, "scanned": scanned, "skipped": skipped},
    }
    return restricted, left_out


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _describe(path: Path) -> str:
    from gatekeeper.policy.resolve import packs_dir

    try:
        return "builtin:" + path.relative_to(packs_dir() / "semgrep").with_suffix("").as_posix()
    except ValueError:
        return path.name


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _normalise(
    ctx: CheckContext,
    data: Any,
    options: SemgrepOptions,
    info: RulesInfo,
    inputs: list[InputFile],
    *,
    notes: list[str],
    scanned_inputs: bool = False,
) -> CheckOutput:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise CheckError("not a semgrep JSON report (no 'results' list)")
    version = data.get("version") if isinstance(data.get("version"), str) else None
    tool = ToolInfo(name="semgrep", version=version)

    fatal = [
        e for e in data.get("errors") or [] if isinstance(e, dict) and not e.get("path") and e.get("level") == "error"
    ]
    if fatal:
        raise CheckError(f"semgrep failed: {_error_text(fatal[0])}")
    gap_files: dict[str, str] = {}
    for error in data.get("errors") or []:
        if isinstance(error, dict) and error.get("path"):
            kind = error.get("type")
            gap_files[shown_path(ctx, str(error["path"]))] = str(
                kind[0] if isinstance(kind, list) and kind else kind or "error"
            )
    paths = _dict(data.get("paths"))
    skipped = [s for s in paths.get("skipped") or [] if isinstance(s, dict)]
    for entry in skipped:
        if entry.get("reason") in GAP_REASONS and info.relevant(str(entry.get("path"))):
            gap_files.setdefault(shown_path(ctx, str(entry.get("path"))), str(entry.get("reason")))
    reasons = Counter(str(s.get("reason")) for s in skipped)
    if reasons:
        notes.append("semgrep skipped " + ", ".join(f"{n} file(s): {r}" for r, n in sorted(reasons.items())))
    if gap_files:
        listed = ", ".join(f"{p} ({why})" for p, why in sorted(gap_files.items())[:5])
        message = f"semgrep did not fully analyse {len(gap_files)} file(s): {listed}" + (
            " ..." if len(gap_files) > 5 else ""
        )
        if options.gaps == "error":
            return CheckOutput(status="error", error=message + " (set gaps: warn to accept the gap)", tool=tool)
        notes.append(message)

    if scanned_inputs:
        scanned = sorted(str(p) for p in paths.get("scanned") or [])
        inputs = [ctx.input_file(name) for name in scanned if ctx.resolve(name).is_file()]

    fingerprint = Fingerprinter(ctx, "semgrep")
    findings = []
    for item in sorted(data["results"], key=lambda r: (str(r.get("path")), _line(r) or 0, str(r.get("check_id")))):
        if not isinstance(item, dict):
            raise CheckError("semgrep report: a result is not an object")
        extra = _dict(item.get("extra"))
        rule = info.short_id(str(item.get("check_id", "semgrep")))
        path = repo_path(ctx, str(item.get("path", "")))
        line = _line(item)
        raw = str(extra.get("severity", "")).upper()
        props = _properties(_dict(extra.get("metadata")))
        if path is None and item.get("path"):
            props["location"] = str(item["path"])  # outside the repository: never a finding's path
        if raw not in SEVERITY:
            props["unmapped_severity"] = raw or "(none)"
        start = _dict(item.get("start"))
        findings.append(
            Finding(
                id=rule,
                severity=SEVERITY.get(raw, Severity.MEDIUM),
                message=str(extra.get("message", "")).strip(),
                path=path,
                line=line,
                column=start.get("col") if isinstance(start.get("col"), int) else None,
                fingerprint=fingerprint(rule, path, line),
                properties=props,
            )
        )
    metrics = severity_metrics(findings)
    metrics.update(
        {"files_scanned": float(len(inputs)), "files_skipped": float(len(skipped)), "gaps": float(len(gap_files))}
    )
    return CheckOutput(tool=tool, inputs=inputs, findings=findings, metrics=metrics, notes=notes)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _line(item: dict[str, Any]) -> int | None:
    start = item.get("start")
    return start.get("line") if isinstance(start, dict) and isinstance(start.get("line"), int) else None


def _properties(metadata: dict[str, Any]) -> dict[str, str]:
    props: dict[str, str] = {}
    cwe = metadata.get("cwe")
    cwes = cwe if isinstance(cwe, list) else [cwe] if cwe else []
    ids = [m.group(0) for c in cwes if (m := re.match(r"CWE-\d+", str(c)))]
    if ids:
        props["cwe"] = ",".join(ids)
    for key in ("category", "confidence", "source"):
        if isinstance(metadata.get(key), str):
            props["url" if key == "source" else key] = metadata[key]
    return props


def _error_text(error: dict[str, Any]) -> str:
    message = str(error.get("message") or error.get("type") or "unknown error")
    return " ".join(message.split())[:300]


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "semgrep",
            run,
            SemgrepOptions,
            "Pattern-based code scanner (runs semgrep offline, or reads its JSON).",
            cache_inputs=semgrep_inputs,
            supports_scope=True,
        )
    ]
