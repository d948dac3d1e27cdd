"""The models at the boundaries: what a checker returns and what a verdict says.

They are frozen pydantic models so a result cannot change after it is decided, and
so every report (JSON, SARIF, history) serialises the same vocabulary.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

__all__ = [
    "CheckOutput",
    "CheckResult",
    "CheckStatus",
    "Finding",
    "HistoryStatus",
    "InputFile",
    "PolicyRef",
    "RuleOutcome",
    "RuleResult",
    "Severity",
    "Subject",
    "ToolInfo",
    "Verdict",
    "VerdictOutcome",
    "WaiverReport",
    "fingerprint",
]


class Severity(str, Enum):
    """One scale for every tool: info < low < medium < high < critical."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}

CheckStatus = Literal["ok", "error", "skipped"]
RuleOutcome = Literal["pass", "fail", "warn", "waived", "skipped", "error"]
VerdictOutcome = Literal["pass", "fail", "error"]


def fingerprint(*parts: str | int | None) -> str:
    """A stable id for a finding from the parts that identify it.

    Callers pass what survives unrelated edits (rule id, path, the text of the
    offending line) and leave out line numbers, so a finding keeps its
    fingerprint when code above it moves.
    """
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Frozen):
    """One thing a checker found: a vulnerable call, a failed test, an unowned file."""

    id: str = Field(description="The tool's rule or test id, e.g. B602 or tests.test_x::test_y.")
    severity: Severity
    message: str
    path: str | None = Field(default=None, description="Relative to the repository root, '/'-separated.")
    line: int | None = None
    column: int | None = None
    fingerprint: str = Field(default="", description="Stable across unrelated line shifts.")
    properties: dict[str, str] = Field(default_factory=dict, description="Tool extras: cwe, confidence, url.")

    @model_validator(mode="before")
    @classmethod
    def _default_fingerprint(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("fingerprint"):
            data = {**data, "fingerprint": fingerprint(data.get("id"), data.get("path"), data.get("message"))}
        return data

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path or "", self.line or 0, self.id, self.fingerprint)


class InputFile(_Frozen):
    """A file a check read, so a verdict can say exactly what evidence it rests on."""

    path: str
    sha256: str


class ToolInfo(_Frozen):
    name: str
    version: str | None = None


class CheckOutput(_Frozen):
    """What a checker's ``run`` returns; the engine adds the name, timing and guards."""

    status: CheckStatus = "ok"
    error: str | None = Field(default=None, description="Why the check could not decide (status error/skipped).")
    tool: ToolInfo | None = None
    inputs: list[InputFile] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    not_applicable: dict[str, str] = Field(
        default_factory=dict,
        description="Metrics absent because they do not apply (metric name -> why), e.g. diff_line_rate "
        "with no changed lines; a requirement on one is met, with the reason shown.",
    )
    notes: list[str] = Field(default_factory=list, description="Gaps and caveats a reader should see.")
    empty_scope: str | None = Field(
        default=None,
        description="For a check scoped to changed files (CheckContext.changed_since): why it had nothing to "
        "read. Only then may an ok check list no inputs; the engine adds the reason to the notes.",
    )


class CheckResult(_Frozen):
    """One check of the policy, as run (or not) by the engine."""

    name: str
    uses: str
    status: CheckStatus
    error: str | None = None
    tool: ToolInfo | None = None
    inputs: list[InputFile] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    not_applicable: dict[str, str] = Field(default_factory=dict, description="Metric name -> why it is absent.")
    notes: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    cached: bool = Field(
        default=False,
        description="True when the result was reused from the result cache (the tool did not run); "
        "duration_s is then the time the lookup took. Absent from reports when false.",
    )

    @model_serializer(mode="wrap")
    def _omit_not_cached(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Absent, not false: reports of runs without a cache keep their exact shape.
        data = handler(self)
        if isinstance(data, dict) and data.get("cached", ...) is False:
            del data["cached"]
        return data


class RuleResult(_Frozen):
    id: str
    outcome: RuleOutcome
    reason: str
    mode: Literal["enforce", "warn", "audit"] = "enforce"
    description: str | None = None
    checks: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list, description="Findings counted against the rule.")
    waived: list[Finding] = Field(default_factory=list, description="Findings a waiver took out of the count.")
    let_through: Literal["on_error", "on_skipped"] | None = Field(
        default=None, description="Set when a check error or skip was turned into warn/pass by the policy."
    )
    baseline: InputFile | None = Field(
        default=None, description="The baseline file the rule read (new_only / findings.baseline), if any."
    )
    baselined: list[Finding] = Field(
        default_factory=list, description="Findings the baseline took out of the count (they are not new)."
    )

    @model_serializer(mode="wrap")
    def _omit_absent_baseline(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Absent, not null: the rules of policies without baselines keep their exact shape in reports.
        data = handler(self)
        if isinstance(data, dict) and data.get("baseline", ...) is None and not data.get("baselined", ...):
            del data["baseline"], data["baselined"]
        return data


class WaiverReport(_Frozen):
    """How each waiver of the policy fared in this run."""

    rule: str
    owner: str
    reason: str
    expires: str
    status: Literal["active", "expired", "stale"]
    matched: int = 0
    match: dict[str, str] = Field(default_factory=dict)


class PolicyRef(_Frozen):
    name: str
    digest: str = Field(description="sha256:<hex> over the resolved policy's canonical JSON.")
    sources: list[str] = Field(default_factory=list)


class Subject(_Frozen):
    """What was gated, read from git when the path is a repository."""

    repository: str | None = None
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


class HistoryStatus(_Frozen):
    """Whether ``gatekeeper run`` recorded this verdict in the history store; never changes the outcome."""

    recorded: bool
    run_id: int | None = Field(default=None, description="The store's run id (`gatekeeper history` lists it).")
    store: str = Field(description="The store's URL, without any password.")
    error: str | None = Field(default=None, description="Why the run was not recorded.")


class Verdict(_Frozen):
    """The decision. ``outcome`` is what the rules decided; ``enforced`` is False in audit mode."""

    schema_version: Literal[1] = 1
    outcome: VerdictOutcome
    enforced: bool = True
    mode: Literal["enforce", "warn", "audit"] = "enforce"
    summary: str = ""
    policy: PolicyRef
    subject: Subject = Field(default_factory=Subject)
    rules: list[RuleResult] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    waivers: list[WaiverReport] = Field(default_factory=list)
    gatekeeper_version: str
    started_at: datetime
    finished_at: datetime
    history: HistoryStatus | None = Field(
        default=None, description="Set by `gatekeeper run` once it tried to record the run; absent otherwise."
    )

    @model_serializer(mode="wrap")
    def _omit_absent_history(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Absent, not null: reports and signed verdicts of runs without a history keep their exact shape.
        data = handler(self)
        if isinstance(data, dict) and data.get("history", ...) is None:
            del data["history"]
        return data

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"
