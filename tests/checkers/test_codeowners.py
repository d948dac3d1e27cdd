"""The codeowners checker on real git repositories."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.models import CheckResult
from git_helpers import commit, git, write

OWNERS = """\
# default owner for everything
*                 @org/core
/docs/            @org/docs
*.md              @writer
/vendor/**
src/generated/    dev@example.org
/src/generated/x.py
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(
        root,
        {
            ".github/CODEOWNERS": OWNERS,
            "README.md": "# demo\n",
            "src/app.py": "x = 1\n",
            "src/generated/x.py": "y = 2\n",
            "src/generated/z.py": "z = 3\n",
            "vendor/lib/a.js": "a\n",
            "docs/guide.txt": "g\n",
            "has space.txt": "s\n",
        },
    )
    (root / ".gitignore").write_text("gatekeeper.yaml\nuntracked/\n")
    commit(root, "base")
    return root


def gate(root: Path, with_: str = "{}") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks:\n  owners: {{uses: codeowners, with: {with_}}}\n"
        "rules:\n  - {id: owned, check: owners, require: ['unowned_files == 0']}\n"
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def check_of(verdict: Verdict) -> CheckResult:
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    return check


def test_last_matching_line_wins_and_ownerless_lines_unown(repo: Path) -> None:
    write(repo, {"untracked/new.py": "n\n"})  # not tracked: not counted
    verdict = gate(repo)
    check = check_of(verdict)
    assert check.metrics == {"files": 9.0, "owned_files": 7.0, "unowned_files": 2.0}
    assert [(f.id, f.severity.value, f.path, f.message) for f in check.findings] == [
        (
            "unowned",
            "low",
            "src/generated/x.py",
            "src/generated/x.py has no code owner: its last matching line in .github/CODEOWNERS "
            "(line 7: /src/generated/x.py) names no owner",
        ),
        (
            "unowned",
            "low",
            "vendor/lib/a.js",
            "vendor/lib/a.js has no code owner: its last matching line in .github/CODEOWNERS "
            "(line 5: /vendor/**) names no owner",
        ),
    ]
    assert [i.path for i in check.inputs] == [".github/CODEOWNERS"]
    assert check.notes == ["checked 9 tracked files against .github/CODEOWNERS"]
    assert verdict.outcome == "fail"
    assert verdict.rules[0].reason == "not met: unowned_files == 0 (unowned_files=2)"


def test_everything_owned_passes(repo: Path) -> None:
    write(repo, {".github/CODEOWNERS": "* @org/core\n"})
    commit(repo)
    verdict = gate(repo)
    assert check_of(verdict).metrics == {"files": 9.0, "owned_files": 9.0, "unowned_files": 0.0}
    assert verdict.outcome == "pass"


def test_no_matching_line_is_unowned(repo: Path) -> None:
    write(repo, {".github/CODEOWNERS": "*.py @py\n"})
    check = check_of(gate(repo))
    assert check.metrics["unowned_files"] == 6
    finding = next(f for f in check.findings if f.path == "has space.txt")
    assert finding.message == "has space.txt has no code owner: no line of .github/CODEOWNERS matches it"


def test_base_limits_to_changed_files(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"vendor/lib/b.js": "b\n", "src/app.py": "x = 2\n"})
    git(repo, "rm", "-q", "vendor/lib/a.js")
    commit(repo, "change")
    write(repo, {"src/generated/x.py": "y = 3\n"})  # a working-tree change counts too
    check = check_of(gate(repo, "{base: main}"))
    assert check.metrics == {"files": 3.0, "owned_files": 1.0, "unowned_files": 2.0}
    assert [f.path for f in check.findings] == ["src/generated/x.py", "vendor/lib/b.js"]
    assert check.notes[0].startswith("checked 3 files changed since main (merge-base ")


def test_unknown_base_is_an_error(repo: Path) -> None:
    verdict = gate(repo, "{base: nope}")
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == (
        "base 'nope' is not a commit in this repository (unknown ref); fetch it first "
        "(e.g. git fetch origin main, or fetch-depth: 0 in CI) or set 'base'"
    )


def test_findings_are_capped_with_a_note(repo: Path) -> None:
    write(repo, {".github/CODEOWNERS": "/nothing @x\n"})
    check = check_of(gate(repo, "{max_findings: 3}"))
    assert len(check.findings) == 3
    assert check.metrics["unowned_files"] == 9
    assert check.notes[1] == "9 unowned files; the first 3 are listed (max_findings)"


def test_codeowners_locations_in_githubs_order(repo: Path) -> None:
    write(repo, {"CODEOWNERS": "* @root\n"})  # .github/CODEOWNERS wins over the root one
    assert check_of(gate(repo)).metrics["unowned_files"] == 2
    (repo / ".github" / "CODEOWNERS").unlink()
    check = check_of(gate(repo))
    assert [i.path for i in check.inputs] == ["CODEOWNERS"]
    assert check.metrics["unowned_files"] == 0
    chosen = check_of(gate(repo, "{file: docs/guide.txt}"))
    assert [i.path for i in chosen.inputs] == ["docs/guide.txt"]
    assert chosen.metrics["unowned_files"] == 9  # its one line, 'g', names no owner and matches no file


def test_no_codeowners_file_is_an_error(repo: Path) -> None:
    (repo / ".github" / "CODEOWNERS").unlink()
    verdict = gate(repo)
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == (
        "no CODEOWNERS file: looked for .github/CODEOWNERS, CODEOWNERS, docs/CODEOWNERS; add one (or set 'file')"
    )
    assert verdict.outcome == "error"


def test_not_a_git_repository_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"CODEOWNERS": "* @x\n", "a.py": "a\n"})
    verdict = gate(tmp_path)
    assert verdict.checks[0].status == "error"
    assert "is not a git repository" in (verdict.checks[0].error or "")


def test_subfolder_of_a_repository_is_an_error(repo: Path) -> None:
    verdict = gate(repo / "src")
    assert verdict.checks[0].status == "error"
    assert "not its top level" in (verdict.checks[0].error or "")


def test_fingerprint_ignores_the_codeowners_line(repo: Path) -> None:
    before = {f.path: f.fingerprint for f in check_of(gate(repo)).findings}
    write(repo, {".github/CODEOWNERS": "# a new comment line\n" + OWNERS})
    after = check_of(gate(repo))
    assert {f.path: f.fingerprint for f in after.findings} == before
    assert "(line 8: /src/generated/x.py)" in after.findings[0].message
