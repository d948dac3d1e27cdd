"""The ``require:`` mini-language: ``metric OP number`` (or metric OP metric), parsed, never eval'd.

Kept deliberately tiny so a policy stays declarative: one comparison per string,
several strings meaning "all of them". Metrics may be qualified by check name
(``tests.failed``) when a rule reads more than one check.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_])"
    r"|(?P<name>[A-Za-z_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)"
    r"|(?P<op>==|!=|<=|>=|<|>))"
)


class RequireSyntaxError(ValueError):
    pass


class MissingMetric(LookupError):
    """The metric a requirement names was not reported; the rule cannot decide."""


Operand = float | str  # a number, or a metric name


@dataclass(frozen=True)
class Requirement:
    text: str
    left: Operand
    op: str
    right: Operand

    def metrics(self) -> list[str]:
        return [x for x in (self.left, self.right) if isinstance(x, str)]

    def evaluate(self, lookup: Callable[[str], float]) -> tuple[bool, str]:
        """Compare; returns whether it holds and a sentence with the actual values."""
        left = lookup(self.left) if isinstance(self.left, str) else self.left
        right = lookup(self.right) if isinstance(self.right, str) else self.right
        if math.isnan(left) or math.isnan(right):
            return False, f"{self.text} (a value is not a number)"
        ok = _OPS[self.op](left, right)
        shown = " ".join(f"{x}={_fmt(v)}" for x, v in ((self.left, left), (self.right, right)) if isinstance(x, str))
        return ok, f"{self.text} ({shown})" if shown else self.text


def _fmt(value: float) -> str:
    return str(int(value)) if math.isfinite(value) and value == int(value) and abs(value) < 1e15 else repr(value)


def parse_requirement(text: str) -> Requirement:
    tokens: list[tuple[str, str]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match or match.end() == pos:
            raise RequireSyntaxError(f"cannot read {stripped[pos:].strip()!r} in {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    shape = [kind for kind, _ in tokens]
    if len(tokens) != 3 or shape[1] != "op" or "op" in (shape[0], shape[2]):
        raise RequireSyntaxError(
            f"{text!r} is not a comparison; write 'metric OP number', e.g. 'failed == 0' "
            f"(OP is one of {', '.join(_OPS)})"
        )
    if shape[0] == "num" and shape[2] == "num":
        raise RequireSyntaxError(f"{text!r} compares two numbers; name a metric")

    def operand(kind: str, value: str) -> Operand:
        return float(value) if kind == "num" else value

    return Requirement(text.strip(), operand(*tokens[0]), tokens[1][1], operand(*tokens[2]))


def split_qualified(name: str, checks: Iterable[str]) -> tuple[str, str] | None:
    """``CHECK.METRIC`` split at the dot that leaves a known check name (check names may hold dots)."""
    known = set(checks)
    for index in [i for i, c in enumerate(name) if c == "."][::-1]:
        if name[:index] in known:
            return name[:index], name[index + 1 :]
    return None


def lookup_in(metrics: Mapping[str, Mapping[str, float]]) -> Callable[[str], float]:
    """Resolve a metric name against the metrics of a rule's checks (``check.metric`` or unique ``metric``)."""

    def lookup(name: str) -> float:
        qualified = split_qualified(name, metrics)
        if qualified is not None:
            check, metric = qualified
            if metric in metrics[check]:
                return metrics[check][metric]
            raise MissingMetric(f"check {check!r} reported no metric {metric!r}")
        found = [m[name] for m in metrics.values() if name in m]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise MissingMetric(f"metric {name!r} is reported by several checks; qualify it as CHECK.{name}")
        available = sorted({k for m in metrics.values() for k in m})
        hint = f" (reported: {', '.join(available)})" if available else " (the check reported no metrics)"
        raise MissingMetric(f"no check reported metric {name!r}{hint}")

    return lookup
