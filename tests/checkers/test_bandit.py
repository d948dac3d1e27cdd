"""The bandit checker, running the real bandit on fixture repositories and reading real reports."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.checkers.bandit import BanditOptions, run
from gatekeeper.checkers.base import CheckContext

DATA = Path(__file__).parents[1] / "data"
SHARED_BANDIT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "bandit"


def _gate(root: Path, with_: str = "{}", extra_rule: str = "") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"""
version: 1
checks:
  sast: {{uses: bandit, with: {with_}}}
rules:
  - {{id: no-high, check: sast, findings: {{severity: high, max: 0}}}}
{extra_rule}
"""
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def test_flawed_repository_fails_with_real_findings(fixture_repo) -> None:
    root = fixture_repo("flawed")
    verdict = _gate(root)
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    assert check.tool is not None and check.tool.name == "bandit"
    assert check.tool.version and check.tool.version[0].isdigit()
    ids = {f.id for f in check.findings}
    assert {"B602", "B301", "B506", "B324", "B307"} <= ids
    shell = next(f for f in check.findings if f.id == "B602")
    assert shell.severity.value == "high"
    assert shell.path == "app/handlers.py" and shell.line == 9
    assert shell.properties["cwe"] == "CWE-78"
    assert shell.properties["confidence"] == "high"
    assert {i.path for i in check.inputs} == {"app/__init__.py", "app/handlers.py"}
    assert check.metrics["files_scanned"] == 2
    assert verdict.outcome == "fail"
    assert "B602" in {f.id for f in verdict.rules[0].findings}


def test_clean_repository_passes(fixture_repo) -> None:
    verdict = _gate(fixture_repo("clean"))
    assert verdict.checks[0].status == "ok"
    assert verdict.checks[0].findings == []
    assert verdict.outcome == "pass"


def test_repository_without_python_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no code here\n")
    verdict = _gate(tmp_path)
    assert verdict.checks[0].status == "error"
    assert "read no input" in (verdict.checks[0].error or "")
    assert verdict.outcome == "error"


def test_unparsable_file_is_an_error_by_default(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "app" / "broken.py").write_text("def broken(:\n")
    verdict = _gate(root)
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == (
        "bandit could not scan 1 file(s): app/broken.py (set unparsed_files: warn to accept the gap)"
    )
    accepted = _gate(root, "{unparsed_files: warn}")
    assert accepted.checks[0].status == "ok"
    assert accepted.checks[0].notes == ["bandit could not scan 1 file(s): app/broken.py"]
    assert accepted.checks[0].metrics["unparsed_files"] == 1


def test_missing_path_is_an_error(fixture_repo) -> None:
    verdict = _gate(fixture_repo("clean"), "{paths: [src]}")
    assert verdict.checks[0].error == "path 'src' does not exist in the repository (bandit 'paths' option)"


def test_path_outside_the_repository_is_refused(fixture_repo) -> None:
    verdict = _gate(fixture_repo("clean"), "{paths: [..]}")
    assert verdict.checks[0].status == "error"
    assert "outside the repository root" in (verdict.checks[0].error or "")


def test_options_floor_and_skip(fixture_repo) -> None:
    root = fixture_repo("flawed")
    only_high = _gate(root, "{severity: high}")
    assert {f.severity.value for f in only_high.checks[0].findings} == {"high"}
    skipped = _gate(root, "{skip: [B602, B324]}")
    assert not {"B602", "B324"} & {f.id for f in skipped.checks[0].findings}
    assert skipped.outcome == "pass"


def test_fingerprints_survive_unrelated_line_shifts(fixture_repo) -> None:
    root = fixture_repo("flawed")
    before = {f.fingerprint: f.line for f in _gate(root).checks[0].findings}
    handlers = root / "app" / "handlers.py"
    handlers.write_text('"""A docstring added on top."""\n\n\n' + handlers.read_text())
    after = {f.fingerprint: f.line for f in _gate(root).checks[0].findings}
    assert set(after) == set(before)
    assert all(after[fp] == line + 3 for fp, line in before.items())
    assert len(set(after)) == len(after), "fingerprints are unique"


def test_bandit_not_installed_names_the_package(fixture_repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    root = fixture_repo("clean")
    with pytest.raises(Exception, match=r"bandit is not installed; install it with `pip install bandit`"):
        run(CheckContext(root=root, check="sast", timeout=30), BanditOptions())


@pytest.mark.parametrize(
    "report", sorted(p.name for p in (DATA / "bandit").glob("*.json") if "MALFORMED" not in p.name)
)
def test_real_bandit_reports_ingest(report: str, tmp_path: Path) -> None:
    shutil.copy(DATA / "bandit" / report, tmp_path / "bandit.json")
    verdict = _gate(tmp_path, "{report: bandit.json}")
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    expected = json.loads((DATA / "bandit" / report).read_text())["results"]
    assert len(check.findings) == len(expected)
    assert [i.path for i in check.inputs] == ["bandit.json"]
    assert all(f.path and not f.path.startswith(("/", "..")) for f in check.findings)
    highs = sum(1 for r in expected if r["issue_severity"] == "HIGH")
    assert verdict.outcome == ("fail" if highs else "pass")


def test_truncated_report_is_a_one_line_error(tmp_path: Path) -> None:
    shutil.copy(DATA / "bandit" / "celery-2021-truncated-MALFORMED.json", tmp_path / "bandit.json")
    verdict = _gate(tmp_path, "{report: bandit.json}")
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == "bandit.json: not valid JSON at line 2476 column 1: Expecting ',' delimiter"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "report bandit.json is empty; an empty report is no evidence"),
        ("[]", "not a bandit JSON report (no 'results' list)"),
        ('{"results": NaN}', "bandit.json: NaN is not valid JSON"),
    ],
)
def test_bad_reports_are_errors(content: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "bandit.json").write_text(content)
    verdict = _gate(tmp_path, "{report: bandit.json}")
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == message


def test_missing_report_is_an_error(tmp_path: Path) -> None:
    verdict = _gate(tmp_path, "{report: reports/bandit.json}")
    assert verdict.checks[0].error == "report reports/bandit.json not found; did the step that writes it run?"


def test_shared_corpus_report_without_redistribution_licence(tmp_path: Path) -> None:
    source = SHARED_BANDIT / "vulnflask-bandit.json"
    if not source.is_file():
        pytest.skip("../shared/corpus is not beside this checkout")
    shutil.copy(source, tmp_path / "bandit.json")
    verdict = _gate(tmp_path, "{report: bandit.json}")
    assert verdict.checks[0].status == "ok"
    assert len(verdict.checks[0].findings) == 6
    assert verdict.outcome == "fail"


def test_baseline_reports_only_new_findings(fixture_repo) -> None:
    root = fixture_repo("flawed")
    first = _gate(root)
    assert first.checks[0].findings
    baseline = root / "bandit-baseline.json"
    import subprocess

    from gatekeeper.checkers._subprocess import find_tool

    subprocess.run(
        [find_tool("bandit", "bandit"), "-r", "app", "-f", "json", "-q", "-o", str(baseline)], cwd=root, check=False
    )
    handlers = root / "app" / "handlers.py"
    handlers.write_text(handlers.read_text() + "\n\ndef later(code):\n    exec(code)\n")
    check = _gate(root, "{paths: [app], baseline: bandit-baseline.json}").checks[0]
    assert check.status == "ok", check.error
    assert [f.id for f in check.findings] == ["B102"]
    assert "bandit-baseline.json" in {i.path for i in check.inputs}
    missing = _gate(root, "{baseline: nope.json}").checks[0]
    assert missing.error == "bandit baseline nope.json not found in the repository"


def test_report_paths_outside_the_repository_are_not_finding_paths(tmp_path: Path) -> None:
    report = {
        "errors": [],
        "results": [
            {"filename": "/elsewhere/app.py", "line_number": 3, "issue_severity": "HIGH", "issue_confidence": "HIGH",
             "issue_text": "x", "test_id": "B602"},
            {"filename": "../up.py", "line_number": 1, "issue_severity": "LOW", "issue_confidence": "LOW",
             "issue_text": "y", "test_id": "B101"},
        ],
    }  # fmt: skip
    (tmp_path / "bandit.json").write_text(json.dumps(report))
    findings = _gate(tmp_path, "{report: bandit.json}").checks[0].findings
    assert [(f.path, f.properties["location"]) for f in findings] == [(None, "../up.py"), (None, "/elsewhere/app.py")]


def test_a_baseline_does_not_count_as_scanned_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no code\n")
    (tmp_path / "baseline.json").write_text('{"errors": [], "results": []}')
    verdict = _gate(tmp_path, "{baseline: baseline.json}")
    assert verdict.checks[0].status == "error"
    assert "read no input" in (verdict.checks[0].error or "")


# --- which files are scanned: gatekeeper chooses them, gitignore-style 'exclude' -------------------

SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
#: Source files whose paths hold an exclude entry as a substring (bandit's own -x skipped them) ...
SOURCES = ["src/distance.py", "src/rebuild.py", "src/builder/x.py", "src/venvs.py", "src/node_modules_x.py"]
#: ... and what the default 'exclude' leaves out, at the root and (a bare name: any depth) below it.
NOT_SOURCES = ["build/x.py", "dist/x.py", "node_modules/x.py", ".venv/lib/x.py", "pkg/build/x.py", "a/__pycache__/x.py"]


def _flawed_tree(root: Path) -> Path:
    for name in [*SOURCES, *NOT_SOURCES]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(SHELL)
    return root


def _default_pack_check(root: Path, check: str, **options: object) -> Verdict:
    """The built-in default pack's check as the pack writes it (``options`` added), on ``root``."""
    from ruamel.yaml import YAML

    from gatekeeper.policy.resolve import packs_dir

    spec = YAML(typ="safe").load((packs_dir() / "default.yaml").read_text())["checks"][check]
    spec["with"] = {**spec.get("with", {}), **options}
    policy = {"version": 1, "checks": {check: spec}, "rules": [{"id": "r", "check": check, "findings": {"max": 0}}]}
    (root.parent / "policy.yaml").write_text(json.dumps(policy))
    return evaluate(load_policy(root.parent / "policy.yaml", entry_points=False), root, today=date(2026, 1, 1))


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_default_excludes_never_skip_a_source_file_by_substring(jobs: int, tmp_path: Path) -> None:
    root = _flawed_tree(tmp_path / "repo")
    check = _default_pack_check(root, "python-security", jobs=jobs, shard_min_files=1).checks[0]
    assert check.status == "ok", check.error
    assert sorted(i.path for i in check.inputs) == sorted(SOURCES)
    assert check.metrics["files_scanned"] == len(SOURCES)
    assert {f.path for f in check.findings if f.id == "B602"} == set(SOURCES)


def test_an_anchored_exclude_leaves_out_the_roots_folder_only(tmp_path: Path) -> None:
    root = _flawed_tree(tmp_path / "repo")
    verdict = _gate(root, "{exclude: [/build, ./dist, node_modules, .venv/, __pycache__]}")
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    assert sorted(i.path for i in check.inputs) == sorted([*SOURCES, "pkg/build/x.py"])


def test_negation_and_globs_work_as_in_gitignore(tmp_path: Path) -> None:
    root = _flawed_tree(tmp_path / "repo")
    (root / "src/api_pb2.py").write_text(SHELL)
    check = _gate(root, "{exclude: ['*_pb2.py', 'src/*', '!src/distance.py', build, dist, node_modules, .venv, "
                        "__pycache__]}").checks[0]  # fmt: skip
    assert check.status == "ok", check.error
    assert sorted(i.path for i in check.inputs) == ["src/distance.py"]


def test_the_cache_key_hashes_exactly_the_files_scanned(tmp_path: Path) -> None:
    from gatekeeper.checkers._cache_keys import bandit_inputs

    root = _flawed_tree(tmp_path / "repo")
    ctx = CheckContext(root=root, check="t", timeout=60)
    keys = bandit_inputs(ctx, BanditOptions())
    assert keys is not None and sorted(map(str, keys.files)) == sorted(SOURCES)
    assert run(ctx, BanditOptions()).metrics["files_scanned"] == len(SOURCES)


def test_a_changed_file_in_an_excluded_folder_is_out_of_scope(tmp_path: Path) -> None:
    from gatekeeper.checkers.bandit import _walk

    root = _flawed_tree(tmp_path / "repo")
    tree = _walk(CheckContext(root=root, check="t", timeout=60), BanditOptions(paths=["src", "pkg"]))
    assert tree.files == sorted(SOURCES)
    assert tree.would_scan("src/deleted.py") and tree.would_scan("src/dist_utils.py")
    assert not tree.would_scan("pkg/build/gone.py") and not tree.would_scan("src/notes.txt")
    assert not tree.would_scan("tools/x.py")  # not under 'paths'


def test_a_file_bandit_leaves_out_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file named to bandit must come back in its report (a configuration of its own may drop some)."""
    import gatekeeper.checkers.bandit as bandit_checker

    root = _flawed_tree(tmp_path / "repo")
    real = bandit_checker.run_tool

    def dropping(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        result = real(argv, *args, **kwargs)
        if "--version" in argv:
            return result
        data = json.loads(result.stdout)
        data["metrics"].pop("./src/distance.py")
        data["results"] = [r for r in data["results"] if r["filename"] != "./src/distance.py"]
        return dataclasses.replace(result, stdout=json.dumps(data))

    monkeypatch.setattr(bandit_checker, "run_tool", dropping)
    check = _gate(root).checks[0]
    assert check.status == "error"
    assert check.error is not None and check.error.startswith(
        "bandit left out 1 of the files it was given: src/distance.py"
    )


def test_an_invalid_exclude_pattern_is_a_policy_error() -> None:
    with pytest.raises(ValueError, match="not a valid gitignore-style pattern"):
        BanditOptions(exclude=["build", "!"])
