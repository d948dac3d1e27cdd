"""The SARIF checker: every real SARIF file in the corpus ingests or fails with one line naming it."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy

DATA = Path(__file__).parents[1] / "data" / "sarif"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "sarif"

# file -> (status, number of findings or the error's text)
EXPECTED: dict[str, tuple[str, int | str]] = {
    "bandit-1.9.3-sarif-formatter.sarif": ("ok", 1),
    "bandit-sarif-empty-results.sarif": ("ok", 0),
    "clang-analyzer-converted.sarif": ("ok", 4),
    "clang-tidy-converted.sarif": ("ok", 6),
    "codeql-empty-results.sarif": ("ok", 0),
    "codeql-lgtm-valid.sarif": ("ok", 3),
    "codeql-no-schema-no-version.sarif": ("ok", 1),
    "eslint-8.56-formatter-sarif.sarif": ("ok", 0),
    "invalid-empty-stack-object.sarif": ("ok", 1),
    "invalid-helpuri-not-uri.sarif": ("ok", 1),
    "invalid-results-is-number.sarif": ("error", "report.sarif: run 1 (LGTM.com) has 'results' that is not a list"),
    "invalid-uribaseids.sarif": ("ok", 1),
    "malformed-binskim-trailing-comma.sarif": (
        "error",
        "report.sarif: not valid JSON at line 1061 column 13: Expecting property name enclosed in double quotes",
    ),
    "malformed-json-syntax-error.sarif": (
        "error",
        "report.sarif: not valid JSON at line 3 column 3: Expecting property name enclosed in double quotes",
    ),
    "msbuild-converted.sarif": ("ok", 5),
    "multi-run-tool-names-null.sarif": (
        "error",
        "report.sarif: run 1 (CodeQL command-line toolchain) has no results array (the tool reported no results)",
    ),
    "nessus-converted.sarif": ("ok", 2),
    "old-sarif-1.0-comprehensive.sarif": (
        "error",
        "report.sarif: SARIF version '1.0.0' is not supported; only 2.1.0 logs are read",
    ),
    "old-schema-uri-rtm4.sarif": ("ok", 0),
    "semgrep-oss-1.66-empty.sarif": ("ok", 0),
    "semgrep-oss-pygoat-1mb.sarif": ("ok", 46),
    "semmle-ql-converted.sarif": ("ok", 80),
    "spec-example-comprehensive.sarif": (
        "error",
        "report.sarif: SARIF version '2.0.0' is not supported; only 2.1.0 logs are read",
    ),
    "spec-example-inline-external-properties.sarif": (
        "error",
        "report.sarif: SARIF version '2.0.0-csd.2.beta.2019-02-20' is not supported; only 2.1.0 logs are read",
    ),
    "spec-example-minimal.sarif": (
        "error",
        "report.sarif: SARIF version '2.0.0' is not supported; only 2.1.0 logs are read",
    ),
    "threadflow-locations.sarif": ("ok", 1),
    "tslint-converted.sarif": ("ok", 25),
}


def _gate(root: Path, with_: str = "{reports: [report.sarif]}") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks: {{s: {{uses: sarif, with: {with_}}}}}\n"
        "rules: [{id: r, check: s, findings: {severity: high, max: 0}}]\n"
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def _source(name: str) -> Path:
    for folder in (DATA, SHARED):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is only in ../shared/corpus, which is not beside this checkout")


def test_expectations_cover_every_corpus_file() -> None:
    local = {p.name for p in DATA.glob("*.sarif")}
    assert local <= set(EXPECTED)
    if not SHARED.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout; only the copied files were checked")
    assert local | {p.name for p in SHARED.glob("*.sarif")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_ingests_or_fails_with_one_line(name: str, tmp_path: Path) -> None:
    shutil.copy(_source(name), tmp_path / "report.sarif")
    check = _gate(tmp_path).checks[0]
    status, expected = EXPECTED[name]
    assert check.status == status, check.error
    if status == "ok":
        assert len(check.findings) == expected
        assert [i.path for i in check.inputs] == ["report.sarif"]
        assert all(f.path is None or not f.path.startswith(("/", "../")) for f in check.findings)
    else:
        assert check.error == expected
        assert "\n" not in expected


def _log(results: list[dict], rules: list[dict] | None = None, **run: object) -> str:
    driver = {"name": "Scanner", "version": "3.1", "rules": rules or []}
    return json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results, **run}]})


def _result(**fields: object) -> dict:
    base = {"ruleId": "R1", "message": {"text": "m"}, "locations": [
        {"physicalLocation": {"artifactLocation": {"uri": "src/a.py"}, "region": {"startLine": 3, "startColumn": 5}}}
    ]}  # fmt: skip
    return {**base, **fields}


@pytest.mark.parametrize(
    ("result_fields", "rule", "severity"),
    [
        ({"level": "error"}, {}, "high"),
        ({"level": "warning"}, {}, "medium"),
        ({"level": "note"}, {}, "low"),
        ({"level": "none"}, {}, "info"),
        ({}, {}, "medium"),  # SARIF's default level is warning
        ({}, {"defaultConfiguration": {"level": "error"}}, "high"),
        ({"level": "note"}, {"properties": {"security-severity": "9.8"}}, "critical"),
        ({}, {"properties": {"security-severity": "7.0"}}, "high"),
        ({}, {"properties": {"security-severity": "4.2"}}, "medium"),
        ({}, {"properties": {"security-severity": "0.1"}}, "low"),
        ({"properties": {"security-severity": "8.1"}}, {}, "high"),
        ({"kind": "informational", "level": "error"}, {}, "info"),
    ],
)
def test_severity_mapping(result_fields: dict, rule: dict, severity: str, tmp_path: Path) -> None:
    (tmp_path / "report.sarif").write_text(_log([_result(**result_fields)], [{"id": "R1", **rule}]))
    (finding,) = _gate(tmp_path).checks[0].findings
    assert finding.severity.value == severity


def test_location_message_cwe_and_fingerprint(tmp_path: Path) -> None:
    rule = {
        "id": "R1", "helpUri": "https://example.com/R1", "properties": {"tags": ["security", "external/cwe/cwe-079"]},
        "messageStrings": {"default": {"text": "Value {0} flows to {1}."}},
    }  # fmt: skip
    result = _result(
        message={"id": "default", "arguments": ["x", "sink"]},
        partialFingerprints={"primaryLocationLineHash": "abc:1"},
    )
    (tmp_path / "report.sarif").write_text(_log([result], [rule]))
    (finding,) = _gate(tmp_path).checks[0].findings
    assert (finding.id, finding.path, finding.line, finding.column) == ("R1", "src/a.py", 3, 5)
    assert finding.message == "Value x flows to sink."
    assert finding.properties == {"tool": "Scanner", "cwe": "CWE-79", "url": "https://example.com/R1"}
    moved = _result(
        message={"id": "default", "arguments": ["x", "sink"]},
        partialFingerprints={"primaryLocationLineHash": "abc:1"},
        locations=[{"physicalLocation": {"artifactLocation": {"uri": "src/a.py"}, "region": {"startLine": 40}}}],
    )
    (tmp_path / "report.sarif").write_text(_log([moved], [rule]))
    assert _gate(tmp_path).checks[0].findings[0].fingerprint == finding.fingerprint


def test_uri_base_ids_and_artifact_indexes_resolve_into_the_repository(tmp_path: Path) -> None:
    results = [
        _result(locations=[{"physicalLocation": {"artifactLocation": {"uri": "a.py", "uriBaseId": "SRC"}}}]),
        _result(locations=[{"physicalLocation": {"artifactLocation": {"index": 0}}}]),
        _result(locations=[{"physicalLocation": {"artifactLocation": {"uri": "file://" + str(tmp_path / "b.py")}}}]),
    ]
    run = {
        "originalUriBaseIds": {"SRC": {"uri": (tmp_path / "src").as_uri() + "/"}},
        "artifacts": [{"location": {"uri": "lib/c.py"}}],
    }
    (tmp_path / "report.sarif").write_text(_log(results, **run))
    assert sorted(str(f.path) for f in _gate(tmp_path).checks[0].findings) == ["b.py", "lib/c.py", "src/a.py"]


@pytest.mark.parametrize("uri", ["../outside.py", "file:///etc/passwd", "https://example.com/x.py"])
def test_paths_outside_the_repository_never_become_finding_paths(uri: str, tmp_path: Path) -> None:
    result = _result(locations=[{"physicalLocation": {"artifactLocation": {"uri": uri}}}])
    (tmp_path / "report.sarif").write_text(_log([result]))
    (finding,) = _gate(tmp_path).checks[0].findings
    assert finding.path is None
    assert finding.properties["location"] == uri


def test_pass_results_are_not_findings_and_suppressed_ones_are_counted(tmp_path: Path) -> None:
    results = [_result(kind="pass"), _result(suppressions=[{"kind": "inSource"}]), _result(level="error")]
    (tmp_path / "report.sarif").write_text(_log(results))
    check = _gate(tmp_path).checks[0]
    assert len(check.findings) == 1
    assert check.metrics["suppressed"] == 1 and check.metrics["results"] == 2
    assert check.notes == ["1 result(s) suppressed by the producing tool were left out"]
    kept = _gate(tmp_path, "{reports: [report.sarif], suppressed: include}").checks[0]
    assert len(kept.findings) == 2


def test_several_reports_and_a_tool_filter(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.sarif").write_text(_log([_result(level="error")]))
    other = json.loads(_log([_result(level="error"), _result(level="error")]))
    other["runs"][0]["tool"]["driver"]["name"] = "Other"
    (tmp_path / "reports" / "b.sarif").write_text(json.dumps(other))
    both = _gate(tmp_path, '{reports: ["reports/*.sarif"]}').checks[0]
    assert len(both.findings) == 3 and both.tool is not None and both.tool.name == "sarif"
    only = _gate(tmp_path, '{reports: ["reports/*.sarif"], tools: [Other]}').checks[0]
    assert len(only.findings) == 2 and only.tool is not None and only.tool.name == "Other"
    missing = _gate(tmp_path, '{reports: ["reports/*.sarif"], tools: [CodeQL]}').checks[0]
    assert missing.error == "no run of CodeQL in reports/a.sarif, reports/b.sarif"


def test_report_glob_matching_nothing_is_an_error(tmp_path: Path) -> None:
    check = _gate(tmp_path, '{reports: ["out/*.sarif"]}').checks[0]
    assert check.error == "report 'out/*.sarif' matches no file; did the step that writes it run?"


def test_bandit_and_semgrep_read_their_own_sarif(tmp_path: Path) -> None:
    shutil.copy(DATA / "semgrep-oss-1.66-empty.sarif", tmp_path / "semgrep.sarif")
    (tmp_path / "gatekeeper.yaml").write_text(
        "version: 1\nchecks: {code: {uses: semgrep, with: {report: semgrep.sarif}}}\n"
        "rules: [{id: r, check: code, findings: {severity: high, max: 0}}]\n"
    )
    check = evaluate(load_policy(tmp_path / "gatekeeper.yaml", entry_points=False), tmp_path).checks[0]
    assert check.status == "ok" and check.tool is not None
    assert (check.tool.name, check.tool.version) == ("semgrep", "1.66.2")


def test_a_log_without_runs_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "report.sarif").write_text('{"version": "2.1.0", "runs": []}')
    assert _gate(tmp_path).checks[0].error == "report.sarif: the SARIF log has no runs: no tool reported anything"


@pytest.mark.parametrize(("status", "kept"), [(None, 0), ("accepted", 0), ("underReview", 1), ("rejected", 1)])
def test_only_accepted_suppressions_suppress(status: str | None, kept: int, tmp_path: Path) -> None:
    suppression = {"kind": "inSource", **({"status": status} if status else {})}
    (tmp_path / "report.sarif").write_text(_log([_result(level="error", suppressions=[suppression])]))
    assert len(_gate(tmp_path).checks[0].findings) == kept


def test_a_file_matched_by_two_globs_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "report.sarif").write_text(_log([_result(level="error")]))
    check = _gate(tmp_path, '{reports: ["report.sarif", "*.sarif"]}').checks[0]
    assert len(check.findings) == 1 and check.metrics["reports"] == 1
