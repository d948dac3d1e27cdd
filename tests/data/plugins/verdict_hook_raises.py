"""A local plugin whose gatekeeper_verdict_ready hook raises: the run must end in a PluginError."""

from __future__ import annotations

from typing import Any

from gatekeeper import hookimpl


@hookimpl
def gatekeeper_verdict_ready(verdict: Any) -> None:
    raise RuntimeError("observer exploded")
