"""The policy as pydantic models: the single source of the YAML shape and its JSON Schema.

Models are strict and reject unknown keys so that a typo is an error at load time,
not a rule that silently never applies. A checker's ``with:`` block stays a plain
mapping here and is validated against that checker's own options model once the
plugins are known (see ``gatekeeper.policy.load``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from gatekeeper.durations import parse_duration
from gatekeeper.errors import UsageError
from gatekeeper.models import Severity

Mode = Literal["enforce", "warn", "audit"]
OnError = Literal["error", "warn", "pass"]

#: How strict each mode is; a child policy may not go lower than its parent.
MODE_STRICTNESS: dict[str, int] = {"audit": 0, "warn": 1, "enforce": 2}

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _one_or_many_schema(schema: dict[str, Any]) -> None:
    """In the JSON Schema too, a single string stands for a one-item list."""
    array = {key: schema.pop(key) for key in ("type", "items") if key in schema}
    schema["anyOf"] = [{"type": "string"}, array]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class CheckSpec(_Strict):
    """A named instance of a checker: ``sast: {uses: bandit, with: {paths: [src]}}``."""

    uses: str = Field(description="The checker's name, as `gatekeeper plugins` lists it.")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="The checker's own options.")
    timeout: float = Field(default=600.0, gt=0, description="Seconds before the check is stopped and errors.")
    scope: Literal["all", "changed"] = Field(
        default="all",
        description="'changed': scan only the files changed since 'base' (for checkers that support it, "
        "such as bandit and semgrep), and report findings in those files only.",
    )
    base: str | None = Field(
        default=None,
        min_length=1,
        description="With scope: changed, the branch, tag or commit to compare with (default origin/main); "
        "the change starts at the merge-base of it and HEAD.",
    )

    @field_validator("base")
    @classmethod
    def _base_is_a_ref(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value.startswith("-")):
            raise ValueError("must name a branch, tag or commit (and not start with '-')")
        return value

    @model_validator(mode="after")
    def _base_needs_scope(self) -> CheckSpec:
        if self.base is not None and self.scope != "changed":
            raise ValueError("'base' only applies with 'scope: changed'")
        return self

    @model_serializer(mode="wrap")
    def _omit_default_scope(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Left out at their defaults, so the digest of a policy that does not use them is what it was before.
        data = handler(self)
        if isinstance(data, dict):
            if data.get("scope") == "all":
                del data["scope"]
            if "base" in data and data["base"] is None:
                del data["base"]
        return data


class FindingsCondition(_Strict):
    """Count findings at or above a severity; the rule fails when the count exceeds ``max``."""

    severity: Severity = Field(default=Severity.INFO, strict=False)
    max: int = Field(default=0, ge=0)
    ids: list[str] = Field(default_factory=list, description="Only count findings with these ids (globs).")
    baseline: str | None = Field(
        default=None,
        min_length=1,
        description="Only count findings absent from this baseline file (relative to the policy file), as "
        "`gatekeeper baseline create --out FILE` writes it; each entry takes one finding out of the count.",
    )


class Rule(_Strict):
    id: str = Field(pattern=_NAME)
    description: str | None = None
    check: list[str] = Field(
        description="The check(s) whose results this rule reads.", json_schema_extra=_one_or_many_schema
    )
    findings: FindingsCondition | None = None
    new_only: bool = Field(
        default=False,
        description="Only count findings absent from the repository's baseline (.gatekeeper-baseline.json at its "
        "root, written by `gatekeeper baseline create`).",
    )
    require: list[str] = Field(
        default_factory=list,
        description="Metric comparisons, e.g. 'failed == 0'.",
        json_schema_extra=_one_or_many_schema,
    )
    mode: Mode | None = None
    on_error: OnError = Field(
        default="error",
        description="What a check error means for this rule. Anything but 'error' is reported as such.",
    )
    on_skipped: OnError = Field(
        default="error",
        description="What a skipped check (nothing to check, e.g. no dependency files) means for this rule.",
    )
    locked: bool = Field(
        default=False,
        description="Policies that extend this one may tighten the rule but not loosen it (nor the checks it "
        "reads); a redefinition that does not say 'locked' stays locked.",
    )
    waivable: bool = Field(default=True, description="false: no waiver may name this rule.")
    max_waiver_days: int | None = Field(
        default=None, ge=1, description="Waivers of this rule may expire at most this many days from today."
    )
    when: list[str] = Field(
        default_factory=list,
        description="Conditions on facts about the change, as CHECK.METRIC comparisons (e.g. "
        "'change.ai_assisted == 1'); the rule applies only when all hold, and is 'skipped' otherwise.",
        json_schema_extra=_one_or_many_schema,
    )
    effective_on: date | None = Field(
        default=None,
        strict=False,
        description="Staged rollout: before this date (YYYY-MM-DD) a failure of the rule is reported as "
        "'warn' (enforced from that date); errors stay errors.",
    )

    @field_validator("check", "require", "when", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _decides_something(self) -> Rule:
        if self.findings is None and not self.require:
            raise ValueError("a rule needs 'findings' or 'require' (or both) to decide anything")
        if not self.check:
            raise ValueError("a rule needs at least one check")
        if self.new_only and self.findings is None:
            raise ValueError("new_only needs a 'findings' condition: a baseline only takes findings out of its count")
        if self.new_only and self.findings is not None and self.findings.baseline is not None:
            raise ValueError(
                "give new_only (the baseline at the repository root) or findings.baseline (a file), not both"
            )
        return self


class WaiverMatch(_Strict):
    """Which findings a waiver covers; every given key must match (globs allowed)."""

    finding: str | None = Field(default=None, description="Finding id glob, e.g. B602.")
    path: str | None = Field(default=None, description="Path glob relative to the repository root.")
    fingerprint: str | None = None

    @model_validator(mode="after")
    def _narrows_something(self) -> WaiverMatch:
        if self.finding is None and self.path is None and self.fingerprint is None:
            raise ValueError(
                "an empty match would waive every finding of the rule; name a finding, path or fingerprint"
            )
        return self


class Waiver(_Strict):
    rule: str
    match: WaiverMatch | None = Field(
        default=None, description="Omitted: the waiver covers the rule's own failure (e.g. a metric)."
    )
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date = Field(strict=False)


def _seconds_or_duration_schema(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^([0-9]+[wdhms])+$"}]
    schema.pop("type", None)
    schema.pop("minimum", None)


class CacheSettings(_Strict):
    """``cache:``: how the result cache (``gatekeeper run`` without ``--no-cache``) treats this policy's checks."""

    ttl_external: int = Field(
        default=3600,
        ge=0,
        description="Seconds a cached result of a checker that asks the outside world (pip-audit's advisory "
        "database) stays usable; a duration such as 30m or 2h is accepted too. 0: never cache them.",
        json_schema_extra=_seconds_or_duration_schema,
    )
    max_size_mb: float = Field(
        default=200,
        gt=0,
        description="Size of the cache folder, in MiB, above which the least recently used "
        "results are deleted after a run.",
    )

    @field_validator("ttl_external", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return int(parse_duration(value, "ttl_external").total_seconds())
            except UsageError as exc:
                raise ValueError(str(exc)) from None
        return value


class Policy(_Strict):
    """One policy file, and also the resolved policy after ``extends``."""

    version: Literal[1]
    name: str | None = Field(default=None, pattern=_NAME)
    description: str | None = None
    extends: list[str] = Field(default_factory=list, json_schema_extra=_one_or_many_schema)
    mode: Mode = "enforce"
    allow_weaker_mode: bool = Field(
        default=False, description="Let policies that extend this one set a less strict mode."
    )
    max_waiver_days: int | None = Field(
        default=None,
        ge=1,
        description="Waivers may expire at most this many days from today; the smallest value in the extends "
        "chain applies (a child cannot lengthen it).",
    )
    plugins: list[str] = Field(
        default_factory=list,
        description="Local plugin modules (paths to .py files).",
        json_schema_extra=_one_or_many_schema,
    )
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Settings for plugins, keyed by plugin name as `gatekeeper plugins` lists it; each plugin "
        "validates its own block. A later file in the extends chain replaces a plugin's whole block.",
    )
    checks: dict[str, CheckSpec] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)
    cache: CacheSettings = Field(
        default_factory=CacheSettings,
        description="Result cache settings (docs/cache.md). Each key set by a later file in the extends chain wins.",
    )

    @field_validator("extends", "plugins", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_an_int(cls, value: Any) -> Any:
        if type(value) is not int:  # Literal[1] alone takes True and 1.0
            raise ValueError("Input should be 1")
        return value

    @field_validator("checks")
    @classmethod
    def _check_names(cls, value: dict[str, CheckSpec]) -> dict[str, CheckSpec]:
        import re

        for name in value:
            if not re.match(_NAME, name):
                raise ValueError(f"check name {name!r} must be letters, digits, '_', '.', '-'")
        return value
