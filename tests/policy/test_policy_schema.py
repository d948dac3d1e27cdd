"""``policy_schema()``: a valid JSON Schema that accepts what the loader accepts and rejects typos."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from gatekeeper.plugins import load_plugins
from gatekeeper.policy import policy_schema

POLICIES = Path(__file__).resolve().parents[1] / "data" / "policies"
FAKE_PLUGIN = Path(__file__).resolve().parents[1] / "data" / "plugins" / "fake_checkers.py"
BANDIT_OPTIONS = {
    "paths",
    "exclude",
    "skip",
    "severity",
    "confidence",
    "report",
    "baseline",
    "unparsed_files",
    "jobs",
    "shard_min_files",
}


def yaml_as_json(path: Path) -> Any:
    """A policy file as the JSON document an editor would validate (dates become strings)."""
    return json.loads(json.dumps(YAML(typ="safe").load(path.read_text()), default=str))


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return yaml_as_json(POLICIES / "valid" / "example.yaml")


@pytest.fixture(scope="module")
def plugins():
    return load_plugins(entry_points=False)


def validator(schema: dict[str, Any]):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(schema: dict[str, Any], document: Any) -> list[str]:
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(document))


def problem_paths(schema: dict[str, Any], document: Any) -> list[list[Any]]:
    return sorted(list(e.absolute_path) for e in validator(schema).iter_errors(document))


# --- shape -----------------------------------------------------------------------------------


def test_schema_header() -> None:
    schema = policy_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "gatekeeper policy"
    assert schema["required"] == ["version"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version",
        "name",
        "description",
        "extends",
        "mode",
        "allow_weaker_mode",
        "max_waiver_days",
        "plugins",
        "settings",
        "checks",
        "rules",
        "waivers",
        "cache",
    }


def test_checker_options_are_absent_without_plugins() -> None:
    schema = policy_schema()
    assert not any(key.startswith("checker-") for key in schema["$defs"])
    assert "allOf" not in schema["$defs"]["CheckSpec"]


def test_bandit_options_are_under_defs_with_plugins(plugins) -> None:
    schema = policy_schema(plugins)
    bandit = schema["$defs"]["checker-bandit"]
    assert set(bandit["properties"]) == BANDIT_OPTIONS
    assert bandit["additionalProperties"] is False
    assert bandit["properties"]["severity"]["enum"] == ["low", "medium", "high"]
    branches = schema["$defs"]["CheckSpec"]["allOf"]
    assert {
        "if": {"properties": {"uses": {"const": "bandit"}}},
        "then": {"properties": {"with": {"$ref": "#/$defs/checker-bandit"}}},
    } in branches
    # one branch per registered checker, in name order
    assert [b["if"]["properties"]["uses"]["const"] for b in branches] == sorted(plugins.checkers)


def test_nested_models_of_a_checker_are_hoisted_and_prefixed() -> None:
    plugins = load_plugins([FAKE_PLUGIN], entry_points=False)
    schema = policy_schema(plugins)
    defs = schema["$defs"]
    assert "$defs" not in defs["checker-fake"]
    assert defs["checker-fake"]["properties"]["findings"]["items"] == {"$ref": "#/$defs/checker-fake-FakeFinding"}
    assert "severity" in defs["checker-fake-FakeFinding"]["properties"]
    names = [b["if"]["properties"]["uses"]["const"] for b in defs["CheckSpec"]["allOf"]]
    assert names == sorted(plugins.checkers)
    assert "fake" in names


def test_calling_it_twice_gives_the_same_schema(plugins) -> None:
    assert policy_schema(plugins) == policy_schema(plugins)
    assert policy_schema() == policy_schema()


# --- validating documents with it ------------------------------------------------------------


@pytest.mark.parametrize("with_plugins", [False, True])
def test_schema_is_valid_json_schema(plugins, with_plugins: bool) -> None:
    validator(policy_schema(plugins if with_plugins else None))


@pytest.mark.parametrize("with_plugins", [False, True])
def test_the_example_policy_validates(plugins, example, with_plugins: bool) -> None:
    assert problems(policy_schema(plugins if with_plugins else None), example) == []


def test_one_item_lists_may_be_written_as_strings(plugins) -> None:
    document = {
        "version": 1,
        "extends": "builtin:default",
        "plugins": "local.py",
        "checks": {"sast": {"uses": "bandit"}},
        "rules": [{"id": "a", "check": "sast", "require": "failed == 0"}],
    }
    assert problems(policy_schema(plugins), document) == []


def _with(document: dict[str, Any], *path: Any, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("rulez",), [], "[]: Additional properties are not allowed ('rulez' was unexpected)"),
        (
            ("rules", 0, "requir"),
            ["x == 0"],
            "['rules', 0]: Additional properties are not allowed ('requir' was unexpected)",
        ),
        (
            ("checks", "sast", "timout"),
            3,
            "['checks', 'sast']: Additional properties are not allowed ('timout' was unexpected)",
        ),
        (("waivers", 0, "mach"), {}, "['waivers', 0]: Additional properties are not allowed ('mach' was unexpected)"),
        (("mode",), "fast", "['mode']: 'fast' is not one of ['enforce', 'warn', 'audit']"),
        (("version",), 2, "['version']: 1 was expected"),
    ],
)
def test_what_the_loader_rejects_the_schema_rejects(example, path: tuple[Any, ...], value: Any, problem: str) -> None:
    assert problems(policy_schema(), _with(example, *path, value=value)) == [problem]


def test_a_boolean_is_not_version_1(example) -> None:
    assert problems(policy_schema(), _with(example, "version", value=True)) == [
        "['version']: 1 was expected",
        "['version']: True is not of type 'integer'",
    ]


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        # optional sections are 'X or null' in the schema, so the error is reported on the section
        (("rules", 0, "findings", "max"), -1, ["rules", 0, "findings"]),
        (("rules", 0, "findings", "max"), "0", ["rules", 0, "findings"]),
        (("rules", 0, "findings", "severity"), "huge", ["rules", 0, "findings"]),
        (("name",), "my policy", ["name"]),
        (("rules", 0, "id"), "my rule", ["rules", 0, "id"]),
        (("checks", "sast", "timeout"), 0, ["checks", "sast", "timeout"]),
        (("waivers", 0, "reason"), "", ["waivers", 0, "reason"]),
    ],
)
def test_invalid_values_are_rejected_where_they_are(
    example, path: tuple[Any, ...], value: Any, where: list[Any]
) -> None:
    assert problem_paths(policy_schema(), _with(example, *path, value=value)) == [where]


def test_waiver_without_owner_is_rejected(example) -> None:
    document = copy.deepcopy(example)
    del document["waivers"][0]["owner"]
    assert problems(policy_schema(), document) == ["['waivers', 0]: 'owner' is a required property"]


def test_checker_options_are_checked_only_when_plugins_are_given(plugins, example) -> None:
    typo = _with(example, "checks", "sast", "with", "sevrity", value="high")
    assert problems(policy_schema(), typo) == []
    assert problems(policy_schema(plugins), typo) == [
        "['checks', 'sast', 'with']: Additional properties are not allowed ('sevrity' was unexpected)"
    ]
    not_a_list = _with(example, "checks", "sast", "with", "paths", value="src")
    assert problems(policy_schema(plugins), not_a_list) == [
        "['checks', 'sast', 'with', 'paths']: 'src' is not of type 'array'"
    ]


def test_options_of_one_checker_do_not_apply_to_another(example) -> None:
    plugins = load_plugins([FAKE_PLUGIN], entry_points=False)
    document = _with(example, "checks", "tests", value={"uses": "fake", "with": {"metrics": {"failed": 0}}})
    assert problems(policy_schema(plugins), document) == []
    wrong = _with(document, "checks", "tests", "with", value={"paths": ["src"]})
    assert problems(policy_schema(plugins), wrong) == [
        "['checks', 'tests', 'with']: Additional properties are not allowed ('paths' was unexpected)"
    ]
