"""``scope: changed`` and ``--changed-since``: the real bandit and semgrep on the files changed in real git repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import PolicyError, Verdict, evaluate, load_policy
from gatekeeper.checkers._scope import changed_files
from gatekeeper.checkers.base import CheckContext
from gatekeeper.models import CheckResult
from gatekeeper.policy import canonical_json
from gatekeeper.testing import GitRepo

EVAL = "def run(code):\n    return eval(code)\n"  # bandit B307, semgrep python-eval-exec (both high)
PICKLE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"  # bandit B301
SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"  # bandit B602, semgrep
CLEAN = "def add(a, b):\n    return a + b\n"


def _policy(root: Path, *, base: str | None = "main", bandit: str = "", semgrep: str | None = "") -> Path:
    """bandit (check ``sast``) and semgrep (``code``, left out with ``semgrep=None``), both ``scope: changed``."""
    scope = "scope: changed" + (f", base: {base}" if base else "")
    lines = [f"  sast: {{uses: bandit, {scope}" + (f", with: {bandit}" if bandit else "") + "}"]
    if semgrep is not None:
        lines.append(f"  code: {{uses: semgrep, {scope}" + (f", with: {semgrep}" if semgrep else "") + "}")
    checks = "[sast, code]" if semgrep is not None else "[sast]"
    text = "version: 1\nchecks:\n" + "\n".join(lines) + "\nrules:\n"
    text += f"  - {{id: no-high, check: {checks}, findings: {{severity: high, max: 0}}}}\n"
    path = root.parent / f"{root.name}-policy.yaml"  # outside the repository: not a changed file itself
    path.write_text(text)
    return path


def _gate(root: Path, policy: Path, changed_since: str | None = None) -> Verdict:
    policy_ = load_policy(policy, entry_points=False)
    return evaluate(policy_, root, today=date(2026, 1, 1), changed_since=changed_since)


def _checks(verdict: Verdict) -> dict[str, CheckResult]:
    return {check.name: check for check in verdict.checks}


def _findings(check: CheckResult) -> set[tuple[str, str | None]]:
    return {(f.id, f.path) for f in check.findings}


@pytest.fixture
def feature(tmp_path: Path) -> GitRepo:
    """main: an old flaw (pickle) and files to rename and delete; branch feature, checked out, changes them."""
    repo = GitRepo(tmp_path / "repo")
    repo.write({"app/old.py": PICKLE, "app/shell.py": SHELL, "app/gone.py": CLEAN, "README.md": "# app\n"})
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_a_changed_file_is_scanned_and_an_unchanged_one_is_not(feature: GitRepo) -> None:
    feature.write({"app/new.py": EVAL}).commit("add new.py")
    checks = _checks(_gate(feature.root, _policy(feature.root)))
    for name, found in (("sast", {("B307", "app/new.py")}), ("code", {("python-eval-exec", "app/new.py")})):
        check = checks[name]
        assert check.status == "ok", check.error
        assert _findings(check) == found  # app/old.py's pickle.loads (B301) is not reported
        assert [i.path for i in check.inputs] == ["app/new.py"]
        assert check.metrics["files_scanned"] == 1
        assert check.metrics["files_changed"] == 1
        assert check.metrics["files_deleted"] == 0
        assert any(n.startswith("scope: files changed since main (merge-base ") for n in check.notes)
        assert check.duration_s > 0


def test_a_renamed_file_is_scanned_under_its_new_name_and_a_deleted_one_is_counted(feature: GitRepo) -> None:
    feature.git("mv", "app/shell.py", "app/commands.py")
    feature.remove("app/gone.py").commit("rename and delete")
    checks = _checks(_gate(feature.root, _policy(feature.root)))
    sast, code = checks["sast"], checks["code"]
    assert sast.status == "ok", sast.error
    assert code.status == "ok", code.error
    assert {path for _, path in _findings(sast)} == {"app/commands.py"}
    assert ("B602", "app/commands.py") in _findings(sast)
    assert {path for _, path in _findings(code)} == {"app/commands.py"}
    for check in (sast, code):
        assert [i.path for i in check.inputs] == ["app/commands.py"]
        assert check.metrics["files_deleted"] == 1
        assert check.metrics["files_changed"] == 1
        assert any("1 renamed" in n and "1 deleted" in n for n in check.notes)


def test_uncommitted_and_untracked_changes_are_in_scope(feature: GitRepo) -> None:
    feature.write({"app/old.py": PICKLE + "\n\n" + EVAL, "app/draft.py": SHELL})  # modified, and never added
    sast = _checks(_gate(feature.root, _policy(feature.root, semgrep=None)))["sast"]
    assert sast.status == "ok", sast.error
    assert {"B301", "B307", "B602"} <= {f.id for f in sast.findings}
    assert {i.path for i in sast.inputs} == {"app/old.py", "app/draft.py"}
    assert any("1 untracked" in n for n in sast.notes)


def test_a_base_that_cannot_be_found_is_an_error_not_an_empty_scan(feature: GitRepo) -> None:
    feature.write({"app/new.py": EVAL}).commit("add new.py")
    verdict = _gate(feature.root, _policy(feature.root, base=None))  # the default base, origin/main: no remote
    assert verdict.outcome == "error"
    for check in verdict.checks:
        assert check.status == "error"
        assert check.error == (
            "base origin/main not found; fetch it (git fetch origin main; fetch-depth: 0 in CI) or set the "
            "check's 'base:' (or --changed-since)"
        )


def test_outside_a_git_repository_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(EVAL)
    verdict = _gate(tmp_path, _policy(tmp_path))
    assert {c.status for c in verdict.checks} == {"error"}
    assert all("is not a git working tree" in (c.error or "") for c in verdict.checks)


def test_no_changed_python_file_is_ok_with_a_note(feature: GitRepo) -> None:
    feature.write({"README.md": "# app\n\nMore words.\n", "docs/notes.txt": "eval(x)\n"}).commit("docs only")
    verdict = _gate(feature.root, _policy(feature.root))
    assert verdict.outcome == "pass"
    for check in verdict.checks:
        assert check.status == "ok", check.error
        assert check.findings == [] and check.inputs == []
        assert check.metrics["files_scanned"] == 0 and check.metrics["files_changed"] == 0
        assert check.notes[-1].startswith("no changed files in scope: nothing ")
        assert check.notes[-1].endswith("changed since main (merge-base " + feature.git("rev-parse", "main")[:12] + ")")


def test_only_a_deleted_python_file_is_ok_and_counted(feature: GitRepo) -> None:
    feature.remove("app/gone.py").commit("delete")
    for check in _gate(feature.root, _policy(feature.root)).checks:
        assert check.status == "ok", check.error
        assert check.inputs == []
        assert check.metrics["files_deleted"] == 1 and check.metrics["files_changed"] == 0
        assert "no changed files in scope" in check.notes[-1] and "1 deleted" in check.notes[-1]


def test_a_changed_file_the_scanner_excludes_is_out_of_scope(feature: GitRepo) -> None:
    feature.write({"vendor/lib.py": EVAL}).commit("vendored code")
    # bandit's -x: "./vendor" (a folder of the root becomes ./vendor/*, matched against ./vendor/lib.py)
    policy = _policy(feature.root, bandit="{exclude: [./vendor]}", semgrep="{exclude: [vendor]}")
    for check in _gate(feature.root, policy).checks:
        assert check.status == "ok", check.error
        assert check.findings == [] and check.inputs == []
        assert "no changed files in scope" in check.notes[-1]


def test_a_change_outside_paths_is_out_of_scope(feature: GitRepo) -> None:
    feature.write({"scripts/tool.py": EVAL, "app/new.py": CLEAN}).commit("script")
    policy = _policy(feature.root, bandit="{paths: [app]}", semgrep="{paths: [app]}")
    for check in _gate(feature.root, policy).checks:
        assert check.status == "ok", check.error
        assert check.findings == []
        assert [i.path for i in check.inputs] == ["app/new.py"]


def test_a_repository_folder_below_the_git_top_and_odd_file_names(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.write({"service/app/a.py": CLEAN, "other/b.py": CLEAN}).commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write({"service/app/we[ir]d *name.py": EVAL, "other/b.py": EVAL, "service/app/a.py": CLEAN + "\n"})
    repo.commit("change")
    root = repo.root / "service"
    checks = _checks(_gate(root, _policy(root)))
    for check in checks.values():
        assert check.status == "ok", check.error
        assert {path for _, path in _findings(check)} == {"app/we[ir]d *name.py"}  # other/ is outside the root
        assert {i.path for i in check.inputs} == {"app/a.py", "app/we[ir]d *name.py"}


def test_changed_since_scopes_every_check_that_supports_it(feature: GitRepo) -> None:
    feature.write({"app/new.py": EVAL}).commit("add new.py")
    policy = feature.root.parent / "plain.yaml"
    policy.write_text(
        """
version: 1
checks:
  sast: {uses: bandit, with: {jobs: 1}}
  files: {uses: required-files, with: {files: [README.md]}}
rules:
  - {id: no-high, check: sast, findings: {severity: high, max: 0}}
  - {id: docs, check: files, findings: {}}
"""
    )
    whole = _checks(_gate(feature.root, policy))
    assert {"B301", "B307", "B602"} <= {f.id for f in whole["sast"].findings}
    scoped = _checks(_gate(feature.root, policy, changed_since="main"))
    assert _findings(scoped["sast"]) == {("B307", "app/new.py")}
    assert scoped["files"].status == "ok"
    assert scoped["files"].notes[-1] == (
        "--changed-since main: checker 'required-files' cannot limit itself to changed files; it was not limited"
    )


def test_changed_since_wins_over_the_checks_own_base(feature: GitRepo) -> None:
    feature.write({"app/new.py": EVAL}).commit("add new.py")
    feature.write({"app/newer.py": SHELL}).commit("add newer.py")
    policy = _policy(feature.root, base="main", semgrep=None)
    checks = _checks(_gate(feature.root, policy, changed_since="HEAD~1"))
    assert {path for _, path in _findings(checks["sast"])} == {"app/newer.py"}


def test_an_ingested_report_keeps_only_the_changed_files_findings(feature: GitRepo) -> None:
    feature.write({"app/new.py": EVAL}).commit("add new.py")
    report = subprocess.run(
        [str(Path(sys.executable).parent / "bandit"), "-r", "-f", "json", "-q", "app"],
        cwd=feature.root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    (feature.root / "bandit.json").write_text(report)
    assert {"app/old.py", "app/new.py"} <= {r["filename"] for r in json.loads(report)["results"]}
    policy = _policy(feature.root, bandit="{report: bandit.json}", semgrep=None)
    sast = _checks(_gate(feature.root, policy))["sast"]
    assert sast.status == "ok", sast.error
    assert {path for _, path in _findings(sast)} == {"app/new.py"}
    assert [i.path for i in sast.inputs] == ["bandit.json"]
    assert sast.metrics["findings"] == 1


def test_changed_since_from_the_command_line(feature: GitRepo, tmp_path: Path) -> None:
    feature.write({"app/new.py": EVAL}).commit("add new.py")
    policy = tmp_path / "cli.yaml"
    policy.write_text(
        """
version: 1
checks:
  sast: {uses: bandit}
rules:
  - {id: no-high, check: sast, findings: {severity: medium, max: 0}}
"""
    )
    out = tmp_path / "verdict.json"
    command = [sys.executable, "-m", "gatekeeper", "run", ".", "--policy", str(policy), "--no-ci-detect"]
    done = subprocess.run(
        [*command, "--changed-since", "main", "--format", f"json={out}"],
        cwd=feature.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the new eval is medium
    sast = json.loads(out.read_text())["checks"][0]
    assert {(f["id"], f["path"]) for f in sast["findings"]} == {("B307", "app/new.py")}
    assert sast["metrics"]["files_changed"] == 1
    missing = subprocess.run(
        [*command, "--changed-since", "release"], cwd=feature.root, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 3
    assert "base release not found; fetch it (git fetch origin release" in missing.stdout


def test_scope_changed_on_a_checker_that_cannot_is_a_policy_error(tmp_path: Path) -> None:
    policy = tmp_path / "gatekeeper.yaml"
    policy.write_text(
        """version: 1
checks:
  tests: {uses: junit, scope: changed, with: {reports: [junit.xml]}}
rules:
  - {id: green, check: tests, findings: {}}
"""
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(policy, entry_points=False)
    assert str(caught.value).endswith(
        "checks.tests.scope: checker 'junit' cannot limit itself to changed files; remove 'scope: changed' "
        "(checkers that can: bandit, semgrep)"
    )
    assert ":3:" in str(caught.value)  # points at the check's line
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "run", ".", "--no-ci-detect"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot limit itself to changed files" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{uses: bandit, base: main}", "'base' only applies with 'scope: changed'"),
        ("{uses: bandit, scope: changed, base: --all}", "must name a branch, tag or commit"),
        ("{uses: bandit, scope: recent}", "Input should be 'all' or 'changed'"),
    ],
)
def test_bad_scope_keys_are_policy_errors(spec: str, message: str, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(f"version: 1\nchecks:\n  sast: {spec}\nrules:\n  - {{id: r, check: sast, findings: {{}}}}\n")
    with pytest.raises(PolicyError, match=r"checks\.sast") as caught:
        load_policy(policy, entry_points=False)
    assert message in str(caught.value)


def test_a_policy_without_scope_keeps_its_digest(tmp_path: Path) -> None:
    """``scope``/``base`` at their defaults are not part of the canonical JSON (digests made before them still hold)."""
    plain = tmp_path / "plain.yaml"
    plain.write_text("version: 1\nchecks:\n  sast: {uses: bandit}\nrules:\n  - {id: r, check: sast, findings: {}}\n")
    text = canonical_json(load_policy(plain, entry_points=False).policy)
    assert '"sast":{"timeout":600.0,"uses":"bandit","with":{}}' in text
    scoped = tmp_path / "scoped.yaml"
    scoped.write_text(plain.read_text().replace("{uses: bandit}", "{uses: bandit, scope: changed, base: dev}"))
    assert '"base":"dev","scope":"changed"' in canonical_json(load_policy(scoped, entry_points=False).policy)


def test_changed_files_reads_renames_copies_deletions_and_untracked_files(feature: GitRepo) -> None:
    feature.git("mv", "app/shell.py", "app/moved.py")
    feature.remove("app/gone.py").write({"app/old.py": PICKLE + "# edited\n"}).commit("change")
    feature.write({"notes/todo.txt": "x\n"})
    change = changed_files(CheckContext(root=feature.root, check="t", timeout=60), "main")
    assert change.merge_base == feature.git("rev-parse", "main")
    assert change.changed == {"app/moved.py", "app/old.py", "notes/todo.txt"}
    assert change.deleted == {"app/gone.py"}
    assert change.renamed == (("app/shell.py", "app/moved.py"),)
    assert change.untracked == {"notes/todo.txt"}
