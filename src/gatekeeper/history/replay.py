"""Replay: decide a recorded run again from its stored results and its stored policy.

Nothing is run. The stored policy must be the one the verdict names (its canonical JSON hashes
to ``verdict.policy.digest``), waivers are judged at the run's date and the run's mode is kept,
so an unaltered record gives back the same verdict apart from its times. This is how an auditor
checks a verdict later: a difference means the record or gatekeeper's decision logic changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatekeeper.errors import HistoryError, PolicyError, UsageError
from gatekeeper.history.records import RunRecord
from gatekeeper.models import CheckResult, RuleResult, Verdict

if TYPE_CHECKING:
    from gatekeeper.plugins import Plugins
    from gatekeeper.policy import ResolvedPolicy

ModelT = TypeVar("ModelT", bound=BaseModel)

__all__ = ["Replay", "load_replay_input", "replay", "verify_record"]

#: Fields of a verdict a replay does not reproduce: when it happened, and what the store added.
TIME_FIELDS = frozenset({"started_at", "finished_at", "history"})


class Replay(BaseModel):
    """A recorded verdict and the verdict decided again from its stored results."""

    model_config = ConfigDict(frozen=True)

    run_id: int = Field(description="The store's run id; 0 for a verdict read from a file.")
    verdict: Verdict = Field(description="The replayed verdict: the recorded one's, decided again.")
    original: Verdict
    matches: bool = Field(description="Equal to the recorded verdict apart from times.")
    differences: list[str] = Field(default_factory=list, description="What differs, one line each.")
    replayed_by: str = Field(description="The gatekeeper version that decided the replay.")


def verify_record(record: RunRecord) -> None:
    """Refuse a record whose stored policy is not the one its verdict names (``HistoryError``)."""
    from gatekeeper.policy import canonical_digest

    stored = canonical_digest(record.policy)
    if stored != record.verdict.policy.digest:
        raise HistoryError(
            f"{_what(record)}: stored policy does not match the verdict's digest "
            f"({stored} != {record.verdict.policy.digest}): the record was altered; do not trust it"
        )


def replay(record: RunRecord, *, plugins: Plugins | None = None, now: datetime | None = None) -> Replay:
    """Decide ``record`` again from its stored results under its stored policy.

    ``now`` stamps the replayed verdict's times (default: ``gatekeeper.clock.now()``). ``plugins``
    only validate the stored checks' options (default: the built-in plugins). Raises
    ``HistoryError`` for an altered record (its policy does not hash to the verdict's digest, or a
    rule reads a check the record has no result for) and for a stored policy that is not valid.
    """
    from gatekeeper import __version__, clock
    from gatekeeper.baseline import Baseline
    from gatekeeper.policy import policy_from_canonical
    from gatekeeper.rules import decide

    verify_record(record)
    original = record.verdict
    try:
        policy = policy_from_canonical(record.policy, plugins=plugins)
    except PolicyError as exc:  # the record's problem, not the caller's
        raise HistoryError(f"{_what(record)}: {exc}; the record cannot be replayed") from None
    results = {check.name: check for check in original.checks}
    _require_results(record, policy, results)
    # A rule's baseline is the file it read then: the findings it took out are the entries that mattered.
    baselines = {r.id: Baseline.from_findings(r.baseline, r.baselined) for r in original.rules if r.baseline}
    decision = decide(policy, results, today=original.started_at.date(), mode=original.mode, baselines=baselines)
    moment = now or clock.now()
    replayed = original.model_copy(
        update={
            "outcome": decision.outcome,
            "enforced": original.mode != "audit",
            "summary": decision.summary,
            "rules": decision.rules,
            "waivers": decision.waivers,
            "started_at": moment,
            "finished_at": moment,
            "history": None,  # the replay is not recorded; the original says where it was
        }
    )
    replayed = Verdict.model_validate(replayed.model_dump())  # a real, validated verdict
    differences = compare_verdicts(original, replayed)
    return Replay(
        run_id=record.id,
        verdict=replayed,
        original=original,
        matches=not differences,
        differences=differences,
        replayed_by=__version__,
    )


def _require_results(record: RunRecord, policy: ResolvedPolicy, results: dict[str, CheckResult]) -> None:
    wanted = {name for rule in policy.policy.rules for name in rule.check}
    missing = sorted(wanted - set(results))
    if missing:
        raise HistoryError(
            f"{_what(record)}: the policy's rules read check(s) {', '.join(missing)} but the record has no "
            "result for them: the record is incomplete or was altered"
        )
    for name in sorted(wanted):
        spec, result = policy.policy.checks[name], results[name]
        if result.uses != spec.uses:
            raise HistoryError(
                f"{_what(record)}: check {name!r} uses {spec.uses!r} in the stored policy but its result "
                f"came from {result.uses!r}: the record was altered"
            )


def compare_verdicts(recorded: Verdict, replayed: Verdict) -> list[str]:
    """What differs between two verdicts apart from their times, one line per difference."""
    old = recorded.model_dump(mode="json", exclude=set(TIME_FIELDS))
    new = replayed.model_dump(mode="json", exclude=set(TIME_FIELDS))
    out: list[str] = []
    if old["outcome"] != new["outcome"]:
        out.append(f"verdict outcome: recorded {old['outcome']}, replayed {new['outcome']}")
    for key in sorted(set(old) | set(new)):
        if key in ("outcome", "rules") or old.get(key) == new.get(key):
            continue
        if key == "summary":
            out.append(f"summary: recorded {old[key]!r}, replayed {new[key]!r}")
        else:
            out.append(f"{key} differs")
    out.extend(_rule_differences(recorded.rules, replayed.rules))
    return out


def _rule_differences(recorded: list[RuleResult], replayed: list[RuleResult]) -> list[str]:
    out: list[str] = []
    old = {rule.id: rule for rule in recorded}
    new = {rule.id: rule for rule in replayed}
    for rule_id in [*old, *(i for i in new if i not in old)]:
        before, after = old.get(rule_id), new.get(rule_id)
        if before is None:
            out.append(f"rule {rule_id}: not recorded, replayed {after.outcome if after else '?'}")
        elif after is None:
            out.append(f"rule {rule_id}: recorded {before.outcome}, not replayed")
        elif before.outcome != after.outcome:
            out.append(f"rule {rule_id}: recorded {before.outcome}, replayed {after.outcome}")
        elif before != after:
            fields = [name for name in RuleResult.model_fields if getattr(before, name) != getattr(after, name)]
            out.append(f"rule {rule_id}: {', '.join(fields)} differ(s) (outcome {after.outcome} both times)")
    if [r.id for r in recorded] != [r.id for r in replayed] and set(old) == set(new):
        out.append("rules are in a different order")
    return out


def load_replay_input(
    path: str | Path, *, policy: str | Path | None = None, plugins: Plugins | None = None
) -> RunRecord:
    """A run record from a JSON file: an exported run record, or a verdict (``--format json``)
    plus the policy it was decided with (``policy``, loaded with ``load_policy``).

    The record gets id 0 when it is built from a verdict. Raises ``HistoryError`` for a file that
    cannot be read or has the wrong shape, ``UsageError`` for a verdict without a policy or with
    a policy whose digest is not the verdict's.
    """
    from gatekeeper.policy import load_policy

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HistoryError(f"{name}: no such file; give a run id or a saved JSON report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{name}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{name}: not JSON ({exc.msg} at line {exc.lineno}); give a saved JSON report") from None
    if not isinstance(data, dict):
        raise HistoryError(f"{name}: a JSON object was expected (a run record or a --format json verdict)")
    if "verdict" in data and "policy" in data:
        record = _validated(RunRecord, data, name, "run record")
        if policy is not None:
            _same_digest(load_policy(policy, plugins=plugins), record.verdict, str(policy))
        return record
    verdict = _validated(Verdict, data, name, "verdict")
    if policy is None:
        raise UsageError(f"{name} is a verdict without its policy; give the policy it was decided with (--policy FILE)")
    resolved = load_policy(policy, plugins=plugins)
    _same_digest(resolved, verdict, str(policy))
    return RunRecord(
        id=0, recorded_at=verdict.finished_at, verdict=verdict, policy=json.loads(resolved.canonical_json())
    )


def _same_digest(resolved: ResolvedPolicy, verdict: Verdict, name: str) -> None:
    if resolved.digest != verdict.policy.digest:
        raise UsageError(
            f"{name} is not the policy the verdict was decided with: its digest is {resolved.digest}, "
            f"the verdict's is {verdict.policy.digest}; give that policy file (the version of that run)"
        )


def _validated(model: type[ModelT], data: dict[str, Any], name: str, what: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise HistoryError(
            f"{name}: not a valid {what} ({where}: {first['msg']}); give a run record or a --format json report"
        ) from None


def _what(record: RunRecord) -> str:
    return f"run {record.id}" if record.id else "the verdict"
