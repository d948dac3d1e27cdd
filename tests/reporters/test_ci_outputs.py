from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gatekeeper import Verdict
from gatekeeper.errors import ReportError
from gatekeeper.plugins import Plugins, load_plugins
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.ci import GITLAB_REPORT, CIOutput, auto_outputs, detect, write_outputs
from gatekeeper.reporters.github import SUMMARY_LIMIT, render_github


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return load_plugins(entry_points=False)


@pytest.mark.parametrize(
    ("env", "found"),
    [
        ({}, []),
        ({"CI": "true"}, []),
        ({"GITHUB_ACTIONS": "true"}, ["github"]),
        ({"GITHUB_ACTIONS": "false"}, []),
        ({"GITLAB_CI": "true"}, ["gitlab"]),
        ({"TF_BUILD": "True"}, ["azure"]),
        ({"TF_BUILD": "true", "GITHUB_ACTIONS": "true"}, ["github", "azure"]),
    ],
)
def test_detect(env: dict[str, str], found: list[str]) -> None:
    assert detect(env) == found


def test_nothing_outside_ci(ci_verdict: Verdict, plugins: Plugins) -> None:
    assert auto_outputs(ci_verdict, {}, plugins) == []


def test_github_annotations_to_stdout_and_summary_appended(
    tmp_path: Path, ci_verdict: Verdict, plugins: Plugins
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/service",
        "GITHUB_SHA": "abc123",
    }
    outputs = auto_outputs(ci_verdict, env, plugins)
    assert [(o.format, o.target, o.append) for o in outputs] == [
        ("github", None, False),
        ("github-summary", str(summary), True),
    ]
    assert outputs[0].text == render_github(ci_verdict, RenderOptions())
    stdout = io.StringIO()
    write_outputs(outputs, stdout)
    assert stdout.getvalue() == outputs[0].text
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("# earlier step\n\n## ⛔ gatekeeper: **ERROR**")
    assert "(https://github.com/acme/service/blob/abc123/src/app.py#L12)" in written
    write_outputs(outputs[1:], stdout)
    assert summary.read_text(encoding="utf-8").count("gatekeeper: **ERROR**") == 2, "appended, not replaced"


def test_the_summary_keeps_the_file_under_1_mib(tmp_path: Path, ci_verdict: Verdict, plugins: Plugins) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * (SUMMARY_LIMIT - 3000))
    (output,) = [
        o
        for o in auto_outputs(ci_verdict, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, plugins)
        if o.append
    ]
    write_outputs([output], io.StringIO())
    assert summary.stat().st_size < SUMMARY_LIMIT
    assert "more finding(s)" in output.text
    summary.write_bytes(b"x" * (SUMMARY_LIMIT - 10))
    outputs = auto_outputs(ci_verdict, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, plugins)
    assert [o.format for o in outputs] == ["github"], "no room left: no summary"


def test_a_format_already_requested_is_not_written_twice(ci_verdict: Verdict, plugins: Plugins, tmp_path: Path) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"),
        "GITLAB_CI": "true",
        "TF_BUILD": "True",
    }
    outputs = auto_outputs(ci_verdict, env, plugins, requested={"github", "gitlab", "azure"})
    assert [o.format for o in outputs] == ["github-summary"]


def test_gitlab_writes_the_code_quality_report(tmp_path: Path, ci_verdict: Verdict, plugins: Plugins) -> None:
    (output,) = auto_outputs(ci_verdict, {"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path)}, plugins)
    assert output == CIOutput("gitlab", str(tmp_path / GITLAB_REPORT), output.text)
    write_outputs([output], io.StringIO())
    issues = json.loads((tmp_path / GITLAB_REPORT).read_text(encoding="utf-8"))
    assert {i["check_name"] for i in issues} >= {"bandit/B602", "pip-audit/PYSEC-2019-217"}
    (relative,) = auto_outputs(ci_verdict, {"GITLAB_CI": "true"}, plugins)
    assert relative.target == GITLAB_REPORT


def test_azure_logissue_lines_to_stdout(ci_verdict: Verdict, plugins: Plugins) -> None:
    (output,) = auto_outputs(ci_verdict, {"TF_BUILD": "True"}, plugins)
    assert output.target is None and output.format == "azure"
    assert all(line.startswith("##vso[task.logissue type=") for line in output.text.splitlines())


def test_an_unwritable_summary_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot append"):
        write_outputs([CIOutput("github-summary", str(tmp_path / "missing" / "s.md"), "x", append=True)], io.StringIO())
