"""A local plugin that records every verdict it is shown (to prove the hook runs once, at the end)."""

from __future__ import annotations

from typing import Any

from gatekeeper import hookimpl

SEEN: list[Any] = []


@hookimpl
def gatekeeper_verdict_ready(verdict: Any) -> None:
    SEEN.append(verdict)
