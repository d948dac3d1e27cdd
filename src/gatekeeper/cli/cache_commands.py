"""``gatekeeper run``'s result cache: ``--no-cache``, ``GATEKEEPER_CACHE_DIR``, and its warnings."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.cache import ResultCache

#: Problems printed after a run; the rest are counted.
SHOWN_PROBLEMS = 5


def add_run_cache_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="run every check: neither reuse nor store results in the result cache "
        "(PATH/.gatekeeper/cache, or GATEKEEPER_CACHE_DIR)",
    )


def open_cache(args: argparse.Namespace, root: Path) -> ResultCache | None:
    """The cache ``run`` uses, or None with ``--no-cache``. Nothing is created before the first result is stored."""
    if getattr(args, "no_cache", False):
        return None
    from gatekeeper.cache import CACHE_DIR_ENV, ResultCache, default_cache_dir
    from gatekeeper.state import state_dir

    if os.environ.get(CACHE_DIR_ENV, "").strip():
        return ResultCache(default_cache_dir(root))
    return ResultCache(default_cache_dir(root), on_create=lambda: state_dir(root))  # .gatekeeper/ ignores itself


def report_cache(cache: ResultCache | None) -> None:
    """Warn (stderr) about entries that could not be used or written; the verdict is never affected."""
    if cache is None or not cache.problems:
        return
    for problem in cache.problems[:SHOWN_PROBLEMS]:
        print(f"gatekeeper: warning: result cache: {problem}", file=sys.stderr)
    if len(cache.problems) > SHOWN_PROBLEMS:
        print(f"gatekeeper: warning: result cache: {len(cache.problems) - SHOWN_PROBLEMS} more", file=sys.stderr)
