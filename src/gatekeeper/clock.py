"""The one place gatekeeper asks what time it is, so tests and replays can fix the clock.

``GATEKEEPER_NOW`` (an ISO date ``2026-05-01`` or date-time ``2026-05-01T12:00:00Z``) fixes it
for a whole process; library functions take ``now=``/``today=`` arguments instead.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

from gatekeeper.errors import UsageError

ENV = "GATEKEEPER_NOW"


def parse_now(text: str) -> datetime:
    """An aware UTC datetime from an ISO date or date-time (a naive one is taken as UTC)."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise UsageError(
            f"{ENV}={text!r}: not an ISO date or date-time, e.g. 2026-05-01 or 2026-05-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def now() -> datetime:
    """The current time in UTC, or ``GATEKEEPER_NOW`` when it is set."""
    fixed = os.environ.get(ENV)
    return parse_now(fixed) if fixed else datetime.now(timezone.utc)


def today() -> date:
    """Today's date in UTC (``GATEKEEPER_NOW``'s date when it is set)."""
    return now().date()
