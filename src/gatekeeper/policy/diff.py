"""``gatekeeper policy diff``: what changed between two resolved policies, and whether it loosened the gate.

``diff_policies`` compares two resolved ``Policy`` models (``load_policy(...).policy``) and
returns a ``PolicyDiff``; it prints nothing. Rules and checks are compared with
``gatekeeper.policy.compare`` (parsed thresholds, not text). A change "loosens" when the new
policy may pass something the old one would not: a rule or check removed, an aspect loosened,
a waiver added or extended, a check's ``uses``/``with`` changed (not provably equal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from gatekeeper.policy.compare import AspectChange, compare_checks, compare_rules
from gatekeeper.policy.model import MODE_STRICTNESS, Policy, Waiver

Kind = Literal["policy", "check", "rule", "waiver"]
Change = Literal["added", "removed", "tightened", "loosened", "changed", "extended", "shortened", "expired"]

SCHEMA_VERSION = 1
_LOOSENING: frozenset[str] = frozenset({"loosened", "extended"})


@dataclass(frozen=True)
class DiffItem:
    kind: Kind
    subject: str  # the check name, rule id, waiver (``rule`` + match) or policy key
    change: Change
    aspect: str | None = None
    old: str | None = None
    new: str | None = None
    loosens: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "change": self.change,
            "aspect": self.aspect,
            "old": self.old,
            "new": self.new,
            "loosens": self.loosens,
        }

    def text(self) -> str:
        """``+ coverage (coverage)``, ``~ line-coverage: require loosened: 'a >= 0.8' -> 'a >= 0.7' [loosens]``."""
        flag = " [loosens]" if self.loosens else ""
        if self.change in ("added", "removed"):
            value = self.new if self.change == "added" else self.old
            shown = f" ({self.aspect} {value})" if self.aspect and value else f" ({value})" if value else ""
            return f"  {'+' if self.change == 'added' else '-'} {self.subject}{shown}{flag}"
        what = f"{self.subject}: {self.aspect}" if self.aspect else self.subject
        old = self.old if self.old is not None else "(none)"
        new = self.new if self.new is not None else "(none)"
        return f"  ~ {what} {self.change}: {old} -> {new}{flag}"


@dataclass(frozen=True)
class PolicyDiff:
    old_name: str
    new_name: str
    today: date
    items: list[DiffItem] = field(default_factory=list)

    @property
    def loosened(self) -> bool:
        return any(item.loosens for item in self.items)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.change] = out.get(item.change, 0) + 1
        return dict(sorted(out.items()))

    def to_json(self, *, old: dict[str, Any] | None = None, new: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "old": old or {"name": self.old_name},
            "new": new or {"name": self.new_name},
            "today": self.today.isoformat(),
            "loosened": self.loosened,
            "summary": self.counts(),
            "changes": [item.to_json() for item in self.items],
        }

    def render_text(self, old_label: str, new_label: str) -> str:
        lines = [f"policy diff {old_label} -> {new_label}"]
        titles: dict[Kind, str] = {"policy": "Policy", "check": "Checks", "rule": "Rules", "waiver": "Waivers"}
        for kind, title in titles.items():
            group = [item for item in self.items if item.kind == kind]
            if group:
                lines.append(f"{title}:")
                lines.extend(item.text() for item in group)
        if not self.items:
            lines.append("no differences")
        loosening = sum(1 for item in self.items if item.loosens)
        counts = ", ".join(f"{n} {change}" for change, n in self.counts().items()) or "nothing changed"
        lines.append(
            f"{counts}; {'LOOSENED: ' + str(loosening) + ' change(s) loosen the gate' if loosening else 'nothing loosened'}"
        )
        return "\n".join(lines) + "\n"


def _from_aspects(kind: Kind, subject: str, changes: list[AspectChange], *, changed_loosens: bool) -> list[DiffItem]:
    return [
        DiffItem(
            kind,
            subject,
            change.direction,
            change.aspect,
            change.old,
            change.new,
            change.direction == "loosened" or (changed_loosens and change.direction == "changed"),
        )
        for change in changes
    ]


def _waiver_key(waiver: Waiver) -> str:
    if waiver.match is None:
        return f"{waiver.rule} (whole rule)"
    parts = [f"{k}={v}" for k, v in waiver.match.model_dump(exclude_none=True).items()]
    return f"{waiver.rule} ({', '.join(parts)})"


def diff_policies(old: Policy, new: Policy, *, today: date) -> PolicyDiff:
    """A semantic diff of two resolved policies, ``today`` deciding which waivers have expired."""
    items: list[DiffItem] = []
    # policy-level keys
    if old.mode != new.mode:
        looser = MODE_STRICTNESS[new.mode] < MODE_STRICTNESS[old.mode]
        items.append(
            DiffItem("policy", "mode", "loosened" if looser else "tightened", None, old.mode, new.mode, looser)
        )
    if old.allow_weaker_mode != new.allow_weaker_mode:
        looser = new.allow_weaker_mode
        items.append(
            DiffItem(
                "policy",
                "allow_weaker_mode",
                "loosened" if looser else "tightened",
                None,
                str(old.allow_weaker_mode).lower(),
                str(new.allow_weaker_mode).lower(),
                looser,
            )
        )
    if old.max_waiver_days != new.max_waiver_days:
        looser = new.max_waiver_days is None or (
            old.max_waiver_days is not None and new.max_waiver_days > old.max_waiver_days
        )
        items.append(
            DiffItem(
                "policy",
                "max_waiver_days",
                "loosened" if looser else "tightened",
                None,
                _opt(old.max_waiver_days),
                _opt(new.max_waiver_days),
                looser,
            )
        )
    if old.plugins != new.plugins:  # local plugin code can decide anything: not provably equal
        items.append(
            DiffItem("policy", "plugins", "changed", None, ", ".join(old.plugins), ", ".join(new.plugins), True)
        )
    for plugin in sorted(set(old.settings) | set(new.settings)):
        before, after = old.settings.get(plugin), new.settings.get(plugin)
        if before != after:
            items.append(DiffItem("policy", f"settings.{plugin}", "changed", None, _json(before), _json(after), True))
    if old.cache != new.cache:
        items.append(
            DiffItem("policy", "cache", "changed", None, _json(old.cache.model_dump()), _json(new.cache.model_dump()))
        )

    # checks
    for name, spec in new.checks.items():
        if name not in old.checks:
            items.append(DiffItem("check", name, "added", None, None, spec.uses))
        else:
            items += _from_aspects("check", name, compare_checks(old.checks[name], spec), changed_loosens=False)
    for name, spec in old.checks.items():
        if name not in new.checks:
            items.append(DiffItem("check", name, "removed", None, spec.uses, None, True))

    # rules
    old_rules = {rule.id: rule for rule in old.rules}
    new_ids = {rule.id for rule in new.rules}
    for rule in new.rules:
        old_rule = old_rules.get(rule.id)
        if old_rule is None:
            items.append(DiffItem("rule", rule.id, "added", None, None, None))
            continue
        aspects = compare_rules(
            old_rule, rule, old_mode=old_rule.mode or old.mode, new_mode=rule.mode or new.mode, today=today
        )
        items += _from_aspects("rule", rule.id, aspects, changed_loosens=True)
    for rule in old.rules:
        if rule.id not in new_ids:
            items.append(DiffItem("rule", rule.id, "removed", None, None, None, True))

    # waivers: paired by rule and match, in order
    remaining: dict[str, list[Waiver]] = {}
    for waiver in old.waivers:
        remaining.setdefault(_waiver_key(waiver), []).append(waiver)
    for waiver in new.waivers:
        key = _waiver_key(waiver)
        previous = remaining.get(key)
        expires = waiver.expires.isoformat()
        if not previous:
            items.append(DiffItem("waiver", key, "added", "expires", None, expires, True))
        else:
            before_w = previous.pop(0)
            if waiver.expires > before_w.expires:
                items.append(
                    DiffItem("waiver", key, "extended", "expires", before_w.expires.isoformat(), expires, True)
                )
            elif waiver.expires < before_w.expires:
                items.append(DiffItem("waiver", key, "shortened", "expires", before_w.expires.isoformat(), expires))
            for aspect in ("owner", "reason"):
                if getattr(waiver, aspect) != getattr(before_w, aspect):
                    items.append(
                        DiffItem("waiver", key, "changed", aspect, getattr(before_w, aspect), getattr(waiver, aspect))
                    )
        if waiver.expires < today:
            items.append(DiffItem("waiver", key, "expired", "expires", None, expires))
    for key, left in remaining.items():
        for waiver in left:
            items.append(DiffItem("waiver", key, "removed", "expires", waiver.expires.isoformat(), None))
    return PolicyDiff(old.name or "policy", new.name or "policy", today, items)


def _opt(value: int | None) -> str:
    return "none" if value is None else str(value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)
