"""The engine: runs every check under its timeout, turns every way a check can go wrong
into ``status: error``, and fails closed. Checks here use the fake checker, whose
result the policy dictates through its ``with:`` options."""

from __future__ import annotations

import subprocess
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

import gatekeeper
from gatekeeper import CheckEvent, PluginError, UsageError, Verdict, evaluate, load_policy
from gatekeeper.policy import ResolvedPolicy

TODAY = date(2024, 6, 1)
PLUGINS = Path(__file__).parent / "data" / "plugins"


@pytest.fixture
def load(write_policy: Callable[..., Path]) -> Callable[..., ResolvedPolicy]:
    """Load a policy body after a standard header: version, name, the fake plugin (and ``extra`` plugins)."""

    def make(body: str, extra: tuple[str, ...] = ()) -> ResolvedPolicy:
        plugins = ", ".join(['"{fake}"', *(f'"{PLUGINS / module}"' for module in extra)])
        header = f"version: 1\nname: demo\nplugins: [{plugins}]\n"
        return load_policy(write_policy(header + textwrap.dedent(body)), entry_points=False)

    return make


@pytest.fixture
def gate(load: Callable[..., ResolvedPolicy], repo: Path) -> Callable[..., Verdict]:
    def run(body: str, **kwargs: object) -> Verdict:
        return evaluate(load(body), repo, today=TODAY, **kwargs)  # type: ignore[arg-type]

    return run


def one_check(options: str, *, timeout: str = "", on_error: str = "error") -> str:
    """A policy body with one fake check ``c`` (given ``with:`` options) read by one rule ``r``."""
    extra = f", timeout: {timeout}" if timeout else ""
    return f"""
    checks:
      c: {{uses: fake{extra}, with: {options}}}
    rules:
      - {{id: r, check: c, findings: {{max: 0}}, on_error: {on_error}}}
    """


# --- fail-closed paths -----------------------------------------------------------------


def test_a_clean_check_passes(gate: Callable[..., Verdict]) -> None:
    verdict = gate(one_check("{}"))
    (check,) = verdict.checks
    assert (check.name, check.uses, check.status, check.error) == ("c", "fake", "ok", None)
    assert [i.path for i in check.inputs] == ["input.txt"]
    assert [(r.id, r.outcome, r.reason) for r in verdict.rules] == [
        ("r", "pass", "0 finding(s) at or above info, at most 0 allowed")
    ]
    assert verdict.outcome == "pass" and verdict.passed
    assert verdict.summary == "PASS: 1 rule(s)"


def test_a_checker_that_raises_is_an_error(gate: Callable[..., Verdict]) -> None:
    verdict = gate(one_check("{behaviour: raise}"))
    (check,) = verdict.checks
    assert check.status == "error"
    assert check.error == "checker crashed: RuntimeError: boom from the fake checker"
    (rule,) = verdict.rules
    assert rule.outcome == "error"
    assert rule.reason == "check 'c' errored: checker crashed: RuntimeError: boom from the fake checker"
    assert verdict.outcome == "error" and not verdict.passed
    assert verdict.summary == "ERROR: 1 rule(s); error: r"


def test_a_hanging_checker_times_out_and_the_others_complete(gate: Callable[..., Verdict]) -> None:
    body = """
    checks:
      slow: {uses: fake, timeout: 0.5, with: {behaviour: hang}}
      fine: {uses: fake, with: {findings: [{id: F1, severity: low}]}}
    rules:
      - {id: slow-rule, check: slow, findings: {max: 0}}
      - {id: fine-rule, check: fine, findings: {max: 5}}
    """
    begun = time.monotonic()
    verdict = gate(body, jobs=2)
    assert time.monotonic() - begun < 10  # a correctness bound: the hang is abandoned, not waited for
    slow, fine = verdict.checks
    assert slow.status == "error"
    assert slow.error == "timed out after 0.5s (raise 'timeout' on the check if it needs longer)"
    assert slow.duration_s >= 0.5
    assert fine.status == "ok" and [f.id for f in fine.findings] == ["F1"]
    assert [(r.id, r.outcome) for r in verdict.rules] == [("slow-rule", "error"), ("fine-rule", "pass")]
    assert verdict.outcome == "error"


def test_a_hang_does_not_starve_the_other_checks_with_one_job(gate: Callable[..., Verdict]) -> None:
    body = """
    checks:
      first: {uses: fake, with: {}}
      stuck: {uses: fake, timeout: 0.5, with: {behaviour: hang}}
      last: {uses: fake, with: {metrics: {n: 3}}}
    rules:
      - {id: r, check: [first, stuck, last], require: "last.n == 3"}
    """
    begun = time.monotonic()
    verdict = gate(body, jobs=1)
    assert time.monotonic() - begun < 10
    assert [(c.name, c.status) for c in verdict.checks] == [("first", "ok"), ("stuck", "error"), ("last", "ok")]
    assert verdict.checks[2].metrics == {"n": 3.0}
    assert verdict.rules[0].outcome == "error"


def test_a_checker_returning_the_wrong_type_is_an_error(gate: Callable[..., Verdict]) -> None:
    verdict = gate(one_check("{behaviour: wrong-type}"))
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == "checker 'fake' returned dict, not a CheckOutput"
    assert verdict.rules[0].outcome == "error"
    assert verdict.outcome == "error"


def test_ok_without_any_input_is_an_error(gate: Callable[..., Verdict]) -> None:
    verdict = gate(one_check("{inputs: []}"))
    check = verdict.checks[0]
    assert check.status == "error"
    assert check.error is not None and check.error.startswith("the check read no input")
    assert verdict.rules[0].outcome == "error"
    assert verdict.outcome == "error"


def test_an_input_outside_the_repository_is_an_error(gate: Callable[..., Verdict], repo: Path) -> None:
    (repo.parent / "x").write_text("outside\n")  # exists, so only the escape can be the reason
    verdict = gate(one_check('{inputs: ["../x"]}'))
    check = verdict.checks[0]
    assert check.status == "error"
    assert check.error is not None and check.error.startswith("../x: outside the repository root")
    assert check.inputs == []
    assert verdict.outcome == "error"


SILENT = "checker 'fake' reported {} without saying why"
DID = {"error": "errored", "skipped": "was skipped"}


@pytest.mark.parametrize(
    ("status", "given", "error"),
    [
        ("error", "tool missing", "tool missing"),
        ("skipped", "nothing to scan", "nothing to scan"),
        ("error", None, SILENT.format("error")),
        ("skipped", None, SILENT.format("skipped")),
    ],
)
def test_a_checker_reporting_error_or_skipped_makes_the_rule_error(
    gate: Callable[..., Verdict], status: str, given: str | None, error: str
) -> None:
    verdict = gate(one_check(f"{{status: {status}" + (f", error: {given}}}" if given else "}")))
    assert (verdict.checks[0].status, verdict.checks[0].error) == (status, error)
    assert (verdict.rules[0].outcome, verdict.rules[0].reason) == ("error", f"check 'c' {DID[status]}: {error}")
    assert verdict.outcome == "error"


def test_on_error_warn_lets_the_error_through_as_a_warning(gate: Callable[..., Verdict]) -> None:
    verdict = gate(one_check("{behaviour: raise}", on_error="warn"))
    rule = verdict.rules[0]
    assert rule.outcome == "warn"
    assert rule.reason == (
        "check 'c' errored: checker crashed: RuntimeError: boom from the fake checker (the policy says on_error: warn)"
    )
    assert verdict.outcome == "pass"
    assert verdict.summary == "PASS: 1 rule(s); warn: r; errors let through by on_error: r"


def test_on_error_pass_passes_but_the_summary_still_says_so(gate: Callable[..., Verdict]) -> None:
    verdict = gate(one_check("{status: error, error: tool missing}", on_error="pass"))
    rule = verdict.rules[0]
    assert rule.outcome == "pass"
    assert rule.reason == "check 'c' errored: tool missing (the policy says on_error: pass)"
    assert verdict.outcome == "pass"
    assert verdict.summary == "PASS: 1 rule(s); errors let through by on_error: r"


def test_on_error_of_one_rule_does_not_cover_another_rule_reading_the_same_check(
    gate: Callable[..., Verdict],
) -> None:
    body = """
    checks:
      c: {uses: fake, with: {behaviour: raise}}
    rules:
      - {id: lenient, check: c, findings: {max: 0}, on_error: pass}
      - {id: strict, check: c, require: "x == 0"}
    """
    verdict = gate(body)
    assert [(r.id, r.outcome) for r in verdict.rules] == [("lenient", "pass"), ("strict", "error")]
    assert verdict.outcome == "error"
    assert verdict.summary == "ERROR: 2 rule(s); error: strict; errors let through by on_error: lenient"


@pytest.mark.parametrize(
    ("options", "timeout"),
    [
        ("{behaviour: raise}", ""),
        ("{behaviour: hang}", "0.5"),
        ("{behaviour: wrong-type}", ""),
        ("{inputs: []}", ""),
        ('{inputs: ["../x"]}', ""),
        ("{status: error}", ""),
        ("{status: skipped, error: not applicable}", ""),
    ],
)
@pytest.mark.parametrize("mode", ["enforce", "warn", "audit"])
def test_a_verdict_never_passes_when_a_check_errored(
    gate: Callable[..., Verdict], options: str, timeout: str, mode: str
) -> None:
    verdict = gate(one_check(options, timeout=timeout), mode=mode)
    assert verdict.checks[0].status != "ok"
    assert verdict.rules[0].outcome == "error"
    assert verdict.outcome == "error"
    assert not verdict.passed


# --- concurrency, ordering, progress ----------------------------------------------------

THREE_CHECKS = """
checks:
  zeta: {uses: fake, with: {sleep: 0.3, metrics: {a: 1}}}
  alpha: {uses: fake, with: {sleep: 0.3, metrics: {b: 2}}}
  mid: {uses: fake, with: {metrics: {c: 3}}}
rules:
  - {id: r, check: [zeta, alpha, mid], require: ["a == 1", "b == 2", "c == 3"]}
"""


@pytest.mark.parametrize("jobs", [1, 2, 8])
def test_every_check_runs_and_results_keep_policy_order(gate: Callable[..., Verdict], jobs: int) -> None:
    verdict = gate(THREE_CHECKS, jobs=jobs)
    assert [c.name for c in verdict.checks] == ["zeta", "alpha", "mid"]
    assert [c.status for c in verdict.checks] == ["ok", "ok", "ok"]
    assert [c.metrics for c in verdict.checks] == [{"a": 1.0}, {"b": 2.0}, {"c": 3.0}]
    assert verdict.rules[0].outcome == "pass"
    assert verdict.rules[0].reason == "met: a == 1 (a=1); met: b == 2 (b=2); met: c == 3 (c=3)"


def test_results_are_sorted_deterministically(gate: Callable[..., Verdict], repo: Path) -> None:
    (repo / "z.txt").write_text("z\n")
    body = """
    checks:
      c:
        uses: fake
        with:
          inputs: [z.txt, input.txt]
          metrics: {zed: 1, alpha: 2, mid: 3}
          findings:
            - {id: B2, path: b.py, line: 3}
            - {id: B9, path: a.py, line: 10}
            - {id: B5, path: a.py, line: 2}
            - {id: B1, path: a.py, line: 2}
            - {id: B7}
    rules:
      - {id: r, check: c, findings: {max: 10}}
    """
    verdict = gate(body)
    check = verdict.checks[0]
    assert [(f.path, f.line, f.id) for f in check.findings] == [
        (None, None, "B7"),
        ("a.py", 2, "B1"),
        ("a.py", 2, "B5"),
        ("a.py", 10, "B9"),
        ("b.py", 3, "B2"),
    ]
    assert list(check.metrics) == ["alpha", "mid", "zed"]
    assert [i.path for i in check.inputs] == ["input.txt", "z.txt"]
    assert [f.id for f in verdict.rules[0].findings] == ["B7", "B1", "B5", "B9", "B2"]


def test_progress_reports_start_and_finish_of_every_check(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(THREE_CHECKS.replace("{metrics: {c: 3}}", "{behaviour: raise}"))
    events: list[CheckEvent] = []
    lock = threading.Lock()

    def progress(event: CheckEvent) -> None:
        with lock:
            events.append(event)

    verdict = evaluate(policy, repo, jobs=2, today=TODAY, progress=progress)
    names = ["zeta", "alpha", "mid"]
    for index, name in enumerate(names):
        mine = [e for e in events if e.check == name]
        assert [e.kind for e in mine] == ["started", "finished"]
        assert all((e.index, e.total, e.uses) == (index, 3, "fake") for e in mine)
        assert mine[0].result is None
        assert mine[1].result == verdict.checks[index]
        assert mine[1].message == verdict.checks[index].status
    assert [e.check for e in events if e.kind == "finished"] == names
    assert verdict.checks[2].status == "error"


def test_a_progress_callback_that_raises_cannot_wedge_the_run(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(THREE_CHECKS)
    outcome: list[Verdict] = []

    def broken(event: CheckEvent) -> None:
        if event.kind == "started" and event.check == "zeta":
            raise RuntimeError("display broke")

    runner = threading.Thread(
        target=lambda: outcome.append(evaluate(policy, repo, jobs=1, progress=broken)), daemon=True
    )
    runner.start()
    runner.join(timeout=10)  # on a leaked slot the run would wait forever; fail instead of hanging the suite
    assert not runner.is_alive(), "evaluate did not return"
    (verdict,) = outcome
    assert [(c.name, c.status) for c in verdict.checks] == [("zeta", "error"), ("alpha", "ok"), ("mid", "ok")]
    assert "display broke" in (verdict.checks[0].error or "")
    assert verdict.outcome == "error"


# --- the verdict ------------------------------------------------------------------------


def test_the_verdict_names_the_policy_and_the_run(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(one_check("{}"))
    verdict = evaluate(policy, repo, today=TODAY)
    assert verdict.policy.name == "demo"
    assert verdict.policy.digest == policy.digest
    assert verdict.policy.digest.startswith("sha256:") and len(verdict.policy.digest) == 7 + 64
    assert verdict.policy.sources == policy.sources
    assert verdict.gatekeeper_version == gatekeeper.__version__
    assert (verdict.mode, verdict.enforced) == ("enforce", True)
    assert verdict.started_at <= verdict.finished_at
    assert verdict.started_at.tzinfo is not None


def test_bad_arguments_are_usage_errors(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(one_check("{}"))
    with pytest.raises(UsageError, match="unknown mode 'strict'"):
        evaluate(policy, repo, mode="strict")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not a directory"):
        evaluate(policy, repo / "input.txt")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_the_subject_is_read_from_git(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(one_check("{}"))  # written into the repository, so committed with it
    git(repo, "init", "-q")
    git(repo, "checkout", "-q", "-b", "feature/gate")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")

    clean = evaluate(policy, repo, today=TODAY).subject
    assert clean.commit == git(repo, "rev-parse", "HEAD") and len(clean.commit) == 40
    assert clean.branch == "feature/gate"
    assert clean.dirty is False
    assert clean.repository == "repo"  # no remote: the folder's name

    (repo / "input.txt").write_text("changed\n")
    git(repo, "remote", "add", "origin", "https://ci-user:s3cret@example.com/team/repo.git")
    dirty = evaluate(policy, repo, today=TODAY).subject
    assert dirty.dirty is True
    assert dirty.commit == clean.commit
    assert dirty.repository == "https://example.com/team/repo.git"  # credentials dropped


def test_the_subject_is_empty_outside_git(
    load: Callable[..., ResolvedPolicy], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(repo.parent))  # never find an enclosing repository
    subject = evaluate(load(one_check("{}")), repo, today=TODAY).subject
    assert (subject.repository, subject.commit, subject.branch, subject.dirty) == (None, None, None, None)


# --- hooks --------------------------------------------------------------------------------


def test_verdict_ready_hook_sees_the_verdict_once(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(one_check("{}"), extra=("verdict_hook_records.py",))
    recorder = next(p for p in policy.plugins.manager.get_plugins() if hasattr(p, "SEEN"))
    recorder.SEEN.clear()
    verdict = evaluate(policy, repo, today=TODAY)
    seen = list(recorder.SEEN)
    assert len(seen) == 1 and seen[0] is verdict


def test_a_verdict_ready_hook_that_raises_is_a_plugin_error(load: Callable[..., ResolvedPolicy], repo: Path) -> None:
    policy = load(one_check("{}"), extra=("verdict_hook_raises.py",))
    with pytest.raises(PluginError) as caught:
        evaluate(policy, repo, today=TODAY)
    assert str(caught.value) == "a plugin raised in gatekeeper_verdict_ready: RuntimeError: observer exploded"


def test_a_policy_loaded_hook_that_raises_is_a_plugin_error_at_load(load: Callable[..., ResolvedPolicy]) -> None:
    with pytest.raises(PluginError) as caught:
        load(one_check("{}"), extra=("policy_loaded_raises.py",))
    assert str(caught.value) == "a plugin raised in gatekeeper_policy_loaded: ValueError: this policy is refused"


def test_a_relative_root_is_not_applied_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gatekeeper run some/dir` from elsewhere: report checkers read some/dir/reports, not some/dir/some/dir."""
    project = tmp_path / "project"
    (project / "reports").mkdir(parents=True)
    (project / "reports" / "junit.xml").write_text(
        '<testsuite name="s" tests="1"><testcase classname="c" name="t"/></testsuite>', encoding="utf-8"
    )
    policy = project / "gatekeeper.yaml"
    policy.write_text(
        "version: 1\nchecks: {tests: {uses: junit, with: {reports: [reports/junit.xml]}}}\nrules: [{id: green, check: tests, require: ['failed == 0']}]\n"
    )
    monkeypatch.chdir(tmp_path)
    verdict = evaluate(load_policy(policy, entry_points=False), "project")
    assert verdict.checks[0].status == "ok", verdict.checks[0].error
    assert [i.path for i in verdict.checks[0].inputs] == ["reports/junit.xml"]
    assert verdict.outcome == "pass"
