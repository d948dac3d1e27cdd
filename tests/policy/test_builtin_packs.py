"""The built-in policy packs: each loads, validates, and can be extended."""

from __future__ import annotations

import json
import re

import pytest
from ruamel.yaml import YAML

from gatekeeper.plugins import load_plugins
from gatekeeper.policy import builtin_packs, load_policy, policy_schema
from gatekeeper.policy.resolve import packs_dir

PACKS = builtin_packs()


def test_packs_are_listed_sorted_and_include_the_default() -> None:
    assert "default" in PACKS
    assert sorted(PACKS) == PACKS
    packs = [p.stem for p in packs_dir().glob("*.yaml") if not p.name.endswith(".gatekeeper-test.yaml")]
    assert sorted(packs) == PACKS
    assert "default.gatekeeper-test" not in PACKS  # the packs' own tests sit beside them


@pytest.mark.parametrize("pack", PACKS)
def test_pack_loads_and_validates(pack: str) -> None:
    resolved = load_policy(f"builtin:{pack}", entry_points=False)
    assert resolved.sources[-1] == f"builtin:{pack}"
    assert all(source.startswith("builtin:") for source in resolved.sources)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", resolved.digest)
    assert resolved.policy.rules, "a pack without rules decides nothing"
    assert set(resolved.options) == set(resolved.policy.checks)
    assert set(resolved.requirements) == {rule.id for rule in resolved.policy.rules}


@pytest.mark.parametrize("pack", PACKS)
def test_pack_matches_the_json_schema(pack: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = json.loads(json.dumps(YAML(typ="safe").load((packs_dir() / f"{pack}.yaml").read_text()), default=str))
    schema = policy_schema(load_plugins(entry_points=False))
    assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)] == []


@pytest.mark.parametrize("pack", PACKS)
def test_pack_can_be_extended(write_policy, pack: str) -> None:
    path = write_policy(f"version: 1\nextends: builtin:{pack}\nname: team\n")
    resolved = load_policy(path, entry_points=False)
    alone = load_policy(f"builtin:{pack}", entry_points=False)
    assert resolved.sources == [*alone.sources, str(path)]
    assert resolved.policy.name == "team"
    assert resolved.policy.rules == alone.policy.rules
    assert resolved.digest != alone.digest  # the name differs


def test_default_pack_contents() -> None:
    policy = load_policy("builtin:default", entry_points=False).policy
    assert policy.name == "default"
    assert policy.mode == "enforce"
    assert policy.allow_weaker_mode is True
    assert {name: spec.uses for name, spec in policy.checks.items()} == {
        "python-security": "bandit",
        "python-patterns": "semgrep",
        "tests": "junit",
        "dependencies": "pip-audit",
    }
    assert [(r.id, r.mode, r.on_skipped) for r in policy.rules] == [
        ("no-high-security-findings", None, "error"),
        ("review-medium-security-findings", "warn", "error"),
        ("tests-pass", None, "warn"),
        ("no-known-vulnerabilities", None, "warn"),
    ]
