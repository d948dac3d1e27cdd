"""Reading report files written by an earlier pipeline step: bounded, strict, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError

MAX_REPORT_BYTES = 256 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, what: str) -> Any:
    """Strict JSON (no NaN/Infinity); a ``CheckError`` naming ``what`` and the position otherwise."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise CheckError(f"{what}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise CheckError(f"{what}: {exc}") from None


def locate_report(ctx: CheckContext, path: str, max_bytes: int = MAX_REPORT_BYTES) -> tuple[Path, str, int]:
    """A report inside the repository: its path, its name for messages, its size; missing or huge is an error."""
    resolved = ctx.resolve(path)
    shown = ctx.relpath(resolved)
    if not resolved.is_file():
        raise CheckError(f"report {shown} not found; did the step that writes it run?")
    size = resolved.stat().st_size
    if size > max_bytes:
        raise CheckError(f"report {shown} is {size} bytes, over the {max_bytes}-byte limit")
    return resolved, shown, size


def read_report(ctx: CheckContext, path: str, max_bytes: int = MAX_REPORT_BYTES) -> tuple[Path, str]:
    """A report inside the repository, read as text; missing, huge or empty is an error."""
    resolved, shown, _ = locate_report(ctx, path, max_bytes)
    try:
        text = resolved.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CheckError(f"report {shown} is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise CheckError(f"report {shown} is empty; an empty report is no evidence")
    return resolved, text
