"""Reading a policy file: YAML errors, encodings, sizes, missing files, and what a good file loads into."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.checkers.bandit import BanditOptions
from gatekeeper.errors import Location, PolicyError, UsageError
from gatekeeper.models import Severity
from gatekeeper.policy import DEFAULT_POLICY, builtin_packs, find_policy, load_policy
from gatekeeper.policy.source import MAX_POLICY_BYTES

POLICIES = Path(__file__).resolve().parents[1] / "data" / "policies"
MALFORMED = POLICIES / "malformed"

SMALL = """\
version: 1
checks:
  sast: {uses: bandit}
rules:
  - {id: no-high, check: sast, findings: {severity: high}}
"""


def error_of(ref: str | Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(ref, entry_points=False)
    return info.value


# --- a good file -----------------------------------------------------------------------------


def test_example_policy_loads_into_models() -> None:
    path = POLICIES / "valid" / "example.yaml"
    resolved = load_policy(path, entry_points=False)
    policy = resolved.policy

    assert resolved.name == "example"
    assert resolved.sources == [str(path)]
    assert policy.description == "Example policy for the policy-loading tests."
    assert [rule.id for rule in policy.rules] == ["no-high", "few-medium"]
    no_high, few_medium = policy.rules
    assert no_high.check == ["sast"]
    assert no_high.findings is not None
    assert no_high.findings.severity is Severity.HIGH
    assert no_high.findings.ids == ["B6*"]
    assert no_high.mode is None
    assert (few_medium.mode, few_medium.on_error) == ("warn", "warn")
    assert policy.checks["sast"].timeout == 120.0
    assert policy.checks["sast"].with_ == {"paths": ["src"], "skip": ["B101"], "severity": "medium"}
    waiver = policy.waivers[0]
    assert waiver.expires.isoformat() == "2030-01-31"
    assert waiver.match is not None
    assert (waiver.match.finding, waiver.match.path) == ("B602", "src/legacy/*.py")


def test_check_options_are_validated_into_the_checkers_model() -> None:
    resolved = load_policy(POLICIES / "valid" / "example.yaml", entry_points=False)
    options = resolved.options["sast"]
    assert isinstance(options, BanditOptions)
    assert options.paths == ["src"]
    assert options.skip == ["B101"]
    assert options.severity == "medium"
    assert options.confidence == "low"  # a default filled in by the checker's model


def test_single_strings_become_one_item_lists(write_policy) -> None:
    path = write_policy(
        """\
        version: 1
        plugins: "{fake}"
        checks:
          tests: {uses: fake}
        rules:
          - {id: green, check: tests, require: "failed == 0"}
        """
    )
    resolved = load_policy(path, entry_points=False)
    rule = resolved.policy.rules[0]
    assert rule.check == ["tests"]
    assert rule.require == ["failed == 0"]
    assert len(resolved.policy.plugins) == 1
    assert [(r.left, r.op, r.right) for r in resolved.requirements["green"]] == [("failed", "==", 0.0)]


@pytest.mark.parametrize(("filename", "name"), [("gatekeeper.yaml", "gatekeeper"), (".gatekeeper.yaml", "gatekeeper")])
def test_name_defaults_to_the_file_stem(write_policy, filename: str, name: str) -> None:
    resolved = load_policy(write_policy(SMALL, name=filename), entry_points=False)
    assert resolved.policy.name == name
    assert resolved.name == name


def test_relative_reference_is_read_from_the_working_directory(write_policy, repo: Path, monkeypatch) -> None:
    write_policy(SMALL, name="sub/policy.yaml")
    monkeypatch.chdir(repo)
    resolved = load_policy("sub/policy.yaml", entry_points=False)
    assert resolved.sources == ["sub/policy.yaml"]
    assert resolved.policy.name == "policy"


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    assert [r.id for r in load_policy(path, entry_points=False).policy.rules] == ["no-high"]


def test_yaml_anchors_and_merge_keys_are_supported(write_policy) -> None:
    path = write_policy(
        """\
        version: 1
        checks:
          sast: &scan {uses: bandit, with: {paths: [src]}}
          sast2: *scan
        rules:
          - &rule {id: one, check: sast, findings: {severity: high}}
          - <<: *rule
            id: two
            check: sast2
        """
    )
    policy = load_policy(path, entry_points=False).policy
    assert [(r.id, r.check) for r in policy.rules] == [("one", ["sast"]), ("two", ["sast2"])]
    assert policy.rules[1].findings == policy.rules[0].findings
    assert policy.checks["sast2"].with_ == {"paths": ["src"]}


# --- YAML the parser rejects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "line", "column", "problem"),
    [
        ("unclosed-bracket.yaml", 4, 6, "expected ',' or '}', but got ':'"),
        ("bad-indentation.yaml", 5, 4, "expected <block end>, but found '<block mapping start>'"),
        ("tab-indentation.yaml", 3, 1, "found character '\\t' that cannot start any token"),
        ("two-documents.yaml", 2, 1, "but found another document"),
    ],
)
def test_malformed_yaml_is_located(filename: str, line: int, column: int, problem: str) -> None:
    path = MALFORMED / filename
    error = error_of(path)
    assert str(error) == f"{path}:{line}:{column}: invalid YAML: {problem}"
    assert error.location == Location(str(path), line, column)
    assert error.exit_code == 2


@pytest.mark.parametrize(
    ("filename", "key", "first", "again", "column"),
    [("duplicate-key.yaml", "name", 2, 4, 1), ("duplicate-key-in-rule.yaml", "check", 6, 8, 5)],
)
def test_a_duplicate_key_names_both_lines(filename: str, key: str, first: int, again: int, column: int) -> None:
    path = MALFORMED / filename
    error = error_of(path)
    assert (
        str(error)
        == f"{path}:{again}:{column}: duplicate key {key!r}: first on line {first}, again on line {again}; keep one of them"
    )
    assert error.location == Location(str(path), again, column)
    assert error.exit_code == 2


def test_a_later_mode_never_silently_overrides_an_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "gatekeeper.yaml"
    path.write_text("version: 1\nmode: enforce\nrules: []\nmode: audit\n")
    assert str(error_of(path)).endswith("duplicate key 'mode': first on line 2, again on line 4; keep one of them")


def test_a_value_yaml_cannot_construct_is_a_policy_error() -> None:
    path = MALFORMED / "invalid-date.yaml"
    error = error_of(path)
    assert str(error) == f"{path}: invalid YAML: month must be in 1..12"
    assert error.location == Location(str(path))


def test_absurdly_deep_nesting_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nname: " + "[" * 5000 + "]" * 5000 + "\n")
    error = error_of(path)
    assert str(error) == f"{path}: invalid YAML: nested too deeply"


@pytest.mark.parametrize("filename", ["empty.yaml", "only-comments.yaml"])
def test_empty_file(filename: str) -> None:
    path = MALFORMED / filename
    error = error_of(path)
    assert str(error) == f"{path}: the policy file is empty; start from `gatekeeper init`"
    assert error.location == Location(str(path))


@pytest.mark.parametrize("filename", ["top-level-list.yaml", "top-level-scalar.yaml"])
def test_top_level_must_be_a_mapping(filename: str) -> None:
    path = MALFORMED / filename
    error = error_of(path)
    assert str(error) == f"{path}:1:1: a policy must be a mapping (key: value) at the top level"


def test_typo_in_a_rule_key_is_located_with_a_suggestion() -> None:
    path = MALFORMED / "unknown-key-in-rule.yaml"
    error = error_of(path)
    assert str(error) == f"{path}:10:5: rules[1].requir: unknown key (did you mean 'require'?)"
    assert error.detail == "rules[1].requir: unknown key (did you mean 'require'?)"


# --- files that cannot be read ---------------------------------------------------------------


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nname: caf\xe9\n")
    error = error_of(path)
    assert str(error) == f"{path}: not UTF-8 text (byte 20)"
    assert error.location is None


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    error = error_of(path)
    assert str(error) == f"policy file not found: {path}"
    assert error.exit_code == 2


def test_a_directory_is_not_a_policy_file(tmp_path: Path) -> None:
    error = error_of(tmp_path)
    assert str(error) == f"{tmp_path} is a directory; name the policy file inside it"


def test_oversize_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    # not even valid YAML: the size check must come first
    path.write_bytes(b"[" * (MAX_POLICY_BYTES + 1))
    error = error_of(path)
    assert str(error) == f"{path}: policy file is {MAX_POLICY_BYTES + 1} bytes; the limit is 1048576"


def test_a_file_of_exactly_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    body = SMALL.encode()
    padding = MAX_POLICY_BYTES - len(body) - 2
    path.write_bytes(body + b"#" + b"x" * padding + b"\n")
    assert path.stat().st_size == MAX_POLICY_BYTES
    assert load_policy(path, entry_points=False).policy.rules[0].id == "no-high"


def test_unknown_builtin_pack_given_directly() -> None:
    error = error_of("builtin:nope")
    assert str(error) == f"no built-in policy pack 'nope'; available: {', '.join(builtin_packs())}"
    assert error.location is None


# --- find_policy -----------------------------------------------------------------------------


def test_find_policy_falls_back_to_the_default_pack(tmp_path: Path) -> None:
    assert find_policy(tmp_path) == DEFAULT_POLICY == "builtin:default"


@pytest.mark.parametrize("filename", ["gatekeeper.yaml", ".gatekeeper.yaml"])
def test_find_policy_finds_the_repository_file(tmp_path: Path, filename: str) -> None:
    (tmp_path / filename).write_text(SMALL)
    assert find_policy(tmp_path) == str(tmp_path / filename)


def test_find_policy_ignores_a_directory_named_like_a_policy(tmp_path: Path) -> None:
    (tmp_path / "gatekeeper.yaml").mkdir()
    assert find_policy(tmp_path) == DEFAULT_POLICY


def test_find_policy_refuses_two_candidates(tmp_path: Path) -> None:
    (tmp_path / "gatekeeper.yaml").write_text(SMALL)
    (tmp_path / ".gatekeeper.yaml").write_text(SMALL)
    with pytest.raises(UsageError) as info:
        find_policy(tmp_path)
    assert str(info.value) == (
        f"both {tmp_path / 'gatekeeper.yaml'} and {tmp_path / '.gatekeeper.yaml'} exist; keep one, or name it with --policy"
    )


def test_find_policy_accepts_a_string(tmp_path: Path) -> None:
    from gatekeeper import find_policy

    assert find_policy(str(tmp_path)) == "builtin:default"
    (tmp_path / ".gatekeeper.yaml").write_text("version: 1\n")
    assert find_policy(str(tmp_path)) == str(tmp_path / ".gatekeeper.yaml")
