"""Terminal facts the commands share, kept free of heavy imports."""

from __future__ import annotations

import os

__all__ = ["use_color"]


def use_color(stream: object) -> bool:
    """Colour on ``stream``: it is a terminal and ``NO_COLOR`` is not set."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ
