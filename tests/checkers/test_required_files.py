"""The required-files checker on real folders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.checkers.required_files import RequiredFilesOptions
from gatekeeper.models import CheckResult


def gate(root: Path, with_: str = "{}") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks:\n  files: {{uses: required-files, with: {with_}}}\n"
        "rules:\n  - {id: has-files, check: files, findings: {max: 0}}\n"
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def check_of(verdict: Verdict) -> CheckResult:
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    return check


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_empty_repository_is_a_result_with_every_default_missing(tmp_path: Path) -> None:
    verdict = gate(tmp_path)
    check = check_of(verdict)
    assert [(f.id, f.severity.value) for f in check.findings] == [  # sorted by id (no path)
        ("missing:CODEOWNERS", "medium"),
        ("missing:LICENSE", "medium"),
        ("missing:README*", "medium"),
        ("missing:SECURITY.md", "medium"),
    ]
    assert check.findings[1].message == "missing a licence: add LICENSE (or any of: LICENSE.*, COPYING, COPYING.*)"
    assert check.metrics == {"required": 4.0, "present": 0.0, "missing": 4.0}
    assert check.inputs == []
    assert verdict.outcome == "fail"


def test_complete_repository_passes_and_records_the_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "LICENSE.txt": "Apache\n",
            "README.md": "# demo\n",
            ".github/SECURITY.md": "mail security@example.org\n",
            "docs/CODEOWNERS": "# owners\n* @org/team\n",
        },
    )
    verdict = gate(tmp_path)
    check = check_of(verdict)
    assert check.findings == []
    assert check.metrics == {"required": 4.0, "present": 4.0, "missing": 0.0}
    assert sorted(i.path for i in check.inputs) == [
        ".github/SECURITY.md",
        "LICENSE.txt",
        "README.md",
        "docs/CODEOWNERS",
    ]
    assert all(len(i.sha256) == 64 for i in check.inputs)
    assert verdict.outcome == "pass"


def test_empty_file_and_ownerless_codeowners_do_not_count(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"COPYING": "GPL\n", "README": "  \n", "SECURITY.md": "x\n", "CODEOWNERS": "# @someone in a comment\n*.py\n"},
    )
    check = check_of(gate(tmp_path))
    assert {f.id: f.message for f in check.findings} == {
        "missing:README*": "missing a README (README is empty): add README* (or any of: readme*)",
        "missing:CODEOWNERS": "missing a CODEOWNERS file naming at least one owner (CODEOWNERS does not match "
        "'(?m)^[ \\\\t]*[^#\\\\s]\\\\S*[ \\\\t]+\\\\S*@\\\\S+'): add CODEOWNERS (or any of: .github/CODEOWNERS, "
        "docs/CODEOWNERS)",
    }
    assert check.metrics["present"] == 2
    (tmp_path / "CODEOWNERS").write_text("*.py dev@example.org\n")
    assert [f.id for f in check_of(gate(tmp_path)).findings] == ["missing:README*"]


def test_custom_list_strings_and_objects(tmp_path: Path) -> None:
    write(tmp_path, {"CHANGELOG.md": "## 1.0\n", "pyproject.toml": "[project]\nname = 'x'\n"})
    with_ = (
        "{files: ['CHANGES.md|CHANGELOG.md', {any_of: [pyproject.toml], pattern: 'requires-python'}, "
        "{any_of: [NOTICE], description: the NOTICE file}]}"
    )
    check = check_of(gate(tmp_path, with_))
    assert [(f.id, f.message) for f in check.findings] == [
        ("missing:NOTICE", "missing the NOTICE file: add NOTICE"),
        (
            "missing:pyproject.toml",
            "missing pyproject.toml (pyproject.toml does not match 'requires-python'): add pyproject.toml",
        ),
    ]
    assert check.metrics == {"required": 3.0, "present": 1.0, "missing": 2.0}
    assert [i.path for i in check.inputs] == ["CHANGELOG.md"]


def test_fingerprints_are_stable_and_distinct(tmp_path: Path) -> None:
    first = {f.id: f.fingerprint for f in check_of(gate(tmp_path)).findings}
    write(tmp_path, {"README.md": "hi\n"})
    second = {f.id: f.fingerprint for f in check_of(gate(tmp_path)).findings}
    assert len(set(first.values())) == 4
    assert second == {k: v for k, v in first.items() if k != "missing:README*"}


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (["../LICENSE"], "without '..'"),
        (["/etc/passwd"], "relative to the repository root"),
        ([{"any_of": []}], "at least 1 item"),
        ([{"any_of": ["X"], "pattern": "("}], "not a valid regular expression"),
        ([{"any_of": ["X"], "owner": "me"}], "Extra inputs are not permitted"),
    ],
)
def test_bad_options_are_refused(files: list[object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        RequiredFilesOptions.model_validate({"files": files})


def test_symlink_out_of_the_repository_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "outside").write_text("secret licence\n")
    (root / "LICENSE").symlink_to(tmp_path / "outside")
    verdict = gate(root)
    assert verdict.checks[0].status == "error"
    assert "outside the repository root" in (verdict.checks[0].error or "")
    assert verdict.outcome == "error"


def test_pattern_is_searched_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n## 1.0\n")
    (tmp_path / "gatekeeper.yaml").write_text(
        'version: 1\nchecks: {f: {uses: required-files, with: {files: [{any_of: [CHANGELOG.md], pattern: "^## "}]}}}\n'
        "rules: [{id: r, check: f, findings: {max: 0}}]\n"
    )
    verdict = evaluate(load_policy(tmp_path / "gatekeeper.yaml", entry_points=False), tmp_path, today=date(2026, 1, 1))
    assert verdict.checks[0].metrics["missing"] == 0
