"""Plugin discovery: built-ins, entry points (a real installed package), local modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper import PluginError, load_plugins, load_policy
from gatekeeper.plugins import BUILTIN_MODULES

PLUGINS = Path(__file__).parent / "data" / "plugins"


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin packages, installed for real (pip, offline) into a folder of their own."""
    target = tmp_path_factory.mktemp("site")
    for package in ("gatekeeper-hello", "gatekeeper-broken"):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
             "--target", str(target), str(PLUGINS / package)],
            check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    return target


def _with_site(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def test_builtins_register_through_the_hooks() -> None:
    plugins = load_plugins(entry_points=False)
    assert {"bandit"} <= set(plugins.checkers)
    assert {"json", "text"} <= set(plugins.reporters)
    assert [i.name for i in plugins.infos] == list(BUILTIN_MODULES)
    assert plugins.provided_by[("checker", "bandit")].source == "builtin"
    # every registration came through pluggy: the built-in modules are registered plugins
    assert all(plugins.manager.has_plugin(name) for name in BUILTIN_MODULES)


def test_local_plugin_named_by_policy_is_loaded(write_policy) -> None:
    path = write_policy(
        """
        version: 1
        plugins: ["{fake}"]
        checks: {c: {uses: fake}}
        rules: [{id: r, check: c, require: ["x == 0"]}]
        """
    )
    policy = load_policy(path, entry_points=False)
    assert "fake" in policy.plugins.checkers
    info = policy.plugins.provided_by[("checker", "fake")]
    assert info.source == "local" and info.name == "fake_checkers"


def test_local_plugin_path_is_relative_to_the_policy(repo: Path, write_policy) -> None:
    (repo / "ci").mkdir()
    (repo / "ci" / "local_checks.py").write_text((PLUGINS / "fake_checkers.py").read_text())
    path = write_policy(
        """
        version: 1
        plugins: [ci/local_checks.py]
        checks: {c: {uses: fake}}
        rules: [{id: r, check: c, require: ["x == 0"]}]
        """
    )
    policy = load_policy(path, entry_points=False)
    assert policy.policy.plugins == ["ci/local_checks.py"]
    assert policy.plugins.provided_by[("checker", "fake")].location == str((repo / "ci" / "local_checks.py").resolve())


def test_missing_local_plugin_is_a_plugin_error(write_policy) -> None:
    path = write_policy(
        """
        version: 1
        plugins: [nowhere.py]
        checks: {c: {uses: bandit}}
        rules: [{id: r, check: c, require: ["x == 0"]}]
        """
    )
    with pytest.raises(PluginError, match=r"local plugin .*nowhere\.py not found"):
        load_policy(path, entry_points=False)


def test_local_plugin_that_fails_to_import_names_itself(tmp_path: Path) -> None:
    broken = tmp_path / "broken_local.py"
    broken.write_text("def f(:\n")
    with pytest.raises(PluginError, match=r"local plugin .*broken_local\.py failed to import: SyntaxError"):
        load_plugins([broken], entry_points=False)


def test_unknown_hook_is_rejected_at_load() -> None:
    with pytest.raises(PluginError, match=r"'bad_hook' is not valid: .*gatekeeper_checker"):
        load_plugins([PLUGINS / "bad_hook.py"], entry_points=False)


def test_a_name_registered_twice_names_both_plugins() -> None:
    with pytest.raises(
        PluginError, match=r"checker 'bandit' is registered by both 'gatekeeper.checkers.bandit' and 'duplicate_bandit'"
    ):
        load_plugins([PLUGINS / "duplicate_bandit.py"], entry_points=False)


def test_disabled_local_plugin_is_not_loaded() -> None:
    plugins = load_plugins([PLUGINS / "duplicate_bandit.py"], entry_points=False, disabled=["duplicate_bandit"])
    assert plugins.provided_by[("checker", "bandit")].source == "builtin"


def test_entry_point_plugin_is_listed_with_its_version(installed_plugins: Path, run_cli) -> None:
    done = run_cli("plugins", "--disable-plugin", "broken", env=_with_site(installed_plugins))
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "hello-lines" in line)
    assert line.split()[:5] == ["checker", "hello-lines", "hello", "entry", "point"]
    assert "1.2.3" in line


def test_broken_entry_point_is_one_clear_line(installed_plugins: Path, run_cli) -> None:
    done = run_cli("plugins", env=_with_site(installed_plugins))
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert "plugin 'broken' (entry point gatekeeper_broken) failed to import: ImportError" in done.stderr
    assert "--disable-plugin broken" in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_entry_point_can_be_disabled_from_the_environment(installed_plugins: Path, run_cli) -> None:
    done = run_cli("plugins", env={**_with_site(installed_plugins), "GATEKEEPER_DISABLE_PLUGINS": "broken"})
    assert done.returncode == 0, done.stderr
    assert "hello-lines" in done.stdout


def test_entry_point_checker_and_reporter_run(installed_plugins: Path, repo: Path, write_policy, run_cli) -> None:
    (repo / "README.md").write_text("one\ntwo\nthree\n")
    write_policy(
        """
        version: 1
        checks: {readme: {uses: hello-lines, with: {file: README.md}}}
        rules: [{id: readme-short, check: readme, require: ["lines <= 2"]}]
        """
    )
    env = {**_with_site(installed_plugins), "GATEKEEPER_DISABLE_PLUGINS": "broken"}
    done = run_cli("run", "--format", "hello", "--format", f"json={repo / 'out.json'}", env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "hello: fail\n"
    assert '"lines": 3.0' in (repo / "out.json").read_text()


def test_hooks_without_the_marker_still_register(tmp_path: Path) -> None:
    plain = tmp_path / "plain_plugin.py"
    plain.write_text(
        "from gatekeeper import Checker, CheckOutput, NoOptions\n\n"
        "def gatekeeper_checkers():\n"
        "    return [Checker('plain', lambda ctx, options: CheckOutput(), NoOptions)]\n"
    )
    assert "plain" in load_plugins([plain], entry_points=False).checkers


def test_misspelt_unmarked_hook_is_rejected(tmp_path: Path) -> None:
    typo = tmp_path / "typo_plugin.py"
    typo.write_text("def gatekeeper_reporter():\n    return []\n")
    with pytest.raises(PluginError, match=r"'typo_plugin' is not valid: .*gatekeeper_reporter"):
        load_plugins([typo], entry_points=False)


def test_two_local_plugins_with_the_same_file_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "checks.py", tmp_path / "b" / "checks.py"
    for index, path in enumerate((first, second)):
        path.parent.mkdir()
        path.write_text(
            "from gatekeeper import Checker, CheckOutput, NoOptions, hookimpl\n\n@hookimpl\n"
            f"def gatekeeper_checkers():\n    return [Checker('c{index}', lambda ctx, o: CheckOutput(), NoOptions)]\n"
        )
    plugins = load_plugins([first, second], entry_points=False)
    assert {"c0", "c1"} <= set(plugins.checkers)


def test_local_plugin_disabled_by_the_path_written_in_the_policy() -> None:
    plugins = load_plugins(
        [PLUGINS / "duplicate_bandit.py"], entry_points=False, disabled=["plugins/duplicate_bandit.py"]
    )
    assert plugins.provided_by[("checker", "bandit")].source == "builtin"


def test_a_hook_returning_a_single_item_is_a_plugin_error(tmp_path: Path) -> None:
    single = tmp_path / "single.py"
    single.write_text(
        "from gatekeeper import Checker, CheckOutput, NoOptions\n\n"
        "def gatekeeper_checkers():\n    return Checker('one', lambda ctx, o: CheckOutput(), NoOptions)\n"
    )
    with pytest.raises(PluginError, match=r"plugin 'single': gatekeeper_checkers must return a list, not Checker"):
        load_plugins([single], entry_points=False)
