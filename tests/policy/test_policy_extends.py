"""``extends``: finding parents, cycles, diamonds, merge rules, and the mode a child may not weaken."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gatekeeper.checkers.bandit import BanditOptions
from gatekeeper.errors import Location, PluginError, PolicyError
from gatekeeper.policy import builtin_packs, load_policy

EXTENDS = Path(__file__).resolve().parents[1] / "data" / "policies" / "extends"
FAKE_PLUGIN = Path(__file__).resolve().parents[1] / "data" / "plugins" / "fake_checkers.py"

BASE = """\
version: 1
checks:
  sast: {uses: bandit}
rules:
  - {id: no-high, check: sast, findings: {severity: high}}
"""


def load(ref: str | Path):
    return load_policy(ref, entry_points=False)


def error_of(ref: str | Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load(ref)
    return info.value


# --- finding parents -------------------------------------------------------------------------


def test_builtin_default_resolves(write_policy) -> None:
    path = write_policy("version: 1\nextends: builtin:default\n")
    resolved = load(path)
    pack = load("builtin:default")
    assert resolved.sources == ["builtin:default", str(path)]
    assert [r.id for r in resolved.policy.rules] == [r.id for r in pack.policy.rules]
    assert resolved.policy.checks == pack.policy.checks
    assert resolved.policy.name == "default"  # the child sets no name, so the pack's stands
    assert pack.sources == ["builtin:default"]
    assert pack.policy.name == "default"


def test_unknown_builtin_pack_lists_the_available_ones(write_policy) -> None:
    path = write_policy("version: 1\nextends:\n  - builtin:defualt\n")
    error = error_of(path)
    assert str(error) == f"{path}:3:5: no built-in policy pack 'defualt'; available: {', '.join(builtin_packs())}"
    assert "default" in builtin_packs()


@pytest.mark.parametrize("ref", ["builtin:", "builtin:../default", "builtin:sub/default"])
def test_malformed_builtin_references(write_policy, ref: str) -> None:
    path = write_policy(f"version: 1\nextends: '{ref}'\n")
    name = ref.removeprefix("builtin:")
    assert (
        str(error_of(path)) == f"{path}:2:10: no built-in policy pack {name!r}; available: {', '.join(builtin_packs())}"
    )


def test_relative_parents_are_read_from_the_extending_files_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # unrelated working directory
    top = EXTENDS / "relative" / "team" / "gatekeeper.yaml"
    resolved = load(top)
    shared = EXTENDS / "relative" / "shared"
    assert resolved.sources == [str(shared / "more" / "grand.yaml"), str(shared / "base.yaml"), str(top)]
    assert [r.id for r in resolved.policy.rules] == ["grand-rule", "base-rule"]
    assert resolved.policy.name == "team"


def test_sources_are_shown_relative_to_how_the_policy_was_named(monkeypatch) -> None:
    monkeypatch.chdir(EXTENDS / "relative")
    resolved = load("team/gatekeeper.yaml")
    assert resolved.sources == ["shared/more/grand.yaml", "shared/base.yaml", "team/gatekeeper.yaml"]


def test_missing_parent_is_located_at_its_extends_entry(write_policy) -> None:
    path = write_policy("version: 1\nextends:\n  - builtin:default\n  - ../base.yaml\n")
    error = error_of(path)
    assert str(error) == (f"{path}:4:5: extends[1]: ../base.yaml not found (relative paths are from {path}'s folder)")
    assert error.location == Location(str(path), 4, 5)


def test_a_directory_is_not_a_parent(write_policy, repo: Path) -> None:
    (repo / "shared").mkdir()
    path = write_policy("version: 1\nextends: shared\n")
    assert str(error_of(path)) == f"{path}:2:10: extends[0]: shared not found (relative paths are from {path}'s folder)"


def test_an_error_in_a_parent_is_reported_in_the_parents_file(write_policy, repo: Path) -> None:
    write_policy("version: 1\nrulez: []\n", name="base.yaml")
    path = write_policy("version: 1\nextends: base.yaml\n")
    assert str(error_of(path)) == f"{repo / 'base.yaml'}:2:1: rulez: unknown key (did you mean 'rules'?)"


def test_a_bad_option_in_a_parents_check_is_located_in_the_parent(write_policy, repo: Path) -> None:
    write_policy(
        BASE.replace("{uses: bandit}", "\n    uses: bandit\n    with: {sevrity: high}"), name="shared/base.yaml"
    )
    path = write_policy("version: 1\nextends: shared/base.yaml\n")
    expected = f"{repo / 'shared' / 'base.yaml'}:5:12: checks.sast.with.sevrity: unknown key (did you mean 'severity'?)"
    assert str(error_of(path)) == expected


# --- cycles and diamonds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "cycle"),
    [
        ("a.yaml", "a.yaml -> b.yaml -> a.yaml"),
        ("top.yaml", "top.yaml -> a.yaml -> b.yaml -> a.yaml"),
        ("self.yaml", "self.yaml -> self.yaml"),
    ],
)
def test_cycles_are_an_error(filename: str, cycle: str) -> None:
    error = error_of(EXTENDS / "cycle" / filename)
    assert str(error) == f"'extends' forms a cycle: {cycle}"


def test_diamond_applies_the_shared_parent_once() -> None:
    # left/left.yaml names it '../base.yaml', right.yaml names it 'base.yaml': one file all the same
    folder = EXTENDS / "diamond"
    resolved = load(folder / "top.yaml")
    assert resolved.sources == [
        str(folder / "base.yaml"),
        str(folder / "left" / "left.yaml"),
        str(folder / "right.yaml"),
        str(folder / "top.yaml"),
    ]
    assert [r.id for r in resolved.policy.rules] == ["no-high", "left-rule", "right-rule"]
    assert [w.reason for w in resolved.policy.waivers] == ["base waiver"]
    assert resolved.policy.name == "diamond-base"


def test_the_same_parent_listed_twice_is_applied_once(write_policy, repo: Path) -> None:
    write_policy(BASE + "waivers:\n  - {rule: no-high, reason: r, owner: o, expires: 2030-01-01}\n", name="base.yaml")
    path = write_policy("version: 1\nextends: [base.yaml, ./base.yaml]\n")
    resolved = load(path)
    assert resolved.sources == [str(repo / "base.yaml"), str(path)]
    assert len(resolved.policy.waivers) == 1


# --- merge rules -----------------------------------------------------------------------------


@pytest.fixture
def merged():
    return load(EXTENDS / "merge" / "child.yaml")


def test_scalar_keys_last_wins(merged) -> None:
    assert merged.policy.name == "base"  # only the parent sets it
    assert merged.policy.description == "The child."
    assert merged.policy.mode == "enforce"


def test_checks_merge_by_name_and_the_child_replaces_the_whole_check(merged) -> None:
    assert list(merged.policy.checks) == ["sast", "lint", "extra"]
    assert merged.policy.checks["sast"].with_ == {"paths": ["app"]}  # the parent's 'skip' is gone, not merged
    sast = merged.options["sast"]
    assert isinstance(sast, BanditOptions)
    assert (sast.paths, sast.skip) == (["app"], [])
    assert merged.policy.checks["lint"].with_ == {"paths": ["lib"]}


def test_rules_merge_by_id_in_place_and_new_ones_are_appended(merged) -> None:
    rules = merged.policy.rules
    assert [r.id for r in rules] == ["first", "second", "third", "fourth"]
    second = rules[1]
    assert second.description == "child version"
    assert second.findings is not None
    assert (second.findings.severity.value, second.findings.max) == ("medium", 1)


def test_waivers_accumulate_parents_first(merged) -> None:
    assert [(w.rule, w.reason) for w in merged.policy.waivers] == [
        ("second", "parent waiver"),
        ("fourth", "child waiver"),
    ]


def test_plugins_accumulate_relative_to_the_top_policy(write_policy, repo: Path) -> None:
    (repo / "shared" / "plugins").mkdir(parents=True)
    shutil.copy(FAKE_PLUGIN, repo / "shared" / "plugins" / "fake.py")
    (repo / "noop.py").write_text('"""A plugin that registers nothing."""\n')
    write_policy(
        "version: 1\nplugins: [plugins/fake.py]\nchecks:\n  tests: {uses: fake}\n"
        "rules:\n  - {id: green, check: tests, require: 'failed == 0'}\n",
        name="shared/base.yaml",
    )
    path = write_policy("version: 1\nextends: shared/base.yaml\nplugins: [noop.py, shared/plugins/fake.py]\n")
    resolved = load(path)
    assert resolved.policy.plugins == ["shared/plugins/fake.py", "noop.py"]
    local = [(info.name, info.location) for info in resolved.plugins.infos if info.source == "local"]
    assert local == [("fake", str(repo / "shared" / "plugins" / "fake.py")), ("noop", str(repo / "noop.py"))]
    assert "fake" in resolved.plugins.checkers


def test_a_missing_local_plugin_is_a_plugin_error(write_policy) -> None:
    path = write_policy(BASE + "plugins: [missing.py]\n")
    with pytest.raises(PluginError, match=r"local plugin .*missing\.py not found"):
        load(path)


def test_sources_list_every_layer_once_deepest_first(write_policy, repo: Path) -> None:
    write_policy(BASE, name="a/grand.yaml")
    write_policy("version: 1\nextends: grand.yaml\n", name="a/parent.yaml")
    write_policy("version: 1\nextends: ../a/grand.yaml\n", name="b/other.yaml")
    top = write_policy("version: 1\nextends: [a/parent.yaml, b/other.yaml, builtin:default]\n")
    resolved = load(top)
    expected = [repo / "a" / "grand.yaml", repo / "a" / "parent.yaml", repo / "b" / "other.yaml"]
    assert resolved.sources == [*map(str, expected), "builtin:default", str(top)]


# --- mode ------------------------------------------------------------------------------------


def _weaker_error(path: Path, line: int, mode: str, parent: str, than: str = "enforce") -> str:
    return (
        f"{path}:{line}:7: mode: {mode!r} is weaker than {than!r} set by {parent}, which does not allow "
        "weaker modes (it would need 'allow_weaker_mode: true')"
    )


@pytest.mark.parametrize("mode", ["warn", "audit"])
def test_a_child_may_not_weaken_the_mode(write_policy, repo: Path, mode: str) -> None:
    write_policy(BASE, name="base.yaml")
    path = write_policy(f"version: 1\nextends: base.yaml\nmode: {mode}\n")
    assert str(error_of(path)) == _weaker_error(path, 3, mode, str(repo / "base.yaml"))


def test_the_parent_that_set_the_mode_is_named(write_policy, repo: Path) -> None:
    write_policy(BASE + "mode: warn\n", name="base.yaml")
    path = write_policy("version: 1\nextends: base.yaml\nmode: audit\n")
    assert str(error_of(path)) == _weaker_error(path, 3, "audit", str(repo / "base.yaml"), than="warn")


def test_a_parent_may_allow_a_weaker_mode(write_policy) -> None:
    write_policy(BASE + "allow_weaker_mode: true\n", name="base.yaml")
    path = write_policy("version: 1\nextends: base.yaml\nmode: audit\n")
    assert load(path).policy.mode == "audit"


def test_a_child_cannot_grant_itself_a_weaker_mode(write_policy, repo: Path) -> None:
    write_policy(BASE, name="base.yaml")
    path = write_policy("version: 1\nextends: base.yaml\nmode: audit\nallow_weaker_mode: true\n")
    assert str(error_of(path)) == _weaker_error(path, 3, "audit", str(repo / "base.yaml"))


def test_a_stronger_or_equal_mode_is_always_allowed(write_policy) -> None:
    write_policy(BASE + "mode: audit\n", name="base.yaml")
    assert load(write_policy("version: 1\nextends: base.yaml\nmode: warn\n")).policy.mode == "warn"
    write_policy(BASE + "mode: warn\n", name="base.yaml")
    assert load(write_policy("version: 1\nextends: base.yaml\nmode: warn\n")).policy.mode == "warn"


def test_the_default_pack_allows_teams_to_start_in_warn_mode(write_policy) -> None:
    resolved = load(write_policy("version: 1\nextends: builtin:default\nmode: warn\n"))
    assert resolved.policy.mode == "warn"


def test_a_single_file_may_use_any_mode(write_policy) -> None:
    assert load(write_policy(BASE + "mode: audit\n")).policy.mode == "audit"


def test_a_child_may_not_weaken_a_parents_rule(write_policy) -> None:
    write_policy(BASE, name="base.yaml")
    path = write_policy(
        "version: 1\nextends: base.yaml\nrules:\n  - {id: no-high, check: sast, findings: {severity: high}, mode: warn}\n"
    )
    error = error_of(path)
    assert str(error) == (
        f"{path}:4:5: rules[0] (no-high): mode 'warn' is weaker than 'enforce' set by "
        f"{path.parent / 'base.yaml'}, which does not allow weaker modes"
    )


def test_a_rule_weaker_than_the_parents_rule_mode(write_policy) -> None:
    write_policy(BASE.replace("{severity: high}", "{severity: high}, mode: warn") + "mode: enforce\n", name="base.yaml")
    path = write_policy(
        "version: 1\nextends: base.yaml\nrules:\n  - {id: no-high, check: sast, findings: {}, mode: audit}\n"
    )
    assert str(error_of(path)).endswith(
        "rules[0] (no-high): mode 'audit' is weaker than 'warn' set by "
        f"{path.parent / 'base.yaml'}, which does not allow weaker modes"
    )


def test_a_parent_may_allow_weaker_rules(write_policy) -> None:
    write_policy(BASE + "allow_weaker_mode: true\n", name="base.yaml")
    path = write_policy(
        "version: 1\nextends: base.yaml\nrules:\n  - {id: no-high, check: sast, findings: {}, mode: audit}\n"
    )
    assert load(path).policy.rules[0].mode == "audit"


def test_new_rules_in_a_child_may_use_any_mode(write_policy) -> None:
    write_policy(BASE, name="base.yaml")
    path = write_policy(
        "version: 1\nextends: base.yaml\nrules:\n  - {id: extra, check: sast, findings: {}, mode: audit}\n"
    )
    assert [(r.id, r.mode) for r in load(path).policy.rules] == [("no-high", None), ("extra", "audit")]


def test_a_sibling_parent_cannot_lift_another_parents_restriction(write_policy) -> None:
    write_policy(BASE + "mode: enforce\n", name="strict.yaml")
    write_policy("version: 1\nallow_weaker_mode: true\n", name="unlock.yaml")
    path = write_policy("version: 1\nextends: [strict.yaml, unlock.yaml]\nmode: audit\n")
    assert "mode: 'audit' is weaker than 'enforce' set by" in str(error_of(path))


def test_any_file_may_lock_a_permissive_mode(write_policy) -> None:
    write_policy(BASE + "mode: enforce\nallow_weaker_mode: true\n", name="base.yaml")
    write_policy("version: 1\nextends: base.yaml\nallow_weaker_mode: false\n", name="team.yaml")
    path = write_policy("version: 1\nextends: team.yaml\nmode: warn\n")
    assert "mode: 'warn' is weaker than 'enforce'" in str(error_of(path))
    assert load(path.parent / "team.yaml").policy.allow_weaker_mode is False


def test_relative_display_of_a_parent_is_normalised(write_policy, repo: Path, monkeypatch) -> None:
    write_policy(BASE, name="shared/base.yaml")
    write_policy("version: 1\nextends: ../shared/base.yaml\n", name="team/gatekeeper.yaml")
    monkeypatch.chdir(repo)
    resolved = load(os.path.join("team", "gatekeeper.yaml"))
    assert resolved.sources == ["shared/base.yaml", "team/gatekeeper.yaml"]


def test_restating_a_locked_mode_does_not_unlock_it(write_policy) -> None:
    write_policy(BASE + "mode: enforce\n", name="strict.yaml")
    write_policy("version: 1\nmode: enforce\nallow_weaker_mode: true\n", name="unlock.yaml")
    path = write_policy("version: 1\nextends: [strict.yaml, unlock.yaml]\nmode: audit\n")
    assert "mode: 'audit' is weaker than 'enforce' set by" in str(error_of(path))


def test_the_error_names_the_file_that_locked_the_mode(write_policy) -> None:
    write_policy(BASE + "mode: enforce\nallow_weaker_mode: true\n", name="base.yaml")
    team = write_policy("version: 1\nextends: base.yaml\nallow_weaker_mode: false\n", name="team.yaml")
    path = write_policy("version: 1\nextends: team.yaml\nmode: warn\n")
    assert str(error_of(path)).endswith(f"and {team} locked it with 'allow_weaker_mode: false'")


def test_a_file_that_tightens_the_mode_decides_for_its_children(write_policy) -> None:
    write_policy(BASE + "mode: warn\n", name="base.yaml")
    write_policy("version: 1\nextends: base.yaml\nmode: enforce\nallow_weaker_mode: true\n", name="team.yaml")
    path = write_policy("version: 1\nextends: team.yaml\nmode: warn\n")
    assert load(path).policy.mode == "warn"


def test_a_sibling_that_tightens_cannot_lower_a_locked_mode_below_its_floor(write_policy) -> None:
    write_policy(BASE + "mode: warn\n", name="base.yaml")  # locks warn (allow_weaker_mode defaults to false)
    write_policy("version: 1\nmode: enforce\nallow_weaker_mode: true\n", name="strict.yaml")
    assert load(write_policy("version: 1\nextends: [base.yaml, strict.yaml]\nmode: warn\n")).policy.mode == "warn"
    path = write_policy("version: 1\nextends: [base.yaml, strict.yaml]\nmode: audit\n")
    assert "mode: 'audit' is weaker than 'enforce'" in str(error_of(path))
