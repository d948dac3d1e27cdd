"""Durations as people type them on a command line (``24h``, ``7d``, ``1h30m``), for ``--max-age`` and ``--since``."""

from __future__ import annotations

import re
from datetime import timedelta

from gatekeeper.errors import UsageError

__all__ = ["format_duration", "parse_duration"]

_DURATION = re.compile(r"(\d+)([wdhms])", re.ASCII)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str, what: str = "max age") -> timedelta:
    """``24h``, ``30m``, ``7d``, ``1h30m``, ``2w``; a bad spelling is a ``UsageError`` naming ``what``."""
    spelled = text.strip()
    parts = _DURATION.findall(spelled)
    if not spelled or "".join(n + u for n, u in parts) != spelled:
        raise UsageError(f"{what} {text!r}: write a duration such as 24h, 30m, 7d or 1h30m")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def format_duration(span: timedelta) -> str:
    seconds, out = int(span.total_seconds()), ""
    for unit in "dhms":
        count, seconds = divmod(seconds, _UNITS[unit])
        out += f"{count}{unit}" if count else ""
    return out or "0s"
