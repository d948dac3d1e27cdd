"""Waiver debt: what each policy's waivers owe, judged at a given moment from its latest recorded run.

The policy's canonical JSON gives owner, reason and expiry; the run's waiver reports give how
many findings each waived and whether the engine found it stale (a waiver of a rule whose
``when:`` was false matched nothing, but is not stale).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.history.records import RunRecord
from gatekeeper.models import WaiverReport

__all__ = ["OwnerDebt", "WaiverDebt", "WaiverDebtItem", "WaiverState", "waiver_debt"]

WaiverState = Literal["active", "expiring", "expired", "stale"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WaiverDebtItem(_Frozen):
    policy: str
    run_id: int = Field(description="The policy's most recent run, which this waiver's figures come from.")
    rule: str
    match: dict[str, str] = Field(default_factory=dict)
    owner: str
    reason: str
    expires: date
    days_left: int = Field(description="expires - now, in days; negative once expired.")
    matched: int | None = Field(description="Findings it waived in that run (None if the run has no report of it).")
    state: WaiverState = Field(
        description="expired (days_left < 0, still in the policy), stale (matched nothing), "
        "expiring (within expiring_within_days), else active."
    )


class OwnerDebt(_Frozen):
    owner: str
    active: int = Field(description="Waivers not yet expired (active, expiring and stale).")
    expiring: int
    expired: int
    stale: int


class WaiverDebt(_Frozen):
    expiring_within_days: int
    waivers: list[WaiverDebtItem] = Field(description="Expired, stale, expiring, then active; by expiry date.")
    owners: list[OwnerDebt]


_STATE_ORDER = {"expired": 0, "stale": 1, "expiring": 2, "active": 3}


def waiver_debt(runs: list[RunRecord], now: datetime, within: int) -> WaiverDebt:
    """Every waiver of the latest run of each policy, expired first, then stale, expiring, active."""
    latest: dict[str, RunRecord] = {}
    for record in runs:  # oldest first: the last one of each policy wins
        latest[record.verdict.policy.name] = record
    today = now.astimezone(timezone.utc).date()
    items: list[WaiverDebtItem] = []
    for name, record in sorted(latest.items()):
        reports = record.verdict.waivers
        listed = record.policy.get("waivers") or []
        for index, entry in enumerate(listed):
            item = _debt_item(name, record.id, index, entry, reports, len(listed), today, within)
            if item is not None:
                items.append(item)
    items.sort(key=lambda w: (_STATE_ORDER[w.state], w.expires, w.owner, w.rule, w.policy))
    owners: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        owners[item.owner][item.state] += 1
    owner_rows = [
        OwnerDebt(
            owner=owner,
            active=c["active"] + c["expiring"] + c["stale"],
            expiring=c["expiring"],
            expired=c["expired"],
            stale=c["stale"],
        )
        for owner, c in owners.items()
    ]
    owner_rows.sort(key=lambda o: (-o.active, -o.expired, o.owner))
    return WaiverDebt(expiring_within_days=within, waivers=items, owners=owner_rows)


def _debt_item(
    policy: str,
    run_id: int,
    index: int,
    entry: Any,
    reports: list[WaiverReport],
    listed: int,
    today: date,
    within: int,
) -> WaiverDebtItem | None:
    """One waiver of the policy's canonical JSON, with its matched count from the run's waiver report."""
    if not isinstance(entry, dict):
        return None
    try:
        expires = date.fromisoformat(str(entry.get("expires", ""))[:10])
    except ValueError:
        return None
    raw_match = entry.get("match") or {}
    match = {str(k): str(v) for k, v in raw_match.items() if v is not None} if isinstance(raw_match, dict) else {}
    rule, owner = str(entry.get("rule", "")), str(entry.get("owner", ""))

    def same(report: WaiverReport) -> bool:
        return (report.rule, report.owner, report.expires[:10], report.match) == (
            rule,
            owner,
            expires.isoformat(),
            match,
        )

    # The engine reports the waivers in the policy's order; fall back to matching them by content.
    report = reports[index] if len(reports) == listed and same(reports[index]) else next(filter(same, reports), None)
    matched = report.matched if report is not None else None
    days_left = (expires - today).days
    state: WaiverState
    if days_left < 0:
        state = "expired"
    elif report is not None and report.status == "stale":  # the engine's word: a skipped rule's waiver is not
        state = "stale"
    elif days_left <= within:
        state = "expiring"
    else:
        state = "active"
    return WaiverDebtItem(
        policy=policy,
        run_id=run_id,
        rule=rule,
        match=match,
        owner=owner,
        reason=str(entry.get("reason", "")),
        expires=expires,
        days_left=days_left,
        matched=matched,
        state=state,
    )
