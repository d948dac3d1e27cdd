"""The JUnit checker over every real report in the corpus, its dialect semantics, and hostile input."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import junitparser
import pytest

from gatekeeper import Verdict, evaluate, load_policy

DATA = Path(__file__).parents[1] / "data" / "junit"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "junit"

# file -> (total, passed, failed, errors, skipped, flaky), or the one-line error.
# Counts are what the report contains (not what its attributes claim); reruns of one test count once.
EXPECTED: dict[str, tuple[int, int, int, int, int, int] | str] = {
    "ant-cr-entities-no-classname.xml": (8, 5, 0, 3, 0, 0),
    "ant-error-details.xml": (1, 0, 0, 1, 0, 0),
    "ant-junit-openjdk17.xml": (10, 4, 4, 0, 2, 0),
    "bazel-junit-error.xml": (2, 1, 0, 1, 0, 0),
    "bazel-suite-logs.xml": (1, 0, 0, 1, 0, 0),
    "c-unity-ci.xml": (4, 3, 1, 0, 0, 0),
    "catch2-failure-file-line.xml": (1, 0, 1, 0, 0, 0),
    "container-structure-test-nanos.xml": (3, 3, 0, 0, 0, 0),
    "cpp-tst-disabled.xml": (31, 6, 19, 1, 5, 0),
    "cpp-tst-status-disabled.xml": (22, 6, 4, 2, 10, 0),
    "ctest-output-junit.xml": (1, 0, 1, 0, 0, 0),
    "cunit-empty.xml": (0, 0, 0, 0, 0, 0),
    "cunit-failure.xml": (4, 3, 1, 0, 0, 0),
    "cypress-mocha-junit.xml": (19, 14, 3, 0, 2, 0),
    "dotnet-junitxml-testlogger.xml": (52, 32, 14, 0, 6, 0),
    "edge-duplicate-names-no-decl.xml": (2, 1, 1, 0, 0, 0),
    "edge-empty-system-out-err.xml": (1, 1, 0, 0, 0, 0),
    "edge-empty-testsuite-selfclosing.xml": (0, 0, 0, 0, 0, 0),
    "edge-empty-testsuites-one-line.xml": (0, 0, 0, 0, 0, 0),
    "edge-id-only-no-suite-name.xml": (8, 7, 1, 0, 0, 0),
    "edge-microsecond-timestamp-count-mismatch.xml": (1, 1, 0, 0, 0, 0),
    "edge-minimal-attributes.xml": (4, 1, 1, 1, 1, 0),
    "edge-multiresult.xml": (4, 1, 1, 1, 1, 0),
    "edge-negative-duration.xml": (2, 2, 0, 0, 0, 0),
    "edge-no-attributes.xml": (4, 1, 1, 1, 1, 0),
    "edge-no-cases-but-tests.xml": (0, 0, 0, 0, 0, 0),
    "edge-no-cases.xml": (0, 0, 0, 0, 0, 0),
    "edge-nul-char-commented.xml": (1, 0, 0, 1, 0, 0),
    "edge-various-timestamps.xml": (12, 12, 0, 0, 0, 0),
    "edge-zulu-timestamp.xml": (2, 2, 0, 0, 0, 0),
    "elixir-exunit-junit-formatter.xml": (7, 4, 2, 0, 1, 0),
    "eslint-junit-formatter.xml": (1, 1, 0, 0, 0, 0),
    "flaky-pytest-rerun-all-fail.xml": (1, 0, 0, 1, 0, 0),
    "flaky-pytest-rerun-fail-then-pass.xml": (3, 3, 0, 0, 0, 1),
    "flaky-pytest-rerun-pass-then-fail.xml": (2, 1, 0, 1, 0, 0),
    "go-junit-report-api4.xml": (4, 2, 1, 0, 1, 0),
    "go-junit-report-pass-fail-skip.xml": (5, 2, 1, 0, 2, 0),
    "go-junit-report-race.xml": (1, 0, 1, 0, 0, 0),
    "go-junit-report-subtests.xml": (11, 6, 4, 0, 1, 0),
    "go-junit-report-testmain-error.xml": (3, 2, 0, 1, 0, 0),
    "googletest-failure-cdata.xml": (1, 0, 1, 0, 0, 0),
    "googletest-file-line-timestamp.xml": (2, 0, 2, 0, 0, 0),
    "googletest-gtest-xml-output.xml": (24, 18, 4, 0, 2, 0),
    "gotestsum-report-skip-empty.xml": (60, 42, 13, 0, 5, 0),
    "gotestsum-report.xml": (60, 42, 13, 0, 5, 0),
    "gotestsum-tc-attributes.xml": (1, 1, 0, 0, 0, 0),
    "gradle-springboot-system-out.xml": (1, 1, 0, 0, 0, 0),
    "jasmine-status-notrun-bom.xml": (3, 1, 0, 0, 2, 0),
    "jenkins-xunit-ctest-converted-2.xml": (18, 18, 0, 0, 0, 0),
    "jenkins-xunit-ctest-converted.xml": (11, 7, 4, 0, 0, 0),
    "jenkins-xunit-googletest-converted.xml": (24, 17, 4, 0, 3, 0),
    "jenkins-xunit-xunitdotnet-converted.xml": (5, 5, 0, 0, 0, 0),
    "jest-junit-empty-testsuite.xml": (0, 0, 0, 0, 0, 0),
    "jest-junit-empty-testsuites.xml": (0, 0, 0, 0, 0, 0),
    "jest-junit-failures.xml": (6, 1, 4, 0, 1, 0),
    "jest-junit-large-jest-repo.xml": (4239, 4207, 2, 0, 30, 0),
    "jest-junit-react-escaped-names.xml": (1, 1, 0, 0, 0, 0),
    "jest-junit-suite-failed-to-run.xml": (2, 0, 0, 2, 0, 0),
    "jest-junit-very-long-classname.xml": (2, 2, 0, 0, 0, 0),
    "jest-junit-widget.xml": (2, 2, 0, 0, 0, 0),
    "junitparser-jenkins-nested.xml": (3, 1, 1, 0, 1, 0),
    "junitparser-no-suites-tag.xml": (3, 1, 1, 0, 1, 0),
    "junitparser-normal-jasmine.xml": (3, 1, 1, 0, 1, 0),
    "junitparser-pytest-failure.xml": (1, 0, 1, 0, 0, 0),
    "junitparser-pytest-success.xml": (1, 1, 0, 0, 0, 0),
    "large-eclipse-pde-test-report.xml": (3366, 3366, 0, 0, 0, 0),
    "large-jenkins-junit-report-huge.xml": (7580, 5131, 19, 0, 2430, 1),
    "large-perl-spamassassin-make-test.xml": (2653, 2652, 1, 0, 0, 0),
    "malformed-empty-file.xml": "report.xml: the file is empty",
    "malformed-error-under-testsuite.xml": (1, 0, 0, 1, 0, 0),
    "malformed-leading-newline-before-decl.xml": "report.xml: not well-formed XML at line 2: XML declaration allowed only at the start of the document",
    "malformed-non-junit-schema.xml": "report.xml: not a JUnit report (root element <suites>, not <testsuites> or <testsuite>)",
    "malformed-non-xml.xml": "report.xml: not well-formed XML at line 1: Start tag expected, '<' not found",
    "malformed-pytest-corrupt.xml": "report.xml: not well-formed XML at line 11: Premature end of data in tag skipped line 9",
    "malformed-surefire-truncated-cdata.xml": "report.xml: not well-formed XML at line 18: Unregistered error message",
    "malformed-web-test-runner-lt-in-attr.xml": "report.xml: not well-formed XML at line 9: Unescaped '<' not allowed in attributes values",
    "malicious-path-traversal-classname.xml": (1, 1, 0, 0, 0, 0),
    "malicious-xxe-external-entity.xml": "report.xml: declares a DTD or entities; refusing it (reports have no use for them)",
    "marathon-android-flakyfailure.xml": (1, 1, 0, 0, 0, 1),
    "mocha-junit-reporter-empty-root-suites.xml": (1, 1, 0, 0, 0, 0),
    "mocha-junit-reporter-latex-utensils.xml": (109, 109, 0, 0, 0, 0),
    "multiple-failures-per-case.xml": (4, 1, 2, 0, 1, 0),
    "nested-3-levels-ignored-attr.xml": (3, 2, 0, 1, 0, 0),
    "nested-junit.xml": (5, 2, 3, 0, 0, 0),
    "nested-multi-level-xmpp.xml": (3, 3, 0, 0, 0, 0),
    "nested-testsuite-in-testsuite.xml": (5, 5, 0, 0, 0, 0),
    "nested-testsuite-root.xml": (5, 5, 0, 0, 0, 0),
    "nette-tester-php.xml": (65, 61, 1, 0, 3, 0),
    "notjunit-allure1-testsuite-ns.xml": "report.xml: not a JUnit report (root element <{urn:model.allure.qatools.yandex.ru}test-suite>, not <testsuites> or <testsuite>)",
    "notjunit-ctest-native-site.xml": "report.xml: not a JUnit report (root element <Site>, not <testsuites> or <testsuite>)",
    "notjunit-dotnet-trx.trx": "report.xml: not a JUnit report (root element <{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}TestRun>, not <testsuites> or <testsuite>)",
    "notjunit-xunitnet-v2-assemblies-fixie.xml": "report.xml: not a JUnit report (root element <assemblies>, not <testsuites> or <testsuite>)",
    "perl-tap-harness-junit.xml": (1, 1, 0, 0, 0, 0),
    "phpunit-10-laravel.xml": (14, 4, 3, 3, 4, 0),
    "phpunit-codecov.xml": (2, 2, 0, 0, 0, 0),
    "phpunit-empty-selfclosing.xml": (0, 0, 0, 0, 0, 0),
    "phpunit-legacy-fullpackage.xml": (78, 78, 0, 0, 0, 0),
    "phpunit-no-time.xml": (2, 2, 0, 0, 0, 0),
    "phpunit-paths.xml": (6, 0, 6, 0, 0, 0),
    "phpunit-phpcheckstyle-nested.xml": (30, 28, 2, 0, 0, 0),
    "phpunit-phpt-failures.xml": (12, 10, 2, 0, 0, 0),
    "phpunit-selenium-nested-dataset.xml": (32, 31, 0, 1, 0, 0),
    "playwright-2022-epoch-ms-timestamp.xml": (11, 1, 10, 0, 0, 0),
    "playwright-multi-browser.xml": (33, 33, 0, 0, 0, 0),
    "properties-multiline-testcase.xml": (2, 1, 1, 0, 0, 0),
    "pytest-fail-skip.xml": (5, 3, 1, 0, 1, 0),
    "pytest-horovod-gloo-standalone.xml": (97, 80, 0, 0, 17, 0),
    "pytest-horovod-mpi-standalone.xml": (97, 96, 0, 0, 1, 0),
    "pytest-single-line.xml": (4, 2, 2, 0, 0, 0),
    "pytest-subtests-properties.xml": (10, 6, 2, 0, 2, 0),
    "ros-launch-testing-failure-message-only.xml": (3, 2, 1, 0, 0, 0),
    "rspec-junit-formatter-rails-api.xml": (869, 863, 1, 0, 5, 0),
    "ruby-minitest-junit.xml": (4, 1, 1, 1, 1, 0),
    "ruby-minitest-reporters.xml": (11, 5, 2, 2, 2, 0),
    "rust-cargo-nanosecond-timestamp.xml": (72, 67, 1, 2, 2, 0),
    "rust-nextest.xml": (3, 2, 1, 0, 0, 0),
    "scalatest-sbt-diffoptions.xml": (5, 5, 0, 0, 0, 0),
    "skip-error-mix.xml": (3, 0, 0, 2, 1, 0),
    "surefire-emailaddress.xml": (9, 2, 2, 5, 0, 0),
    "surefire-flakyfailure-mixed.xml": (3, 3, 0, 0, 0, 1),
    "surefire-flakyfailure-rerun.xml": (1, 1, 0, 0, 0, 1),
    "surefire-junit5-beforeall-empty-name.xml": (1, 0, 1, 0, 0, 0),
    "surefire-rerun-flakyfailure.xml": (1, 1, 0, 0, 0, 1),
    "surefire-rerun-rerunfailure.xml": (1, 0, 1, 0, 0, 0),
    "surefire-rerunerror-rerunfailure.xml": (1, 0, 0, 1, 0, 0),
    "surefire-stringutils.xml": (5, 2, 2, 0, 1, 0),
    "surefire-testng-pulsar-large.xml": (808, 793, 1, 0, 14, 0),
    "surefire3-flakytest.xml": (3, 2, 1, 0, 0, 1),
    "swift-xunit.xml": (3, 2, 1, 0, 0, 0),
    "testmo-conventions.xml": (1, 1, 0, 0, 0, 0),
    "testmo-junit-basic.xml": (9, 8, 1, 0, 0, 0),
    "testmo-junit-complete.xml": (8, 5, 1, 1, 1, 0),
    "testmo-testcase-output.xml": (1, 1, 0, 0, 0, 0),
    "testmo-testcase-properties.xml": (1, 1, 0, 0, 0, 0),
    "testng-empty-suite.xml": (0, 0, 0, 0, 0, 0),
    "testng-pulsar-duplicate-names.xml": (2, 0, 1, 0, 1, 0),
    "unicode-astral-chars.xml": (7, 1, 2, 2, 2, 0),
    "unittest-xmlrunner.xml": (8, 4, 1, 1, 2, 0),
    "vitest-junit.xml": (2, 1, 1, 0, 0, 0),
    "xcode-xcresult-expected-failures.xml": (52, 27, 25, 0, 0, 0),
    "xml-entities.xml": (4, 0, 1, 1, 2, 0),
    "xunit-net-junit-bom.xml": (2, 2, 0, 0, 0, 0),
}
# pytest-rerunfailures writes each attempt as its own <testcase>; junitparser counts every element.
RERUNS = {
    "flaky-pytest-rerun-all-fail.xml",
    "flaky-pytest-rerun-fail-then-pass.xml",
    "flaky-pytest-rerun-pass-then-fail.xml",
}
# An <error> directly under <testsuite> is counted as one more (errored) test.
SUITE_ERRORS = {"malformed-error-under-testsuite.xml": 1, "nested-3-levels-ignored-attr.xml": 1}


def _source(name: str) -> Path:
    for folder in (DATA, SHARED):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is only in ../shared/corpus (its licence keeps it out of tests/data), which is absent")


def _gate(root: Path, with_: str = "{reports: [report.xml]}", rules: str = "") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks: {{tests: {{uses: junit, with: {with_}}}}}\n"
        'rules:\n  - {id: green, check: tests, require: ["failed == 0", "errors == 0", "total >= 1"]}\n' + rules
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def test_expectations_cover_every_corpus_file() -> None:
    local = {p.name for p in DATA.iterdir()}
    assert local <= set(EXPECTED)
    if not SHARED.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout; only the copied files were checked")
    assert local | {p.name for p in SHARED.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_report(name: str, tmp_path: Path) -> None:
    shutil.copy(_source(name), tmp_path / "report.xml")
    verdict = _gate(tmp_path)
    check = verdict.checks[0]
    expected = EXPECTED[name]
    if isinstance(expected, str):
        assert check.status == "error"
        assert check.error == expected
        assert verdict.outcome == "error"
        return
    assert check.status == "ok", check.error
    metrics = tuple(int(check.metrics[k]) for k in ("total", "passed", "failed", "errors", "skipped", "flaky"))
    assert metrics == expected
    total, passed, failed, errors, skipped, _ = expected
    assert passed + failed + errors + skipped == total
    assert len(check.findings) == failed + errors + expected[5]  # flaky ones are listed too (flaky: warn)
    green = total >= 1 and failed == 0 and errors == 0
    assert verdict.outcome == ("pass" if green else "fail"), "zero tests or failures never pass"


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if not isinstance(e, str)))
def test_totals_agree_with_junitparser(name: str) -> None:
    """An independent reader (junitparser, whole-document) finds the same number of test cases."""
    report = junitparser.JUnitXml.fromfile(str(_source(name)))
    suites = [report] if isinstance(report, junitparser.TestSuite) else list(report)
    elements = sum(1 for suite in suites for _ in suite)
    expected = EXPECTED[name]
    assert not isinstance(expected, str)
    if name in RERUNS:
        assert elements > expected[0]
    else:
        assert elements + SUITE_ERRORS.get(name, 0) == expected[0]
