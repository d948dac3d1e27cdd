"""Policy tests: ``*.gatekeeper-test.yaml`` files that pin what a policy decides for given results.

A test file names a policy and lists cases. Each case gives the result of every check of the
policy, either inline (status, findings, metrics) or as an evidence file that the check's own
checker reads in its report (ingest) mode, plus an optional date (waivers) and mode, and says
which verdict outcome and rule outcomes it expects. The cases go through ``rules.decide``, the
same code ``gatekeeper run`` decides with, so a passing test is a statement about the real gate.

Fail closed: a check of the policy that a case gives no result for, a check or rule the policy
does not have, an unknown key, a missing evidence file are errors in the test file
(``PolicyError`` with ``file:line:col``, exit 2), never a silently passing case.

``run_policy_tests(paths)`` loads every test file first (so a bad one stops everything before
any case runs), then runs each case; it returns typed results and prints nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import glob
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gatekeeper import clock
from gatekeeper.errors import Location, PolicyError, UsageError
from gatekeeper.models import CheckResult, CheckStatus, Finding, Severity, VerdictOutcome
from gatekeeper.policy.errors import policy_error_from
from gatekeeper.policy.model import Mode
from gatekeeper.policy.source import MAX_POLICY_BYTES, Loc, PolicySource, parse_policy_text

if TYPE_CHECKING:
    from gatekeeper.baseline import Baseline
    from gatekeeper.policy import ResolvedPolicy

__all__ = [
    "SUFFIX",
    "CaseResult",
    "PolicyTestFile",
    "discover_test_files",
    "load_test_file",
    "run_policy_tests",
]

SUFFIX = ".gatekeeper-test.yaml"

#: Checkers whose report (ingest) mode reads one file: the option that names it, and whether it is a list of globs.
INGEST_OPTIONS: dict[str, tuple[str, bool]] = {
    "bandit": ("report", False),
    "semgrep": ("report", False),
    "pip-audit": ("report", False),
    "coverage": ("report", False),
    "junit": ("reports", True),
    "sarif": ("reports", True),
}

#: What a case may expect of a rule: the outcomes ``decide`` gives, and ``skipped`` for rules that do not apply.
ExpectedRule = Literal["pass", "fail", "error", "warn", "waived", "skipped"]

_CASE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_SKIP_DIRS = {"node_modules", "__pycache__", "venv"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FindingSpec(_Strict):
    """A finding given inline: ``{id: B602, severity: high, path: src/a.py, line: 3}``."""

    id: str = Field(min_length=1)
    severity: Severity = Field(strict=False)
    path: str | None = None
    line: int | None = Field(default=None, ge=1)
    message: str | None = None


class ResultSpec(_Strict):
    """A check's result given inline; ``status: error`` or ``skipped`` stands for a check that did not decide."""

    status: CheckStatus = "ok"
    findings: list[FindingSpec] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    error: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _error_goes_with_status(self) -> ResultSpec:
        if self.error is not None and self.status == "ok":
            raise ValueError("'error' only goes with status: error or skipped")
        return self


class Expect(_Strict):
    outcome: VerdictOutcome
    rules: dict[str, ExpectedRule] = Field(default_factory=dict)


class Case(_Strict):
    name: str = Field(pattern=_CASE_NAME)
    policy: str | None = Field(default=None, min_length=1, description="Overrides the file's policy for this case.")
    date: _dt.date | None = Field(default=None, strict=False)
    mode: Mode | None = None
    results: dict[str, ResultSpec] = Field(default_factory=dict)
    evidence: dict[str, str] = Field(default_factory=dict)
    expect: Expect


class PolicyTestFile(_Strict):
    version: Literal[1]
    policy: str = Field(min_length=1)
    cases: list[Case] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_an_int(cls, value: Any) -> Any:
        if type(value) is not int:
            raise ValueError("Input should be 1")
        return value


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """How one case went. ``actual_rules`` holds every rule of the policy, in policy order."""

    file: str
    name: str
    line: int | None
    policy: str
    today: _dt.date
    passed: bool
    expected_outcome: VerdictOutcome
    actual_outcome: VerdictOutcome
    expected_rules: dict[str, str]
    actual_rules: dict[str, str]
    reasons: dict[str, str]
    summary: str
    duration_s: float

    @property
    def nodeid(self) -> str:
        return f"{self.file}::{self.name}"

    @property
    def mismatched_rules(self) -> list[str]:
        return [rid for rid, want in self.expected_rules.items() if self.actual_rules.get(rid) != want]

    def diff_table(self) -> str:
        """Expected and actual outcomes side by side (``<-`` marks a difference), then the differing rules' reasons."""
        rows = [("", "expected", "actual", "")]
        rows.append(
            (
                "verdict",
                self.expected_outcome,
                self.actual_outcome,
                "<-" if self.expected_outcome != self.actual_outcome else "",
            )
        )
        for rid, actual in self.actual_rules.items():
            want = self.expected_rules.get(rid)
            rows.append((rid, want or "(any)", actual, "<-" if want is not None and want != actual else ""))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [
            "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])), row[3]]).rstrip() for row in rows
        ]
        for rid in self.mismatched_rules:
            lines.append(f"{rid}: {self.reasons.get(rid, '')}")
        return "\n".join(lines)

    def failure_message(self) -> str:
        """One line: what differs."""
        parts = []
        if self.expected_outcome != self.actual_outcome:
            parts.append(f"verdict: expected {self.expected_outcome}, got {self.actual_outcome}")
        for rid in self.mismatched_rules:
            parts.append(f"{rid}: expected {self.expected_rules[rid]}, got {self.actual_rules[rid]}")
        return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class _Evidence:
    check: str
    file: Path
    policy: ResolvedPolicy  # with this one check, its options pointing at the file


@dataclasses.dataclass(frozen=True)
class _PlannedCase:
    case: Case
    line: int | None
    policy_ref: str
    resolved: ResolvedPolicy
    baselines: dict[str, Baseline]
    evidence: list[_Evidence]


_Loaded = tuple["ResolvedPolicy", dict[str, "Baseline"]]


@dataclasses.dataclass(frozen=True)
class LoadedTestFile:
    path: Path
    display: str
    cases: list[_PlannedCase]


def discover_test_files(paths: Sequence[str | Path]) -> list[Path]:
    """The test files named, and those under the folders named (``*.gatekeeper-test.yaml``), sorted per folder.

    Hidden folders, ``node_modules`` and virtual environments are not searched. Raises
    ``UsageError`` for a path that does not exist and when nothing is found: zero tests is
    never a pass.
    """
    found: list[Path] = []
    for raw in paths or ["."]:
        path = Path(raw)
        if path.is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise UsageError(f"{raw}: no such file or folder")
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
            found.extend(Path(folder) / f for f in sorted(files) if f.endswith(SUFFIX))
    unique = list(dict.fromkeys(found))
    if not unique:
        where = ", ".join(str(p) for p in paths) or "."
        raise UsageError(f"no policy test files (*{SUFFIX}) found in {where}")
    return unique


def read_test_source(path: Path) -> PolicySource:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(f"{name}: test file is {size} bytes; the limit is {MAX_POLICY_BYTES}")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise PolicyError(f"cannot read policy test file {name}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise PolicyError("the policy test file is empty; it needs version, policy and cases", Location(name, 1, 1))
    try:
        return parse_policy_text(text, name, path)
    except PolicyError as exc:
        if exc.detail.startswith("a policy must be a mapping"):
            raise PolicyError(
                "a policy test file must be a mapping (key: value) at the top level", exc.location
            ) from None
        raise


def load_test_file(
    path: Path,
    *,
    entry_points: bool = True,
    disabled_plugins: Iterable[str] = (),
    _cache: dict[str, _Loaded] | None = None,
) -> LoadedTestFile:
    """Read, validate and plan every case of one test file; ``PolicyError`` with file:line for anything wrong."""
    source = read_test_source(path)
    try:
        spec = PolicyTestFile.model_validate(source.data)
    except ValidationError as exc:
        raise policy_error_from(_typos_first(exc), source, PolicyTestFile) from None
    policies: dict[str, _Loaded] = {} if _cache is None else _cache
    seen: dict[str, int] = {}
    planned = []
    for index, case in enumerate(spec.cases):
        here: Loc = ("cases", index)
        if case.name in seen:
            raise PolicyError(
                f"cases[{index}].name: case {case.name!r} is already the name of cases[{seen[case.name]}]",
                source.locate((*here, "name")),
            )
        seen[case.name] = index
        ref_loc: Loc = (*here, "policy") if case.policy is not None else ("policy",)
        ref = _policy_ref(case.policy or spec.policy, path)
        if ref not in policies:
            policies[ref] = _load(ref, source, ref_loc, entry_points, disabled_plugins)
        resolved, baselines = policies[ref]
        planned.append(_plan(case, index, source, path, ref, resolved, baselines))
    return LoadedTestFile(path, str(path), planned)


def _typos_first(exc: ValidationError) -> ValidationError:
    """The same errors, unknown keys first: ``expext:`` is the cause of the "missing expect" that comes with it."""
    errors = exc.errors(include_url=False)
    ordered = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
    if ordered == errors:
        return exc
    details: list[Any] = [
        {"type": e["type"], "loc": e["loc"], "input": e["input"], **({"ctx": e["ctx"]} if "ctx" in e else {})}
        for e in ordered
    ]
    return ValidationError.from_exception_data(exc.title, details)


def _policy_ref(ref: str, test_file: Path) -> str:
    from gatekeeper.policy.resolve import BUILTIN_PREFIX

    if ref.startswith(BUILTIN_PREFIX) or Path(ref).is_absolute():
        return ref
    return os.path.normpath(test_file.parent / ref)


def _load(ref: str, source: PolicySource, loc: Loc, entry_points: bool, disabled: Iterable[str]) -> _Loaded:
    from gatekeeper.baseline import load_baselines
    from gatekeeper.policy import load_policy

    try:
        resolved = load_policy(ref, entry_points=entry_points, disabled_plugins=disabled)
        baselines = load_baselines(resolved, None)
    except PolicyError as exc:
        raise PolicyError(f"policy {ref} does not load: {exc}", source.locate(loc)) from None
    return resolved, baselines


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"the policy has no {kind} {name!r}; {hint}its {kind}s: {', '.join(names) or 'none'}"


def _plan(
    case: Case,
    index: int,
    source: PolicySource,
    path: Path,
    ref: str,
    resolved: ResolvedPolicy,
    baselines: dict[str, Baseline],
) -> _PlannedCase:
    here: Loc = ("cases", index)
    checks = resolved.policy.checks
    rule_ids = [rule.id for rule in resolved.policy.rules]
    for key in ("results", "evidence"):
        for name in getattr(case, key):
            if name not in checks:
                raise PolicyError(
                    f"cases[{index}].{key}.{name}: {_unknown('check', name, checks)}",
                    source.locate((*here, key, name), key=True),
                )
            if key == "evidence" and name in case.results:
                raise PolicyError(
                    f"cases[{index}].evidence.{name}: the case also gives results.{name}; give one of them",
                    source.locate((*here, key, name), key=True),
                )
    for name, spec in checks.items():
        if name not in case.results and name not in case.evidence:
            raise PolicyError(
                f"case {case.name} gives no result for check {name} (uses: {spec.uses}); add results.{name} "
                f"(e.g. {{status: ok}}) or evidence.{name} (a report file)",
                source.locate((*here, "name")),
            )
    for rid in case.expect.rules:
        if rid not in rule_ids:
            raise PolicyError(
                f"cases[{index}].expect.rules.{rid}: {_unknown('rule', rid, rule_ids)}",
                source.locate((*here, "expect", "rules", rid), key=True),
            )
    evidence = [
        _evidence(name, file, resolved, source, (*here, "evidence", name), path) for name, file in case.evidence.items()
    ]
    line = source.locate(here).line
    return _PlannedCase(case, line, ref, resolved, baselines, evidence)


def _evidence(
    name: str, file: str, resolved: ResolvedPolicy, source: PolicySource, loc: Loc, test_file: Path
) -> _Evidence:
    spec = resolved.policy.checks[name]
    where = f"cases[{loc[1]}].evidence.{name}"
    ingest = INGEST_OPTIONS.get(spec.uses)
    if ingest is None:
        able = ", ".join(sorted(INGEST_OPTIONS))
        raise PolicyError(
            f"{where}: checker {spec.uses!r} has no report mode to read evidence with (checkers that do: {able}); "
            f"give results.{name} instead",
            source.locate(loc),
        )
    target = Path(file) if Path(file).is_absolute() else test_file.parent / file
    if not target.is_file():
        raise PolicyError(f"{where}: evidence file {file} not found (relative to the test file)", source.locate(loc))
    option, many = ingest
    value: Any = [glob.escape(target.name)] if many else target.name
    checker = resolved.plugins.checkers[spec.uses]
    try:
        options = checker.options.model_validate({**spec.with_, option: value})
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"]
        raise PolicyError(
            f"{where}: the check's options do not take the evidence file: {message}", source.locate(loc)
        ) from None
    one_check = {name: spec.model_copy(update={"with_": {**spec.with_, option: value}, "scope": "all", "base": None})}
    variant = dataclasses.replace(
        resolved, policy=resolved.policy.model_copy(update={"checks": one_check}), options={name: options}
    )
    return _Evidence(name, target, variant)


def _inline(name: str, uses: str, spec: ResultSpec) -> CheckResult:
    findings = [
        Finding(id=f.id, severity=f.severity, message=f.message or f.id, path=f.path, line=f.line)
        for f in spec.findings
    ]
    error = spec.error
    if spec.status != "ok" and error is None:
        error = f"given as {spec.status} by the test case"
    return CheckResult(
        name=name,
        uses=uses,
        status=spec.status,
        error=error,
        findings=sorted(findings, key=Finding.sort_key),
        metrics=dict(sorted(spec.metrics.items())),
    )


def run_case(planned: _PlannedCase, display: str) -> CaseResult:
    from gatekeeper.engine import run_checks
    from gatekeeper.rules import decide

    started = time.monotonic()
    case, resolved = planned.case, planned.resolved
    results: dict[str, CheckResult] = {}
    for name, spec in case.results.items():
        results[name] = _inline(name, resolved.policy.checks[name].uses, spec)
    for item in planned.evidence:
        results[item.check] = run_checks(item.policy, item.file.parent.resolve(), jobs=1)[item.check]
    today = case.date or clock.today()
    decision = decide(
        resolved, results, today=today, mode=case.mode or resolved.policy.mode, baselines=planned.baselines
    )
    actual = {rule.id: str(rule.outcome) for rule in decision.rules}
    expected: dict[str, str] = dict(case.expect.rules)
    passed = decision.outcome == case.expect.outcome and all(actual.get(r) == o for r, o in expected.items())
    return CaseResult(
        file=display,
        name=case.name,
        line=planned.line,
        policy=planned.policy_ref,
        today=today,
        passed=passed,
        expected_outcome=case.expect.outcome,
        actual_outcome=decision.outcome,
        expected_rules=expected,
        actual_rules=actual,
        reasons={rule.id: rule.reason for rule in decision.rules},
        summary=decision.summary,
        duration_s=round(time.monotonic() - started, 3),
    )


def load_test_files(
    paths: Sequence[str | Path], *, entry_points: bool = True, disabled_plugins: Iterable[str] = ()
) -> list[LoadedTestFile]:
    cache: dict[str, _Loaded] = {}
    return [
        load_test_file(p, entry_points=entry_points, disabled_plugins=disabled_plugins, _cache=cache)
        for p in discover_test_files(paths)
    ]


def run_policy_tests(
    paths: Sequence[str | Path] = (".",), *, entry_points: bool = True, disabled_plugins: Iterable[str] = ()
) -> list[CaseResult]:
    """Run every case of the test files in ``paths`` (files, or folders searched for ``*.gatekeeper-test.yaml``).

    Every file is loaded and checked before any case runs. Raises ``UsageError`` when no test
    file is found, ``PolicyError`` (file:line:col) for a bad test file or a policy that does
    not load, ``PluginError`` when a plugin cannot be loaded.
    """
    loaded = load_test_files(paths, entry_points=entry_points, disabled_plugins=disabled_plugins)
    out = []
    for item in loaded:
        for planned in item.cases:
            out.append(run_case(planned, item.display))
    return out
