"""Waiver hygiene: every waiver of a policy with days to expiry (``gatekeeper waivers``).

A waiver applies until the end of its ``expires`` day, so ``days_left`` is 0 on that day and
negative once it has expired; it is *expiring* when ``0 <= days_left <= N`` for a window of N
whole days, as in ``gatekeeper report``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.policy.model import Policy

__all__ = ["WaiverEntry", "WaiverListing", "list_waivers"]

WaiverState = Literal["active", "expiring", "expired"]


class WaiverEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    scope: str = Field(description="'whole rule', or the match keys, e.g. 'finding=B602 path=scripts/*'.")
    match: dict[str, str] = Field(default_factory=dict)
    owner: str
    reason: str
    expires: str
    days_left: int = Field(description="Days from today to the last day the waiver applies; negative: expired.")
    status: WaiverState


class WaiverListing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: str
    today: str
    expiring_within_days: int | None
    waivers: list[WaiverEntry]

    @property
    def due(self) -> list[WaiverEntry]:
        """Waivers that expire within the window, or have expired (only with a window)."""
        if self.expiring_within_days is None:
            return []
        return [w for w in self.waivers if w.status != "active"]


def list_waivers(policy: Policy, today: date, within_days: int | None = None, name: str = "policy") -> WaiverListing:
    """Every waiver of ``policy`` judged at ``today``, soonest expiry first (then rule, owner)."""
    entries = []
    for waiver in policy.waivers:
        match = {k: v for k, v in (waiver.match.model_dump() if waiver.match else {}).items() if v is not None}
        days_left = (waiver.expires - today).days
        status: WaiverState = "active"
        if days_left < 0:
            status = "expired"
        elif within_days is not None and days_left <= within_days:
            status = "expiring"
        entries.append(
            WaiverEntry(
                rule=waiver.rule,
                scope=" ".join(f"{k}={v}" for k, v in match.items()) or "whole rule",
                match=match,
                owner=waiver.owner,
                reason=waiver.reason,
                expires=waiver.expires.isoformat(),
                days_left=days_left,
                status=status,
            )
        )
    entries.sort(key=lambda e: (e.expires, e.rule, e.owner))
    return WaiverListing(policy=name, today=today.isoformat(), expiring_within_days=within_days, waivers=entries)
