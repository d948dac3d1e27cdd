"""``build_report``: every figure checked against a scenario whose numbers are known (report_runs.py)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from report_runs import (
    NOW,
    PYTEST_FLAKY,
    RED_TEST,
    SUREFIRE_FLAKY,
    at,
    evaluate_kinds,
    record,
    scenario_records,
)

from gatekeeper import Verdict
from gatekeeper.history.records import RunRecord
from gatekeeper.history.report import HistoryReport, build_report, percentile
from gatekeeper.history.report_render import render_report_json, render_report_text, span
from gatekeeper.models import PolicyRef, RuleResult

Kinds = dict[str, tuple[Verdict, dict[str, object]]]


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> Kinds:
    return evaluate_kinds(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def records(kinds: Kinds) -> list[RunRecord]:
    return scenario_records(kinds)


@pytest.fixture(scope="module")
def report(records: list[RunRecord]) -> HistoryReport:
    return build_report(records, now=NOW)


def test_totals_window_branches_and_policies(report: HistoryReport) -> None:
    assert (report.runs, report.passed, report.failed, report.errors) == (10, 5, 4, 1)
    assert report.first_run_at == at("2026-04-24T10:00") and report.last_run_at == at("2026-04-30T09:00")
    assert report.branches == ["feature/x", "main"] and report.policies == ["svc"]
    assert report.generated_at == NOW and report.period == "day" and report.top == 10


def test_outcome_rates_per_day_with_empty_days_in_between(report: HistoryReport) -> None:
    rows = [(b.start.isoformat(), b.runs, b.passed, b.failed, b.errors, b.pass_rate) for b in report.trend]
    assert rows == [
        ("2026-04-24", 1, 1, 0, 0, 1.0),
        ("2026-04-25", 0, 0, 0, 0, None),
        ("2026-04-26", 0, 0, 0, 0, None),
        ("2026-04-27", 3, 1, 2, 0, 0.3333),
        ("2026-04-28", 2, 1, 1, 0, 0.5),
        ("2026-04-29", 2, 1, 0, 1, 0.5),
        ("2026-04-30", 2, 1, 1, 0, 0.5),
    ]
    by_day = {b.start: b for b in report.trend}
    assert by_day[date(2026, 4, 27)].fail_rate == 0.6667 and by_day[date(2026, 4, 29)].error_rate == 0.5
    assert by_day[date(2026, 4, 25)].fail_rate is None and by_day[date(2026, 4, 25)].error_rate is None


def test_outcome_rates_per_iso_week(records: list[RunRecord]) -> None:
    weekly = build_report(records, now=NOW, period="week").trend
    rows = [(b.start, b.runs, b.passed, b.failed, b.errors, b.pass_rate, b.fail_rate, b.error_rate) for b in weekly]
    assert rows == [
        (date(2026, 4, 20), 1, 1, 0, 0, 1.0, 0.0, 0.0),  # Friday the 24th is in the week of Monday the 20th
        (date(2026, 4, 27), 9, 4, 4, 1, 0.4444, 0.4444, 0.1111),
    ]


def test_a_run_counts_on_the_utc_day_the_store_recorded_it(kinds: Kinds) -> None:
    verdict, policy = kinds["pass"]
    late = datetime(2026, 4, 27, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on the 28th
    report = build_report([record(1, late, "main", verdict, policy)], now=NOW)
    assert [b.start for b in report.trend] == [date(2026, 4, 28)]
    # recorded_at decides (what `--since` filters on), not the verdict's own clock.
    moved = record(1, at("2026-04-20T10:00"), "main", verdict, policy).model_copy(update={"recorded_at": late})
    assert [b.start for b in build_report([moved], now=NOW).trend] == [date(2026, 4, 28)]
    assert build_report([moved], now=NOW).first_run_at == at("2026-04-28T04:30")


def test_top_failing_rules_in_order(report: HistoryReport, records: list[RunRecord]) -> None:
    rows = [(r.rule, r.failed_runs, r.errored_runs, r.runs, r.share) for r in report.failing_rules]
    assert rows == [("tests-green", 3, 0, 10, 0.3), ("no-high", 1, 0, 10, 0.1), ("lint-clean", 0, 1, 10, 0.0)]
    assert report.failing_rules[0].last_failed_at == at("2026-04-30T08:00")
    assert report.failing_rules[2].last_failed_at is None
    assert [r.rule for r in build_report(records, now=NOW, top=1).failing_rules] == ["tests-green"]


def test_a_rule_that_never_failed_is_not_listed(records: list[RunRecord]) -> None:
    passing = [r for r in records if r.verdict.outcome == "pass"]
    assert passing and build_report(passing, now=NOW).failing_rules == []


def test_frequent_findings_by_fingerprint_once_per_run(report: HistoryReport, records: list[RunRecord]) -> None:
    rows = [(f.check, f.id, f.runs) for f in report.frequent_findings]
    assert rows == [
        ("tests", RED_TEST, 3),
        ("tests", SUREFIRE_FLAKY, 2),
        ("sast", "B602", 1),
        ("sast", "B603", 1),
        ("sast", "B605", 1),
        ("tests", PYTEST_FLAKY, 1),  # low after the high ones with as many runs
    ]
    red = report.frequent_findings[0]
    assert (red.first_seen, red.last_seen) == (at("2026-04-27T12:00"), at("2026-04-30T08:00"))
    assert red.path == "test/test_spark.py" and red.severity.value == "high" and red.uses == "junit"
    assert red.message.startswith("failed: ") and "\n" not in red.message
    # The same finding twice in one run counts once; another fingerprint of the same id is another row.
    run = records[3]  # red-sast: B605
    b605 = run.verdict.checks[1].findings[0]
    twin = b605.model_copy(update={"fingerprint": "f" * 32, "message": "moved"})
    checks = [run.verdict.checks[0], run.verdict.checks[1].model_copy(update={"findings": [b605, b605, twin]})]
    doubled = run.model_copy(update={"verdict": run.verdict.model_copy(update={"checks": checks})})
    found = build_report([doubled], now=NOW).frequent_findings
    assert sorted((f.id, f.fingerprint, f.runs) for f in found) == [
        ("B605", b605.fingerprint, 1),
        ("B605", "f" * 32, 1),
    ]
    assert [f.id for f in build_report(records, now=NOW, top=2).frequent_findings] == [RED_TEST, SUREFIRE_FLAKY]


def test_flaky_tests_and_how_often_they_flake(report: HistoryReport) -> None:
    rows = [(t.check, t.test, t.flaky_runs, t.failed_runs, t.runs, t.flake_rate) for t in report.flaky_tests]
    assert rows == [("tests", SUREFIRE_FLAKY, 2, 0, 10, 0.2), ("tests", PYTEST_FLAKY, 1, 0, 10, 0.1)]
    assert report.flaky_tests[0].last_flaky_at == at("2026-04-29T12:00")
    assert RED_TEST not in {t.test for t in report.flaky_tests}, "a test that only failed is not flaky"


def test_flake_rate_counts_outright_failures_and_only_runs_where_the_check_ran(kinds: Kinds) -> None:
    flaky_v, flaky_p = kinds["flaky"]
    red_v, red_p = kinds["red-tests"]
    flaky_test = flaky_v.checks[0].findings[0]
    # A run where the flaky test failed outright: its finding is the failed kind.
    failed_once = flaky_test.model_copy(
        update={"fingerprint": "0" * 32, "properties": {"outcome": "failed"}, "message": "failed: boom"}
    )
    red_checks = [red_v.checks[0].model_copy(update={"findings": [failed_once]}), *red_v.checks[1:]]
    skipped = [flaky_v.checks[0].model_copy(update={"status": "skipped", "findings": []}), *flaky_v.checks[1:]]
    runs = [
        record(1, at("2026-04-27T09:00"), "main", flaky_v, flaky_p),
        record(2, at("2026-04-27T10:00"), "main", red_v.model_copy(update={"checks": red_checks}), red_p),
        record(3, at("2026-04-27T11:00"), "main", kinds["pass"][0], kinds["pass"][1]),
        record(4, at("2026-04-27T12:00"), "main", flaky_v.model_copy(update={"checks": skipped}), flaky_p),
    ]
    (row,) = build_report(runs, now=NOW).flaky_tests
    assert (row.test, row.flaky_runs, row.failed_runs, row.runs, row.flake_rate) == (SUREFIRE_FLAKY, 1, 1, 3, 0.3333)


def test_time_to_green_episodes_per_branch(report: HistoryReport) -> None:
    branches = {b.branch: b for b in report.time_to_green}
    assert list(branches) == ["feature/x", "main"]
    main = branches["main"]
    episodes = [(e.first_failing_run, e.next_passing_run, e.red_runs, e.duration_s, e.open) for e in main.episodes]
    assert episodes == [
        (3, 5, 2, 21 * 3600.0, False),  # fail 04-27 12:00 (and 15:00), green 04-28 09:00
        (7, 8, 1, 2 * 3600.0, False),  # an error is red too: 04-29 10:00 to 12:00
    ]
    assert main.median_s == 11.5 * 3600
    assert main.episodes[0].failed_at == at("2026-04-27T12:00") and main.episodes[0].passed_at == at("2026-04-28T09:00")
    assert all(e.age_s is None for e in main.episodes)
    (still_red,) = branches["feature/x"].episodes
    assert still_red.open and still_red.next_passing_run is None and still_red.passed_at is None
    assert (still_red.first_failing_run, still_red.red_runs, still_red.duration_s) == (6, 2, None)
    assert still_red.age_s == (NOW - at("2026-04-28T10:00")).total_seconds() == 74 * 3600
    assert branches["feature/x"].median_s is None


def test_a_branch_that_never_went_red_has_no_episode(kinds: Kinds) -> None:
    verdict, policy = kinds["pass"]
    runs = [record(i, at(f"2026-04-2{i}T10:00"), None, verdict, policy) for i in range(1, 4)]
    report = build_report(runs, now=NOW)
    assert report.time_to_green == [] and report.branches == ["(no branch)"]


def test_slowest_checks(report: HistoryReport, kinds: Kinds) -> None:
    rows = [(c.check, c.uses, c.runs, c.mean_s, c.p95_s, c.max_s) for c in report.slowest_checks]
    assert rows == [
        ("tests", "junit", 10, 5.5, 10.0, 10.0),  # 1..10 s
        ("lint", "fake", 10, 2.9, 20.0, 20.0),  # 1 s nine times, 20 s once (the run where it errored)
        ("sast", "fake", 10, 0.5, 0.5, 0.5),
    ]
    verdict, policy = kinds["pass"]
    skipped = [c.model_copy(update={"status": "skipped"}) if c.name == "lint" else c for c in verdict.checks]
    runs = [
        record(1, at("2026-04-27T09:00"), "main", verdict, policy, {"lint": 4.0}),
        record(2, at("2026-04-27T10:00"), "main", verdict.model_copy(update={"checks": skipped}), policy, {"lint": 99}),
    ]
    (lint,) = [c for c in build_report(runs, now=NOW).slowest_checks if c.check == "lint"]
    assert (lint.runs, lint.max_s) == (1, 4.0), "a skipped check's time is left out"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile(range(1, 21), 95) == 19  # rank ceil(0.95 * 20) = 19
    assert percentile(range(1, 101), 95) == 95
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    with pytest.raises(ValueError):
        percentile([], 95)


def test_waiver_debt_relative_to_a_fixed_clock(report: HistoryReport) -> None:
    debt = report.waiver_debt
    assert debt.expiring_within_days == 14
    rows = [(w.state, w.rule, w.match, w.owner, w.expires.isoformat(), w.days_left, w.matched) for w in debt.waivers]
    assert rows == [
        ("expired", "tests-green", {}, "dev@example.com", "2026-04-20", -11, 0),  # still in the policy
        ("stale", "no-high", {"finding": "B999"}, "dev@example.com", "2026-12-31", 244, 0),
        ("expiring", "no-high", {"finding": "B602", "path": "src/*"}, "sec@example.com", "2026-05-04", 3, 1),
        ("active", "no-high", {"finding": "B603"}, "sec@example.com", "2026-05-31", 30, 1),  # 30 days: not expiring
    ]
    assert {w.run_id for w in debt.waivers} == {10} and {w.policy for w in debt.waivers} == {"svc"}
    assert "B101" not in str(rows), "a waiver only older runs' policy had is not debt"
    owners = [(o.owner, o.active, o.expiring, o.expired, o.stale) for o in debt.owners]
    assert owners == [("sec@example.com", 2, 1, 0, 0), ("dev@example.com", 1, 0, 1, 1)]


def test_waiver_debt_moves_with_the_clock_and_the_window(records: list[RunRecord]) -> None:
    def states(now: datetime, within: int = 14) -> dict[str, tuple[str, int]]:
        debt = build_report(records, now=now, expiring_within_days=within).waiver_debt
        return {w.match.get("finding", w.rule): (w.state, w.days_left) for w in debt.waivers}

    assert states(datetime(2026, 5, 4, 23, 59, tzinfo=timezone.utc))["B602"] == ("expiring", 0)  # its last day
    assert states(datetime(2026, 5, 5, tzinfo=timezone.utc))["B602"] == ("expired", -1)
    assert states(datetime(2026, 5, 17, tzinfo=timezone.utc))["B603"] == ("expiring", 14)
    assert states(datetime(2026, 5, 16, tzinfo=timezone.utc))["B603"] == ("active", 15)
    assert states(NOW, within=30)["B603"] == ("expiring", 30)
    assert states(NOW, within=2)["B602"] == ("active", 3)


def test_waiver_debt_from_the_latest_run_of_each_policy(records: list[RunRecord], kinds: Kinds) -> None:
    verdict, policy = kinds["pass"]
    waiver = {**policy["waivers"][0], "owner": "ops@example.com"}  # type: ignore[index]
    other_policy = {**policy, "name": "other", "waivers": [waiver]}
    reported = verdict.waivers[0].model_copy(update={"owner": "ops@example.com"})
    other_verdict = verdict.model_copy(
        update={"policy": PolicyRef(name="other", digest="sha256:" + "0" * 64), "waivers": [reported]}
    )
    other = record(11, at("2026-04-25T10:00"), "main", other_verdict, other_policy)
    debt = build_report([*records, other], now=NOW).waiver_debt
    assert sorted({(w.policy, w.run_id) for w in debt.waivers}) == [("other", 11), ("svc", 10)]
    (ops,) = [w for w in debt.waivers if w.owner == "ops@example.com"]
    assert (ops.state, ops.matched, ops.days_left) == ("stale", 0, 3)
    # A run without a report of the waiver: its matched count is unknown, and its expiry still counts.
    unreported = other.model_copy(update={"verdict": other_verdict.model_copy(update={"waivers": []})})
    (ops,) = build_report([unreported], now=NOW).waiver_debt.waivers
    assert (ops.state, ops.matched) == ("expiring", None)
    # A waiver of a rule whose `when:` was false matched nothing because the rule did not apply: the
    # engine reports it active, not stale, and so does the report.
    skipped = other.model_copy(
        update={
            "verdict": other_verdict.model_copy(update={"waivers": [reported.model_copy(update={"status": "active"})]})
        }
    )
    (ops,) = build_report([skipped], now=NOW).waiver_debt.waivers
    assert (ops.state, ops.matched) == ("expiring", 0)


def test_records_in_any_order_give_the_same_report(records: list[RunRecord], report: HistoryReport) -> None:
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)
    assert build_report(shuffled, now=NOW) == report


def test_no_runs_is_an_empty_report() -> None:
    empty = build_report([], now=NOW, period="week")
    assert (empty.runs, empty.first_run_at, empty.trend, empty.time_to_green) == (0, None, [], [])
    assert empty.waiver_debt.waivers == [] and empty.waiver_debt.owners == []
    assert "0 run(s), no runs" in render_report_text(empty)


def test_bad_arguments_are_refused(records: list[RunRecord]) -> None:
    with pytest.raises(ValueError, match="period"):
        build_report(records, now=NOW, period="month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top"):
        build_report(records, now=NOW, top=0)
    with pytest.raises(ValueError, match="expiring_within_days"):
        build_report(records, now=NOW, expiring_within_days=-1)


def test_json_round_trips(report: HistoryReport) -> None:
    text = render_report_json(report)
    assert HistoryReport.model_validate_json(text) == report
    assert '"failing_rules"' in text and '"waiver_debt"' in text and text.endswith("}\n")


def test_text_sections_with_aligned_columns(report: HistoryReport) -> None:
    text = render_report_text(report)
    lines = text.splitlines()
    assert (
        lines[0] == "gatekeeper report: 10 run(s), 2026-04-24 to 2026-04-30: 5 pass (50%), 4 fail (40%), 1 error (10%)"
    )
    for title in (
        "Outcomes per day",
        "Top failing rules (top 10)",
        "Most frequent findings (top 10)",
        "Flaky tests (top 10)",
        "Time to green (first failing run to the branch's next passing run)",
        "Slowest checks (top 10, seconds)",
        "Waivers per owner",
        "Waiver debt (expiring: within 14 days)",
    ):
        assert title in lines, title
    start = lines.index("Top failing rules (top 10)")
    header, first, second = lines[start + 1 : start + 4]
    assert header == "  rule         failed runs  errored runs  runs  share  last failed"
    assert first.split()[:5] == ["tests-green", "3", "0", "10", "30%"]
    assert first == "  tests-green            3             0    10    30%  2026-04-30 08:00", "numbers right-aligned"
    assert second == "  no-high                1             0    10    10%  2026-04-27 15:00"
    assert "  feature/x  #6 2026-04-28 10:00  still red " in text and "open for 3d 2h" in text
    assert "  expiring  2026-05-04          3  sec@example.com" in text


def test_text_does_not_pass_control_characters_through(records: list[RunRecord]) -> None:
    run = records[2]
    rules = [RuleResult(id="evil\x1b[2Jrule", outcome="fail", reason="r")]
    evil = run.model_copy(update={"verdict": run.verdict.model_copy(update={"rules": rules})})
    text = render_report_text(build_report([evil], now=NOW))
    assert "\x1b" not in text and "evil\\x1b[2Jrule" in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (44.6, "45s"),
        (60, "1m"),
        (125, "2m 5s"),
        (7200, "2h"),
        (11.5 * 3600, "11h 30m"),
        (74 * 3600, "3d 2h"),
    ],
)
def test_spans_for_people(seconds: float, shown: str) -> None:
    assert span(seconds) == shown
