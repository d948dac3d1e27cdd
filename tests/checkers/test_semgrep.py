"""The semgrep checker: the real semgrep, offline, on fixture repositories and the built-in rule pack."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from gatekeeper import PolicyError, Verdict, evaluate, load_policy
from gatekeeper.checkers.semgrep import SEVERITY
from gatekeeper.policy.resolve import packs_dir

DATA = Path(__file__).parents[1] / "data"
RULES = packs_dir() / "semgrep" / "python.yaml"
RULE_IDS = sorted(rule["id"] for rule in YAML(typ="safe").load(RULES.read_text())["rules"])
SHARED_SEMGREP = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "semgrep"


def _gate(root: Path, with_: str = "{}", jobs: int | None = None) -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"""
version: 1
checks:
  code: {{uses: semgrep, with: {with_}}}
rules:
  - {{id: no-high, check: code, findings: {{severity: high, max: 0}}}}
"""
    )
    policy = load_policy(root / "gatekeeper.yaml", entry_points=False)
    return evaluate(policy, root, jobs=jobs, today=date(2026, 1, 1))


@pytest.fixture(scope="module")
def rule_pack_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """One semgrep run over every rule's positive and negative example: {path: rule ids found}."""
    root = tmp_path_factory.mktemp("rules")
    shutil.copytree(DATA / "semgrep-rules", root, dirs_exist_ok=True)
    for source in root.rglob("*.py.fixture"):
        source.rename(source.with_suffix(""))
    verdict = _gate(root)
    assert verdict.checks[0].status == "ok", verdict.checks[0].error
    found: dict[str, set[str]] = defaultdict(set)
    for finding in verdict.checks[0].findings:
        found[finding.path or ""].add(finding.id)
    return found


def test_every_rule_has_examples_message_severity_and_cwe() -> None:
    rules = YAML(typ="safe").load(RULES.read_text())["rules"]
    assert len(rules) >= 10
    for rule in rules:
        assert (DATA / "semgrep-rules" / rule["id"] / "bad.py.fixture").is_file(), rule["id"]
        assert (DATA / "semgrep-rules" / rule["id"] / "good.py.fixture").is_file(), rule["id"]
        assert rule["message"].strip() and rule["severity"] in SEVERITY
        assert rule["metadata"]["cwe"][0].startswith("CWE-")
    assert sorted(p.name for p in (DATA / "semgrep-rules").iterdir()) == RULE_IDS


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_flags_its_positive_example(rule: str, rule_pack_results: dict[str, set[str]]) -> None:
    assert rule in rule_pack_results[f"{rule}/bad.py"]


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_is_quiet_on_its_negative_examples(rule: str, rule_pack_results: dict[str, set[str]]) -> None:
    negatives = sorted(
        p.name.removesuffix(".fixture") for p in (DATA / "semgrep-rules" / rule).glob("good*.py.fixture")
    )
    assert negatives
    for name in negatives:
        assert rule_pack_results.get(f"{rule}/{name}", set()) == set(), name


def test_flawed_repository_fails(fixture_repo) -> None:
    verdict = _gate(fixture_repo("flawed"))
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    assert check.tool is not None and check.tool.name == "semgrep" and check.tool.version
    ids = {f.id for f in check.findings}
    assert {"python-command-injection", "python-unsafe-deserialization", "python-unsafe-yaml-load"} <= ids
    injection = next(f for f in check.findings if f.id == "python-command-injection")
    assert (injection.path, injection.line, injection.severity.value) == ("app/handlers.py", 9, "high")
    assert injection.properties["cwe"] == "CWE-78"
    assert {i.path for i in check.inputs} == {"app/__init__.py", "app/handlers.py"}
    assert any(n.startswith("rules builtin:python sha256:") for n in check.notes)
    assert verdict.outcome == "fail"


def test_clean_repository_passes(fixture_repo) -> None:
    verdict = _gate(fixture_repo("clean"))
    assert verdict.checks[0].status == "ok", verdict.checks[0].error
    assert verdict.checks[0].findings == []
    assert verdict.outcome == "pass"


def test_tests_folder_is_scanned_not_silently_skipped(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("def test_x(code):\n    eval(code)\n")
    check = _gate(root).checks[0]
    assert "tests/test_x.py" in {i.path for i in check.inputs}
    assert ("python-eval-exec", "tests/test_x.py") in {(f.id, f.path) for f in check.findings}


def test_repository_semgrepignore_is_respected(fixture_repo) -> None:
    root = fixture_repo("flawed")
    (root / ".semgrepignore").write_text("app/handlers.py\n")
    check = _gate(root).checks[0]
    assert check.status == "ok"
    assert check.findings == []
    assert "app/handlers.py" not in {i.path for i in check.inputs}
    assert any("semgrepignore_patterns_match" in n for n in check.notes)


@pytest.mark.parametrize(
    ("with_", "run_jobs", "jobs"),
    [("{}", None, "6"), ("{jobs: 3}", None, "3"), ("{}", 1, "1"), ("{jobs: 3}", 2, "2"), ("{jobs: 3}", 8, "3")],
)
def test_semgrep_runs_with_jobs_from_the_cores_or_the_option_at_most_the_runs(
    with_: str, run_jobs: int | None, jobs: str, fixture_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """semgrep's --jobs: the option, or the cores (6 here), and never more than ``gatekeeper run --jobs``."""
    import gatekeeper.checkers.semgrep as semgrep_checker

    monkeypatch.setattr("os.cpu_count", lambda: 6)

    argvs: list[list[str]] = []
    from gatekeeper.checkers._subprocess import run_tool as real

    def recording(argv: list[str], ctx: Any, **kwargs: Any) -> Any:
        argvs.append(argv)
        return real(argv, ctx, **kwargs)

    monkeypatch.setattr(semgrep_checker, "run_tool", recording)
    check = _gate(fixture_repo("flawed"), with_, jobs=run_jobs).checks[0]
    assert check.status == "ok", check.error
    assert check.findings
    (argv,) = argvs
    assert argv[argv.index("--jobs") + 1] == jobs


def test_file_too_big_to_scan_is_a_gap(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "app" / "generated.py").write_text("x = 1\n" * 250_000)
    verdict = _gate(root)
    assert verdict.checks[0].status == "error"
    assert "semgrep did not fully analyse 1 file(s): app/generated.py (exceeded_size_limit)" in (
        verdict.checks[0].error or ""
    )
    accepted = _gate(root, "{gaps: warn}").checks[0]
    assert accepted.status == "ok"
    assert accepted.metrics["gaps"] == 1


def test_repository_rules_are_used(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "rules.yaml").write_text(
        "rules:\n  - id: no-sha256\n    languages: [python]\n    severity: CRITICAL\n"
        "    message: no sha256 here\n    pattern: hashlib.sha256(...)\n"
    )
    check = _gate(root, "{config: [rules.yaml]}").checks[0]
    assert [(f.id, f.severity.value) for f in check.findings] == [("no-sha256", "critical")]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("p/python", "'p/python' is a registry name; only local rule files are used (semgrep runs offline)"),
        ("https://example.com/rules.yaml", "is a registry name"),
        ("builtin:rust", "no built-in semgrep rules 'rust'; available: python"),
    ],
)
def test_configs_that_need_the_network_or_do_not_exist_are_policy_errors(
    config: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "gatekeeper.yaml").write_text(
        f'version: 1\nchecks: {{code: {{uses: semgrep, with: {{config: ["{config}"]}}}}}}\n'
        "rules: [{id: r, check: code, findings: {max: 0}}]\n"
    )
    with pytest.raises(PolicyError, match=re.escape(message)):
        load_policy(tmp_path / "gatekeeper.yaml", entry_points=False)


def test_a_rule_file_missing_from_the_repository_is_a_check_error(fixture_repo) -> None:
    verdict = _gate(fixture_repo("clean"), '{config: ["missing.yaml"]}')
    assert verdict.checks[0].error == "semgrep config missing.yaml not found in the repository"


def test_a_big_file_no_rule_reads_is_not_a_gap(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "data.xml").write_text("<a>" + "x" * 1_200_000 + "</a>")
    check = _gate(root).checks[0]
    assert check.status == "ok", check.error
    assert check.metrics["gaps"] == 0


def test_ingested_reports_use_the_rule_ids_of_a_run(fixture_repo, tmp_path: Path) -> None:
    root = fixture_repo("flawed")
    ran = {f.id for f in _gate(root).checks[0].findings}
    from gatekeeper.checkers._subprocess import find_tool

    out = subprocess.run(
        [find_tool("semgrep", "semgrep"), "scan", "--metrics=off", "--disable-version-check", "--json",
         "--config", str(RULES), "."], cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    (root / "semgrep.json").write_text(out.stdout)
    ingested = {f.id for f in _gate(root, "{report: semgrep.json}").checks[0].findings}
    assert ingested == ran


def test_broken_rule_file_is_an_error(fixture_repo) -> None:
    root = fixture_repo("clean")
    (root / "rules.yaml").write_text("rules:\n  - id: broken\n    languages: [python]\n    message: m\n")
    verdict = _gate(root, "{config: [rules.yaml]}")
    assert verdict.checks[0].status == "error"
    assert verdict.outcome == "error"


@pytest.mark.parametrize(
    ("report", "results"), [("juice-shop-semgrep-1.154.json", 25), ("keda-semgrep-1.122.json", 39)]
)
def test_real_reports_ingest_and_their_gaps_are_surfaced(report: str, results: int, tmp_path: Path) -> None:
    shutil.copy(DATA / "semgrep" / report, tmp_path / "semgrep.json")
    strict = _gate(tmp_path, "{report: semgrep.json}").checks[0]
    assert strict.status == "error"
    assert "semgrep did not fully analyse" in (strict.error or "")
    lenient = _gate(tmp_path, "{report: semgrep.json, gaps: warn}").checks[0]
    assert lenient.status == "ok", lenient.error
    assert len(lenient.findings) == results
    assert (
        lenient.tool is not None
        and lenient.tool.version == json.loads((tmp_path / "semgrep.json").read_text())["version"]
    )
    assert all(f.properties.get("cwe", "CWE-").startswith("CWE-") for f in lenient.findings)


def test_concatenated_objects_are_a_one_line_error(tmp_path: Path) -> None:
    shutil.copy(DATA / "semgrep" / "lets-be-bad-guys-concatenated-objects.json", tmp_path / "semgrep.json")
    check = _gate(tmp_path, "{report: semgrep.json}").checks[0]
    assert check.status == "error"
    assert check.error == "semgrep.json: not valid JSON at line 41 column 1: Extra data"


def test_shared_corpus_report_without_redistribution_licence(tmp_path: Path) -> None:
    source = SHARED_SEMGREP / "vulnflask-semgrep.json"
    if not source.is_file():
        pytest.skip("../shared/corpus is not beside this checkout")
    shutil.copy(source, tmp_path / "semgrep.json")
    check = _gate(tmp_path, "{report: semgrep.json, gaps: warn}").checks[0]
    assert check.status == "ok"
    assert len(check.findings) == 27


def test_the_default_pack_scans_source_files_whose_paths_hold_an_exclude_name(tmp_path: Path) -> None:
    """semgrep's --exclude is gitignore-style, not a substring: ``dist`` and ``build`` leave ``src/distance.py``
    and ``src/rebuild.py`` scanned, and the folders themselves (at any depth) out, as the bandit check does."""
    from gatekeeper.checkers.bandit import DEFAULT_EXCLUDES as BANDIT_EXCLUDES
    from gatekeeper.checkers.semgrep import DEFAULT_EXCLUDES

    flaw = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
    sources = ["src/distance.py", "src/rebuild.py", "src/builder/x.py", "src/venvs.py"]
    others = ["build/x.py", "dist/x.py", "node_modules/x.py", ".venv/lib/x.py", "pkg/build/x.py"]
    root = tmp_path / "repo"
    for name in [*sources, *others]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(flaw)
    spec = YAML(typ="safe").load((packs_dir() / "default.yaml").read_text())["checks"]["python-patterns"]
    policy = {"version": 1, "checks": {"code": spec}, "rules": [{"id": "r", "check": "code", "findings": {"max": 0}}]}
    (tmp_path / "policy.yaml").write_text(json.dumps(policy))
    check = evaluate(load_policy(tmp_path / "policy.yaml", entry_points=False), root, today=date(2026, 1, 1)).checks[0]
    assert check.status == "ok", check.error
    assert sorted(i.path for i in check.inputs) == sorted(sources)
    assert {f.path for f in check.findings} == set(sources)
    assert set(DEFAULT_EXCLUDES) <= set(BANDIT_EXCLUDES)  # the two checks leave out the same folders
