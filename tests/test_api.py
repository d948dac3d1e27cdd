"""The public library API: what `from gatekeeper import ...` promises."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import gatekeeper

# The promise to library users. Adding a name is a decision: add it here too.
PUBLIC = {
    "__version__", "CacheInputs", "CheckContext", "CheckError", "CheckEvent", "CheckOutput", "CheckResult", "Checker",
    "Finding", "GatekeeperError", "InputFile", "NoOptions", "PluginError", "Plugins", "PolicyError",
    "RenderOptions", "ReportError", "Reporter", "ResolvedPolicy", "ResultCache", "RuleResult", "Severity", "ToolInfo",
    "UsageError", "Verdict", "evaluate", "find_policy", "fingerprint", "hookimpl", "load_plugins",
    "load_policy", "policy_schema", "render", "write_report",
}  # fmt: skip


def test_all_is_curated() -> None:
    assert set(gatekeeper.__all__) == PUBLIC
    assert len(gatekeeper.__all__) == len(PUBLIC)


def test_every_public_name_resolves() -> None:
    for name in gatekeeper.__all__:
        assert getattr(gatekeeper, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        gatekeeper.not_a_thing  # noqa: B018
    except AttributeError as exc:
        assert "not_a_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_errors_share_one_root_and_carry_exit_codes() -> None:
    for name, code in [
        ("UsageError", 2),
        ("PolicyError", 2),
        ("PluginError", 3),
        ("CheckError", 3),
        ("ReportError", 3),
    ]:
        cls = getattr(gatekeeper, name)
        assert issubclass(cls, gatekeeper.GatekeeperError)
        assert cls.exit_code == code


def test_importing_gatekeeper_is_light() -> None:
    code = (
        "import sys, gatekeeper; print(sorted(m for m in ('pydantic', 'pluggy', 'rich', 'ruamel') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_library_round_trip_without_printing(tmp_path: Path, capsys, write_policy, repo: Path) -> None:
    path = write_policy(
        """
        version: 1
        plugins: ["{fake}"]
        checks: {t: {uses: fake, with: {metrics: {failed: 1}}}}
        rules: [{id: green, check: t, require: ["failed == 0"]}]
        """
    )
    policy = gatekeeper.load_policy(path, entry_points=False)
    verdict = gatekeeper.evaluate(policy, repo, today=date(2026, 1, 1))
    assert isinstance(verdict, gatekeeper.Verdict)
    assert verdict.outcome == "fail" and not verdict.passed
    assert capsys.readouterr() == ("", "")


def test_package_is_typed() -> None:
    assert (Path(gatekeeper.__file__).parent / "py.typed").is_file()
