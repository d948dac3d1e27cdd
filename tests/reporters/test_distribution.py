"""The GitHub Action, the pre-commit hook and the CI examples in docs/ci/.

The GitHub Actions, GitHub workflow, GitLab CI and Azure Pipelines schemas ship inside
check-jsonschema (``--builtin-schema vendor.*``), so these tests need no network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
DOCS = ROOT / "docs" / "ci"


def _yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def check_jsonschema(schema: str, path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--regex-variant",
        "python",
        "--builtin-schema",
        schema,
        str(path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"{path.name} is not a valid {schema} file:\n{done.stdout}{done.stderr}"


def test_action_validates_against_the_github_actions_schema() -> None:
    check_jsonschema("vendor.github-actions", ACTION)


def test_action_passes_inputs_through_env_only() -> None:
    action = _yaml(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    used = set()
    for step in steps:
        assert "${{" not in step.get("run", ""), f"step {step['name']!r} interpolates into its script"
        assert step.get("shell") == "bash"
        for value in step.get("env", {}).values():
            used.update(re.findall(r"inputs\.([\w-]+)", str(value)))
    assert used == set(action["inputs"]), "every input is used, through env:"
    for name, spec in action["inputs"].items():
        assert spec["description"], name
    install = steps[0]["run"]
    assert "-m venv" in install and "pip install" in install and '"$GITHUB_ACTION_PATH"' in install
    assert '--format text --format "sarif=$INPUT_SARIF_FILE"' in steps[1]["run"]


def _run_step(tmp_path: Path, **inputs: str) -> tuple[int, list[str], str]:
    """Run the action's gatekeeper step with a stand-in gatekeeper that records its arguments."""
    action = _yaml(ACTION.read_text(encoding="utf-8"))
    script = action["runs"]["steps"][1]["run"]
    fake = tmp_path / "gatekeeper"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$ARGS_FILE"\ntouch "$SARIF_TO_WRITE"\nexit 1\n')
    fake.chmod(0o755)
    output = tmp_path / "github_output"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEKEEPER": str(fake),
        "ARGS_FILE": str(tmp_path / "args"),
        "SARIF_TO_WRITE": str(tmp_path / "out.sarif"),
        "GITHUB_OUTPUT": str(output),
        "INPUT_PATH": ".",
        "INPUT_POLICY": "",
        "INPUT_MODE": "",
        "INPUT_SARIF_FILE": str(tmp_path / "out.sarif"),
        "INPUT_ARGS": "",
        **inputs,
    }
    done = subprocess.run(
        ["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
    )
    return done.returncode, (tmp_path / "args").read_text().splitlines(), output.read_text()


def test_action_run_step_builds_the_command_and_keeps_the_exit_code(tmp_path: Path) -> None:
    code, args, outputs = _run_step(tmp_path)
    assert code == 1, "a failed policy fails the step"
    assert args == ["run", ".", "--format", "text", "--format", f"sarif={tmp_path / 'out.sarif'}"]
    assert outputs == f"exit-code=1\nsarif-file={tmp_path / 'out.sarif'}\n"


def test_action_inputs_cannot_inject_shell(tmp_path: Path) -> None:
    hostile = "--jobs 2 $(touch pwned) `touch pwned2` ; touch pwned3 *"
    code, args, _ = _run_step(tmp_path, INPUT_POLICY="p.yaml; touch pwned4", INPUT_MODE="audit", INPUT_ARGS=hostile)
    assert code == 1
    assert args[6:] == [
        "--policy",
        "p.yaml; touch pwned4",
        "--mode",
        "audit",
        "--jobs",
        "2",
        "$(touch",
        "pwned)",
        "`touch",
        "pwned2`",
        ";",
        "touch",
        "pwned3",
        "*",
    ]
    assert not list(tmp_path.glob("pwned*"))


def test_pre_commit_hook() -> None:
    hooks = _yaml((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = hooks
    assert hook["id"] == "gatekeeper"
    assert hook["language"] == "python"
    assert hook["entry"].split()[:2] == ["gatekeeper", "run"]
    assert hook["pass_filenames"] is False and hook["always_run"] is True
    assert set(hook) <= {
        "id", "name", "entry", "language", "files", "exclude", "types", "types_or", "exclude_types", "always_run",
        "fail_fast", "verbose", "pass_filenames", "require_serial", "description", "language_version",
        "minimum_pre_commit_version", "args", "stages",
    }  # fmt: skip


def _example(doc: str, language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (DOCS / doc).read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, f"{doc} has no {language} example"
    return str(blocks[0])


@pytest.mark.parametrize(
    ("doc", "schema"),
    [
        ("github-actions.md", "vendor.github-workflows"),
        ("gitlab-ci.md", "vendor.gitlab-ci"),
        ("azure-pipelines.md", "vendor.azure-pipelines"),
    ],
)
def test_ci_examples_validate(doc: str, schema: str, tmp_path: Path) -> None:
    example = tmp_path / "example.yml"
    example.write_text(_example(doc, "yaml"), encoding="utf-8")
    check_jsonschema(schema, example)


def test_examples_use_the_reports_and_the_exit_code_split() -> None:
    github = _yaml(_example("github-actions.md", "yaml"))
    steps = github["jobs"]["gate"]["steps"]
    assert any(str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@") for s in steps)
    assert github["jobs"]["gate"]["permissions"]["security-events"] == "write"
    gitlab = _yaml(_example("gitlab-ci.md", "yaml"))["gatekeeper"]
    assert gitlab["allow_failure"] == {"exit_codes": [1]}
    assert gitlab["artifacts"]["reports"] == {
        "codequality": "gl-code-quality-report.json",
        "junit": "gatekeeper-junit.xml",
    }
    assert "--format gitlab=gl-code-quality-report.json" in gitlab["script"][1]
    jenkins = _example("jenkins.md", "groovy")
    assert "returnStatus: true" in jenkins and "code == 1" in jenkins and "unstable(" in jenkins
    assert "junit testResults: 'reports/gatekeeper-junit.xml'" in jenkins
    azure = _yaml(_example("azure-pipelines.md", "yaml"))
    assert any(s.get("task") == "PublishTestResults@2" for s in azure["steps"])
    assert "SucceededWithIssues" in _example("azure-pipelines.md", "yaml")
    for doc in DOCS.glob("*.md"):
        for block in re.findall(r"```\w*\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL):
            assert not re.search(r"pip install (--quiet )?gatekeeper\b", block), (
                f"{doc.name}: that PyPI name is another project"
            )
