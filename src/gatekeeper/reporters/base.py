"""What a reporter is: a format name and a function from a verdict to text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.models import Verdict


@dataclass(frozen=True)
class RenderOptions:
    """How the output will be shown; reporters that write files ignore ``color``."""

    color: bool = False
    width: int = 100


@dataclass(frozen=True)
class Reporter:
    """A ``--format NAME`` output. ``render`` must be pure: same verdict, same text."""

    name: str
    render: Callable[[Verdict, RenderOptions], str]
    description: str = ""
    extension: str = "txt"
