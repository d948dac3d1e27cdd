"""The coverage checker over every report in the corpus, path mapping, and reports that are no evidence."""

from __future__ import annotations

import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.checkers._coverage_report import load_coverage
from gatekeeper.checkers.base import CheckContext
from gatekeeper.models import CheckResult

DATA = Path(__file__).parents[1] / "data" / "coverage"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "coverage"
SHARED_ONLY = {"coveragepy-json-7.13-start-line.json"}  # no licence: read from ../shared, never copied

# file -> (lines_valid, lines_covered, files, branches_valid, branches_covered) counted from the
# report's line entries (None: no branch data), or the one-line error the check gives.
EXPECTED: dict[str, tuple[int, int, int, int | None, int | None] | str] = {
    "cobertura-altcover.xml": (174, 116, 13, 10, 7),
    "cobertura-coveragepy-conditions.xml": (6, 5, 1, 9, 4),
    "cobertura-coveragepy-gold-branch.xml": (5, 4, 1, 2, 1),
    "cobertura-coveragepy-gold-lines.xml": (3, 2, 1, None, None),
    "cobertura-coverlet-dotnet.xml": (255, 156, 18, 14, 9),
    "cobertura-cppcoverage-minimal.xml": (2, 0, 1, None, None),
    "cobertura-dotnet-test-mscodecoverage.xml": (221, 158, 18, 18, 15),
    "cobertura-empty-lines-element.xml": (
        "cobertura-empty-lines-element.xml: no measurable lines in its 1 file(s); an empty measurement is no evidence"
    ),
    "cobertura-istanbul-large.xml": (11340, 1452, 156, None, None),
    "cobertura-java-2.1.1.xml": (36, 24, 7, 4, 1),
    "cobertura-java-multisource.xml": (36, 24, 7, 4, 1),
    "cobertura-line-number-zero.xml": (
        "cobertura-line-number-zero.xml: no measurable lines in its 1 file(s), 2 entries numbered below 1 ignored; "
        "an empty measurement is no evidence"
    ),
    "cobertura-swift-nonstandard.xml": (2, 1, 1, None, None),
    "coveragepy-json-7.12-format3.json": (3104, 3039, 32, None, None),
    "coveragepy-json-7.13-start-line.json": (10459, 8643, 50, None, None),
    "coveragepy-json-7.3.2-noformat.json": (778, 455, 11, None, None),
    "lcov-coverlet-csharp.info": (184, 118, 15, 8, 5),
    "lcov-empty.lcov": "report lcov-empty.lcov is empty; an empty report is no evidence",
    "lcov-gcov-cpp.info": (19, 17, 3, None, None),
    "lcov-nyc-uint64-overflow.lcov": (17, 16, 3, 8, 7),
    "lcov-reportgenerator-brda-dash.info": (108, 75, 5, 8, 4),
    "malformed-cobertura-scoverage-oneline.xml": (
        "malformed-cobertura-scoverage-oneline.xml: not well-formed XML at line 1: "
        "Opening and ending tag mismatch: class line 1 and methods"
    ),
    "malformed-cobertura-whitespace-only.xml": (
        "report malformed-cobertura-whitespace-only.xml is empty; an empty report is no evidence"
    ),
    "notcobertura-jacoco-0.8.3.xml": (
        "notcobertura-jacoco-0.8.3.xml: a JaCoCo XML report, not Cobertura; convert it to Cobertura or LCOV "
        "(e.g. with ReportGenerator) and give that"
    ),
}

# Notes for files whose summary figures disagree with their line entries (or that carry none).
EXPECTED_NOTES = {
    "cobertura-altcover.xml": [
        "the report's summary says line rate 0.664835; its line entries say 0.6667 (116 of 174), which is what counts"
    ],
    "cobertura-cppcoverage-minimal.xml": [
        "the report's summary says line rate 0.120511; its line entries say 0.0000 (0 of 2), which is what counts"
    ],
    "cobertura-dotnet-test-mscodecoverage.xml": [
        "the report's summary says 163 of 235 lines covered; its line entries say 158 of 221, which is what counts"
    ],
    "cobertura-istanbul-large.xml": [
        "the report's summary counts 2949 branch(es), but no line entry has branch data; branch metrics are left out"
    ],
    "cobertura-swift-nonstandard.xml": [
        "the report's summary counts 1 branch(es), but no line entry has branch data; branch metrics are left out"
    ],
    "coveragepy-json-7.12-format3.json": [
        "the report's summary says 2962 of 3027 lines covered; its line entries say 3039 of 3104, which is what counts"
    ],
    "coveragepy-json-7.3.2-noformat.json": [
        "the report's summary says 440 of 763 lines covered; its line entries say 455 of 778, which is what counts"
    ],
    "lcov-coverlet-csharp.info": [
        "the report's summary says 124 of 199 lines covered; its line entries say 118 of 184, which is what counts"
    ],
}


def corpus_file(name: str) -> Path:
    path = (SHARED if name in SHARED_ONLY else DATA) / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (not redistributable; read from ../shared/corpus)")
    return path


def report_names(report: Path) -> list[str]:
    """The file names a report uses, read with a regex/JSON, independently of the checker."""
    text = report.read_text(encoding="utf-8-sig")
    if report.suffix == ".json":
        return list(json.loads(text)["files"])
    if report.suffix == ".xml":
        return [html.unescape(n) for n in re.findall(r'filename="([^"]*)"', text)]
    return [line[3:].strip() for line in text.splitlines() if line.startswith("SF:")]


def materialise(root: Path, report: Path, names: list[str] | None = None) -> list[str]:
    """Create an empty file for each name the report uses (drive letters and leading '/' dropped)."""
    created = []
    for name in report_names(report) if names is None else names:
        relative = re.sub(r"^[A-Za-z]:", "", name.replace("\\", "/")).lstrip("/")
        if relative and ".." not in relative.split("/"):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).touch()
            created.append(relative)
    return created


def oracle(report: Path) -> tuple[int, int, int]:
    """(files with lines, distinct lines, covered lines) from a whole-document parse of the report."""
    per_file: dict[str, dict[int, int]] = {}
    if report.suffix == ".json":
        for name, entry in json.loads(report.read_text())["files"].items():
            lines = per_file.setdefault(name, {})
            lines.update(dict.fromkeys(entry["missing_lines"], 0))
            lines.update(dict.fromkeys(entry["executed_lines"], 1))
    elif report.suffix == ".xml":
        for cls in ET.fromstring(report.read_bytes()).iter("class"):
            own = cls.find("lines")
            entries = own.findall("line") if own is not None else cls.findall("methods/method/lines/line")
            lines = per_file.setdefault(cls.get("filename", ""), {})
            for entry in entries:
                number, hits = int(entry.get("number", "0")), int(entry.get("hits", "0"))
                if number >= 1:
                    lines[number] = max(hits, lines.get(number, 0))
    else:
        name = ""
        for text in report.read_text().splitlines():
            if text.startswith("SF:"):
                name = text[3:]
            elif text.startswith("DA:"):
                number, hits = (int(x) for x in text[3:].split(",")[:2])
                lines = per_file.setdefault(name, {})
                lines[number] = max(hits, lines.get(number, 0))
    measured = [lines for lines in per_file.values() if lines]
    return len(measured), sum(map(len, measured)), sum(1 for lines in measured for h in lines.values() if h > 0)


def _gate(root: Path, with_: str, rule: str = "{id: cov, check: cov, require: ['lines_valid >= 1']}") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks:\n  cov: {{uses: coverage, with: {with_}}}\nrules:\n  - {rule}\n"
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def _check(root: Path, with_: str) -> CheckResult:
    return _gate(root, with_).checks[0]


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in DATA.iterdir()) == sorted(set(EXPECTED) - SHARED_ONLY)
    if not SHARED.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout; only the copied files were checked")
    assert sorted(p.name for p in SHARED.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_report(name: str, tmp_path: Path) -> None:
    source = corpus_file(name)
    shutil.copyfile(source, tmp_path / name)
    expected = EXPECTED[name]
    if isinstance(expected, str):
        check = _check(tmp_path, f"{{report: {name}}}")
        assert check.status == "error"
        assert check.error == expected
        assert "\n" not in expected
        return
    materialise(tmp_path, source)
    check = _check(tmp_path, f"{{report: {name}}}")
    assert check.status == "ok", check.error
    lines_valid, lines_covered, files, branches_valid, branches_covered = expected
    assert oracle(source) == (files, lines_valid, lines_covered)
    metrics = check.metrics
    assert (metrics["lines_valid"], metrics["lines_covered"], metrics["files"]) == (lines_valid, lines_covered, files)
    assert metrics["line_rate"] == pytest.approx(lines_covered / lines_valid)
    assert 0.0 <= metrics["min_file_line_rate"] <= metrics["line_rate"] <= 1.0
    if branches_valid is None:
        assert not {"branch_rate", "branches_valid", "branches_covered"} & set(metrics)
    else:
        assert (metrics["branches_valid"], metrics["branches_covered"]) == (branches_valid, branches_covered)
        assert metrics["branch_rate"] == pytest.approx(branches_covered / branches_valid)
    assert "files_below_threshold" not in metrics
    assert check.notes == EXPECTED_NOTES.get(name, [])
    assert [i.path for i in check.inputs] == [name]
    assert check.findings == []


def test_coveragepy_gold_files_exactly(tmp_path: Path) -> None:
    for name in ("cobertura-coveragepy-gold-lines.xml", "cobertura-coveragepy-gold-branch.xml"):
        shutil.copyfile(DATA / name, tmp_path / name)
    (tmp_path / "a.py").touch()
    (tmp_path / "y.py").touch()
    lines = _check(tmp_path, "{report: cobertura-coveragepy-gold-lines.xml}")
    assert lines.metrics == {
        "line_rate": 2 / 3,
        "lines_valid": 3.0,
        "lines_covered": 2.0,
        "files": 1.0,
        "min_file_line_rate": 2 / 3,
    }
    assert lines.tool is not None and (lines.tool.name, lines.tool.version) == ("cobertura", "5.0a2")
    branch = _check(tmp_path, "{report: cobertura-coveragepy-gold-branch.xml}")
    assert branch.metrics == {
        "line_rate": 0.8,
        "lines_valid": 5.0,
        "lines_covered": 4.0,
        "files": 1.0,
        "min_file_line_rate": 0.8,
        "branch_rate": 0.5,
        "branches_valid": 2.0,
        "branches_covered": 1.0,
    }


def test_file_threshold_makes_findings_and_a_rule_fails_on_them(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "lcov-gcov-cpp.info", tmp_path / "lcov.info")
    materialise(tmp_path, tmp_path / "lcov.info")  # temp/calculator.cpp, temp/main.cpp, temp/sub/calculator.cpp
    rule = "{id: per-file, check: cov, findings: {severity: medium, max: 0}}"
    verdict = _gate(tmp_path, "{report: lcov.info, file_threshold: 0.9}", rule)
    check = verdict.checks[0]
    assert check.metrics["files_below_threshold"] == 1
    assert check.metrics["min_file_line_rate"] == 9 / 11
    [finding] = check.findings
    assert (finding.id, finding.severity.value, finding.path, finding.line) == (
        "file-below-threshold",
        "medium",
        "temp/main.cpp",
        None,
    )
    assert finding.message == "temp/main.cpp: line rate 0.8182 (9 of 11 lines) is below file_threshold 0.9"
    assert verdict.outcome == "fail"
    assert _gate(tmp_path, "{report: lcov.info, file_threshold: 0.8}", rule).outcome == "pass"


def test_requirements_on_rates(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "cobertura-coveragepy-gold-lines.xml", tmp_path / "coverage.xml")
    (tmp_path / "a.py").touch()
    failing = _gate(tmp_path, "{report: coverage.xml}", "{id: cov, check: cov, require: ['line_rate >= 0.7']}")
    assert failing.outcome == "fail"
    assert failing.rules[0].reason == "not met: line_rate >= 0.7 (line_rate=0.6666666666666666)"
    assert _gate(tmp_path, "{report: coverage.xml}", "{id: c, check: cov, require: ['line_rate >= 0.66']}").passed
    # No branch data: a branch requirement cannot be decided, so the rule errors rather than passing.
    branch = _gate(tmp_path, "{report: coverage.xml}", "{id: c, check: cov, require: ['branch_rate >= 0.5']}")
    assert branch.outcome == "error"
    assert branch.rules[0].reason.startswith("cannot evaluate 'branch_rate >= 0.5': no check reported metric")


def test_report_mapping_to_nothing_is_an_error_not_a_rate(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "cobertura-coveragepy-gold-lines.xml", tmp_path / "coverage.xml")
    check = _check(tmp_path, "{report: coverage.xml}")
    assert check.status == "error"
    assert check.error == (
        "coverage.xml: each of its 1 file(s) maps to no file in the repository; was it made from another "
        "checkout? (report paths: a.py)"
    )
    assert check.metrics == {}


def test_unmapped_files_are_counted_and_listed(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "lcov-gcov-cpp.info", tmp_path / "lcov.info")
    (tmp_path / "main.cpp").touch()
    check = _check(tmp_path, "{report: lcov.info}")
    assert check.status == "ok"
    assert check.metrics["lines_valid"] == 19 and check.metrics["files"] == 3
    assert check.notes == [
        "2 of 3 file(s) in the report map to no file in the repository (counted as reported): "
        "C:/temp/calculator.cpp, C:/temp/sub/calculator.cpp"
    ]


def test_paths_map_through_sources_the_root_and_stripped_prefixes(tmp_path: Path) -> None:
    for rel in ("pkg/mod.py", "mod.py", "src/branchy.py", "sub/calculator.cpp", "calculator.cpp", "main.cpp"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    ctx = CheckContext(root=tmp_path, check="cov", timeout=30)
    # <source> joined with the filename wins over the bare filename; an absolute source under the root maps.
    (tmp_path / "own.xml").write_text(
        f"<coverage><sources><source>{tmp_path}/pkg</source></sources><packages><package><classes>"
        '<class filename="mod.py"><lines><line number="1" hits="1"/></lines></class>'
        "</classes></package></packages></coverage>"
    )
    assert set(load_coverage(ctx, "own.xml").by_path) == {"pkg/mod.py"}
    # A source from another machine: leading directories are stripped until a repository file is found.
    shutil.copyfile(DATA / "cobertura-coveragepy-conditions.xml", tmp_path / "conditions.xml")
    assert set(load_coverage(ctx, "conditions.xml").by_path) == {"src/branchy.py"}
    # Windows paths: the longest tail that exists, so sub\calculator.cpp and calculator.cpp stay apart.
    shutil.copyfile(DATA / "lcov-gcov-cpp.info", tmp_path / "lcov.info")
    mapped = load_coverage(ctx, "lcov.info").by_path
    assert {path: (f.valid, f.covered) for path, f in mapped.items()} == {
        "sub/calculator.cpp": (4, 4),
        "main.cpp": (11, 9),
        "calculator.cpp": (4, 4),
    }


def test_a_line_listed_in_several_classes_counts_once(tmp_path: Path) -> None:
    (tmp_path / "app.py").touch()
    (tmp_path / "coverage.xml").write_text(
        '<?xml version="1.0" ?>\n<coverage lines-valid="9" lines-covered="9"><packages><package><classes>'
        '<class filename="app.py"><methods><method name="f"><lines><line number="2" hits="0"/></lines></method>'
        '</methods><lines><line number="1" hits="1"/><line number="2" hits="0"/><line number="3" hits="2"/></lines>'
        '</class><class filename="app.py"><lines><line number="2" hits="4"/><line number="3" hits="0"/>'
        '<line number="4" hits="0"/><line number="4" hits="0"/></lines></class>'
        "</classes></package></packages></coverage>"
    )
    check = _check(tmp_path, "{report: coverage.xml}")
    assert (check.metrics["lines_valid"], check.metrics["lines_covered"]) == (4, 3)
    assert check.notes == [
        "the report's summary says 9 of 9 lines covered; its line entries say 3 of 4, which is what counts"
    ]


def test_method_lines_count_only_for_a_class_without_lines_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "app.js").touch()
    (tmp_path / "lib.swift").touch()
    # Istanbul: function declarations as method lines (line 9 is no statement); Swift: method lines only.
    (tmp_path / "coverage.xml").write_text(
        "<coverage><packages><package><classes>"
        '<class filename="app.js"><lines><line number="10" hits="0"/></lines>'
        '<methods><method name="f"><lines><line number="9" hits="1"/></lines></method></methods></class>'
        '<class filename="lib.swift"><methods><method name="g"><lines><line number="5" hits="1"/></lines></method>'
        "</methods></class></classes></package></packages></coverage>"
    )
    ctx = CheckContext(root=tmp_path, check="cov", timeout=30)
    mapped = load_coverage(ctx, "coverage.xml").by_path
    assert {path: f.lines for path, f in mapped.items()} == {"app.js": {10: 0}, "lib.swift": {5: 1}}


@pytest.mark.parametrize(
    ("name", "content", "options", "error"),
    [
        ("c.info", "hello\n", "", "c.info: not a coverage report gatekeeper reads (Cobertura XML, LCOV or coverage.py JSON)"),
        ("c.json", "[]", "", "c.json: not a coverage.py JSON report (no 'files' object)"),
        ("c.json", '{"files": {"a.py": {"executed_lines": NaN}}}', "", "c.json: NaN is not valid JSON"),
        ("c.json", '{"files": {"a.py": {"executed_lines": [1]}}}', "", "c.json: file 'a.py': 'missing_lines' is not a list of line numbers"),
        ("c.xml", "<testsuite/>", "", "c.xml: XML with root <testsuite>, not a Cobertura coverage report"),
        ("c.xml", "<coverage><packages><package><classes><class filename='a.py'><lines>"
         "<line number='1' hits='1e999'/></lines></class></classes></package></packages></coverage>",
         "", "c.xml: line 1: hits '1e999' is not a count"),
        ("c.xml", "<coverage><packages><package><classes><class><lines/></class></classes></package></packages></coverage>",
         "", "c.xml: line 1: a <class> without a filename"),
        ("c.xml", '<?xml version="1.0"?>\n<!DOCTYPE coverage [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<coverage/>',
         "", "c.xml: declares a DTD or entities; refusing it (reports have no use for them)"),
        ("c.info", "SF:a.py\nDA:1,1\nDA:2,-1\nend_of_record\n", "", "c.info: line 3: DA hit count '-1' is not a count"),
        ("c.info", "SF:a.py\nDA:1,1\n", "", "c.info: ends inside the record of a.py (no end_of_record); is it truncated?"),
        ("c.info", "TN:\nDA:1,1\nend_of_record\n", "", "c.info: line 2: DA outside a file record (no SF: before it)"),
        ("c.info", "SF:a.py\nDA:1,1\nend_of_record\n", "format: cobertura", "c.info: not XML, so not a Cobertura report (format: cobertura)"),
        ("c.info", "SF:a.py\nDA:1,1\nend_of_record\n", "format: coveragepy-json", "c.info: not valid JSON at line 1 column 1: Expecting value"),
        ("c.xml", "<coverage/>", "format: lcov", "c.xml: no SF: record, so not an LCOV tracefile"),
        ("c.xml", "<coverage/>", "", "c.xml: no measurable lines in its 0 file(s); an empty measurement is no evidence"),
    ],
)  # fmt: skip
def test_reports_that_are_no_evidence(name: str, content: str, options: str, error: str, tmp_path: Path) -> None:
    (tmp_path / "a.py").touch()
    (tmp_path / name).write_text(content)
    check = _check(tmp_path, f"{{report: {name}, {options}}}" if options else f"{{report: {name}}}")
    assert check.status == "error"
    assert check.error == error


def test_format_can_be_named(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "lcov-nyc-uint64-overflow.lcov", tmp_path / "coverage.txt")
    materialise(tmp_path, tmp_path / "coverage.txt")
    check = _check(tmp_path, "{report: coverage.txt, format: lcov}")
    assert check.status == "ok" and check.metrics["lines_covered"] == 16  # the 2**64-1 hit count is a hit


def test_missing_report_is_an_error(tmp_path: Path) -> None:
    check = _check(tmp_path, "{report: build/coverage.xml}")
    assert check.error == "report build/coverage.xml not found; did the step that writes it run?"


def test_unknown_option_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gatekeeper.yaml").write_text(
        "version: 1\nchecks:\n  cov: {uses: coverage, with: {report: c.xml, treshold: 0.5}}\n"
        "rules:\n  - {id: c, check: cov, require: ['line_rate >= 0.5']}\n"
    )
    with pytest.raises(Exception, match=r"treshold"):
        load_policy(tmp_path / "gatekeeper.yaml", entry_points=False)
