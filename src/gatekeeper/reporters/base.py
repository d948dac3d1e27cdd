"""What a reporter is: a format name and a function from a verdict to text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.models import Verdict


@dataclass(frozen=True)
class RenderOptions:
    """How the output will be shown; reporters that write files ignore ``color``.

    The last three are for the CI reporters and default to "not known":

    - ``source_root``: the repository root; the ``html`` reporter reads a few lines around
      each finding from it to show code context (without it, no code is shown).
    - ``link_base``: a URL prefix for file links in ``markdown`` (e.g.
      ``https://github.com/o/r/blob/<sha>/``); without it links are relative (``path#L10``).
    - ``sarif_category``: ``runAutomationDetails.id`` of the ``sarif`` reporter; without it
      the variable ``GATEKEEPER_SARIF_CATEGORY`` is read, then ``gatekeeper/<policy name>/``.
    """

    color: bool = False
    width: int = 100
    source_root: Path | None = None
    link_base: str | None = None
    sarif_category: str | None = None


@dataclass(frozen=True)
class Reporter:
    """A ``--format NAME`` output. ``render`` must be pure: same verdict, same text."""

    name: str
    render: Callable[[Verdict, RenderOptions], str]
    description: str = ""
    extension: str = "txt"
