"""What the CI reporters share: each finding once, with its check, the rules that counted
or waived it, and a location inside the repository (or none).

A finding's location is its own ``path`` when that is a relative, '/'-separated path inside
the repository. A finding without one (evidence outside the repository, e.g. a vulnerable
dependency) is placed at the first input file of its check, without a line; a path is never
invented.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gatekeeper.models import CheckResult, Finding, RuleResult, Severity, Verdict, WaiverReport

__all__ = [
    "EXPIRING_SOON_DAYS",
    "OUTCOME_ORDER",
    "SECURITY_CHECKERS",
    "Item",
    "Location",
    "collect",
    "days_left",
    "finding_key",
    "first_line",
    "repo_path",
    "sorted_rules",
    "truncate",
    "waivers_needing_attention",
]

#: Checkers whose findings are security findings (so is any finding with a ``cwe`` property).
SECURITY_CHECKERS = frozenset({"bandit", "semgrep", "pip-audit", "sarif"})
OUTCOME_ORDER = {"error": 0, "fail": 1, "warn": 2, "waived": 3, "pass": 4, "skipped": 5}
#: An active waiver that expires within this many days of the run is "expiring soon".
EXPIRING_SOON_DAYS = 30

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def repo_path(path: str | None) -> str | None:
    """``path`` if it is a relative path inside the repository, normalised; else None."""
    if not path or "\\" in path or "\x00" in path or path.startswith("/") or _SCHEME.match(path):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


@dataclass(frozen=True)
class Location:
    path: str
    line: int | None
    column: int | None
    exact: bool  # False: placed at the check's input file because the finding has no file


@dataclass(frozen=True)
class Item:
    """One finding of the verdict, in context."""

    finding: Finding
    check: CheckResult | None
    counted_by: tuple[str, ...]
    waived_by: tuple[str, ...]
    location: Location | None

    @property
    def suppressed(self) -> bool:
        """Waived by a rule and counted by none: accepted, not gone."""
        return bool(self.waived_by) and not self.counted_by

    @property
    def uses(self) -> str:
        return self.check.uses if self.check else "gatekeeper"

    @property
    def check_name(self) -> str:
        return self.check.name if self.check else ""

    @property
    def security(self) -> bool:
        return self.uses in SECURITY_CHECKERS or bool(self.finding.properties.get("cwe"))

    def sort_key(self) -> tuple[int, str, int, int, str, str]:
        loc = self.location
        return (
            -self.finding.severity.rank,
            loc.path if loc else "\uffff",
            (loc.line or 0) if loc else 0,
            (loc.column or 0) if loc else 0,
            self.finding.id,
            self.finding.fingerprint,
        )


def finding_key(finding: Finding) -> tuple[str, str, str | None, int | None, int | None, str]:
    return (finding.id, finding.fingerprint, finding.path, finding.line, finding.column, finding.message)


def _location(finding: Finding, check: CheckResult | None) -> Location | None:
    path = repo_path(finding.path)
    if path is not None:
        line = finding.line if finding.line and finding.line > 0 else None
        column = finding.column if line and finding.column and finding.column > 0 else None
        return Location(path, line, column, True)
    if check is not None and check.inputs:
        fallback = repo_path(check.inputs[0].path)
        if fallback is not None:
            return Location(fallback, None, None, False)
    return None


def collect(verdict: Verdict) -> list[Item]:
    """Every finding of every check once, most severe first; then any finding a rule holds
    that its checks do not (which a well-formed verdict never has), so nothing is dropped."""
    checks = {c.name: c for c in verdict.checks}
    counted: dict[tuple[str, tuple[object, ...]], list[str]] = {}
    waived: dict[tuple[str, tuple[object, ...]], list[str]] = {}
    for rule in verdict.rules:
        for table, findings in ((counted, rule.findings), (waived, rule.waived)):
            for finding in findings:
                for check_name in rule.checks or [""]:
                    ids = table.setdefault((check_name, finding_key(finding)), [])
                    if rule.id not in ids:
                        ids.append(rule.id)
    items: list[Item] = []
    seen: set[tuple[str, tuple[object, ...]]] = set()
    for check in verdict.checks:
        for finding in check.findings:
            key = (check.name, finding_key(finding))
            seen.add(key)
            items.append(
                Item(
                    finding,
                    check,
                    tuple(counted.get(key, ())),
                    tuple(waived.get(key, ())),
                    _location(finding, check),
                )
            )
    orphans: dict[tuple[str, tuple[object, ...]], tuple[Finding, list[str], list[str]]] = {}
    for rule in verdict.rules:  # findings a rule holds that no check it reads lists: keep them
        for finding, is_counted in [(f, True) for f in rule.findings] + [(f, False) for f in rule.waived]:
            if any((n, finding_key(finding)) in seen for n in rule.checks):
                continue
            name = next((n for n in rule.checks if n in checks), "")
            entry = orphans.setdefault((name, finding_key(finding)), (finding, [], []))
            ids = entry[1] if is_counted else entry[2]
            if rule.id not in ids:
                ids.append(rule.id)
    for (name, _), (finding, by_counted, by_waived) in orphans.items():
        owner = checks.get(name)
        items.append(Item(finding, owner, tuple(by_counted), tuple(by_waived), _location(finding, owner)))
    items.sort(key=Item.sort_key)
    return items


def sorted_rules(rules: Iterable[RuleResult]) -> list[RuleResult]:
    """Rules in the order a reader needs them: error, fail, warn, waived, pass (stable)."""
    return sorted(rules, key=lambda r: OUTCOME_ORDER[r.outcome])


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def days_left(waiver: WaiverReport, verdict: Verdict) -> int | None:
    """Days from the run (its finish date, so a report is reproducible) to the expiry date."""
    try:
        return (date.fromisoformat(waiver.expires[:10]) - verdict.finished_at.date()).days
    except ValueError:
        return None


def waivers_needing_attention(verdict: Verdict) -> list[tuple[WaiverReport, int | None]]:
    """Expired and stale waivers, and active ones expiring within EXPIRING_SOON_DAYS."""
    out = []
    for waiver in verdict.waivers:
        left = days_left(waiver, verdict)
        if waiver.status != "active" or (left is not None and left <= EXPIRING_SOON_DAYS):
            out.append((waiver, left))
    order = {"expired": 0, "stale": 1, "active": 2}
    return sorted(out, key=lambda wl: (order[wl[0].status], wl[0].expires, wl[0].rule))


SEVERITIES_DESC = sorted(Severity, key=lambda s: -s.rank)
