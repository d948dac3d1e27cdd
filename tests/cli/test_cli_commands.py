"""The other commands: --version, policy validate/show/schema, plugins, init."""

from __future__ import annotations

import json
from pathlib import Path

from gatekeeper import __version__

VALID = """
version: 1
name: commands-test
extends: [builtin:default]
checks:
  sast: {uses: bandit, with: {paths: ["."]}}
rules:
  - {id: no-high, check: sast, findings: {severity: high, max: 0}}
"""


def test_version(run_cli) -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"gatekeeper {__version__}\n"


def test_no_command_prints_help_and_exits_2(run_cli) -> None:
    done = run_cli()
    assert done.returncode == 2
    assert "usage: gatekeeper" in done.stdout


def test_policy_validate_ok(write_policy, run_cli) -> None:
    write_policy(VALID)
    done = run_cli("policy", "validate", "gatekeeper.yaml")
    assert done.returncode == 0, done.stderr
    assert "valid policy 'commands-test' (5 checks, 5 rules, 0 waivers) sha256:" in done.stdout


def test_policy_validate_error_exits_2(write_policy, run_cli) -> None:
    write_policy(VALID.replace("paths:", "pahts:"))
    done = run_cli("policy", "validate", "gatekeeper.yaml")
    assert done.returncode == 2
    assert done.stderr == (
        "gatekeeper: error: gatekeeper.yaml:6:31: checks.sast.with.pahts: unknown key (did you mean 'paths'?)\n"
    )


def test_policy_show_prints_the_resolved_policy(write_policy, run_cli) -> None:
    write_policy(VALID)
    done = run_cli("policy", "show", "gatekeeper.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# resolved from: builtin:default -> gatekeeper.yaml\n# digest: sha256:")
    assert "python-security:" in done.stdout and "sast:" in done.stdout
    assert "extends" not in done.stdout


def test_policy_show_digest_matches_validate(write_policy, run_cli) -> None:
    write_policy(VALID)
    shown = run_cli("policy", "show", "gatekeeper.yaml").stdout
    validated = run_cli("policy", "validate", "gatekeeper.yaml").stdout
    digest = shown.splitlines()[1].removeprefix("# digest: ")
    assert validated.rstrip().endswith(digest)


def test_policy_show_builtin(run_cli) -> None:
    done = run_cli("policy", "show", "builtin:default")
    assert done.returncode == 0
    assert "name: default" in done.stdout


def test_policy_schema_is_json_and_knows_checker_options(run_cli) -> None:
    done = run_cli("policy", "schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["title"] == "gatekeeper policy"
    assert "checker-bandit" in schema["$defs"]
    assert "paths" in schema["$defs"]["checker-bandit"]["properties"]


def test_policy_without_subcommand_is_usage_error(run_cli) -> None:
    done = run_cli("policy")
    assert done.returncode == 2
    assert "validate|show|schema" in done.stderr


def test_plugins_lists_builtins(run_cli) -> None:
    done = run_cli("plugins")
    assert done.returncode == 0
    rows = [line.split()[:4] for line in done.stdout.splitlines()[1:]]
    assert ["checker", "bandit", "gatekeeper.checkers.bandit", "builtin"] in rows
    assert ["reporter", "json", "gatekeeper.reporters.json_report", "builtin"] in rows


def test_plugins_with_policy_shows_local_plugins(write_policy, run_cli) -> None:
    write_policy(
        """
        version: 1
        plugins: ["{fake}"]
        checks: {c: {uses: fake}}
        rules: [{id: r, check: c, require: ["x == 0"]}]
        """
    )
    done = run_cli("plugins", "--policy", "gatekeeper.yaml")
    assert done.returncode == 0, done.stderr
    assert any(line.split()[:4] == ["checker", "fake", "fake_checkers", "local"] for line in done.stdout.splitlines())


def test_init_writes_a_valid_starter(repo: Path, run_cli) -> None:
    (repo / "app.py").write_text("print('hello')\n")
    done = run_cli("init")
    assert done.returncode == 0, done.stderr
    assert (repo / "gatekeeper.yaml").read_text().startswith("# gatekeeper policy")
    assert run_cli("policy", "validate", "gatekeeper.yaml").returncode == 0
    again = run_cli("init")
    assert again.returncode == 2
    assert "already exists; use --force" in again.stderr
    assert run_cli("init", "--force").returncode == 0


def test_init_then_run_gives_a_verdict(repo: Path, run_cli) -> None:
    (repo / "app.py").write_text("import subprocess\nsubprocess.run('ls', shell=True)\n")
    assert run_cli("init").returncode == 0
    done = run_cli("run", "--format", "json")
    verdict = json.loads(done.stdout)
    assert verdict["policy"]["sources"] == ["builtin:default", "gatekeeper.yaml"]
    assert {c["name"]: c["uses"] for c in verdict["checks"]}["python-security"] == "bandit"
    statuses = {c["name"]: c["status"] for c in verdict["checks"]}
    assert statuses == {"python-security": "ok", "python-patterns": "ok", "tests": "skipped", "dependencies": "skipped"}
    assert verdict["outcome"] == "pass"  # shell=True on a constant string: low for bandit, not matched by semgrep


def test_debug_is_accepted_after_the_command(write_policy, run_cli) -> None:
    write_policy(VALID.replace("paths:", "pahts:"))
    done = run_cli("policy", "validate", "gatekeeper.yaml", "--debug")
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr


def test_output_closed_early_is_one_line_not_a_traceback(repo: Path) -> None:
    import subprocess
    import sys

    shell = f"{sys.executable} -m gatekeeper policy schema | head -c 10 > /dev/null"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell], cwd=repo, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stderr
    assert done.stderr in ("", "gatekeeper: error: the output was closed before everything was written\n")
