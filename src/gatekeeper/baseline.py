"""Baselines: the findings a repository already had, so that a rule can count only new ones.

``gatekeeper baseline create`` runs the policy's checks and writes every finding's check, id,
severity, path, line and fingerprint to a JSON file, ``.gatekeeper-baseline.json`` at the
repository root unless ``--out`` says otherwise. A rule with ``new_only: true`` reads that file;
one with ``findings: {baseline: FILE}`` reads FILE (relative to the policy file that declares
the rule). Such a rule counts only the findings the baseline does not account for.

A baseline is a multiset: each entry takes at most one finding with the same id and fingerprint
out of a rule's count, so a second copy of a baselined issue is new. Entries are pooled across
the checks a rule reads (a file that moves from one check's paths to another's is not new).
Findings without a fingerprint are never taken out.

The file is committed, so it holds no quoted run of hex digits: secret scanners report those as
high-entropy strings, and a baseline must not trip the ``secrets`` check it may itself record.
Fingerprints are written with an ``fp:`` prefix, and the git commit is left out (git knows which
commit added the file). It also leaves out the findings' messages: bandit's name the hard-coded
password they found.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatekeeper.errors import GatekeeperError, PolicyError, ReportError, UsageError
from gatekeeper.models import CheckResult, Finding, InputFile, Severity
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.policy.model import Rule

if TYPE_CHECKING:
    from gatekeeper.engine import ProgressCallback

__all__ = [
    "BASELINE_FORMAT",
    "DEFAULT_BASELINE",
    "Baseline",
    "BaselineDocument",
    "BaselineEntry",
    "CreatedBaseline",
    "baseline_document",
    "baseline_of",
    "baseline_path",
    "create_baseline",
    "load_baselines",
    "read_baseline",
]

BASELINE_FORMAT: Literal[1] = 1
DEFAULT_BASELINE = ".gatekeeper-baseline.json"
MAX_BASELINE_BYTES = 64 * 1024 * 1024
FINGERPRINT_PREFIX = "fp:"

Key = tuple[str, str]  # (finding id, fingerprint)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BaselineEntry(_Strict):
    """One recorded finding. Only ``id`` and ``fingerprint`` are matched; the rest is for people."""

    check: str
    id: str
    severity: Severity = Field(strict=False)
    path: str | None = None
    line: int | None = None
    fingerprint: str = Field(pattern=r"^fp:\S+$", description="The finding's fingerprint, after 'fp:'.")


class BaselinePolicy(_Strict):
    name: str
    digest: str


class BaselineDocument(_Strict):
    """The baseline file."""

    gatekeeper_baseline: Literal[1] = Field(description="The format version.")
    created_at: datetime = Field(strict=False)
    gatekeeper_version: str
    policy: BaselinePolicy = Field(description="The policy the checks were run with (for people; not checked).")
    findings: list[BaselineEntry]


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: how many entries each (finding id, fingerprint) has."""

    file: InputFile
    counts: Mapping[Key, int] = field(default_factory=dict)

    @property
    def entries(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def from_findings(cls, file: InputFile, findings: Iterable[Finding]) -> Baseline:
        """A baseline whose entries are these findings (e.g. a recorded rule's ``baselined`` list, to replay it)."""
        return cls(file, dict(Counter((f.id, f.fingerprint) for f in findings if f.fingerprint)))

    def absorber(self) -> Counter[Key]:
        """A fresh multiset for one rule to take findings out of (each rule has the whole baseline)."""
        return Counter(self.counts)


def baseline_of(rule: Rule) -> tuple[Literal["new_only", "findings.baseline"], str] | None:
    """Which baseline a rule reads: the policy key that asks for it and the file as written, or None."""
    if rule.new_only:
        return "new_only", DEFAULT_BASELINE
    if rule.findings is not None and rule.findings.baseline is not None:
        return "findings.baseline", rule.findings.baseline
    return None


def read_baseline(path: Path, shown: str) -> Baseline:
    """Read and validate a baseline file; ``PolicyError`` (without a location) says what is wrong."""
    redo = "run `gatekeeper baseline create` again to rewrite it"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BASELINE_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError(f"baseline {shown} not found") from None
    except IsADirectoryError:
        raise PolicyError(f"baseline {shown} is a directory; name the baseline file") from None
    except OSError as exc:
        raise PolicyError(f"cannot read baseline {shown}: {exc.strerror}") from None
    if len(data) > MAX_BASELINE_BYTES:
        raise PolicyError(f"baseline {shown} is larger than {MAX_BASELINE_BYTES} bytes")
    try:
        document = BaselineDocument.model_validate_json(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise PolicyError(f"baseline {shown} is not UTF-8 text (byte {exc.start}); {redo}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        version = _format_version(data)
        if version is not None and version != BASELINE_FORMAT:
            raise PolicyError(
                f"baseline {shown} has format {version}; this gatekeeper reads format {BASELINE_FORMAT} "
                f"(upgrade gatekeeper, or {redo})"
            ) from None
        raise PolicyError(f"baseline {shown} is not a gatekeeper baseline: {where}: {first['msg']}; {redo}") from None
    counts = Counter((e.id, e.fingerprint[len(FINGERPRINT_PREFIX) :]) for e in document.findings)
    return Baseline(InputFile(path=shown, sha256=hashlib.sha256(data).hexdigest()), dict(counts))


def _format_version(data: bytes) -> object:
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed.get("gatekeeper_baseline") if isinstance(parsed, dict) else None


def baseline_path(resolved: ResolvedPolicy, rule: Rule, root: Path | None) -> Path | None:
    """The absolute path of the baseline ``rule`` reads, or None: it reads none, or the path is unknown
    (``new_only`` without a repository root; ``findings.baseline`` in a policy not read from a file)."""
    asked = baseline_of(rule)
    if asked is None:
        return None
    key, written = asked
    if key == "new_only":
        return Path(os.path.abspath(root / written)) if root is not None else None
    origin = resolved.rule_origin.get(rule.id)
    if origin is None or origin[0].path is None:
        return None
    return Path(os.path.abspath(origin[0].path.parent / written))


def load_baselines(resolved: ResolvedPolicy, root: Path | None) -> dict[str, Baseline]:
    """The baseline of every rule that reads one, by rule id, before anything runs.

    ``new_only`` reads ``.gatekeeper-baseline.json`` at ``root``; ``findings.baseline`` a file
    relative to the policy file that declares the rule. With ``root`` None (``policy validate``)
    only the latter are read. A missing or invalid file is a ``PolicyError`` at the key's
    ``file:line:col``: a rule must never silently count everything, or nothing.
    """
    loaded: dict[Path, Baseline] = {}
    baselines: dict[str, Baseline] = {}
    for index, rule in enumerate(resolved.policy.rules):
        asked = baseline_of(rule)
        if asked is None:
            continue
        key, written = asked
        origin = resolved.rule_origin.get(rule.id)
        location = None
        if origin is not None:
            source, loc = origin
            index = int(loc[1]) if len(loc) > 1 else index
            location = source.locate((*loc, *key.split(".")), key=True)
        path = baseline_path(resolved, rule, root)
        if path is None:
            if key == "new_only":
                continue  # no repository yet (policy validate): `run` reads it
            raise PolicyError(
                f"rules[{index}].findings.baseline: {written!r} is relative to the policy file, and this policy was "
                "not read from a file",
                location,
            )
        if path not in loaded:
            shown = _shown(path, root)
            if not path.exists():
                where = f" at the repository root ({root})" if key == "new_only" else ""
                raise PolicyError(
                    f"rules[{index}].{key}: no baseline {shown}{where}; create it with "
                    f"`{_create_command(resolved, root, path, key)}` and commit it",
                    location,
                )
            try:
                loaded[path] = read_baseline(path, shown)
            except PolicyError as exc:
                raise PolicyError(f"rules[{index}].{key}: {exc.detail}", location) from None
        baselines[rule.id] = loaded[path]
    return baselines


def _shown(path: Path, root: Path | None) -> str:
    """A baseline's path for messages and reports: from the repository root when inside it, else from the
    current folder when below it, else absolute."""
    if root is not None:
        try:
            return path.relative_to(Path(os.path.abspath(root))).as_posix()
        except ValueError:
            pass
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else Path(relative).as_posix()


def _create_command(resolved: ResolvedPolicy, root: Path | None, path: Path, key: str) -> str:
    """The command that writes the missing baseline, to paste."""
    words = ["gatekeeper", "baseline", "create", str(root) if root is not None else "PATH"]
    top = resolved.sources[-1] if resolved.sources else None
    if top is not None and (root is None or Path(os.path.abspath(top)) not in _discovered(root)):
        words += ["--policy", top]
    if key != "new_only":
        words += ["--out", _shown(path, None)]
    return shlex.join(words)


def _discovered(root: Path) -> set[Path]:
    from gatekeeper.policy import POLICY_FILENAMES

    return {Path(os.path.abspath(root / name)) for name in POLICY_FILENAMES}


def baseline_document(
    resolved: ResolvedPolicy,
    results: Mapping[str, CheckResult],
    *,
    created_at: datetime,
    version: str,
) -> tuple[str, Counter[str], int]:
    """The baseline file's text for these results, the entries per check, and the findings left out.

    Findings without a fingerprint cannot be matched later, so they are left out (and counted).
    Entries are sorted by check, path, line, id and fingerprint, one per line, so that the file
    diffs well when it is made again.
    """
    entries: list[BaselineEntry] = []
    per_check: Counter[str] = Counter({name: 0 for name in resolved.policy.checks})
    unmatchable = 0
    for name in resolved.policy.checks:
        result = results.get(name)
        for finding in result.findings if result is not None else []:
            if not finding.fingerprint:
                unmatchable += 1
                continue
            per_check[name] += 1
            entries.append(
                BaselineEntry(
                    check=name,
                    id=finding.id,
                    severity=finding.severity,
                    path=finding.path,
                    line=finding.line,
                    fingerprint=FINGERPRINT_PREFIX + finding.fingerprint,
                )
            )
    entries.sort(key=lambda e: (e.check, e.path or "", e.line or 0, e.id, e.fingerprint))
    document = BaselineDocument(
        gatekeeper_baseline=BASELINE_FORMAT,
        created_at=created_at,
        gatekeeper_version=version,
        policy=BaselinePolicy(name=resolved.name, digest=resolved.digest),
        findings=entries,
    )
    head = document.model_dump(mode="json", exclude={"findings"})
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    rows = [json.dumps(e.model_dump(mode="json"), ensure_ascii=False, separators=(", ", ": ")) for e in entries]
    body = ",\n".join(f"    {row}" for row in rows)
    text = "{\n" + "\n".join(lines) + '\n  "findings": [' + (f"\n{body}\n  " if rows else "") + "]\n}\n"
    return text, per_check, unmatchable


@dataclass(frozen=True)
class CreatedBaseline:
    """What ``create_baseline`` wrote."""

    path: Path
    replaced: bool
    per_check: dict[str, int]
    skipped: dict[str, str] = field(default_factory=dict)
    left_out: int = 0
    readers: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.per_check.values())


def create_baseline(
    resolved: ResolvedPolicy,
    root: str | Path,
    out: str | Path | None = None,
    *,
    jobs: int | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> CreatedBaseline:
    """Run the policy's checks on ``root`` and write all their findings to ``out`` atomically.

    ``out`` defaults to ``root/.gatekeeper-baseline.json``, the file ``new_only`` reads. Nothing is
    decided and no verdict hook is called. When a check errored nothing is written and a
    ``GatekeeperError`` (exit 3) says which: the baseline would miss that check's findings.
    A skipped check is recorded with no entries.
    """
    from gatekeeper import __version__, clock
    from gatekeeper.engine import run_checks  # the engine imports this module
    from gatekeeper.reporters import write_report

    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory; pass the repository to scan")
    target = Path(out) if out is not None else root / DEFAULT_BASELINE
    if target.is_dir():
        raise UsageError(f"{target} is a directory; name the baseline file to write")
    results = run_checks(resolved, root, jobs=jobs or os.cpu_count() or 2, progress=progress)
    errored = [r for r in results.values() if r.status == "error"]
    if errored:
        why = "; ".join(f"check {r.name!r} errored: {r.error}" for r in errored)
        raise GatekeeperError(f"{why}; no baseline written (it would miss those findings): fix the check and run again")
    text, per_check, left_out = baseline_document(resolved, results, created_at=now or clock.now(), version=__version__)
    replaced = target.exists()
    try:
        write_report(target, text)
    except ReportError as exc:
        raise ReportError(str(exc).replace("cannot write report", "cannot write baseline", 1)) from None
    written = Path(os.path.abspath(target))
    readers = [
        f"{rule.id} ({asked[0]})"
        for rule in resolved.policy.rules
        if (asked := baseline_of(rule)) is not None and baseline_path(resolved, rule, root) == written
    ]
    skipped = {r.name: r.error or "" for r in results.values() if r.status == "skipped"}
    return CreatedBaseline(target, replaced, dict(per_check), skipped, left_out, readers)
