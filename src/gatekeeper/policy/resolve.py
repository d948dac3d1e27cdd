"""``extends``: find the parent policies and merge them, parents first, this file last.

Merge rules: scalar keys set in a later file win; ``checks`` merge by name and
``rules`` by id (a later definition replaces the earlier one in place), ``settings`` by
plugin name (a later block replaces the earlier one whole); ``waivers``
and ``plugins`` accumulate. A file may not weaken the mode its parents set unless
a parent allowed it with ``allow_weaker_mode: true``. A rule a file marks ``locked: true``
may only be tightened by the files after it (``gatekeeper.policy.compare`` decides), and neither
may the checks it reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatekeeper import clock
from gatekeeper.errors import PolicyError
from gatekeeper.policy.compare import compare_checks, compare_rules, loosened
from gatekeeper.policy.errors import policy_error_from
from gatekeeper.policy.model import MODE_STRICTNESS, CacheSettings, CheckSpec, Mode, Policy, Rule, Waiver
from gatekeeper.policy.source import Loc, PolicySource, read_policy_file

BUILTIN_PREFIX = "builtin:"


def packs_dir() -> Path:
    """Where the built-in packs are: inside the installed package, or ``policies/`` in a checkout."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "policies"
    if packaged.is_dir():
        return packaged
    return package.parent.parent / "policies"


def builtin_packs() -> list[str]:
    # a pack's tests (default.gatekeeper-test.yaml, `gatekeeper policy test`) sit beside it and are not packs
    return sorted(p.stem for p in packs_dir().glob("*.yaml") if not p.name.endswith(".gatekeeper-test.yaml"))


@dataclass
class Layer:
    """One policy file in the ``extends`` chain, validated on its own."""

    source: PolicySource
    policy: Policy
    display: str


@dataclass
class Merged:
    """The merged policy plus where each item was written, for later error messages."""

    policy: Policy
    layers: list[Layer]
    check_origin: dict[str, tuple[PolicySource, Loc]] = field(default_factory=dict)
    rule_origin: dict[str, tuple[PolicySource, Loc]] = field(default_factory=dict)
    waiver_origin: list[tuple[PolicySource, Loc]] = field(default_factory=list)
    settings_origin: dict[str, tuple[PolicySource, Loc]] = field(default_factory=dict)
    #: rule id -> the file that locked it (``locked: true``).
    rule_locks: dict[str, str] = field(default_factory=dict)
    #: (rule id, "waivable" | "max_waiver_days") -> the file that set the rule's current value.
    waiver_limit_origin: dict[tuple[str, str], str] = field(default_factory=dict)


def resolve_ref(ref: str, base_dir: Path) -> tuple[Path, str]:
    """A path and display name for an ``extends`` entry or ``--policy`` argument."""
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX) :]
        path = packs_dir() / f"{name}.yaml"
        if not name or "/" in name or name not in builtin_packs():
            raise PolicyError(f"no built-in policy pack {name!r}; available: {', '.join(builtin_packs())}")
        return path, ref
    path = Path(ref)
    return (path if path.is_absolute() else base_dir / path), ref


def load_layer(path: Path, display: str) -> Layer:
    source = read_policy_file(path, display)
    try:
        policy = Policy.model_validate(source.data)
    except ValidationError as exc:
        raise policy_error_from(exc, source, Policy) from None
    return Layer(source, policy, display)


def chain(path: Path, display: str, _stack: tuple[Path, ...] = ()) -> list[Layer]:
    """Every layer this file stands on, deepest parent first, each file once."""
    real = path.resolve()
    if real in _stack:
        cycle = " -> ".join(p.name for p in (*_stack, real))
        raise PolicyError(f"'extends' forms a cycle: {cycle}")
    layer = load_layer(path, display)
    layers: list[Layer] = []
    for index, ref in enumerate(layer.policy.extends):
        try:
            parent_path, parent_display = resolve_ref(ref, path.parent)
        except PolicyError as exc:
            raise PolicyError(exc.detail, layer.source.locate(("extends", index))) from None
        if not parent_path.is_file():
            raise PolicyError(
                f"extends[{index}]: {ref} not found (relative paths are from {display}'s folder)",
                layer.source.locate(("extends", index)),
            )
        display_parent = parent_display if ref.startswith(BUILTIN_PREFIX) else _display(parent_path, path, display)
        for parent in chain(parent_path, display_parent, (*_stack, real)):
            if all(_real(parent) != _real(seen) for seen in layers):  # 'base.yaml' and 'sub/../base.yaml' are one file
                layers.append(parent)
    layers.append(layer)
    return layers


def _real(layer: Layer) -> Path | None:
    return layer.source.path.resolve() if layer.source.path else None


def _display(target: Path, referrer: Path, referrer_display: str) -> str:
    return os.path.normpath(os.path.join(os.path.dirname(referrer_display), os.path.relpath(target, referrer.parent)))


def merge(layers: list[Layer], top_dir: Path) -> Merged:
    mode: Mode = "enforce"
    mode_from = layers[0].display
    mode_allows = True  # whether files after the current one may set a weaker mode
    locked_by = layers[0].display
    floor, floor_by = 0, layers[0].display  # the strictest mode any file locked: nothing goes below it
    name: str | None = None
    description: str | None = None
    checks: dict[str, CheckSpec] = {}
    rules: dict[str, Rule] = {}
    rule_modes: dict[str, tuple[Mode, bool, str]] = {}  # id -> (effective mode, may weaken, set by)
    waivers: list[Waiver] = []
    plugins: list[str] = []
    settings: dict[str, dict[str, Any]] = {}
    max_waiver_days: int | None = None
    cache: dict[str, Any] = {}  # the cache: keys set so far; a later file wins key by key
    merged = Merged(Policy(version=1), layers)

    for layer in layers:
        policy, source = layer.policy, layer.source
        explicit = policy.model_fields_set
        if "mode" in explicit or layer is layers[0]:
            change = MODE_STRICTNESS[policy.mode] - MODE_STRICTNESS[mode]
            below_floor = MODE_STRICTNESS[policy.mode] < floor
            if change < 0 and (not mode_allows or below_floor):
                locker = floor_by if below_floor else locked_by
                why = (
                    "which does not allow weaker modes (it would need 'allow_weaker_mode: true')"
                    if locker == mode_from
                    else f"and {locker} locked it with 'allow_weaker_mode: false'"
                )
                raise PolicyError(
                    f"mode: {policy.mode!r} is weaker than {mode!r} set by {mode_from}, {why}",
                    source.locate(("mode",)),
                )
            if change > 0 or mode_allows or layer is layers[0]:
                # A file that tightens the mode (or may weaken it) now decides for the files after it,
                # but never below a mode an earlier file locked (the floor).
                mode_allows, locked_by = policy.allow_weaker_mode, layer.display
            # Restating a locked mode keeps the lock: allow_weaker_mode there cannot unlock it.
            mode, mode_from = policy.mode, layer.display
            if not mode_allows and MODE_STRICTNESS[mode] > floor:
                floor, floor_by = MODE_STRICTNESS[mode], locked_by
        elif "allow_weaker_mode" in explicit and not policy.allow_weaker_mode:
            if MODE_STRICTNESS[mode] > floor:
                floor, floor_by = MODE_STRICTNESS[mode], layer.display
            mode_allows, locked_by = False, layer.display  # any file may lock the mode; only its owner unlocks it
        if "mode" in explicit:
            _check_locked_modes(merged, rules, rule_modes, policy, mode, source)
        if policy.max_waiver_days is not None:  # tighten only: the smallest limit in the chain applies
            max_waiver_days = min(policy.max_waiver_days, max_waiver_days or policy.max_waiver_days)
        if "cache" in explicit:
            cache.update({key: getattr(policy.cache, key) for key in policy.cache.model_fields_set})
        name = policy.name if "name" in explicit else name
        description = policy.description if "description" in explicit else description
        for check_name, spec in policy.checks.items():
            if check_name in checks:
                _check_locked_check(merged, rules, check_name, checks[check_name], spec, source)
            checks[check_name] = spec
            merged.check_origin[check_name] = (source, ("checks", check_name))
        seen_here: set[str] = set()
        for index, rule in enumerate(policy.rules):
            if rule.id in seen_here:
                raise PolicyError(
                    f"rules[{index}]: rule id {rule.id!r} is used twice in this file",
                    source.locate(("rules", index, "id")),
                )
            seen_here.add(rule.id)
            new_mode = rule.mode or mode
            if rule.id in merged.rule_locks:
                rule = _keep_lock(rules[rule.id], rule)
                _check_locked_rule(merged, rules[rule.id], rule, rule_modes[rule.id][0], new_mode, index, source)
            elif rule.locked:
                merged.rule_locks[rule.id] = layer.display
            if rule.id in rule_modes:
                old_mode, may_weaken, set_by = rule_modes[rule.id]
                if MODE_STRICTNESS[new_mode] < MODE_STRICTNESS[old_mode] and not may_weaken:
                    raise PolicyError(
                        f"rules[{index}] ({rule.id}): mode {new_mode!r} is weaker than {old_mode!r} set by {set_by}, "
                        f"which does not allow weaker modes",
                        source.locate(("rules", index)),
                    )
            for key in ("waivable", "max_waiver_days"):
                if rule.id not in rules or getattr(rules[rule.id], key) != getattr(rule, key):
                    merged.waiver_limit_origin[(rule.id, key)] = layer.display
            rules[rule.id] = rule
            rule_modes[rule.id] = (new_mode, policy.allow_weaker_mode, layer.display)
            merged.rule_origin[rule.id] = (source, ("rules", index))
        for index, waiver in enumerate(policy.waivers):
            waivers.append(waiver)
            merged.waiver_origin.append((source, ("waivers", index)))
        for plugin_name, block in policy.settings.items():
            settings[plugin_name] = block
            merged.settings_origin[plugin_name] = (source, ("settings", plugin_name))
        for entry in policy.plugins:
            assert source.path is not None
            absolute = (source.path.parent / entry).resolve()
            plugins.append(Path(os.path.relpath(absolute, top_dir)).as_posix())

    top = layers[-1]
    merged.policy = Policy(
        version=1,
        name=name or _name_from(top.source.path),
        description=description,
        mode=mode,
        allow_weaker_mode=mode_allows,
        max_waiver_days=max_waiver_days,
        plugins=list(dict.fromkeys(plugins)),
        settings=settings,
        checks=checks,
        rules=list(rules.values()),
        waivers=waivers,
        cache=CacheSettings(**cache),
    )
    return merged


def _keep_lock(old: Rule, new: Rule) -> Rule:
    """A redefinition of a locked rule keeps ``locked``, ``waivable`` and ``max_waiver_days`` it does not write."""
    kept = {
        key: getattr(old, key) for key in ("locked", "waivable", "max_waiver_days") if key not in new.model_fields_set
    }
    return new.model_copy(update=kept) if kept else new


def _lock_owner(merged: Merged, rule_id: str) -> str:
    """``base.yaml``, or ``team.yaml (locked by base.yaml)`` when a later file restated the rule."""
    owner = merged.rule_locks[rule_id]
    defined_by = merged.rule_origin[rule_id][0].name
    return owner if defined_by == owner else f"{defined_by} (locked by {owner})"


def _check_locked_rule(
    merged: Merged, old: Rule, new: Rule, old_mode: Mode, new_mode: Mode, index: int, source: PolicySource
) -> None:
    changes = loosened(compare_rules(old, new, old_mode=old_mode, new_mode=new_mode, today=clock.today()))
    if changes:
        raise PolicyError(
            f"rules[{index}] ({new.id}): loosens locked rule {new.id!r} from {_lock_owner(merged, new.id)}: "
            + "; ".join(change.describe() for change in changes),
            source.locate(("rules", index)),
        )


def _check_locked_modes(
    merged: Merged,
    rules: dict[str, Rule],
    rule_modes: dict[str, tuple[Mode, bool, str]],
    policy: Policy,
    mode: Mode,
    source: PolicySource,
) -> None:
    """A policy mode that weakens a locked rule: 'audit' enforces nothing, 'warn' weakens rules without a mode."""
    redefined = {rule.id: rule for rule in policy.rules}
    for rule_id in merged.rule_locks:
        rule = redefined.get(rule_id, rules[rule_id])
        effective: Mode = "audit" if mode == "audit" else (rule.mode or mode)
        old_mode = rule_modes[rule_id][0]
        if MODE_STRICTNESS[effective] < MODE_STRICTNESS[old_mode]:
            raise PolicyError(
                f"mode: {mode!r} loosens locked rule {rule_id!r} from {_lock_owner(merged, rule_id)}: "
                f"mode {old_mode!r} became {effective!r}",
                source.locate(("mode",)),
            )


def _check_locked_check(
    merged: Merged, rules: dict[str, Rule], name: str, old: CheckSpec, new: CheckSpec, source: PolicySource
) -> None:
    readers = [rule_id for rule_id in merged.rule_locks if name in rules[rule_id].check]
    if not readers:
        return
    changes = loosened(compare_checks(old, new))
    if changes:
        raise PolicyError(
            f"checks.{name}: changes check {name!r} read by locked rule {readers[0]!r} from "
            f"{_lock_owner(merged, readers[0])}: " + "; ".join(change.describe() for change in changes),
            source.locate(("checks", name)),
        )


def _name_from(path: Path | None) -> str:
    stem = (path.stem if path else "policy").lstrip(".")
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in stem)
    return cleaned or "policy"
