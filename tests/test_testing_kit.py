"""The plugin-author kit (``gatekeeper.testing``): its helpers go through the real code paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from gatekeeper import CheckContext, Checker, CheckOutput, Finding, PolicyError, Reporter, Severity, Verdict
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.signing import sign_verdict, verify
from gatekeeper.testing import GitRepo, make_policy, make_verdict, memory_signer, render_report, run_checker


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = 3


def _count_files(ctx: CheckContext, options: Limit) -> CheckOutput:
    files = sorted(p for p in ctx.root.iterdir() if p.is_file())
    findings = [
        Finding(id="TOO-MANY", severity=Severity.LOW, message=f"{p.name} is over the limit", path=p.name)
        for p in files[options.limit :]
    ]
    return CheckOutput(inputs=[ctx.input_file(p) for p in files], findings=findings, metrics={"files": len(files)})


def _crash(ctx: CheckContext, options: Limit) -> CheckOutput:
    raise RuntimeError("the in-house tool fell over")


class CountPlugin:
    """An in-process plugin: a class whose static methods are the hooks."""

    __name__ = "count-plugin"

    @staticmethod
    def gatekeeper_checkers() -> list[Checker[Any]]:
        return [Checker("count", _count_files, Limit), Checker("crash", _crash, Limit)]

    @staticmethod
    def gatekeeper_reporters() -> list[Reporter]:
        return [Reporter("shout", lambda verdict, options: verdict.outcome.upper() + "\n")]


def test_run_checker_goes_through_the_engine(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    result = run_checker("count", tmp_path, {"limit": 1}, plugins=[CountPlugin], entry_points=False)
    assert result.status == "ok"
    assert result.metrics == {"files": 2.0}
    assert [f.path for f in result.findings] == ["b.txt"]
    assert [i.path for i in result.inputs] == ["a.txt", "b.txt"]  # with their sha256, as the engine records


def test_a_crashing_checker_is_an_error_not_a_pass(tmp_path: Path) -> None:
    result = run_checker("crash", tmp_path, plugins=[CountPlugin], entry_points=False)
    assert result.status == "error"
    assert "the in-house tool fell over" in (result.error or "")


def test_an_ok_result_that_read_nothing_is_an_error(tmp_path: Path) -> None:
    result = run_checker("count", tmp_path, plugins=[CountPlugin], entry_points=False)  # empty folder
    assert result.status == "error"


def test_options_are_validated_by_the_checkers_model(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"gatekeeper\.yaml:\d+:\d+: .*limt.*did you mean 'limit'"):
        run_checker("count", tmp_path, {"limt": 1}, plugins=[CountPlugin], entry_points=False)


def test_make_policy_reports_errors_like_load_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"gatekeeper\.yaml:\d+:\d+: rules\[0\]\.check: no check named 'nope'"):
        make_policy(
            {
                "checks": {"c": {"uses": "count"}},
                "rules": [{"id": "r", "check": ["c", "nope"], "require": ["files < 9"]}],
            },
            plugins=[CountPlugin],
            entry_points=False,
            folder=tmp_path,
        )


def test_make_policy_leaves_the_repository_alone(gk_repo: GitRepo) -> None:
    gk_repo.write({"README.md": "hi\n"}).commit("first")
    make_policy({"checks": {"c": {"uses": "count"}}, "rules": [{"id": "r", "check": "c", "require": ["files < 9"]}]},
                plugins=[CountPlugin], entry_points=False)  # fmt: skip
    assert gk_repo.git("status", "--porcelain") == ""


def test_run_checker_with_a_builtin_on_a_git_repository(gk_repo: GitRepo) -> None:
    gk_repo.write({"README.md": "# app\n"}).commit("readme")
    result = run_checker("required-files", gk_repo.root, {"files": ["README.md", "LICENSE"]}, entry_points=False)
    assert result.status == "ok"
    assert len(result.findings) == 1
    assert "LICENSE" in result.findings[0].message


def test_render_report_uses_the_registered_reporter() -> None:
    verdict = make_verdict("fail")
    assert render_report(verdict, "shout", plugins=[CountPlugin], entry_points=False) == "FAIL\n"
    as_json = json.loads(render_report(verdict, "json", entry_points=False, options=RenderOptions()))
    assert as_json["outcome"] == "fail"
    assert as_json["rules"][0]["findings"][0]["id"] == "EXAMPLE1"


@pytest.mark.parametrize("outcome", ["pass", "fail", "error"])
def test_make_verdict_is_consistent(outcome: Any) -> None:
    verdict = make_verdict(outcome)
    assert verdict.outcome == outcome == verdict.rules[0].outcome
    assert (verdict.checks[0].status == "error") == (outcome == "error")
    assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict


def test_make_verdict_refuses_an_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="pass, fail or error"):
        make_verdict("green")  # type: ignore[arg-type]


def test_memory_signer_signs_what_verify_accepts() -> None:
    signer = memory_signer()
    verdict = make_verdict("pass")
    signed = sign_verdict(verdict, signer)
    result = verify(signed.to_jsonl(), [signer.public_key], commit=verdict.subject.commit)
    assert result.accepted, result.reason
    other = memory_signer("ecdsa-p256")
    assert not verify(signed.to_jsonl(), [other.public_key], commit=verdict.subject.commit).accepted


def test_git_repo_commits_branches_and_reports_git_errors(gk_repo: GitRepo) -> None:
    first = gk_repo.write({"src/a.py": "x = 1\n"}).commit("add a")
    second = gk_repo.branch("feature").remove("src/a.py").commit("remove a")
    assert first != second
    assert gk_repo.git("rev-parse", "--abbrev-ref", "HEAD") == "feature"
    assert gk_repo.git("log", "-1", "--format=%an <%ae>") == "gatekeeper-test <test@example.com>"
    with pytest.raises(AssertionError, match="git rev-parse no-such-ref failed"):
        gk_repo.git("rev-parse", "no-such-ref")


def test_gk_policy_and_gk_render_fixtures(gk_policy: Any, gk_render: Any, gk_verdict: Any, gk_signer: Any) -> None:
    policy = gk_policy(
        {"checks": {"c": {"uses": "count"}}, "rules": [{"id": "r", "check": "c", "require": ["files < 9"]}]},
        plugins=[CountPlugin],
        entry_points=False,
    )
    assert policy.name == "gatekeeper" and "count" in policy.plugins.checkers
    assert gk_render(gk_verdict("error"), "shout", plugins=[CountPlugin], entry_points=False) == "ERROR\n"
    assert len(gk_signer.keyid()) == 64


def test_gk_cli_runs_the_real_command(gk_repo: GitRepo, gk_cli: Any) -> None:
    policy = {
        "version": 1,
        "checks": {"files": {"uses": "required-files", "with": {"files": ["README.md"]}}},
        "rules": [{"id": "readme", "check": "files", "findings": {"max": 0}}],
    }
    gk_repo.write({"README.md": "# app\n", "gatekeeper.yaml": json.dumps(policy)}).commit("readme")
    passed = gk_cli("run", ".", cwd=gk_repo.root)
    assert passed.returncode == 0, passed.stderr
    gk_repo.remove("README.md")
    failed = gk_cli("run", ".", "--format", "json", cwd=gk_repo.root)
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["outcome"] == "fail"
    version = gk_cli("--version", cwd=gk_repo.root)
    assert version.returncode == 0 and version.stdout.startswith("gatekeeper ")


def test_fixtures_are_loaded_through_the_pytest11_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_the_kit(gk_repo, gk_run_checker):
            gk_repo.write({"README.md": "x"}).commit("c")
            result = gk_run_checker("required-files", gk_repo.root, {"files": ["README.md"]}, entry_points=False)
            assert result.status == "ok" and not result.findings
        """
    )
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1)
