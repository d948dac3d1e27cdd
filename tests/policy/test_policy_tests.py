"""`gatekeeper policy test`: policy test files, the built-in packs' own tests, output, JUnit XML, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from gatekeeper import PolicyError
from gatekeeper.errors import UsageError
from gatekeeper.policy import builtin_packs
from gatekeeper.policy.policytest import run_policy_tests
from gatekeeper.policy.resolve import packs_dir

ROOT = Path(__file__).parents[2]
XSD = ROOT / "tests" / "data" / "schema" / "junit-spekt-jenkins.xsd"

POLICY = """\
version: 1
name: team
checks:
  sast: {uses: bandit, with: {paths: [src]}}
  tests: {uses: junit, with: {reports: [reports/junit.xml]}}
rules:
  - id: no-high-findings
    check: sast
    findings: {severity: high, max: 0}
  - id: tests-pass
    check: tests
    require: ["failed == 0", "total >= 1"]
waivers:
  - rule: no-high-findings
    match: {finding: B602}
    reason: trusted input only
    owner: security@example.com
    expires: 2026-03-01
"""

JUNIT_FAILED = (
    '<testsuite name="s" tests="2"><testcase classname="t" name="a"/>'
    '<testcase classname="t" name="b"><failure message="boom"/></testcase></testsuite>'
)

HIGH = "{id: B602, severity: high, path: src/app.py, line: 3}"


def _write(folder: Path, cases: str, *, name: str = "team.gatekeeper-test.yaml", policy: str = POLICY) -> Path:
    (folder / "team.yaml").write_text(policy)
    (folder / "junit-failed.xml").write_text(JUNIT_FAILED)
    path = folder / name
    path.write_text(f"version: 1\npolicy: ./team.yaml\ncases:\n{cases}")
    return path


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- the built-in packs ship with their own tests ---------------------------------------------------------


def test_every_builtin_pack_has_its_own_test_file() -> None:
    tested = {p.name.removesuffix(".gatekeeper-test.yaml") for p in packs_dir().glob("*.gatekeeper-test.yaml")}
    assert tested == set(builtin_packs())


def test_the_builtin_packs_pass_their_own_tests(run_cli) -> None:
    done = run_cli("policy", "test", "policies/", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "policies/default.gatekeeper-test.yaml::clean-repository-passes PASSED" in lines
    assert re.fullmatch(r"=+ \d+ passed in [0-9.]+s =+", lines[-1])
    assert "FAILED" not in done.stdout


def test_each_pack_is_tested_for_the_verdicts_it_promises() -> None:
    cases = run_policy_tests([packs_dir()], entry_points=False)
    assert cases and all(case.passed for case in cases), [c.nodeid for c in cases if not c.passed]
    per_pack: dict[str, set[str]] = {}
    for case in cases:
        per_pack.setdefault(Path(case.file).name.split(".")[0], set()).add(case.actual_outcome)
    for pack in builtin_packs():
        assert len([c for c in cases if Path(c.file).name.startswith(f"{pack}.")]) >= 5, pack
        assert {"pass", "fail", "error"} <= per_pack[pack], pack  # clean passes, a failure fails, an error errors
    waived = [c for c in cases if c.name.startswith("waiver-")]
    assert {c.actual_rules["no-high-security-findings"] for c in waived} == {"waived", "fail"}


# --- running cases -------------------------------------------------------------------------------------------


def test_inline_results_and_evidence_decide_through_the_real_rules(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"""\
  - name: clean
    results: {{sast: {{status: ok}}, tests: {{metrics: {{failed: 0, total: 3}}}}}}
    expect: {{outcome: pass, rules: {{no-high-findings: pass, tests-pass: pass}}}}
  - name: failing-report
    results: {{sast: {{status: ok}}}}
    evidence: {{tests: junit-failed.xml}}
    expect: {{outcome: fail, rules: {{tests-pass: fail}}}}
  - name: waived-while-active
    date: 2026-03-01
    results: {{sast: {{findings: [{HIGH}]}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: pass, rules: {{no-high-findings: waived}}}}
  - name: expired-the-day-after
    date: 2026-03-02
    results: {{sast: {{findings: [{HIGH}]}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: fail, rules: {{no-high-findings: fail}}}}
  - name: a-check-error-is-an-error
    results: {{sast: {{status: error, error: bandit crashed}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: error, rules: {{no-high-findings: error}}}}
""",
    )
    cases = run_policy_tests([path], entry_points=False)
    assert [(c.name, c.passed) for c in cases] == [
        ("clean", True),
        ("failing-report", True),
        ("waived-while-active", True),
        ("expired-the-day-after", True),
        ("a-check-error-is-an-error", True),
    ]
    assert cases[1].reasons["tests-pass"].startswith("not met: failed == 0")  # the junit checker read the file
    assert cases[0].nodeid == f"{path}::clean"
    assert "bandit crashed" in cases[4].reasons["no-high-findings"]


def test_the_date_defaults_to_gatekeeper_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(
        tmp_path,
        f"""\
  - name: waiver
    results: {{sast: {{findings: [{HIGH}]}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: pass}}
""",
    )
    monkeypatch.setenv("GATEKEEPER_NOW", "2026-02-01")
    assert run_policy_tests([path], entry_points=False)[0].passed
    monkeypatch.setenv("GATEKEEPER_NOW", "2026-04-01")
    (case,) = run_policy_tests([path], entry_points=False)
    assert not case.passed and case.actual_outcome == "fail" and str(case.today) == "2026-04-01"


def test_a_failing_case_shows_expected_and_actual_side_by_side(tmp_path: Path, run_cli) -> None:
    path = _write(
        tmp_path,
        f"""\
  - name: ok-case
    results: {{sast: {{status: ok}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: pass}}
  - name: wrong-expectation
    date: 2026-06-01
    results: {{sast: {{findings: [{HIGH}]}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: pass, rules: {{no-high-findings: pass}}}}
""",
    )
    done = run_cli("policy", "test", str(path))
    assert done.returncode == 1, done.stderr
    out = done.stdout.splitlines()
    assert out[:2] == [f"{path}::ok-case PASSED", f"{path}::wrong-expectation FAILED"]
    assert any(line.startswith("=") and "FAILURES" in line for line in out)
    assert f"{path}:{_line_of(path, 'wrong-expectation')}: policy {tmp_path / 'team.yaml'}, date 2026-06-01" in out
    rows = {line.split()[0]: line.split()[1:] for line in out if line.startswith(("verdict ", "no-high", "tests-pass"))}
    assert rows["verdict"] == ["pass", "fail", "<-"]
    assert rows["no-high-findings"] == ["pass", "fail", "<-"]
    assert rows["tests-pass"] == ["(any)", "pass"]
    assert "no-high-findings: 1 finding(s) at or above high, at most 0 allowed" in out
    assert re.fullmatch(r"=+ 1 failed, 1 passed in [0-9.]+s =+", out[-1])


def test_junit_output_is_one_testcase_per_case_and_valid(tmp_path: Path, run_cli) -> None:
    _write(
        tmp_path,
        f"""\
  - name: passes
    results: {{sast: {{status: ok}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    expect: {{outcome: pass}}
  - name: fails
    results: {{sast: {{findings: [{HIGH}]}}, tests: {{metrics: {{failed: 0, total: 1}}}}}}
    date: 2026-06-01
    expect: {{outcome: pass}}
""",
    )
    report = tmp_path / "out" / "policy-tests.xml"
    done = run_cli("policy", "test", str(tmp_path), "--format", f"junit={report}")
    assert done.returncode == 1
    assert "FAILED" in done.stdout  # the text still goes to the terminal
    doc = etree.parse(str(report))
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(doc), schema.error_log
    (suite,) = doc.getroot().findall("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["passes", "fails"]
    assert len(cases["passes"]) == 0
    failure = cases["fails"].find("failure")
    assert failure is not None
    assert failure.get("message") == "verdict: expected pass, got fail"
    assert "no-high-findings" in (failure.text or "") and "<-" in (failure.text or "")
    assert not list(report.parent.glob(".*.tmp"))  # written atomically


def test_unknown_format_is_a_usage_error(tmp_path: Path, run_cli) -> None:
    _write(tmp_path, "  - name: x\n    results: {sast: {}, tests: {}}\n    expect: {outcome: pass}\n")
    done = run_cli("policy", "test", str(tmp_path), "--format", "json=x.json")
    assert done.returncode == 2
    assert "unknown format 'json' for policy test; available: text, junit" in done.stderr


# --- bad test files: exit 2 with file:line -------------------------------------------------------------------


def _error(path: Path) -> str:
    with pytest.raises(PolicyError) as info:
        run_policy_tests([path], entry_points=False)
    return str(info.value)


def test_an_unknown_key_is_an_error_with_a_suggestion(tmp_path: Path, run_cli) -> None:
    path = _write(tmp_path, "  - name: x\n    results: {sast: {}, tests: {}}\n    expext: {outcome: pass}\n")
    done = run_cli("policy", "test", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"gatekeeper: error: {path}:6:5: cases[0].expext: unknown key (did you mean 'expect'?) "
        "(and 1 more problem)"  # the missing 'expect' the typo causes comes second
    )


def test_a_check_without_a_result_is_an_error_never_a_pass(tmp_path: Path, run_cli) -> None:
    path = _write(tmp_path, "  - name: forgot-tests\n    results: {sast: {}}\n    expect: {outcome: pass}\n")
    done = run_cli("policy", "test", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"gatekeeper: error: {path}:4:11: case forgot-tests gives no result for check tests (uses: junit)"
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "  - name: x\n    results: {sast: {}, tests: {}, test: {}}\n    expect: {outcome: pass}\n",
            "5:36: cases[0].results.test: the policy has no check 'test'; did you mean 'tests'?",
        ),
        (
            "  - name: x\n    results: {sast: {}, tests: {}}\n    expect: {outcome: pass, rules: {test-pass: fail}}\n",
            "6:37: cases[0].expect.rules.test-pass: the policy has no rule 'test-pass'; did you mean 'tests-pass'?",
        ),
        (
            "  - name: x\n    results: {sast: {}}\n    evidence: {tests: nope.xml}\n    expect: {outcome: pass}\n",
            "6:23: cases[0].evidence.tests: evidence file nope.xml not found (relative to the test file)",
        ),
        (
            "  - name: x\n    results: {sast: {}, tests: {}}\n    evidence: {tests: junit-failed.xml}\n"
            "    expect: {outcome: pass}\n",
            "6:16: cases[0].evidence.tests: the case also gives results.tests; give one of them",
        ),
        (
            "  - name: x\n    results: {sast: {}, tests: {}}\n    expect: {outcome: passed}\n",
            "6:23: cases[0].expect.outcome: Input should be 'pass', 'fail' or 'error'",
        ),
        (
            "  - name: x\n    results: {sast: {status: ok, error: why}, tests: {}}\n    expect: {outcome: pass}\n",
            "5:21: cases[0].results.sast: 'error' only goes with status: error or skipped",
        ),
        (
            "  - name: x\n    results: {sast: {}, tests: {}}\n    expect: {outcome: pass}\n"
            "  - name: x\n    results: {sast: {}, tests: {}}\n    expect: {outcome: pass}\n",
            "7:11: cases[1].name: case 'x' is already the name of cases[0]",
        ),
        ("  - name: x\n    results: {sast: {}, tests: {}\n", "invalid YAML"),
    ],
    ids=["unknown-check", "unknown-rule", "missing-evidence", "results-and-evidence", "bad-outcome", "stray-error",
         "duplicate-name", "invalid-yaml"],
)  # fmt: skip
def test_a_bad_test_file_names_file_line_and_column(tmp_path: Path, case: str, message: str) -> None:
    path = _write(tmp_path, case)
    error = _error(path)
    assert error.startswith(f"{path}:"), error
    assert message in error, error


def test_evidence_needs_a_checker_with_a_report_mode(tmp_path: Path) -> None:
    policy = POLICY.replace("tests: {uses: junit, with: {reports: [reports/junit.xml]}}", "tests: {uses: secrets}")
    path = _write(
        tmp_path,
        "  - name: x\n    results: {sast: {}}\n    evidence: {tests: junit-failed.xml}\n    expect: {outcome: pass}\n",
        policy=policy.replace('require: ["failed == 0", "total >= 1"]', "findings: {}"),
    )
    assert "cases[0].evidence.tests: checker 'secrets' has no report mode to read evidence with" in _error(path)


def test_a_policy_that_does_not_load_is_a_bad_test_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - name: x\n    results: {}\n    expect: {outcome: pass}\n", policy="version: 2\n")
    error = _error(path)
    assert error.startswith(f"{path}:2:9: policy {tmp_path / 'team.yaml'} does not load: ")
    assert "version" in error


def test_no_test_file_found_is_an_error_not_zero_tests(tmp_path: Path, run_cli) -> None:
    with pytest.raises(UsageError, match=r"no policy test files \(\*\.gatekeeper-test\.yaml\) found"):
        run_policy_tests([tmp_path], entry_points=False)
    done = run_cli("policy", "test", str(tmp_path))
    assert done.returncode == 2
    assert "no policy test files" in done.stderr
    assert "passed" not in done.stdout


def test_a_folder_is_searched_recursively_skipping_hidden_folders(tmp_path: Path) -> None:
    sub = tmp_path / "team"
    sub.mkdir()
    hidden = tmp_path / ".cache"
    hidden.mkdir()
    (hidden / "x.gatekeeper-test.yaml").write_text("not: a test file\n")
    _write(
        sub,
        "  - name: x\n    results: {sast: {}, tests: {metrics: {failed: 0, total: 1}}}\n    expect: {outcome: pass}\n",
    )
    cases = run_policy_tests([tmp_path], entry_points=False)
    assert [c.nodeid for c in cases] == [f"{sub / 'team.gatekeeper-test.yaml'}::x"]
