"""Risk-aware rules: when: conditions over facts about the change (check metrics), failing closed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.git_hygiene import GitOptions, run
from gatekeeper.errors import PolicyError

POLICY = """
version: 1
name: risk
plugins: ["{fake}"]
checks:
  change: {uses: fake, with: {metrics: {ai_assisted: AI, changed_lines: 120}}}
  cov: {uses: fake, with: {metrics: {diff_line_rate: 0.92}}}
rules:
  - id: diff-coverage
    check: cov
    require: ["diff_line_rate >= 0.90"]
  - id: diff-coverage-ai
    check: cov
    when: ["change.ai_assisted == 1"]
    require: ["diff_line_rate >= 0.95"]
"""


@pytest.fixture
def gate(write_policy: Callable[..., Path], repo: Path) -> Callable[..., Verdict]:
    def decide(text: str) -> Verdict:
        return evaluate(load_policy(write_policy(text), entry_points=False), repo, today=date(2026, 5, 1))

    return decide


def _rule(verdict: Verdict, rule_id: str) -> tuple[str, str]:
    rule = next(r for r in verdict.rules if r.id == rule_id)
    return rule.outcome, rule.reason


def test_a_true_condition_applies_the_rule(gate: Callable[..., Verdict]) -> None:
    verdict = gate(POLICY.replace("AI", "1"))
    assert verdict.outcome == "fail"
    assert _rule(verdict, "diff-coverage-ai") == (
        "fail",
        "applies: change.ai_assisted == 1 (change.ai_assisted=1); not met: diff_line_rate >= 0.95 (diff_line_rate=0.92)",
    )
    assert _rule(verdict, "diff-coverage")[0] == "pass"


def test_a_false_condition_skips_the_rule_with_the_reason(gate: Callable[..., Verdict]) -> None:
    verdict = gate(POLICY.replace("AI", "0"))
    assert verdict.outcome == "pass"
    assert _rule(verdict, "diff-coverage-ai") == (
        "skipped",
        "when: change.ai_assisted == 1 is false (change.ai_assisted=0) (the rule does not apply)",
    )
    assert "skipped: diff-coverage-ai" in verdict.summary


def test_all_conditions_must_hold(gate: Callable[..., Verdict]) -> None:
    text = POLICY.replace("AI", "1").replace(
        'when: ["change.ai_assisted == 1"]', 'when: ["change.ai_assisted == 1", "change.changed_lines > 400"]'
    )
    outcome, reason = _rule(gate(text), "diff-coverage-ai")
    assert outcome == "skipped"
    assert reason == "when: change.changed_lines > 400 is false (change.changed_lines=120) (the rule does not apply)"


def test_a_verdict_whose_rules_are_all_skipped_passes(gate: Callable[..., Verdict]) -> None:
    text = POLICY.replace("AI", "0").replace(
        '    require: ["diff_line_rate >= 0.90"]\n',
        '    require: ["diff_line_rate >= 0.90"]\n    when: "change.ai_assisted == 1"\n',
    )
    verdict = gate(text)
    assert [r.outcome for r in verdict.rules] == ["skipped", "skipped"]
    assert verdict.outcome == "pass"


def test_a_missing_fact_is_an_error_not_a_skip(gate: Callable[..., Verdict]) -> None:
    verdict = gate(POLICY.replace("ai_assisted: AI, ", ""))
    assert verdict.outcome == "error"
    assert _rule(verdict, "diff-coverage-ai") == (
        "error",
        "condition change.ai_assisted: fact unavailable: check 'change' reported no metric 'ai_assisted' "
        "(reported: changed_lines)",
    )


def test_an_errored_fact_check_is_an_error(gate: Callable[..., Verdict]) -> None:
    text = POLICY.replace("{metrics: {ai_assisted: AI, changed_lines: 120}}", "{status: error, error: no git}")
    verdict = gate(text)
    assert _rule(verdict, "diff-coverage-ai") == (
        "error",
        "condition change.ai_assisted: fact unavailable: check 'change' errored: no git",
    )
    assert verdict.outcome == "error"


def test_a_check_read_only_by_when_counts_as_read(write_policy: Callable[..., Path]) -> None:
    load_policy(write_policy(POLICY.replace("AI", "1")), entry_points=False)  # no "no rule reads this check"


@pytest.mark.parametrize(
    ("condition", "detail"),
    [
        ("nope.ai_assisted == 1", "'nope.ai_assisted': the policy has no such check (checks: change, cov)"),
        (
            "ai_assisted == 1",
            "'ai_assisted': a when: fact is CHECK.METRIC naming a check of the policy, e.g. change.ai_assisted "
            "(checks: change, cov)",
        ),
        ("change.ai_assisted = 1", "cannot read '= 1' in 'change.ai_assisted = 1'"),
    ],
)
def test_a_bad_condition_is_a_policy_error_at_its_line(
    write_policy: Callable[..., Path], condition: str, detail: str
) -> None:
    path = write_policy(POLICY.replace("AI", "1").replace("change.ai_assisted == 1", condition))
    with pytest.raises(PolicyError) as caught:
        load_policy(path, entry_points=False)
    assert str(caught.value) == f"{path}:14:12: rules[1].when[0]: {detail}"


# --- facts from the git checker, on real repositories ----------------------------------------


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _commit(root: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    root = tmp_path / "git-repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _commit(root, {"app/mod.py": "A = 1\n"}, "chore: base")
    _git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(root, "checkout", "-q", "-b", "feature")
    return root


def _facts(root: Path, **options: object) -> dict[str, float]:
    return run(CheckContext(root=root, check="change", timeout=60), GitOptions(**options)).metrics  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("trailer", "ai"),
    [
        ("Co-authored-by: Claude <noreply@anthropic.com>", 1.0),
        ("Co-authored-by: GitHub Copilot <copilot@github.com>", 1.0),
        ("Co-authored-by: openai-codex <bot@example.com>", 1.0),
        ("AI-Assisted: yes", 1.0),
        ("AI-Assisted: no", 0.0),
        ("Co-authored-by: Ada Lovelace <ada@example.com>", 0.0),
    ],
)
def test_ai_co_author_trailers_are_detected(git_repo: Path, trailer: str, ai: float) -> None:
    _commit(git_repo, {"app/mod.py": "A = 2\nB = 3\n", "migrations/0001.sql": "x\n"}, f"feat: change\n\n{trailer}")
    facts = _facts(git_repo, paths={"migrations": ["migrations/**"], "docs": ["docs/**"]})
    assert facts["ai_assisted"] == ai
    assert facts["ai_assisted_commits"] == ai
    assert (facts["changed_lines"], facts["files_changed"], facts["test_files_changed"]) == (4.0, 2.0, 0.0)
    assert (facts["touches_migrations"], facts["touches_docs"]) == (1.0, 0.0)


def test_a_paths_name_must_make_a_metric_name() -> None:
    with pytest.raises(ValueError, match="paths name 'DB-Schema': use lower-case letters"):
        GitOptions(paths={"DB-Schema": ["db/**"]})


# --- the strict pack asks more of an AI-assisted change --------------------------------------


def _strict_repo(root: Path, *, ai: bool, covered: int) -> None:
    """A repository with the strict pack's evidence; the branch changes 20 lines, ``covered`` of them covered."""
    from importlib import metadata

    (root / "LICENSE").write_text("MIT License\n")
    (root / "README.md").write_text("# app\n")
    (root / "SECURITY.md").write_text("Report issues to security@example.com\n")
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text("* @acme/team\n")
    (root / "requirements.txt").write_text(f"pluggy=={metadata.version('pluggy')}\n")
    (root / "reports").mkdir()
    (root / "reports" / "junit.xml").write_text('<testsuite><testcase classname="t" name="test_x"/></testsuite>')
    (root / ".gitignore").write_text("coverage.xml\n")
    _git(root, "init", "-q", "-b", "main")
    _commit(root, {"app/__init__.py": "", "app/base.py": "X = 0\n"}, "chore: base")
    _git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(root, "checkout", "-q", "-b", "feature")
    trailer = "\n\nCo-authored-by: Claude <noreply@anthropic.com>" if ai else ""
    _commit(root, {"app/new.py": "".join(f"V{n} = {n}\n" for n in range(1, 21))}, f"feat: new module{trailer}")
    lines = "".join(f'<line number="{n}" hits="{1 if n <= covered else 0}"/>' for n in range(1, 21))
    (root / "coverage.xml").write_text(
        '<?xml version="1.0"?><coverage line-rate="1" branch-rate="0" version="7"><sources><source>.</source></sources>'
        '<packages><package name="app"><classes>'
        '<class name="base.py" filename="app/base.py"><lines><line number="1" hits="1"/></lines></class>'
        f'<class name="new.py" filename="app/new.py"><lines>{lines}</lines></class>'
        "</classes></package></packages></coverage>"
    )


@pytest.mark.parametrize(
    ("ai", "covered", "outcome", "ai_rule"),
    [
        (False, 19, "pass", "skipped"),  # 95%: plain change, plain threshold
        (False, 18, "pass", "skipped"),  # 90%: still enough for a change without AI
        (True, 19, "pass", "pass"),  # 95%: enough for an AI-assisted change
        (True, 18, "fail", "fail"),  # 90%: an AI-assisted change needs 95%
    ],
)
def test_the_strict_pack_asks_more_of_ai_assisted_changes(
    tmp_path: Path, osv_server, monkeypatch: pytest.MonkeyPatch, ai: bool, covered: int, outcome: str, ai_rule: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATEKEEPER_OSV_URL", osv_server.url)
    root = tmp_path / "app"
    root.mkdir()
    _strict_repo(root, ai=ai, covered=covered)
    verdict = evaluate(load_policy("builtin:strict", entry_points=False), root, today=date(2026, 1, 1))
    outcomes = {r.id: r.outcome for r in verdict.rules}
    assert verdict.outcome == outcome, [(r.id, r.reason) for r in verdict.rules if r.outcome not in ("pass", "skipped")]
    assert outcomes["diff-coverage"] == "pass"
    assert outcomes["diff-coverage-ai-assisted"] == ai_rule
