"""Semantic comparison of two versions of a rule or check: which aspects got tighter or looser.

Used by ``extends`` (a locked rule may only be tightened) and by ``gatekeeper policy diff``.
Thresholds are compared parsed, not as text: ``line_rate >= 0.80`` equals ``line_rate >= 0.8``,
``line_rate > 0.8`` is tighter than it, and the order of ``require:`` entries does not matter.

The comparison is conservative: whatever is not provably equal or tighter counts as loosened
(an operator turned around, a metric renamed, a checker option changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from typing import Any, Literal

from gatekeeper.models import Severity
from gatekeeper.policy.model import MODE_STRICTNESS, CheckSpec, FindingsCondition, Rule
from gatekeeper.policy.require import Requirement, RequireSyntaxError, parse_requirement

Direction = Literal["tightened", "loosened", "changed"]

#: How strict each ``on_error``/``on_skipped`` value is.
ON_ERROR_STRICTNESS: dict[str, int] = {"pass": 0, "warn": 1, "error": 2}

_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
# (op of the stronger comparison, op of the weaker one) between the same two metrics
_METRIC_IMPLIES = {("<", "<="), ("<", "!="), (">", ">="), (">", "!="), ("==", "<="), ("==", ">=")}


@dataclass(frozen=True)
class AspectChange:
    """One aspect of a rule or check that differs: ``require``, ``findings.max``, ``mode``..."""

    aspect: str
    direction: Direction
    old: str | None
    new: str | None

    def describe(self) -> str:
        """``require 'line_rate >= 0.8' became 'line_rate >= 0.7'``, ``findings was removed``..."""
        if self.new is None:
            return f"{self.aspect} {self.old} was removed" if self.old else f"{self.aspect} was removed"
        if self.old is None:
            return f"{self.aspect} {self.new} was added"
        return f"{self.aspect} {self.old} became {self.new}"


def _q(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


# --- require / when -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Comparison:
    """A requirement with its metric on the left (``0 == x`` is ``x == 0``); two metrics sorted by name."""

    text: str
    metric: str
    op: str
    value: float | str


def _normalize(text: str) -> _Comparison | None:
    try:
        req: Requirement = parse_requirement(text)
    except RequireSyntaxError:
        return None  # loading reports it; here it only compares as text
    left, op, right = req.left, req.op, req.right
    if not isinstance(left, str) or (isinstance(right, str) and right < left):
        left, op, right = right, _FLIP[op], left
    assert isinstance(left, str)
    return _Comparison(req.text, left, op, right)


def _implies(strong: _Comparison, weak: _Comparison) -> bool:
    """Whether ``strong`` holding proves ``weak`` holds."""
    if strong.metric != weak.metric:
        return False
    a, b = strong.value, weak.value
    if isinstance(a, str) or isinstance(b, str):
        return a == b and (strong.op == weak.op or (strong.op, weak.op) in _METRIC_IMPLIES)
    s, w = strong.op, weak.op
    if w == ">=":
        return (s in (">=", ">", "==") and a >= b) or False
    if w == ">":
        return (s == ">" and a >= b) or (s in (">=", "==") and a > b)
    if w == "<=":
        return s in ("<=", "<", "==") and a <= b
    if w == "<":
        return (s == "<" and a <= b) or (s in ("<=", "==") and a < b)
    if w == "==":
        return s == "==" and a == b
    # w == "!="
    return (
        (s == "!=" and a == b)
        or (s == "==" and a != b)
        or (s == ">" and a >= b)
        or (s == ">=" and a > b)
        or (s == "<" and a <= b)
        or (s == "<=" and a < b)
    )


def _holds_given(text: str, given: Sequence[str]) -> bool:
    """Whether the comparison ``text`` is proved by the comparisons ``given`` (one of them suffices)."""
    target = _normalize(text)
    for other in given:
        if other.strip() == text.strip():
            return True
        parsed = _normalize(other)
        if target is not None and parsed is not None and _implies(parsed, target):
            return True
    return False


def _same_metric(text: str, among: Sequence[str]) -> list[str]:
    target = _normalize(text)
    if target is None:
        return []
    found = []
    for other in among:
        parsed = _normalize(other)
        if parsed is not None and parsed.metric == target.metric:
            found.append(parsed.text)
    return found


def _comparisons(
    aspect: str, old: Sequence[str], new: Sequence[str], *, stricter_when_more: bool
) -> list[AspectChange]:
    """``require``: the new list must prove every old comparison (else loosened).
    ``when`` (``stricter_when_more=False``): the old list must prove every new condition."""
    changes: list[AspectChange] = []
    proving, proved = (new, old) if stricter_when_more else (old, new)
    for text in proved:  # not proved by the other side: it loses strictness
        if not _holds_given(text, proving):
            if stricter_when_more:
                others = _same_metric(text, new)
                changes.append(AspectChange(aspect, "loosened", _q(text), ", ".join(map(_q, others)) or None))
            else:
                changes.append(AspectChange(aspect, "loosened", None, _q(text)))
    for text in proving:
        if not _holds_given(text, proved):
            if stricter_when_more:
                if not any(c.new and _q(text) in c.new for c in changes):
                    changes.append(AspectChange(aspect, "tightened", None, _q(text)))
            else:
                changes.append(AspectChange(aspect, "tightened", _q(text), None))
    return changes


# --- findings -----------------------------------------------------------------------------------


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _ids_cover(wide: Sequence[str], narrow: Sequence[str]) -> bool:
    """Whether every id counted under ``narrow`` is counted under ``wide`` (empty: all ids)."""
    if not wide:
        return True
    if not narrow:
        return "*" in wide
    return all(any(p == w or w == "*" or (not _is_glob(p) and fnmatchcase(p, w)) for w in wide) for p in narrow)


def _baseline_of(rule: Rule) -> str | None:
    if rule.new_only:
        return ".gatekeeper-baseline.json (new_only)"
    if rule.findings is not None and rule.findings.baseline is not None:
        return rule.findings.baseline
    return None


def _findings(old: FindingsCondition | None, new: FindingsCondition | None) -> list[AspectChange]:
    if old is None and new is None:
        return []
    if new is None:
        return [AspectChange("findings", "loosened", None, None)]
    if old is None:
        return [AspectChange("findings", "tightened", None, _describe_findings(new))]
    changes = []
    old_rank, new_rank = Severity(old.severity).rank, Severity(new.severity).rank
    if new_rank != old_rank:  # the severity is the lowest one counted: raising it counts fewer findings
        direction: Direction = "loosened" if new_rank > old_rank else "tightened"
        changes.append(AspectChange("findings.severity", direction, _q(old.severity.value), _q(new.severity.value)))
    if new.max != old.max:
        changes.append(
            AspectChange("findings.max", "loosened" if new.max > old.max else "tightened", str(old.max), str(new.max))
        )
    if sorted(new.ids) != sorted(old.ids):
        wider, narrower = _ids_cover(new.ids, old.ids), _ids_cover(old.ids, new.ids)
        if not wider or not narrower:
            direction = "tightened" if wider else "loosened"
            changes.append(AspectChange("findings.ids", direction, _ids(old.ids), _ids(new.ids)))
    return changes


def _ids(ids: Sequence[str]) -> str:
    return "[" + ", ".join(ids) + "]" if ids else "[] (all)"


def _describe_findings(findings: FindingsCondition) -> str:
    text = f"{{severity: {findings.severity.value}, max: {findings.max}"
    return text + (f", ids: {_ids(findings.ids)}}}" if findings.ids else "}")


# --- rules and checks ---------------------------------------------------------------------------


def _ranked(aspect: str, old: str, new: str, scale: dict[str, int]) -> list[AspectChange]:
    if old == new:
        return []
    direction: Direction = "loosened" if scale[new] < scale[old] else "tightened"
    return [AspectChange(aspect, direction, _q(old), _q(new))]


def _in_force(day: date | None, today: date | None) -> date | None:
    """An ``effective_on`` date already reached is the same as none."""
    return None if day is None or (today is not None and day <= today) else day


def compare_rules(
    old: Rule, new: Rule, *, old_mode: str, new_mode: str, today: date | None = None
) -> list[AspectChange]:
    """Every aspect in which ``new`` differs from ``old``, each tightened or loosened.

    ``old_mode``/``new_mode`` are the rules' effective modes (their own ``mode`` or the
    policy's). ``today`` makes an ``effective_on`` date already reached equal to none.
    """
    changes: list[AspectChange] = []
    changes += _comparisons("require", old.require, new.require, stricter_when_more=True)
    changes += _findings(old.findings, new.findings)
    old_base, new_base = _baseline_of(old), _baseline_of(new)
    if old_base != new_base and new.findings is not None:
        direction: Direction = "tightened" if new_base is None else "loosened"  # another file: not provably tighter
        changes.append(AspectChange("baseline", direction, old_base and _q(old_base), new_base and _q(new_base)))
    old_checks, new_checks = set(old.check), set(new.check)
    if old_checks != new_checks:  # reading more evidence is tighter; dropping any of it is not
        direction = "tightened" if new_checks > old_checks else "loosened"
        changes.append(AspectChange("check", direction, _q(sorted(old_checks)), _q(sorted(new_checks))))
    changes += _ranked("mode", old_mode, new_mode, MODE_STRICTNESS)
    changes += _ranked("on_error", old.on_error, new.on_error, ON_ERROR_STRICTNESS)
    changes += _ranked("on_skipped", old.on_skipped, new.on_skipped, ON_ERROR_STRICTNESS)
    changes += _comparisons("when", _when(old), _when(new), stricter_when_more=False)
    old_day, new_day = (
        _in_force(getattr(old, "effective_on", None), today),
        _in_force(getattr(new, "effective_on", None), today),
    )
    if old_day != new_day:
        later = new_day is not None and (old_day is None or new_day > old_day)
        changes.append(
            AspectChange(
                "effective_on",
                "loosened" if later else "tightened",
                old_day.isoformat() if old_day else None,
                new_day.isoformat() if new_day else None,
            )
        )
    if old.locked != new.locked:
        changes.append(
            AspectChange(
                "locked", "loosened" if old.locked else "tightened", str(old.locked).lower(), str(new.locked).lower()
            )
        )
    if old.waivable != new.waivable:
        changes.append(
            AspectChange(
                "waivable",
                "loosened" if new.waivable else "tightened",
                str(old.waivable).lower(),
                str(new.waivable).lower(),
            )
        )
    if old.max_waiver_days != new.max_waiver_days:
        looser = new.max_waiver_days is None or (
            old.max_waiver_days is not None and new.max_waiver_days > old.max_waiver_days
        )
        changes.append(
            AspectChange(
                "max_waiver_days",
                "loosened" if looser else "tightened",
                str(old.max_waiver_days) if old.max_waiver_days is not None else "none",
                str(new.max_waiver_days) if new.max_waiver_days is not None else "none",
            )
        )
    return changes


def _when(rule: Rule) -> list[str]:
    value: Any = getattr(rule, "when", None) or []
    return [str(v) for v in value]


def compare_checks(old: CheckSpec, new: CheckSpec) -> list[AspectChange]:
    """How a check changed. What a checker's options mean is the checker's business, so any change
    of ``uses``, ``with`` or ``base`` counts as loosened; ``scope: changed`` (scanning less) is loosened
    and back to ``all`` tightened; ``timeout`` is only ``changed`` (a check that runs out errors)."""
    changes: list[AspectChange] = []
    if old.uses != new.uses:
        changes.append(AspectChange("uses", "loosened", _q(old.uses), _q(new.uses)))
    if old.with_ != new.with_:
        changes.append(AspectChange("with", "loosened", _mapping(old.with_), _mapping(new.with_)))
    if old.scope != new.scope:
        changes.append(
            AspectChange("scope", "loosened" if new.scope == "changed" else "tightened", _q(old.scope), _q(new.scope))
        )
    if old.base != new.base and new.scope == "changed":
        changes.append(AspectChange("base", "loosened", old.base and _q(old.base), new.base and _q(new.base)))
    if old.timeout != new.timeout:
        changes.append(AspectChange("timeout", "changed", f"{old.timeout:g}", f"{new.timeout:g}"))
    return changes


def _mapping(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def loosened(changes: Iterable[AspectChange]) -> list[AspectChange]:
    return [c for c in changes if c.direction == "loosened"]
