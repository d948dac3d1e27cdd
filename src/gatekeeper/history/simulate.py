"""Simulation: decide recorded runs again under a proposed policy, without running any tool.

A rule of the new policy can only be decided from a run's stored results when every check it
reads ran in that run *as the new policy defines it* (same checker, same ``with:`` options; the
timeout aside, unless the check timed out and the timeout changes, or it took at least as long as
the new timeout allows, so that it would have timed out). Any other rule is "not simulable" for that run and is left out of the decision,
never guessed; when such a rule could change whether the run passes, the run's new outcome is
``unknown``. Waivers are judged at each run's date, in the new policy's mode.

The function is pure: the records and the phrasing of the scope (``branch``, ``since_label``)
come from the caller, nothing is printed and the clock is not read.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatekeeper.history.records import RunRecord
from gatekeeper.models import CheckResult, PolicyRef, RuleOutcome, VerdictOutcome
from gatekeeper.policy import ResolvedPolicy, canonical_digest
from gatekeeper.policy.conditions import condition_checks
from gatekeeper.policy.model import CheckSpec, Rule
from gatekeeper.rules import decide

__all__ = [
    "NotSimulable",
    "RuleChange",
    "SimulatedRun",
    "Simulation",
    "SimulationCounts",
    "simulate",
]

SimulatedOutcome = Literal["pass", "fail", "error", "unknown"]
Change = Literal["pass_to_fail", "fail_to_pass", "unchanged", "unknown"]
_FAILING = ("fail", "error")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NotSimulable(_Frozen):
    """A rule of the new policy that a run's stored results cannot decide, and why."""

    rule: str
    reason: str = Field(description="e.g. \"check 'cov' was not run\" or \"check 'cov' ran with different options\".")


class RuleChange(_Frozen):
    """A rule whose outcome differs between the recorded verdict and the simulation (None: absent)."""

    rule: str
    old: RuleOutcome | None
    new: RuleOutcome | None


class SimulatedRun(_Frozen):
    """One recorded run decided under the new policy."""

    id: int
    recorded_at: datetime
    branch: str | None = None
    commit: str | None = None
    old_outcome: VerdictOutcome
    new_outcome: SimulatedOutcome = Field(
        description="unknown: a rule that is not simulable could decide whether the run passes."
    )
    change: Change = Field(description="Whether the run passes (outcome pass) or not, before and after.")
    responsible: list[str] = Field(
        default_factory=list,
        description="The rules behind the change: newly failing (pass_to_fail), no longer failing "
        "(fail_to_pass), or not simulable (unknown).",
    )
    rule_changes: list[RuleChange] = Field(default_factory=list, description="Every rule whose outcome differs.")
    not_simulable: list[NotSimulable] = Field(default_factory=list)
    failing_rules: list[str] = Field(
        default_factory=list, description="Rules that fail or error under the new policy (simulable ones)."
    )
    summary: str = Field(default="", description="The new decision's summary, over the simulable rules.")


class SimulationCounts(_Frozen):
    runs: int = 0
    failing: int = Field(default=0, description="Runs whose new outcome is fail or error.")
    pass_to_fail: int = 0
    fail_to_pass: int = 0
    unchanged: int = 0
    unknown: int = 0


class Simulation(_Frozen):
    """Every run decided under the new policy, with counts and a one-sentence summary."""

    policy: PolicyRef
    branch: str | None = None
    since_label: str | None = None
    runs: list[SimulatedRun] = Field(default_factory=list)
    counts: SimulationCounts = Field(default_factory=SimulationCounts)
    by_rule: dict[str, int] = Field(
        default_factory=dict, description="Rule -> runs it would newly fail (pass_to_fail), most first."
    )
    failing_by_rule: dict[str, int] = Field(
        default_factory=dict, description="Rule -> runs it fails or errors under the new policy, most first."
    )
    not_simulable_by_rule: dict[str, int] = Field(
        default_factory=dict, description="Rule -> runs whose stored results cannot decide it."
    )
    summary: str

    @property
    def changed(self) -> list[SimulatedRun]:
        """The runs whose outcome would change (pass_to_fail and fail_to_pass)."""
        return [run for run in self.runs if run.change in ("pass_to_fail", "fail_to_pass")]


def simulate(
    records: Sequence[RunRecord],
    policy: ResolvedPolicy,
    *,
    branch: str | None = None,
    since_label: str | None = None,
) -> Simulation:
    """Decide each of ``records`` under ``policy`` from its stored results, without running anything.

    ``branch`` and ``since_label`` (e.g. ``"30 days"``) only phrase the summary: the caller
    chooses the records. Records come back in the order given.
    """
    runs = [_simulate_run(record, policy) for record in records]
    counts = SimulationCounts(
        runs=len(runs),
        failing=sum(1 for run in runs if run.new_outcome in _FAILING),
        pass_to_fail=sum(1 for run in runs if run.change == "pass_to_fail"),
        fail_to_pass=sum(1 for run in runs if run.change == "fail_to_pass"),
        unchanged=sum(1 for run in runs if run.change == "unchanged"),
        unknown=sum(1 for run in runs if run.change == "unknown"),
    )
    by_rule = _ranked(rule for run in runs if run.change == "pass_to_fail" for rule in run.responsible)
    failing = _ranked(rule for run in runs if run.new_outcome in _FAILING for rule in run.failing_rules)
    unsimulable = _ranked(item.rule for run in runs for item in run.not_simulable)
    return Simulation(
        policy=PolicyRef(name=policy.name, digest=policy.digest, sources=policy.sources),
        branch=branch,
        since_label=since_label,
        runs=runs,
        counts=counts,
        by_rule=by_rule,
        failing_by_rule=failing,
        not_simulable_by_rule=unsimulable,
        summary=_summary(counts, failing, unsimulable, branch, since_label, audit=policy.policy.mode == "audit"),
    )


def _simulate_run(record: RunRecord, policy: ResolvedPolicy) -> SimulatedRun:
    verdict = record.verdict
    blocked: list[NotSimulable] = []
    if canonical_digest(record.policy) != verdict.policy.digest:
        why = "the record's stored policy does not match its verdict's digest (the record was altered)"
        blocked = [NotSimulable(rule=rule.id, reason=why) for rule in policy.policy.rules]
        usable: dict[str, CheckResult] = {}
    else:
        usable, unusable = _usable_checks(record, policy)
        for rule in policy.policy.rules:
            read = [*rule.check, *condition_checks(rule, policy.policy.checks)]  # when: facts are checks too
            reasons = [unusable[name] for name in dict.fromkeys(read) if name in unusable]
            if reasons:
                blocked.append(NotSimulable(rule=rule.id, reason="; ".join(reasons)))
    skipped = {item.rule for item in blocked}
    rules: list[Rule] = [rule for rule in policy.policy.rules if rule.id not in skipped]
    kept = {rule.id for rule in rules}
    narrowed = dataclasses.replace(
        policy,
        policy=policy.policy.model_copy(
            update={"rules": rules, "waivers": [w for w in policy.policy.waivers if w.rule in kept]}
        ),
        requirements={rule_id: reqs for rule_id, reqs in policy.requirements.items() if rule_id in kept},
    )
    decision = decide(narrowed, usable, today=verdict.started_at.date(), mode=policy.policy.mode)

    new_outcome: SimulatedOutcome = decision.outcome
    if blocked and decision.outcome == "pass":
        new_outcome = "unknown"  # a rule we cannot decide could fail or error the run: not guessed
    old_rules = {rule.id: rule.outcome for rule in verdict.rules}
    new_rules = {rule.id: rule.outcome for rule in decision.rules}
    changes = [
        RuleChange(rule=rule_id, old=old_rules.get(rule_id), new=new_rules.get(rule_id))
        for rule_id in dict.fromkeys([*old_rules, *new_rules])
        if rule_id not in skipped and old_rules.get(rule_id) != new_rules.get(rule_id)
    ]
    change: Change
    responsible: list[str] = []
    old_passed = verdict.outcome == "pass"
    if new_outcome == "unknown":
        change, responsible = "unknown", [item.rule for item in blocked]
    elif old_passed and new_outcome != "pass":
        change = "pass_to_fail"
        responsible = [c.rule for c in changes if c.new in _FAILING]
    elif not old_passed and new_outcome == "pass":
        change = "fail_to_pass"
        responsible = [c.rule for c in changes if c.old in _FAILING]
    else:
        change = "unchanged"
    return SimulatedRun(
        id=record.id,
        recorded_at=record.recorded_at,
        branch=verdict.subject.branch,
        commit=verdict.subject.commit,
        old_outcome=verdict.outcome,
        new_outcome=new_outcome,
        change=change,
        responsible=responsible,
        rule_changes=changes,
        not_simulable=blocked,
        failing_rules=[rule.id for rule in decision.rules if rule.outcome in _FAILING],
        summary=decision.summary,
    )


def _usable_checks(record: RunRecord, policy: ResolvedPolicy) -> tuple[dict[str, CheckResult], dict[str, str]]:
    """The stored results the new policy may use, and why each other check it reads may not."""
    results = {check.name: check for check in record.verdict.checks}
    stored_checks = record.policy.get("checks")
    stored: Mapping[str, Any] = stored_checks if isinstance(stored_checks, dict) else {}
    usable: dict[str, CheckResult] = {}
    unusable: dict[str, str] = {}
    read = dict.fromkeys(
        name for rule in policy.policy.rules for name in [*rule.check, *condition_checks(rule, policy.policy.checks)]
    )
    for name in read:
        spec = policy.policy.checks[name]
        result, old = results.get(name), stored.get(name)
        if result is None or not isinstance(old, dict):
            unusable[name] = f"check {name!r} was not run"
        elif old.get("uses") != spec.uses or result.uses != spec.uses:
            unusable[name] = f"check {name!r} ran with another checker ({result.uses!r}, not {spec.uses!r})"
        elif not _same_options(spec, old.get("with"), policy):
            unusable[name] = f"check {name!r} ran with different options"
        elif (
            result.status == "error" and (result.error or "").startswith("timed out") and _timeout(old) != spec.timeout
        ):
            unusable[name] = f"check {name!r} timed out, and the new policy changes its timeout"
        elif result.status == "ok" and result.duration_s >= spec.timeout:
            unusable[name] = (
                f"check {name!r} took {result.duration_s:g}s, which the new policy's timeout of "
                f"{spec.timeout:g}s would not allow (it would have timed out)"
            )
        else:
            usable[name] = result
    return usable, unusable


def _same_options(spec: CheckSpec, old: Any, policy: ResolvedPolicy) -> bool:
    """Equal ``with:`` blocks, or blocks the checker's options model reads the same (defaults spelled out)."""
    new = spec.model_dump(mode="json", by_alias=True)["with"]
    if old == new:
        return True
    checker = policy.plugins.checkers.get(spec.uses)
    if checker is None or not isinstance(old, dict):
        return False
    try:
        before = checker.options.model_validate(old).model_dump(mode="json")
        after = checker.options.model_validate(new).model_dump(mode="json")
    except ValidationError:
        return False
    return bool(before == after)


def _timeout(old: Mapping[str, Any]) -> float | None:
    value = old.get("timeout")
    return float(value) if isinstance(value, (int, float)) else None


def _ranked(names: Iterable[str]) -> dict[str, int]:
    counted = Counter(names)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _summary(
    counts: SimulationCounts,
    failing: dict[str, int],
    unsimulable: dict[str, int],
    branch: str | None,
    since_label: str | None,
    *,
    audit: bool,
) -> str:
    scope = (f" on {branch}" if branch else "") + (f" in the last {since_label}" if since_label else "")
    if counts.runs == 0:
        return f"no recorded runs{scope} to simulate"
    text = f"this policy would have failed {counts.failing} of {_runs(counts.runs)}{scope}"
    if counts.failing:
        top = list(failing.items())[:3]
        text += ", " + ", ".join(
            f"{n} of them for `{rule}`" if i == 0 else f"{n} for `{rule}`" for i, (rule, n) in enumerate(top)
        )
    text += f"; {counts.pass_to_fail} that passed would fail, {counts.fail_to_pass} that failed would pass"
    if counts.unknown:
        names = ", ".join(f"`{rule}`" for rule in unsimulable)
        text += f"; {_runs(counts.unknown)} could not be decided (not simulable: {names})"
    if audit:
        text += " (audit mode: not enforced)"
    return text
