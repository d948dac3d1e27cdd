"""Turn check results into rule outcomes and a verdict outcome, failing closed.

Order of decisions for one rule: a check that errored or was skipped makes the
rule ``error`` (unless the rule says ``on_error`` / ``on_skipped``); then findings and metric
requirements decide pass/fail; waivers may turn a fail into ``waived``; the rule's
mode may turn a fail into ``warn``. Any ``error`` makes the verdict ``error``.

Before all of that, a rule with ``when:`` conditions (``gatekeeper.policy.conditions``) is
``skipped`` when one is false, and ``error`` when a fact they name is unavailable. After it, a
rule with ``effective_on`` that ``fail``s before that date is reported as ``warn`` (staged
rollout); an ``error`` stays ``error``. ``skipped`` never blocks: a verdict whose rules are all
skipped passes, as the policy said when they apply.

Counting findings: a finding below the rule's severity or outside its ``ids`` is ignored;
then, for a rule with a baseline (``new_only`` / ``findings.baseline``), a finding the baseline
accounts for is taken out (``baselined``: it is not new); then a ``match`` waiver may take it
out (``waived``); what is left counts. Baseline first: the baseline says what is old, and
waivers accept specific new findings, as they only ever match findings the rule counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any, Literal

from gatekeeper.baseline import Baseline, baseline_of
from gatekeeper.models import CheckResult, Finding, RuleOutcome, RuleResult, VerdictOutcome, WaiverReport
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.policy.conditions import evaluate_conditions, parse_conditions
from gatekeeper.policy.model import Mode, Policy, Rule, Waiver
from gatekeeper.policy.require import MissingMetric, RequireSyntaxError, lookup_in, split_qualified


@dataclass
class _WaiverState:
    waiver: Waiver
    active: bool
    matched: int = 0


@dataclass
class Decision:
    outcome: VerdictOutcome
    rules: list[RuleResult]
    waivers: list[WaiverReport]
    summary: str
    notes: list[str] = field(default_factory=list)


def decide(
    resolved: ResolvedPolicy,
    results: dict[str, CheckResult],
    *,
    today: date,
    mode: Mode,
    baselines: Mapping[str, Baseline] | None = None,
) -> Decision:
    """Decide every rule and the verdict outcome.

    ``baselines`` maps the id of each rule with ``new_only`` or ``findings.baseline`` to its
    loaded baseline (``gatekeeper.baseline.load_baselines``); such a rule without one is ``error``.
    """
    states = [_WaiverState(w, active=w.expires >= today) for w in resolved.policy.waivers]
    rules = [
        _decide_rule(rule, resolved, results, states, default_mode=mode, baselines=baselines or {}, today=today)
        for rule in resolved.policy.rules
    ]
    not_applied = {r.id for r in rules if r.outcome == "skipped"}
    waivers = [_waiver_report(state, rule_skipped=state.waiver.rule in not_applied) for state in states]
    outcome: VerdictOutcome = "pass"
    if any(r.outcome == "error" for r in rules):
        outcome = "error"
    elif any(r.outcome == "fail" for r in rules):
        outcome = "fail"
    return Decision(outcome, rules, waivers, _summary(outcome, rules, waivers, mode))


def _decide_rule(
    rule: Rule,
    resolved: ResolvedPolicy,
    results: dict[str, CheckResult],
    states: list[_WaiverState],
    default_mode: Mode,
    baselines: Mapping[str, Baseline],
    today: date,
) -> RuleResult:
    """``when:`` first (skipped / error), then the checks decide, then ``effective_on`` softens a failure."""
    applies = ""
    if rule.when:
        try:
            conditions = parse_conditions(rule, resolved.policy.checks)
        except RequireSyntaxError as exc:  # validated at load; a policy built otherwise still fails closed
            conditions, outcome, why = [], "error", f"cannot read when: {exc}"
        else:
            outcome, why = evaluate_conditions(conditions, results)
        if outcome != "apply":
            return RuleResult(
                id=rule.id,
                description=rule.description,
                checks=list(rule.check),
                mode=rule.mode or default_mode,
                outcome="error" if outcome == "error" else "skipped",
                reason=why,
            )
        applies = why
    decided = _decide_checks(rule, resolved, results, states, default_mode, baselines)
    if applies:
        decided = decided.model_copy(update={"reason": f"{applies}; {decided.reason}"})
    if rule.effective_on is not None and today < rule.effective_on and decided.outcome == "fail":
        start = rule.effective_on.isoformat()
        days = (rule.effective_on - today).days
        decided = decided.model_copy(
            update={"outcome": "warn", "reason": f"{decided.reason} (enforced from {start}, in {days} day(s))"}
        )
    return decided


def _decide_checks(
    rule: Rule,
    resolved: ResolvedPolicy,
    results: dict[str, CheckResult],
    states: list[_WaiverState],
    default_mode: Mode,
    baselines: Mapping[str, Baseline],
) -> RuleResult:
    mode: Mode = rule.mode or default_mode
    checks = [results[name] for name in rule.check]
    asked = baseline_of(rule)
    baseline = baselines.get(rule.id) if asked is not None else None
    baselined: list[Finding] = []

    def result(
        outcome: RuleOutcome, reason: str, counted: list[Finding] | None = None, waived: list[Finding] | None = None
    ) -> RuleResult:
        if waived is None:
            waived = []
        if counted is None:
            counted = []
        return RuleResult(
            id=rule.id,
            description=rule.description,
            checks=list(rule.check),
            mode=mode,
            outcome=outcome,
            reason=reason,
            findings=counted,
            waived=waived,
            baseline=baseline.file if baseline is not None else None,
            baselined=baselined,
        )

    errored = [c for c in checks if c.status == "error"]
    skipped = [c for c in checks if c.status == "skipped"]
    let_through: tuple[Literal["on_error", "on_skipped"], RuleOutcome, str] | None = None
    broken: list[str] = []
    if errored or skipped:
        why = "; ".join(
            f"check {c.name!r} {'errored' if c.status == 'error' else 'was skipped'}: {c.error}"
            for c in (*errored, *skipped)
        )
        key: Literal["on_error", "on_skipped"] = "on_error" if errored else "on_skipped"
        choice = rule.on_error if errored else rule.on_skipped
        if choice == "error":
            return result("error", why)
        let_through = (key, choice, f"{why} (the policy says {key}: {choice})")
        broken = [c.name for c in (*errored, *skipped)]
        # The checks that did run still decide: a failure among them is not let through.
        checks = [c for c in checks if c.status == "ok"]
        if not checks:
            return result(choice, let_through[2]).model_copy(update={"let_through": key})

    if asked is not None and baseline is None:  # fail closed: never count everything, or nothing
        return result("error", f"the rule reads a baseline ({asked[0]}: {asked[1]}) that was not loaded")

    mine = [s for s in states if s.waiver.rule == rule.id]
    reasons: list[str] = []
    failed = False
    counted: list[Finding] = []
    waived: list[Finding] = []

    if rule.findings is not None:
        floor = rule.findings.severity.rank
        old = baseline.absorber() if baseline is not None else None
        for check in checks:
            for finding in check.findings:
                if finding.severity.rank < floor:
                    continue
                if rule.findings.ids and not any(fnmatchcase(finding.id, g) for g in rule.findings.ids):
                    continue
                if old is not None and finding.fingerprint and old[(finding.id, finding.fingerprint)] > 0:
                    old[(finding.id, finding.fingerprint)] -= 1  # each entry takes one finding out
                    baselined.append(finding)
                    continue
                waiver = next((s for s in mine if s.active and s.waiver.match and _matches(s.waiver, finding)), None)
                if waiver is not None:
                    waiver.matched += 1
                    waived.append(finding)
                else:
                    counted.append(finding)
        limit = rule.findings.max
        scope = f"at or above {rule.findings.severity.value}"
        new = ""
        if baseline is not None:
            new = "new "
            scope += f" ({len(baselined)} in baseline {baseline.file.path})"
        if len(counted) > limit:
            failed = True
            reasons.append(f"{len(counted)} {new}finding(s) {scope}, at most {limit} allowed")
        else:
            extra = f" ({len(waived)} waived)" if waived else ""
            reasons.append(f"{len(counted)} {new}finding(s) {scope}, at most {limit} allowed{extra}")

    lookup = lookup_in({c.name: c.metrics for c in checks})
    for requirement in resolved.requirements.get(rule.id, []):
        absent = {name: _not_applicable(name, checks) for name in requirement.metrics()}
        try:
            if any(absent.values()):  # met, as long as every other metric it names exists
                for name in [n for n, why in absent.items() if why is None]:
                    lookup(name)
                reasons.append(f"not applicable: {'; '.join(why for why in absent.values() if why)}")
                continue
            ok, text = requirement.evaluate(lookup)
        except MissingMetric as exc:
            if let_through is not None and _names_broken_check(requirement.metrics(), broken, checks):
                reasons.append(f"not evaluated: {requirement.text} ({exc})")
                continue
            return result("error", f"cannot evaluate {requirement.text!r}: {exc}")
        if not ok:
            failed = True
            reasons.append(f"not met: {text}")
        else:
            reasons.append(f"met: {text}")

    reason = "; ".join(reasons)
    counted.sort(key=Finding.sort_key)
    waived.sort(key=Finding.sort_key)
    baselined.sort(key=Finding.sort_key)
    if let_through is not None:
        reason = f"{let_through[2]}; {reason}" if reason else let_through[2]
    if not failed:
        if let_through is not None:
            lenient = result(let_through[1], reason, counted, waived)
            return lenient.model_copy(update={"let_through": let_through[0]})
        limit = rule.findings.max if rule.findings else 0
        return result("waived" if waived and len(counted) + len(waived) > limit else "pass", reason, counted, waived)

    whole = next((s for s in mine if s.active and s.waiver.match is None), None)
    if whole is not None:
        whole.matched += 1
        w = whole.waiver
        reason += f" — waived by {w.owner} until {w.expires.isoformat()}: {w.reason}"
        return result("waived", reason, counted, waived)
    if mode == "warn" or rule.mode == "audit":  # policy-wide audit keeps the would-be outcome
        return result("warn", f"{reason} (mode: {mode}, not enforced)", counted, waived)
    return result("fail", reason, counted, waived)


def _names_broken_check(names: list[str], broken: list[str], ran: list[CheckResult]) -> bool:
    """Whether a metric the rule could not find may be the broken check's: qualified with its name,
    or unqualified and reported by none of the checks that ran. A typo on a check that ran is not."""
    ran_names = [c.name for c in ran]
    for name in names:
        qualified = split_qualified(name, [*broken, *ran_names])
        if qualified is not None and qualified[0] in broken:
            return True
        if qualified is None and not any(name in c.metrics for c in ran):
            return True
    return False


def _not_applicable(name: str, checks: list[CheckResult]) -> str | None:
    """Why metric ``name`` is absent on purpose (the check says it does not apply), or None.

    A metric some check reports is never "not applicable"; an unqualified name is only
    when no check reports it and every check that mentions it says why.
    """
    by_name = {c.name: c for c in checks}
    qualified = split_qualified(name, by_name)
    if qualified is not None:
        check, metric = by_name[qualified[0]], qualified[1]
        return None if metric in check.metrics else check.not_applicable.get(metric)
    if any(name in c.metrics for c in checks):
        return None
    reasons = sorted({c.not_applicable[name] for c in checks if name in c.not_applicable})
    return "; ".join(reasons) or None


def _matches(waiver: Waiver, finding: Finding) -> bool:
    match = waiver.match
    assert match is not None
    if match.finding is not None and not fnmatchcase(finding.id, match.finding):
        return False
    if match.path is not None and (finding.path is None or not fnmatchcase(finding.path, match.path)):
        return False
    return match.fingerprint is None or finding.fingerprint == match.fingerprint


def _waiver_report(state: _WaiverState, *, rule_skipped: bool = False) -> WaiverReport:
    w = state.waiver
    status: Literal["active", "expired", "stale"] = "active"
    if not state.active:
        status = "expired"
    elif state.matched == 0 and not rule_skipped:  # a rule whose when: is false had nothing to match
        status = "stale"
    match = {k: v for k, v in (w.match.model_dump() if w.match else {}).items() if v is not None}
    return WaiverReport(
        rule=w.rule,
        owner=w.owner,
        reason=w.reason,
        expires=w.expires.isoformat(),
        status=status,
        matched=state.matched,
        match=match,
    )


def _summary(outcome: VerdictOutcome, rules: list[RuleResult], waivers: list[WaiverReport], mode: Mode) -> str:
    def ids(kind: str) -> list[str]:
        return [r.id for r in rules if r.outcome == kind]

    parts = [f"{len(rules)} rule(s)"]
    for kind in ("error", "fail", "warn", "waived", "skipped"):
        if ids(kind):
            parts.append(f"{kind}: {', '.join(ids(kind))}")
    expired = sum(1 for w in waivers if w.status == "expired")
    stale = sum(1 for w in waivers if w.status == "stale")
    if expired:
        parts.append(f"{expired} expired waiver(s)")
    if stale:
        parts.append(f"{stale} stale waiver(s)")
    for key, what in (("on_error", "errors"), ("on_skipped", "skipped checks")):
        lenient = [r.id for r in rules if r.let_through == key]
        if lenient:
            parts.append(f"{what} let through by {key}: {', '.join(lenient)}")
    text = f"{outcome.upper()}: " + "; ".join(parts)
    if mode == "audit":
        text += " (audit mode: not enforced)"
    return text


def upcoming_enforcement(policy: Policy, today: date) -> list[tuple[str, date, int]]:
    """Rules with an ``effective_on`` after ``today``: (rule id, date, days until then), soonest first."""
    upcoming = [(r.id, r.effective_on, (r.effective_on - today).days) for r in policy.rules if r.effective_on]
    return sorted([item for item in upcoming if item[2] > 0], key=lambda item: (item[1], item[0]))


def shown_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A dumped rule without ``when``/``effective_on`` at their defaults, as ``policy show`` prints it."""
    return {k: v for k, v in rule.items() if not (k == "when" and v == []) and not (k == "effective_on" and v is None)}
