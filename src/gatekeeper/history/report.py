"""``gatekeeper report``: the questions the run history answers, aggregated from recorded runs.

``build_report`` is pure: it reads the records it is given and the ``now`` it is passed (the
CLI passes ``gatekeeper.clock.now()``, which honours ``GATEKEEPER_NOW``), and returns frozen
models that the JSON report serialises as they are and ``report_render`` turns into text or
HTML. A run's time is when the store recorded it (``recorded_at``, in UTC: right after its
verdict was decided, and what ``--since`` filters on); runs are taken oldest first (ties by run id).

What each figure is (docs/history.md#report says the same for readers):

* ``trend``: runs per day or per ISO week (Monday first) with their pass/fail/error counts and
  rates, every period from the first run's to the last run's, empty ones included.
* ``failing_rules``: rules by the number of runs in which they failed (then errored); ``share``
  is failed runs over the runs that decided the rule.
* ``frequent_findings``: findings by the number of runs they appeared in, one finding being a
  check name and a fingerprint.
* ``flaky_tests``: tests a ``junit`` check reported as flaky (passed on a rerun), with the runs
  where they were flaky, failed outright, and the runs in which their check ran (status ok):
  ``flake_rate`` is flaky runs over those.
* ``time_to_green``: per branch, each red episode, from the first run that did not pass (fail or
  error) to the branch's next passing run; one still red at the end is open and has an age.
* ``slowest_checks``: each check's ``duration_s`` over the runs where it was not skipped: mean,
  95th percentile (nearest rank) and maximum.
* ``waiver_debt``: the waivers of the most recent run of each policy, judged at ``now``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.history.records import RunRecord
from gatekeeper.history.waiver_debt import OwnerDebt, WaiverDebt, WaiverDebtItem, waiver_debt
from gatekeeper.models import Finding, Severity

__all__ = [
    "NO_BRANCH",
    "BranchTimeToGreen",
    "FailingRule",
    "FlakyTest",
    "FrequentFinding",
    "HistoryReport",
    "OwnerDebt",
    "Period",
    "PeriodBucket",
    "RedEpisode",
    "SlowCheck",
    "WaiverDebt",
    "WaiverDebtItem",
    "build_report",
    "percentile",
    "period_start",
    "run_time",
]

Period = Literal["day", "week"]
#: The branch shown for runs whose subject has none (not a git repository, detached HEAD).
NO_BRANCH = "(no branch)"
MESSAGE_CHARS = 200


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PeriodBucket(_Frozen):
    """The runs of one day or week; the rates are None for a period without runs."""

    start: date = Field(description="The period's first day (a Monday for weeks).")
    runs: int
    passed: int
    failed: int
    errors: int
    pass_rate: float | None
    fail_rate: float | None
    error_rate: float | None


class FailingRule(_Frozen):
    rule: str
    failed_runs: int = Field(description="Runs in which the rule's outcome was fail.")
    errored_runs: int = Field(description="Runs in which the rule's outcome was error.")
    runs: int = Field(description="Runs that decided the rule.")
    share: float = Field(description="failed_runs / runs.")
    last_failed_at: datetime | None


class FrequentFinding(_Frozen):
    check: str
    uses: str
    id: str
    fingerprint: str
    path: str | None
    severity: Severity = Field(description="As in the most recent run that had it.")
    message: str = Field(description="First line of the most recent message, at most 200 characters.")
    runs: int = Field(description="Runs in which the check reported it.")
    first_seen: datetime
    last_seen: datetime


class FlakyTest(_Frozen):
    check: str
    test: str
    flaky_runs: int = Field(description="Runs in which it passed on a rerun.")
    failed_runs: int = Field(description="Runs in which it failed or errored outright.")
    runs: int = Field(description="Runs in which its check ran (status ok).")
    flake_rate: float = Field(description="flaky_runs / runs.")
    last_flaky_at: datetime


class RedEpisode(_Frozen):
    branch: str
    first_failing_run: int
    failed_at: datetime
    next_passing_run: int | None = Field(description="None while the branch is still red.")
    passed_at: datetime | None
    red_runs: int = Field(description="Runs that did not pass in the episode.")
    open: bool
    duration_s: float | None = Field(description="passed_at - failed_at; None for an open episode.")
    age_s: float | None = Field(description="now - failed_at for an open episode; None otherwise.")


class BranchTimeToGreen(_Frozen):
    branch: str
    episodes: list[RedEpisode]
    median_s: float | None = Field(description="Median duration of the closed episodes.")


class SlowCheck(_Frozen):
    check: str
    uses: str
    runs: int = Field(description="Runs in which the check ran or errored (skipped ones are left out).")
    mean_s: float
    p95_s: float
    max_s: float


class HistoryReport(_Frozen):
    generated_at: datetime
    period: Period
    top: int
    runs: int
    first_run_at: datetime | None
    last_run_at: datetime | None
    passed: int
    failed: int
    errors: int
    branches: list[str]
    policies: list[str]
    trend: list[PeriodBucket]
    failing_rules: list[FailingRule]
    frequent_findings: list[FrequentFinding]
    flaky_tests: list[FlakyTest]
    time_to_green: list[BranchTimeToGreen]
    slowest_checks: list[SlowCheck]
    waiver_debt: WaiverDebt


def run_time(record: RunRecord) -> datetime:
    """When a run happened: when the store recorded it, in UTC."""
    moment = record.recorded_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def period_start(day: date, period: Period) -> date:
    return day if period == "day" else day - timedelta(days=day.weekday())


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def build_report(
    records: Sequence[RunRecord],
    *,
    now: datetime,
    period: Period = "day",
    top: int = 10,
    expiring_within_days: int = 14,
) -> HistoryReport:
    """Aggregate ``records`` (in any order) into a ``HistoryReport`` as of ``now``."""
    if period not in ("day", "week"):
        raise ValueError(f"period must be 'day' or 'week', not {period!r}")
    if top < 1 or expiring_within_days < 0:
        raise ValueError("top must be at least 1 and expiring_within_days at least 0")
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    runs = sorted(records, key=lambda r: (run_time(r), r.id))
    outcomes = Counter(r.verdict.outcome for r in runs)
    return HistoryReport(
        generated_at=now.astimezone(timezone.utc),
        period=period,
        top=top,
        runs=len(runs),
        first_run_at=run_time(runs[0]) if runs else None,
        last_run_at=run_time(runs[-1]) if runs else None,
        passed=outcomes["pass"],
        failed=outcomes["fail"],
        errors=outcomes["error"],
        branches=sorted({r.verdict.subject.branch or NO_BRANCH for r in runs}),
        policies=sorted({r.verdict.policy.name for r in runs}),
        trend=_trend(runs, period),
        failing_rules=_failing_rules(runs)[:top],
        frequent_findings=_frequent_findings(runs)[:top],
        flaky_tests=_flaky_tests(runs)[:top],
        time_to_green=_time_to_green(runs, now),
        slowest_checks=_slowest_checks(runs)[:top],
        waiver_debt=waiver_debt(runs, now, expiring_within_days),
    )


def _trend(runs: list[RunRecord], period: Period) -> list[PeriodBucket]:
    if not runs:
        return []
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for record in runs:
        counts[period_start(run_time(record).date(), period)][record.verdict.outcome] += 1
    step = timedelta(days=1 if period == "day" else 7)
    start, last = min(counts), max(counts)
    buckets = []
    while start <= last:
        c = counts.get(start, Counter())
        total = c.total()
        buckets.append(
            PeriodBucket(
                start=start,
                runs=total,
                passed=c["pass"],
                failed=c["fail"],
                errors=c["error"],
                pass_rate=_rate(c["pass"], total),
                fail_rate=_rate(c["fail"], total),
                error_rate=_rate(c["error"], total),
            )
        )
        start += step
    return buckets


def _failing_rules(runs: list[RunRecord]) -> list[FailingRule]:
    decided: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    errored: Counter[str] = Counter()
    last: dict[str, datetime] = {}
    for record in runs:
        for rule in {r.id: r for r in record.verdict.rules}.values():
            if rule.outcome == "skipped":  # its when: was false: the run did not decide it
                continue
            decided[rule.id] += 1
            if rule.outcome == "fail":
                failed[rule.id] += 1
                last[rule.id] = run_time(record)
            elif rule.outcome == "error":
                errored[rule.id] += 1
    rows = [
        FailingRule(
            rule=rule,
            failed_runs=failed[rule],
            errored_runs=errored[rule],
            runs=decided[rule],
            share=round(failed[rule] / decided[rule], 4),
            last_failed_at=last.get(rule),
        )
        for rule in decided
        if failed[rule] or errored[rule]
    ]
    return sorted(rows, key=lambda r: (-r.failed_runs, -r.errored_runs, r.rule))


def _frequent_findings(runs: list[RunRecord]) -> list[FrequentFinding]:
    seen: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], datetime] = {}
    latest: dict[tuple[str, str], tuple[str, Finding, datetime]] = {}
    for record in runs:
        when = run_time(record)
        keys_this_run: set[tuple[str, str]] = set()
        for check in record.verdict.checks:
            for finding in check.findings:
                key = (check.name, finding.fingerprint)
                if key in keys_this_run:
                    continue
                keys_this_run.add(key)
                seen[key] += 1
                first.setdefault(key, when)
                latest[key] = (check.uses, finding, when)
    rows = []
    for key, count in seen.items():
        uses, finding, when = latest[key]
        message = finding.message.splitlines()[0] if finding.message.strip() else ""
        rows.append(
            FrequentFinding(
                check=key[0],
                uses=uses,
                id=finding.id,
                fingerprint=key[1],
                path=finding.path,
                severity=finding.severity,
                message=message[:MESSAGE_CHARS],
                runs=count,
                first_seen=first[key],
                last_seen=when,
            )
        )
    return sorted(rows, key=lambda f: (-f.runs, -f.severity.rank, f.check, f.id, f.fingerprint))


def _flaky_tests(runs: list[RunRecord]) -> list[FlakyTest]:
    check_runs: Counter[str] = Counter()
    flaky: Counter[tuple[str, str]] = Counter()
    failed: Counter[tuple[str, str]] = Counter()
    last: dict[tuple[str, str], datetime] = {}
    for record in runs:
        for check in record.verdict.checks:
            if check.uses != "junit" or check.status != "ok":
                continue
            check_runs[check.name] += 1
            flaky_now = {f.id for f in check.findings if f.properties.get("outcome") == "passed"}
            failed_now = {f.id for f in check.findings if f.properties.get("outcome") in ("failed", "error")}
            for test in flaky_now:
                flaky[check.name, test] += 1
                last[check.name, test] = run_time(record)
            for test in failed_now - flaky_now:
                failed[check.name, test] += 1
    rows = [
        FlakyTest(
            check=check,
            test=test,
            flaky_runs=count,
            failed_runs=failed[check, test],
            runs=check_runs[check],
            flake_rate=round(count / check_runs[check], 4),
            last_flaky_at=last[check, test],
        )
        for (check, test), count in flaky.items()
    ]
    return sorted(rows, key=lambda t: (-t.flaky_runs, -t.flake_rate, t.check, t.test))


def _time_to_green(runs: list[RunRecord], now: datetime) -> list[BranchTimeToGreen]:
    by_branch: dict[str, list[RunRecord]] = defaultdict(list)
    for record in runs:
        by_branch[record.verdict.subject.branch or NO_BRANCH].append(record)
    out = []
    for branch in sorted(by_branch):
        episodes: list[RedEpisode] = []
        red: list[RunRecord] = []
        for record in by_branch[branch]:
            if record.verdict.outcome != "pass":
                red.append(record)
            elif red:
                episodes.append(_episode(branch, red, record, now))
                red = []
        if red:
            episodes.append(_episode(branch, red, None, now))
        if episodes:
            closed = [e.duration_s for e in episodes if e.duration_s is not None]
            median = statistics.median(closed) if closed else None
            out.append(BranchTimeToGreen(branch=branch, episodes=episodes, median_s=median))
    return out


def _episode(branch: str, red: list[RunRecord], green: RunRecord | None, now: datetime) -> RedEpisode:
    failed_at = run_time(red[0])
    passed_at = run_time(green) if green is not None else None
    return RedEpisode(
        branch=branch,
        first_failing_run=red[0].id,
        failed_at=failed_at,
        next_passing_run=green.id if green is not None else None,
        passed_at=passed_at,
        red_runs=len(red),
        open=green is None,
        duration_s=(passed_at - failed_at).total_seconds() if passed_at is not None else None,
        age_s=max((now - failed_at).total_seconds(), 0.0) if passed_at is None else None,
    )


def percentile(values: Iterable[float], pct: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``pct``% of values at or below it."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _slowest_checks(runs: list[RunRecord]) -> list[SlowCheck]:
    durations: dict[str, list[float]] = defaultdict(list)
    uses: dict[str, str] = {}
    for record in runs:
        for check in record.verdict.checks:
            if check.status == "skipped":
                continue
            durations[check.name].append(check.duration_s)
            uses[check.name] = check.uses
    rows = [
        SlowCheck(
            check=name,
            uses=uses[name],
            runs=len(values),
            mean_s=round(statistics.fmean(values), 3),
            p95_s=round(percentile(values, 95), 3),
            max_s=round(max(values), 3),
        )
        for name, values in durations.items()
    ]
    return sorted(rows, key=lambda c: (-c.mean_s, -c.max_s, c.check))
