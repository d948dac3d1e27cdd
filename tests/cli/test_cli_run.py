"""`gatekeeper run`: exit codes, formats, one-line errors, determinism. Runs the real console command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

PASSING = """
version: 1
name: cli-test
plugins: ["{fake}"]
checks:
  tests: {uses: fake, with: {metrics: {failed: 0, total: 3}}}
  sast: {uses: fake, with: {findings: [{id: B1, severity: low, path: input.txt, line: 1}]}}
rules:
  - {id: tests-green, check: tests, require: ["failed == 0", "total >= 1"]}
  - {id: no-high, check: sast, findings: {severity: high, max: 0}}
"""


def _policy(body: str, **changes: str) -> str:
    for old, new in changes.items():
        body = body.replace(old, new)
    return body


def test_pass_exits_0_with_text_summary(write_policy, run_cli) -> None:
    write_policy(PASSING)
    done = run_cli("run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gatekeeper: PASS")
    assert "tests-green" in done.stdout
    assert "[1/2] tests (fake) ok" in done.stderr  # progress, one line per check when not a terminal


def test_fail_exits_1(write_policy, run_cli) -> None:
    write_policy(_policy(PASSING, **{"failed: 0, total": "failed: 2, total"}))
    done = run_cli("run")
    assert done.returncode == 1
    assert done.stdout.startswith("gatekeeper: FAIL")
    assert "not met: failed == 0 (failed=2)" in done.stdout


def test_check_error_exits_3(write_policy, run_cli) -> None:
    write_policy(_policy(PASSING, **{"{metrics: {failed: 0, total: 3}}": "{behaviour: raise}"}))
    done = run_cli("run")
    assert done.returncode == 3
    assert done.stdout.startswith("gatekeeper: ERROR")
    assert "boom from the fake checker" in done.stdout


def test_audit_mode_exits_0_but_reports_the_failure(write_policy, run_cli, repo: Path) -> None:
    write_policy(_policy(PASSING, **{"failed: 0, total": "failed: 2, total"}))
    done = run_cli("run", "--mode", "audit", "--format", f"json={repo / 'v.json'}")
    assert done.returncode == 0
    verdict = json.loads((repo / "v.json").read_text())
    assert verdict["outcome"] == "fail" and verdict["enforced"] is False and verdict["mode"] == "audit"


def test_warn_mode_turns_failure_into_warning(write_policy, run_cli) -> None:
    write_policy(_policy(PASSING, **{"failed: 0, total": "failed: 2, total"}))
    done = run_cli("run", "--mode", "warn")
    assert done.returncode == 0
    assert "WARN" in done.stdout


def test_policy_error_is_one_line_exit_2(write_policy, run_cli) -> None:
    write_policy(_policy(PASSING, **{"require:": "requir:"}))
    done = run_cli("run")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "gatekeeper: error: gatekeeper.yaml:9:37: rules[0].requir: unknown key (did you mean 'require'?)\n"
    )


def test_debug_shows_the_traceback(write_policy, run_cli) -> None:
    write_policy(_policy(PASSING, **{"require:": "requir:"}))
    done = run_cli("--debug", "run")
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("unknown key (did you mean 'require'?)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing-dir"], "missing-dir: not a directory"),
        (
            ["run", "--format", "yaml"],
            "unknown format 'yaml'; available: azure, github, gitlab, html, json, junit, markdown, sarif, text",
        ),
        (["run", "--format", "json", "--format", "text"], "would all go to stdout"),
        (["run", "--policy", "builtin:nope"], "no built-in policy pack 'nope'; available: default"),
        (["run", "--policy", "nope.yaml"], "policy file not found: nope.yaml"),
        (["run", "--mode", "lenient"], "invalid choice: 'lenient'"),
        (["run", "--jobs", "0"], "--jobs must be at least 1"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, write_policy, run_cli) -> None:
    write_policy(PASSING)
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_two_policy_files_are_ambiguous(write_policy, run_cli) -> None:
    write_policy(PASSING)
    write_policy(PASSING, name=".gatekeeper.yaml")
    done = run_cli("run")
    assert done.returncode == 2
    assert "keep one, or name it with --policy" in done.stderr


def test_dot_gatekeeper_yaml_is_found(write_policy, run_cli) -> None:
    write_policy(PASSING, name=".gatekeeper.yaml")
    done = run_cli("run", "--format", "json")
    assert json.loads(done.stdout)["policy"]["name"] == "cli-test"


def test_plugin_load_failure_exits_3(write_policy, run_cli, data_dir: Path) -> None:
    write_policy(_policy(PASSING, **{'"{fake}"': f'"{data_dir / "plugins" / "bad_hook.py"}", "{{fake}}"'}))
    done = run_cli("run")
    assert done.returncode == 3
    assert "plugin 'bad_hook' is not valid" in done.stderr


def test_several_formats_to_files(write_policy, run_cli, repo: Path) -> None:
    write_policy(PASSING)
    done = run_cli("run", "--format", "json=out/v.json", "--format", "text=out/v.txt", "--format", "text")
    assert done.returncode == 0
    verdict = json.loads((repo / "out" / "v.json").read_text())
    assert verdict["schema_version"] == 1
    assert (repo / "out" / "v.txt").read_text().startswith("gatekeeper: PASS")
    assert done.stdout.startswith("gatekeeper: PASS")
    assert not list((repo / "out").glob(".*.tmp")), "atomic writes leave no temporary files"


def _comparable(report: str) -> dict[str, object]:
    data = json.loads(report)
    for key in ("started_at", "finished_at"):
        data.pop(key)
    data.get("history", {}).pop("run_id", None)  # each run is recorded under its own id
    for check in data["checks"]:
        check.pop("duration_s")
    return data


def test_json_report_is_deterministic(write_policy, run_cli) -> None:
    write_policy(PASSING)
    first, second = run_cli("run", "--format", "json"), run_cli("run", "--format", "json")
    assert first.returncode == second.returncode == 0
    assert _comparable(first.stdout) == _comparable(second.stdout)
    # same bytes apart from the times: serialisation order is fixed too
    assert json.dumps(_comparable(first.stdout)) == json.dumps(_comparable(second.stdout))


def test_json_report_fields(write_policy, run_cli, repo: Path) -> None:
    write_policy(PASSING)
    subprocess.run(["git", "init", "-q", "-b", "trunk"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    data = json.loads(run_cli("run", "--format", "json").stdout)
    assert set(data) >= {
        "schema_version", "outcome", "policy", "subject", "rules", "checks", "gatekeeper_version", "started_at", "finished_at"
    }  # fmt: skip
    assert data["policy"]["digest"].startswith("sha256:") and len(data["policy"]["digest"]) == 71
    assert data["subject"] == {"repository": "repo", "commit": head, "branch": "trunk", "dirty": False}
    rule = data["rules"][0]
    assert set(rule) >= {"id", "outcome", "reason", "findings"}
    check = data["checks"][1]
    assert set(check) >= {"name", "uses", "status", "error", "tool", "inputs", "findings", "metrics"}
    assert check["inputs"][0]["path"] == "input.txt"
    assert len(check["inputs"][0]["sha256"]) == 64


def test_run_leaves_the_repository_as_it_found_it(write_policy, run_cli, repo: Path) -> None:
    write_policy(PASSING)
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    assert run_cli("run").returncode == 0
    # apart from the run history in .gatekeeper/, which ignores itself (tests/history/test_store.py)
    after = [p.relative_to(repo) for p in repo.rglob("*") if p.relative_to(repo).parts[0] != ".gatekeeper"]
    assert sorted(after) == before


FAILING = PASSING.replace("failed: 0, total", "failed: 2, total").replace("severity: low", "severity: high")


def test_github_actions_gets_annotations_and_a_job_summary(write_policy, run_cli, tmp_path: Path) -> None:
    write_policy(FAILING)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    done = run_cli("run", env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert annotations and annotations[0].startswith("::error")
    assert any("file=input.txt,line=1" in line for line in annotations)
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "tests-green" in text


def test_no_ci_detect_and_machine_stdout_stay_clean(write_policy, run_cli, tmp_path: Path) -> None:
    write_policy(FAILING)
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    off = run_cli("run", "--no-ci-detect", env=env)
    assert "::error" not in off.stdout and not summary.exists()
    as_json = run_cli("run", "--format", "json", env=env)
    assert json.loads(as_json.stdout)["outcome"] == "fail"  # no annotation line mixed into the JSON
    assert summary.exists()


def test_gitlab_ci_gets_a_code_quality_report(write_policy, run_cli, repo: Path) -> None:
    write_policy(FAILING)
    done = run_cli("run", env={"GITLAB_CI": "true", "CI_PROJECT_DIR": str(repo)})
    assert done.returncode == 1
    report = json.loads((repo / "gl-code-quality-report.json").read_text())
    assert report and report[0]["location"]["path"] == "input.txt"
