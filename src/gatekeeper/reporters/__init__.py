"""Render a verdict in a registered format and write it atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.errors import ReportError, UsageError
from gatekeeper.models import Verdict
from gatekeeper.reporters.base import RenderOptions, Reporter

if TYPE_CHECKING:
    from gatekeeper.plugins import Plugins

__all__ = ["RenderOptions", "Reporter", "render", "write_report"]


def render(verdict: Verdict, format_name: str, plugins: Plugins, options: RenderOptions | None = None) -> str:
    reporter = plugins.reporters.get(format_name)
    if reporter is None:
        known = ", ".join(sorted(plugins.reporters))
        raise UsageError(f"unknown format {format_name!r}; available: {known}")
    try:
        return reporter.render(verdict, options or RenderOptions())
    except Exception as exc:
        raise ReportError(f"reporter {format_name!r} failed: {type(exc).__name__}: {exc}") from exc


def write_report(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old file or the new one, never half."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ReportError(f"cannot write report {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"cannot write report {target}: {exc.strerror}") from None
