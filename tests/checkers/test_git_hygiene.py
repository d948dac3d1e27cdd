"""The git checker on real git repositories built in tmp_path."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import evaluate, load_policy
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.git_hygiene import GitOptions, run
from gatekeeper.errors import CheckError
from gatekeeper.models import CheckOutput


def git(root: Path, *args: str, email: str = "t@t") -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", f"user.email={email}", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit(root: Path, files: dict[str, str], message: str, email: str = "t@t") -> str:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, email=email)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, {"src/pkg/mod.py": "A = 1\nB = 2\n", "README.md": "# demo\n"}, "chore: base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def check(root: Path, **options: Any) -> CheckOutput:
    options.setdefault("base", "main")
    return run(CheckContext(root=root, check="git", timeout=60), GitOptions(**options))


def test_commit_and_diff_facts(repo: Path) -> None:
    signed = commit(
        repo, {"src/pkg/mod.py": "A = 1\nB = 3\nC = 4\n"}, "feat(core)!: change B\n\nbody\n\nSigned-off-by: t <t@t>"
    )
    plain = commit(repo, {"tests/test_mod.py": "def test(): pass\n"}, "added a test")
    ai = commit(
        repo,
        {"docs/x.md": "x\n"},
        "fix: docs\n\nSigned-off-by: Someone Else <else@x>\nCo-authored-by: claude <noreply@anthropic.com>",
    )
    commit(repo, {"README.md": "# demo\nmore\n"}, "docs: readme\n\nCo-authored-by: Ada <ada@example.com>\n"
           "Signed-off-by: T <T@T>")  # fmt: skip
    out = check(repo)
    assert out.metrics == {
        "commits": 4.0, "signed_off_commits": 2.0, "unsigned_off_commits": 2.0, "signed_commits": 0.0,
        "conventional_commits": 3.0, "nonconventional_commits": 1.0, "ai_assisted_commits": 1.0,
        "files_changed": 4.0, "lines_added": 5.0, "lines_removed": 1.0,
        "source_files_changed": 1.0, "test_files_changed": 1.0, "tests_touched": 1.0,
        "ai_assisted": 1.0, "changed_lines": 6.0,
    }  # fmt: skip
    assert out.not_applicable == {}
    assert [(f.id, f.severity.value, f.message) for f in out.findings] == [
        (f"dco:{ai[:12]}", "low", f"commit {ai[:12]} 'fix: docs' lacks a Signed-off-by trailer with the author's "
         "email <t@t> (DCO)"),
        (f"dco:{plain[:12]}", "low", f"commit {plain[:12]} 'added a test' lacks a Signed-off-by trailer with the "
         "author's email <t@t> (DCO)"),
        (f"conventional:{plain[:12]}", "low", f"commit {plain[:12]} 'added a test' is not a conventional commit "
         "subject (type(scope)!: description)"),
    ]  # fmt: skip
    assert out.findings[0].properties == {"commit": ai, "subject": "fix: docs"}
    assert signed not in {f.properties["commit"] for f in out.findings}
    # dco: any accepts someone else's sign-off.
    anyone = check(repo, dco="any")
    assert (anyone.metrics["signed_off_commits"], anyone.metrics["unsigned_off_commits"]) == (3.0, 1.0)
    assert check(repo, ai_assistants=["Ada"]).metrics["ai_assisted_commits"] == 1.0
    assert check(repo, ai_assistants=["Cl"]).metrics["ai_assisted_commits"] == 0.0  # whole words only
    assert check(repo, types=["docs"]).metrics["conventional_commits"] == 1.0
    assert [f.id for f in check(repo, max_findings=1).findings] == [f"dco:{ai[:12]}", f"conventional:{plain[:12]}"]


def test_source_changed_without_tests(repo: Path) -> None:
    commit(repo, {"src/pkg/mod.py": "A = 2\n", "tools/helper.py": "X = 1\n"}, "refactor: no tests")
    out = check(repo)
    assert out.metrics["source_files_changed"] == 2.0
    assert out.metrics["test_files_changed"] == 0.0
    assert out.metrics["tests_touched"] == 0.0
    assert (out.metrics["lines_added"], out.metrics["lines_removed"]) == (2.0, 2.0)
    # A test file matched by name anywhere is a test, not source.
    commit(repo, {"src/pkg/test_mod.py": "def test(): pass\n"}, "test: add")
    assert check(repo).metrics["tests_touched"] == 1.0


def test_no_source_change_makes_tests_touched_not_applicable(repo: Path) -> None:
    commit(repo, {"README.md": "# other\n"}, "docs: words")
    out = check(repo)
    assert "tests_touched" not in out.metrics
    assert out.not_applicable == {"tests_touched": "no source file (src/**, *.py) changed since main"}
    assert out.metrics["files_changed"] == 1.0


def test_no_commits_is_fine(repo: Path) -> None:
    out = check(repo)
    assert out.findings == []
    assert out.metrics["commits"] == 0.0
    assert out.metrics["files_changed"] == 0.0
    assert "tests_touched" in out.not_applicable


def test_the_range_starts_at_the_merge_base_and_merges_are_left_out(repo: Path) -> None:
    commit(repo, {"src/pkg/a.py": "A\n"}, "feat: a\n\nSigned-off-by: t <t@t>")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"src/pkg/b.py": "B\n"}, "main moves on")
    git(repo, "checkout", "-q", "feature")
    out = check(repo)
    assert (out.metrics["commits"], out.metrics["files_changed"], out.findings) == (1.0, 1.0, [])
    git(repo, "merge", "-q", "--no-edit", "main")
    merged = check(repo)
    assert merged.metrics["commits"] == 1.0  # the merge commit is left out; main's commit is past the merge-base
    assert check(repo, merges=True).metrics["commits"] == 2.0


def test_unknown_base_and_non_git_folder_are_errors(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckError, match="base 'origin/main' is not a commit"):
        check(repo, base="origin/main")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(CheckError, match=f"{plain} is not a git working tree"):
        check(plain)
    with pytest.raises(ValueError, match="must name a branch"):
        GitOptions(base="--all")


def test_through_a_policy(repo: Path) -> None:
    commit(repo, {"src/pkg/mod.py": "A = 5\n"}, "feat: no tests")
    (repo / "gatekeeper.yaml").write_text(
        "version: 1\nchecks:\n  git: {uses: git, with: {base: main}}\n"
        "rules:\n  - {id: tests, check: git, require: ['tests_touched >= 1', 'unsigned_off_commits == 0']}\n"
    )
    verdict = evaluate(load_policy(repo / "gatekeeper.yaml", entry_points=False), repo, today=date(2026, 1, 1))
    assert verdict.checks[0].status == "ok", verdict.checks[0].error
    assert verdict.checks[0].inputs == []
    assert verdict.outcome == "fail"
