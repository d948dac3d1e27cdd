"""Load a policy: read YAML, resolve ``extends``, validate everything before anything runs."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gatekeeper import clock
from gatekeeper.errors import GatekeeperError, PluginError, PolicyError, UsageError
from gatekeeper.plugins import Plugins, load_plugins
from gatekeeper.policy.conditions import condition_checks, parse_condition
from gatekeeper.policy.errors import policy_error_from
from gatekeeper.policy.model import CacheSettings, CheckSpec, Policy, Rule, Waiver
from gatekeeper.policy.require import Requirement, RequireSyntaxError, parse_requirement, split_qualified
from gatekeeper.policy.resolve import BUILTIN_PREFIX, Layer, Merged, builtin_packs, chain, merge, resolve_ref
from gatekeeper.policy.source import Loc, PolicySource

SettingsT = TypeVar("SettingsT", bound=BaseModel)

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_FILENAMES",
    "CheckSpec",
    "Policy",
    "ResolvedPolicy",
    "Rule",
    "Waiver",
    "builtin_packs",
    "canonical_digest",
    "canonical_json",
    "find_policy",
    "load_policy",
    "policy_from_canonical",
    "policy_schema",
]

POLICY_FILENAMES = ("gatekeeper.yaml", ".gatekeeper.yaml")
DEFAULT_POLICY = "builtin:default"


@dataclass(frozen=True)
class ResolvedPolicy:
    """A policy after ``extends``, with each check's options validated by its checker."""

    policy: Policy
    digest: str
    sources: list[str]
    plugins: Plugins
    options: dict[str, BaseModel] = field(default_factory=dict)
    requirements: dict[str, list[Requirement]] = field(default_factory=dict)
    settings_origin: dict[str, tuple[PolicySource, Loc]] = field(default_factory=dict, repr=False)
    #: Where each rule was written (its file and position), for errors found after loading (baselines).
    rule_origin: dict[str, tuple[PolicySource, Loc]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.policy.name or "policy"

    def plugin_settings(self, plugin: str, model: type[SettingsT]) -> SettingsT:
        """A plugin's ``settings:`` block validated by its own model (an absent block: the model's defaults).

        Call it from ``gatekeeper_policy_loaded`` so a bad block is a policy error (exit 2) with
        file:line before anything runs.
        """
        block = self.policy.settings.get(plugin, {})
        try:
            return model.model_validate(block)
        except ValidationError as exc:
            origin = self.settings_origin.get(plugin)
            if origin is None:
                raise PolicyError(f"settings.{plugin}: {exc.errors(include_url=False)[0]['msg']}") from None
            source, loc = origin
            raise policy_error_from(exc, source, model, loc) from None

    def canonical_json(self) -> str:
        return canonical_json(self.policy)


def canonical_json(policy: Policy) -> str:
    data = policy.model_dump(mode="json", by_alias=True, exclude={"extends"})
    for rule in data["rules"]:  # keys added later, at their default: the digest of a policy without them stays
        if rule.get("new_only") is False:
            del rule["new_only"]
        for key, default in (("locked", False), ("waivable", True), ("max_waiver_days", None)):
            if key in rule and rule[key] is default:
                del rule[key]
        if rule.get("findings") and rule["findings"].get("baseline", ...) is None:
            del rule["findings"]["baseline"]
        if rule.get("when") == []:
            del rule["when"]
        if rule.get("effective_on", ...) is None:
            del rule["effective_on"]
    if data.get("cache") == CacheSettings().model_dump(mode="json"):
        del data["cache"]  # likewise: a policy that leaves the result cache at its defaults keeps its digest
    if not data.get("settings"):
        del data["settings"]  # and one without plugin settings
    return _dumps(data)


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_digest(data: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a policy's canonical JSON given parsed (e.g. as a history record stores it).

    The same text as ``canonical_json``, so for a record that was not altered it equals the
    verdict's ``policy.digest``, whatever version of gatekeeper reads it.
    """
    return "sha256:" + hashlib.sha256(_dumps(data).encode("utf-8")).hexdigest()


def find_policy(root: str | Path) -> str:
    """The policy for a repository: its ``gatekeeper.yaml``/``.gatekeeper.yaml``, else the default pack."""
    root = Path(root)
    found = [root / name for name in POLICY_FILENAMES if (root / name).is_file()]
    if len(found) > 1:
        raise UsageError(f"both {found[0]} and {found[1]} exist; keep one, or name it with --policy")
    return str(found[0]) if found else DEFAULT_POLICY


def load_policy(
    ref: str | Path,
    *,
    entry_points: bool = True,
    disabled_plugins: Iterable[str] = (),
    plugins: Plugins | None = None,
) -> ResolvedPolicy:
    """Load, resolve and validate a policy file or ``builtin:NAME`` pack.

    Loads the plugins the policy needs (built-in, entry points, its local modules)
    so that every check's ``with:`` block is validated before anything runs.
    Raises ``PolicyError`` (with file:line:col) or ``PluginError``.
    """
    text = str(ref)
    path, display = resolve_ref(text, Path.cwd())
    if not text.startswith(BUILTIN_PREFIX):
        display = text
    layers = chain(path, display)
    top_dir = path.resolve().parent
    merged = merge(layers, top_dir)
    if plugins is None:
        local = [(top_dir / p).resolve() for p in merged.policy.plugins]
        plugins = load_plugins(local, entry_points=entry_points, disabled=disabled_plugins)
    if not merged.policy.rules:
        raise PolicyError(
            "the policy has no rules, so it would pass anything; add a rule or extend builtin:default",
            layers[-1].source.locate(()),
        )
    _validate_conditions(merged)  # first: a check read only by a bad when: is not "read by no rule"
    options = _validate_checks(merged, plugins)
    requirements = _validate_rules(merged)
    _validate_waivers(merged)
    _validate_settings(merged, plugins, disabled_plugins)
    digest = canonical_digest(json.loads(canonical_json(merged.policy)))
    sources = [layer.display for layer in layers]
    resolved = ResolvedPolicy(
        merged.policy,
        digest,
        sources,
        plugins,
        options,
        requirements,
        dict(merged.settings_origin),
        dict(merged.rule_origin),
    )
    try:
        plugins.manager.hook.gatekeeper_policy_loaded(policy=resolved)
    except GatekeeperError:
        raise
    except Exception as exc:
        raise PluginError(f"a plugin raised in gatekeeper_policy_loaded: {type(exc).__name__}: {exc}") from exc
    return resolved


STORED_SOURCE = "(stored)"


def policy_from_canonical(data: Mapping[str, Any], *, plugins: Plugins | None = None) -> ResolvedPolicy:
    """Rebuild a resolved policy from its canonical JSON (parsed), as a history record keeps it.

    For deciding again from stored results (replay, simulation): nothing is run, so no local
    plugin is imported and no hook is called. ``extends`` is not resolved (the stored policy is
    already merged). Rules and waivers are validated as ``load_policy`` does; a check's ``with:``
    options only when its checker is registered in ``plugins`` (default: the built-in ones), so
    a record stays readable after an in-house plugin is uninstalled. The digest is computed again
    from the validated policy. Raises ``PolicyError``.
    """
    if plugins is None:
        plugins = load_plugins(entry_points=False)
    source = PolicySource(name=STORED_SOURCE, path=None, data=dict(data))
    try:
        policy = Policy.model_validate(source.data)
    except ValidationError as exc:
        raise _stored_error(policy_error_from(exc, source, Policy)) from None
    if policy.extends:
        raise PolicyError(f"the stored policy still names extends ({', '.join(policy.extends)}); it must be resolved")
    if not policy.rules:
        raise PolicyError("the stored policy has no rules, so it would pass anything; it is not a resolved policy")
    merged = Merged(policy, [Layer(source, policy, STORED_SOURCE)])
    for name in policy.checks:
        merged.check_origin[name] = (source, ("checks", name))
    for index, rule in enumerate(policy.rules):
        merged.rule_origin[rule.id] = (source, ("rules", index))
    options: dict[str, BaseModel] = {}
    try:
        requirements = _validate_rules(merged)
        _validate_conditions(merged)
        rule_ids = {rule.id: rule for rule in policy.rules}
        for index, waiver in enumerate(policy.waivers):
            if waiver.rule not in rule_ids:
                raise PolicyError(f"waivers[{index}].rule: no rule {waiver.rule!r} to waive")
            if not rule_ids[waiver.rule].waivable:
                raise PolicyError(f"waivers[{index}].rule: rule {waiver.rule!r} may not be waived (waivable: false)")
        for name, spec in policy.checks.items():
            checker = plugins.checkers.get(spec.uses)
            if checker is None:
                continue
            try:
                options[name] = checker.options.model_validate(spec.with_)
            except ValidationError as exc:
                raise policy_error_from(exc, source, checker.options, ("checks", name, "with")) from None
    except PolicyError as exc:
        raise _stored_error(exc) from None
    digest = canonical_digest(json.loads(canonical_json(policy)))
    return ResolvedPolicy(policy, digest, [STORED_SOURCE], plugins, options, requirements)


def _stored_error(exc: PolicyError) -> PolicyError:
    return PolicyError(f"the stored policy is not valid: {exc.detail}")


def _validate_checks(merged: Merged, plugins: Plugins) -> dict[str, BaseModel]:
    options: dict[str, BaseModel] = {}
    used = {name for rule in merged.policy.rules for name in rule.check}
    used.update(name for rule in merged.policy.rules for name in condition_checks(rule, merged.policy.checks))
    for name, spec in merged.policy.checks.items():
        source, loc = merged.check_origin[name]
        checker = plugins.checkers.get(spec.uses)
        if checker is None:
            close = difflib.get_close_matches(spec.uses, list(plugins.checkers), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise PolicyError(
                f"checks.{name}.uses: no checker {spec.uses!r}; {hint}`gatekeeper plugins` lists the installed ones",
                source.locate((*loc, "uses")),
            )
        try:
            options[name] = checker.options.model_validate(spec.with_)
        except ValidationError as exc:
            raise policy_error_from(exc, source, checker.options, (*loc, "with")) from None
        if spec.scope == "changed" and not checker.supports_scope:
            able = ", ".join(sorted(n for n, c in plugins.checkers.items() if c.supports_scope)) or "none installed"
            raise PolicyError(
                f"checks.{name}.scope: checker {spec.uses!r} cannot limit itself to changed files; remove "
                f"'scope: changed' (checkers that can: {able})",
                source.locate((*loc, "scope")),
            )
        if name not in used:
            raise PolicyError(
                f"checks.{name}: no rule reads this check; add a rule with 'check: {name}' or remove it",
                source.locate(loc, key=True),
            )
    return options


def _validate_rules(merged: Merged) -> dict[str, list[Requirement]]:
    requirements: dict[str, list[Requirement]] = {}
    for rule in merged.policy.rules:
        source, loc = merged.rule_origin[rule.id]
        for index, check in enumerate(rule.check):
            if check not in merged.policy.checks:
                known = ", ".join(merged.policy.checks) or "none defined"
                raise PolicyError(
                    f"rules[{loc[1]}].check: no check named {check!r} (checks: {known})",
                    source.locate((*loc, "check", index)),
                )
        parsed = []
        for index, text in enumerate(rule.require):
            try:
                requirement = parse_requirement(text)
                for name in requirement.metrics():
                    if "." in name and split_qualified(name, rule.check) is None:
                        reads = ", ".join(rule.check)
                        raise RequireSyntaxError(
                            f"{name!r}: a dotted name is CHECK.METRIC and this rule reads no such check (it reads {reads})"
                        )
                parsed.append(requirement)
            except RequireSyntaxError as exc:
                raise PolicyError(
                    f"rules[{loc[1]}].require[{index}]: {exc}", source.locate((*loc, "require", index))
                ) from None
        requirements[rule.id] = parsed
    return requirements


def _validate_conditions(merged: Merged) -> None:
    """Each ``when:`` parses and its facts are CHECK.METRIC of a check of the policy (any check)."""
    for rule in merged.policy.rules:
        source, loc = merged.rule_origin[rule.id]
        for index, text in enumerate(rule.when):
            try:
                parse_condition(text, merged.policy.checks)
            except RequireSyntaxError as exc:
                raise PolicyError(
                    f"rules[{loc[1]}].when[{index}]: {exc}", source.locate((*loc, "when", index))
                ) from None


def _validate_waivers(merged: Merged) -> None:
    rules = {rule.id: rule for rule in merged.policy.rules}
    for waiver, (source, loc) in zip(merged.policy.waivers, merged.waiver_origin, strict=False):
        rule = rules.get(waiver.rule)
        if rule is None:
            raise PolicyError(
                f"waivers[{loc[1]}].rule: no rule {waiver.rule!r} to waive", source.locate((*loc, "rule"))
            )
        if not rule.waivable:
            by = merged.waiver_limit_origin.get((rule.id, "waivable"), "the policy")
            raise PolicyError(
                f"waivers[{loc[1]}].rule: rule {rule.id!r} may not be waived (waivable: false in {by})",
                source.locate((*loc, "rule")),
            )
        days = (waiver.expires - clock.today()).days
        limit = merged.policy.max_waiver_days
        rule_limit = rule.max_waiver_days
        if rule_limit is not None and days > rule_limit and (limit is None or rule_limit <= limit):
            by = merged.waiver_limit_origin.get((rule.id, "max_waiver_days"), "the policy")
            raise PolicyError(
                f"waivers[{loc[1]}].expires: {waiver.expires.isoformat()} is more than {rule_limit} days away; "
                f"rule {rule.id!r} allows waivers of at most {rule_limit} days (max_waiver_days in {by})",
                source.locate((*loc, "expires")),
            )
        if limit is not None and days > limit:
            raise PolicyError(
                f"waivers[{loc[1]}].expires: {waiver.expires.isoformat()} is more than {limit} days away; "
                f"the policy allows waivers of at most {limit} days (max_waiver_days)",
                source.locate((*loc, "expires")),
            )


def _validate_settings(merged: Merged, plugins: Plugins, disabled: Iterable[str]) -> None:
    """Each ``settings:`` block must name a loaded (or deliberately disabled) plugin: a typo is not ignored."""
    known = {info.name for info in plugins.infos}
    off = set(disabled)
    for plugin, (source, loc) in merged.settings_origin.items():
        if plugin in known or plugin in off:
            continue
        close = difflib.get_close_matches(plugin, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PolicyError(
            f"settings.{plugin}: no plugin named {plugin!r} is loaded; {hint}`gatekeeper plugins` lists them",
            source.locate(loc, key=True),
        )


def policy_schema(plugins: Plugins | None = None) -> dict[str, Any]:
    """JSON Schema of a policy file, with each registered checker's options under ``$defs``."""
    schema = Policy.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gatekeeper policy"
    if plugins is not None:
        defs = schema.setdefault("$defs", {})
        branches = []
        for name, checker in sorted(plugins.checkers.items()):
            key = f"checker-{name}"
            defs[key] = checker.options.model_json_schema(by_alias=True, ref_template="#/$defs/" + key + "-{model}")
            for sub_name, sub in defs[key].pop("$defs", {}).items():
                defs[f"{key}-{sub_name}"] = sub
            branches.append(
                {
                    "if": {"properties": {"uses": {"const": name}}},
                    "then": {"properties": {"with": {"$ref": f"#/$defs/{key}"}}},
                }
            )
        if branches:
            defs["CheckSpec"]["allOf"] = branches
    return schema
