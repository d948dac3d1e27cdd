"""The diff-coverage checker on real git repositories with hand-written coverage reports."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.models import CheckResult
from git_helpers import commit, git, write

BASE_MOD = "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x * 2\n"
# After the change: h() is new (lines 9-15), with a blank line and a comment inside it.
CHANGED_MOD = (
    "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x * 2\n\n\n"
    "def h(x):\n    if x:\n        return 1\n\n    # negative\n    y = -x\n    return y\n"
)


def coverage_json(root: Path, files: dict[str, tuple[list[int], list[int]]]) -> None:
    """A coverage.py JSON report: file -> (executed lines, missing lines)."""
    report = {
        "meta": {"version": "7.6.1", "format": 3, "branch_coverage": False},
        "files": {name: {"executed_lines": ran, "missing_lines": missed} for name, (ran, missed) in files.items()},
    }
    (root / "coverage.json").write_text(json.dumps(report))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: pkg/mod.py, pkg/old.py, README.md; then a branch 'feature' is checked out."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, {"pkg/__init__.py": "", "pkg/mod.py": BASE_MOD, "pkg/old.py": "X = 1\n", "README.md": "# demo\n"})
    (root / ".gitignore").write_text("coverage.json\ngatekeeper.yaml\n")
    commit(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def gate(
    root: Path, with_: str = "{report: coverage.json, base: main}", require: str = "diff_line_rate >= 0.9"
) -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks:\n  diff: {{uses: diff-coverage, with: {with_}}}\n"
        f"rules:\n  - {{id: new-code-tested, check: diff, require: ['{require}']}}\n"
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def check_of(verdict: Verdict) -> CheckResult:
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    return check


def ranges(check: CheckResult) -> list[tuple[str | None, int | None, str]]:
    return [(f.path, f.line, f.message) for f in check.findings]


def test_covered_and_uncovered_changed_lines(repo: Path) -> None:
    write(repo, {"pkg/mod.py": CHANGED_MOD})
    commit(repo, "add h")
    # The report: 9, 10, 11 ran; 14, 15 did not (12 is blank, 13 a comment: not executable).
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 9, 10, 11], [14, 15]), "pkg/__init__.py": ([], [])})
    verdict = gate(repo)
    check = check_of(verdict)
    assert check.metrics == {"changed_lines": 5.0, "uncovered_changed_lines": 2.0, "diff_line_rate": 0.6}
    assert check.not_applicable == {}
    assert ranges(check) == [("pkg/mod.py", 14, "lines 14-15 changed but not covered")]
    finding = check.findings[0]
    assert (finding.id, finding.severity.value, finding.properties) == (
        "uncovered-change",
        "medium",
        {"end_line": "15", "in_report": "yes"},
    )
    assert [i.path for i in check.inputs] == ["coverage.json"]
    assert verdict.outcome == "fail"
    assert verdict.rules[0].reason == "not met: diff_line_rate >= 0.9 (diff_line_rate=0.6)"

    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 9, 10, 11, 14, 15], [])})
    covered = gate(repo)
    assert check_of(covered).metrics["diff_line_rate"] == 1.0
    assert check_of(covered).findings == []
    assert covered.outcome == "pass"


def test_uncovered_runs_bridge_blank_and_comment_lines_but_not_covered_ones(repo: Path) -> None:
    write(repo, {"pkg/mod.py": CHANGED_MOD})
    commit(repo, "add h")
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 10], [9, 11, 14, 15])})
    check = check_of(gate(repo))
    assert ranges(check) == [
        ("pkg/mod.py", 9, "line 9 changed but not covered"),
        ("pkg/mod.py", 11, "lines 11-15 changed but not covered"),
    ]
    assert check.metrics["uncovered_changed_lines"] == 4


def test_a_changed_file_missing_from_the_report_counts_as_uncovered(repo: Path) -> None:
    write(repo, {"pkg/new.py": "import os\n\n# a comment\nVALUE = os.sep\n\n\ndef k():\n    return VALUE\n"})
    commit(repo, "new module")
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6], [])})
    check = check_of(gate(repo))
    assert check.metrics == {"changed_lines": 4.0, "uncovered_changed_lines": 4.0, "diff_line_rate": 0.0}
    assert ranges(check) == [("pkg/new.py", 1, "lines 1-8 changed but not covered")]
    assert check.findings[0].properties["in_report"] == "no"
    assert (
        "1 changed file(s) are not in the coverage report; their added lines count as uncovered: pkg/new.py"
        in check.notes
    )


def test_deleted_files_are_ignored_and_renamed_files_use_the_new_path(repo: Path) -> None:
    git(repo, "rm", "-q", "pkg/old.py")
    git(repo, "mv", "pkg/mod.py", "pkg/renamed.py")
    write(repo, {"pkg/renamed.py": BASE_MOD.replace("x * 2", "x * 3")})
    commit(repo, "rename, edit and delete")
    git(repo, "config", "diff.renames", "false")  # the checker asks for rename detection itself
    coverage_json(repo, {"pkg/renamed.py": ([1, 2, 5], [6])})
    check = check_of(gate(repo))
    # Only the edited line of the renamed file is changed; the deleted file is no change at all.
    assert check.metrics == {"changed_lines": 1.0, "uncovered_changed_lines": 1.0, "diff_line_rate": 0.0}
    assert ranges(check) == [("pkg/renamed.py", 6, "line 6 changed but not covered")]


def test_files_not_matching_include_are_ignored(repo: Path) -> None:
    write(repo, {"README.md": "# demo\n\nmore words\n", "data/table.csv": "a,b\n1,2\n", "pkg/mod.py": CHANGED_MOD})
    (repo / "pkg" / "blob.py").write_bytes(b"\x00\x01binary\n")  # git shows no lines for a binary file
    commit(repo, "docs, data, a binary and code")
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 9, 10, 11, 14, 15], [])})
    check = check_of(gate(repo))
    assert check.metrics["changed_lines"] == 5
    assert check.findings == []
    only_md = check_of(gate(repo, "{report: coverage.json, base: main, include: ['*.md']}"))
    # Not in the report: its added lines that are not blank count (Markdown has no comment syntax here).
    assert only_md.metrics == {"changed_lines": 1.0, "uncovered_changed_lines": 1.0, "diff_line_rate": 0.0}
    assert ranges(only_md) == [("README.md", 3, "line 3 changed but not covered")]
    excluded = check_of(gate(repo, "{report: coverage.json, base: main, exclude: ['pkg/*']}"))
    assert "diff_line_rate" in excluded.not_applicable


def test_uncommitted_work_counts_and_untracked_files_are_noted(repo: Path) -> None:
    write(repo, {"pkg/mod.py": CHANGED_MOD})  # unstaged
    write(repo, {"pkg/staged.py": "A = 1\n"})
    git(repo, "add", "pkg/staged.py")
    write(repo, {"pkg/scratch.py": "B = 2\n"})  # untracked
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 9, 10, 11, 14, 15], []), "pkg/staged.py": ([1], [])})
    check = check_of(gate(repo))
    assert check.metrics == {"changed_lines": 6.0, "uncovered_changed_lines": 0.0, "diff_line_rate": 1.0}
    assert "1 untracked file(s) are not part of the diff (git add them to count them): pkg/scratch.py" in check.notes


def test_the_diff_starts_at_the_merge_base_not_at_the_tip_of_base(repo: Path) -> None:
    write(repo, {"pkg/mod.py": CHANGED_MOD})
    commit(repo, "feature work")
    git(repo, "checkout", "-q", "main")
    write(repo, {"pkg/old.py": "X = 2\nY = 3\n"})
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 9, 10, 11, 14, 15], []), "pkg/old.py": ([], [1])})
    check = check_of(gate(repo))
    assert check.metrics == {"changed_lines": 5.0, "uncovered_changed_lines": 0.0, "diff_line_rate": 1.0}
    merge_base = git(repo, "merge-base", "main", "HEAD")
    assert f"diff from {merge_base[:12]} (merge-base of main and HEAD) to the working tree, files matching *.py" in (
        check.notes
    )


def test_no_change_makes_diff_line_rate_not_applicable_and_the_rule_passes(repo: Path) -> None:
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6], [])})
    verdict = gate(repo)
    check = check_of(verdict)
    merge_base = git(repo, "rev-parse", "HEAD")
    why = f"no line changed since main (merge-base {merge_base[:12]}) is executable code in files matching *.py"
    assert check.metrics == {"changed_lines": 0.0, "uncovered_changed_lines": 0.0}
    assert check.not_applicable == {"diff_line_rate": why}
    assert f"diff_line_rate not applicable: {why}" in check.notes
    assert verdict.outcome == "pass"
    assert verdict.rules[0].outcome == "pass"
    assert verdict.rules[0].reason == f"not applicable: {why}"
    assert json.loads(verdict.model_dump_json())["checks"][0]["not_applicable"] == {"diff_line_rate": why}


def test_changing_only_comments_is_not_applicable_either(repo: Path) -> None:
    write(repo, {"pkg/mod.py": "# header comment\n\n" + BASE_MOD})
    commit(repo, "comment")
    coverage_json(repo, {"pkg/mod.py": ([3, 4, 7, 8], [])})
    verdict = gate(repo)
    assert "diff_line_rate" in check_of(verdict).not_applicable
    assert verdict.outcome == "pass"


def test_unknown_base_is_an_error(repo: Path) -> None:
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6], [])})
    verdict = gate(repo, "{report: coverage.json}")  # the default base, origin/main, does not exist here
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == (
        "base 'origin/main' is not a commit in this repository (unknown ref); fetch it first "
        "(e.g. git fetch origin main, or fetch-depth: 0 in CI) or set 'base'"
    )
    assert verdict.outcome == "error"


def test_a_base_with_no_common_history_is_an_error(repo: Path) -> None:
    git(repo, "checkout", "-q", "--orphan", "unrelated")
    commit(repo, "unrelated root")
    git(repo, "checkout", "-q", "feature")
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6], [])})
    verdict = gate(repo, "{report: coverage.json, base: unrelated}")
    assert verdict.checks[0].error == (
        "no merge-base of 'unrelated' and HEAD: no common ancestor (a shallow clone? fetch more history)"
    )


def test_not_a_git_repository_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write(root, {"mod.py": "A = 1\n"})
    coverage_json(root, {"mod.py": ([1], [])})
    verdict = gate(root)
    assert verdict.checks[0].status == "error"
    assert (verdict.checks[0].error or "").startswith(f"{root} is not a git working tree (fatal: not a git repository")
    assert verdict.outcome == "error"


def test_options_that_look_like_git_flags_are_refused(repo: Path) -> None:
    (repo / "gatekeeper.yaml").write_text(
        "version: 1\nchecks:\n  diff: {uses: diff-coverage, with: {report: coverage.json, base: --output=x}}\n"
        "rules:\n  - {id: r, check: diff, require: ['diff_line_rate >= 0.9']}\n"
    )
    with pytest.raises(Exception, match="must name a branch, tag or commit"):
        load_policy(repo / "gatekeeper.yaml", entry_points=False)


def test_user_git_configuration_does_not_change_the_diff(repo: Path) -> None:
    write(repo, {"pkg/mod.py": CHANGED_MOD})
    commit(repo, "add h")
    for key, value in (("diff.noprefix", "true"), ("diff.mnemonicPrefix", "true"), ("color.ui", "always")):
        git(repo, "config", key, value)
    git(repo, "config", "diff.external", "false")
    coverage_json(repo, {"pkg/mod.py": ([1, 2, 5, 6, 9, 10, 11], [14, 15])})
    assert check_of(gate(repo)).metrics["diff_line_rate"] == 0.6


def test_a_project_in_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, {"svc/app.py": BASE_MOD, "other/lib.py": "Z = 0\n"})
    commit(root, "base")
    write(root, {"svc/app.py": CHANGED_MOD, "other/lib.py": "Z = 1\n"})
    project = root / "svc"
    coverage_json(project, {"app.py": ([1, 2, 5, 6, 9, 10, 11], [14, 15])})
    check = check_of(gate(project))
    assert check.metrics == {"changed_lines": 5.0, "uncovered_changed_lines": 2.0, "diff_line_rate": 0.6}
    assert ranges(check) == [("app.py", 14, "lines 14-15 changed but not covered")]
    assert os.sep not in (check.findings[0].path or "")
