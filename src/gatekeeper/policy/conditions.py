"""``when:`` conditions: facts about the change that decide whether a rule applies at all.

A condition is written in the ``require:`` language (parsed, never eval'd), but every name in it
is a *fact*, ``CHECK.METRIC``, where ``CHECK`` is any check of the policy (not only the ones the
rule reads), e.g. ``change.ai_assisted == 1`` with ``change: {uses: git}``. Facts are ordinary check
metrics, so they are cached, recorded in the history and replayed like any other.

Deciding (``evaluate_conditions``), failing closed:

- every fact of every condition must be available: a check that did not run, errored or was
  skipped, or a metric it did not report, makes the rule ``error``
  (``condition change.ai_assisted: fact unavailable: check 'change' errored: ...``), never a
  silent skip;
- a fact the check marks not applicable (``not_applicable``) makes its condition false, with the
  checker's reason;
- when every condition holds the rule is decided as usual; otherwise it is ``skipped`` and the
  reason names the conditions that are false and the facts' values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from gatekeeper.models import CheckResult
from gatekeeper.policy.model import Rule
from gatekeeper.policy.require import Requirement, RequireSyntaxError, parse_requirement, split_qualified

__all__ = ["Condition", "ConditionOutcome", "condition_checks", "evaluate_conditions", "parse_condition"]

ConditionOutcome = Literal["apply", "skip", "error"]


@dataclass(frozen=True)
class Condition:
    """One parsed ``when:`` string and the (check, metric) each of its names stands for."""

    requirement: Requirement
    facts: tuple[tuple[str, str, str], ...]  # (name as written, check, metric)

    @property
    def text(self) -> str:
        return self.requirement.text


def parse_condition(text: str, checks: Iterable[str]) -> Condition:
    """Parse one condition against the policy's check names; raises ``RequireSyntaxError``."""
    known = list(checks)
    requirement = parse_requirement(text)
    facts = []
    for name in requirement.metrics():
        qualified = split_qualified(name, known)
        if qualified is None:
            listed = ", ".join(known) or "none defined"
            if "." in name:
                raise RequireSyntaxError(f"{name!r}: the policy has no such check (checks: {listed})")
            raise RequireSyntaxError(
                f"{name!r}: a when: fact is CHECK.METRIC naming a check of the policy, e.g. change.{name} "
                f"(checks: {listed})"
            )
        facts.append((name, *qualified))
    return Condition(requirement, tuple(facts))


def parse_conditions(rule: Rule, checks: Iterable[str]) -> list[Condition]:
    known = list(checks)
    return [parse_condition(text, known) for text in rule.when]


def condition_checks(rule: Rule, checks: Iterable[str]) -> list[str]:
    """The checks a rule's ``when:`` reads (conditions that do not parse are left to validation)."""
    known = list(checks)
    names: dict[str, None] = {}
    for text in rule.when:
        try:
            names.update(dict.fromkeys(check for _, check, _ in parse_condition(text, known).facts))
        except RequireSyntaxError:
            continue
    return list(names)


def evaluate_conditions(
    conditions: list[Condition], results: Mapping[str, CheckResult]
) -> tuple[ConditionOutcome, str]:
    """Whether the rule applies (``apply``), is ``skip``ped, or cannot tell (``error``), and why."""
    unavailable: list[str] = []
    values: list[dict[str, float]] = []
    inapplicable: list[str | None] = []
    for condition in conditions:
        known: dict[str, float] = {}
        why_not: str | None = None
        for name, check, metric in condition.facts:
            result = results.get(check)
            if result is None:
                unavailable.append(f"condition {name}: fact unavailable: check {check!r} did not run")
            elif result.status != "ok":
                verb = "errored" if result.status == "error" else "was skipped"
                unavailable.append(f"condition {name}: fact unavailable: check {check!r} {verb}: {result.error}")
            elif metric in result.metrics:
                known[name] = result.metrics[metric]
            elif metric in result.not_applicable:
                why_not = f"{name} is not applicable ({result.not_applicable[metric]})"
            else:
                reported = ", ".join(sorted(result.metrics)) or "none"
                unavailable.append(
                    f"condition {name}: fact unavailable: check {check!r} reported no metric {metric!r} "
                    f"(reported: {reported})"
                )
        values.append(known)
        inapplicable.append(why_not)
    if unavailable:
        return "error", "; ".join(unavailable)
    held: list[str] = []
    false: list[str] = []
    for condition, known, why_not in zip(conditions, values, inapplicable, strict=True):
        if why_not is not None:
            false.append(f"when: {condition.text} is false: {why_not}")
            continue
        ok, shown = condition.requirement.evaluate(known.__getitem__)
        facts = shown[len(condition.text) :].strip()
        if ok:
            held.append(f"{condition.text} {facts}".strip())
        else:
            false.append(f"when: {condition.text} is false {facts}".strip())
    if false:
        return "skip", "; ".join(false) + " (the rule does not apply)"
    return "apply", "applies: " + "; ".join(held)
