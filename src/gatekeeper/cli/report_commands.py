"""``gatekeeper report``: what the run history says, as text, JSON or one HTML page.

Importing this module costs nothing beyond argparse: the store, the aggregation and the
renderers are imported when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

REPORT_FORMATS = ("text", "json", "html")


def add_report_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register ``gatekeeper report`` on the CLI's subparsers."""
    report = sub.add_parser(
        "report",
        help="what the run history says: pass rates over time, failing rules, flaky tests, waiver debt",
    )
    report.add_argument("path", nargs="?", default=".", help="repository whose history to read (default: .)")
    report.add_argument(
        "--history",
        metavar="URL",
        help="the store: sqlite:///PATH, a file path or postgresql://... "
        "(default: $GATEKEEPER_HISTORY, else PATH/.gatekeeper/history.db)",
    )
    report.add_argument(
        "--since",
        default="30d",
        metavar="AGE|DATE",
        help="runs recorded in the last AGE (e.g. 30d, 2w, 12h) or since DATE (2026-05-01); 'all' for every run "
        "(default: 30d)",
    )
    report.add_argument("--branch", metavar="B", help="only the runs of this branch")
    report.add_argument("--period", choices=["day", "week"], default="day", help="trend buckets (default: day)")
    report.add_argument("--top", type=int, default=10, metavar="N", help="rows of each top-N table (default: 10)")
    report.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="NAME[=FILE]",
        help="text (default), json or html, repeatable; FILE writes it there (atomically) instead of stdout",
    )


def since_moment(text: str, now: datetime) -> datetime | None:
    """``--since``: None for ``all``, a date or date-time as written, else ``now`` minus a duration."""
    from gatekeeper.clock import parse_now
    from gatekeeper.durations import parse_duration
    from gatekeeper.errors import UsageError

    spelled = text.strip()
    if spelled.lower() == "all":
        return None
    try:
        if spelled[:1].isdigit() and "-" in spelled:
            return parse_now(spelled)
        return now - parse_duration(spelled, "--since")
    except UsageError:
        raise UsageError(f"--since {text!r}: write an age (30d, 2w, 12h), a date (2026-05-01) or 'all'") from None


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gatekeeper import clock
    from gatekeeper.cli.commands import parse_formats
    from gatekeeper.errors import UsageError
    from gatekeeper.history.report import build_report
    from gatekeeper.history.report_render import render_report_html, render_report_json, render_report_text
    from gatekeeper.history.store import NoHistoryStore, open_store
    from gatekeeper.reporters import write_report

    root = Path(args.path)
    if not root.is_dir():
        raise UsageError(f"{args.path}: not a directory; pass the repository whose history to report")
    if args.top < 1:
        raise UsageError("--top must be at least 1")
    formats = parse_formats(args.format)
    for name, _ in formats:
        if name not in REPORT_FORMATS:
            raise UsageError(f"unknown report format {name!r}; available: {', '.join(REPORT_FORMATS)}")
    now = clock.now()
    since = since_moment(args.since, now)
    try:
        with open_store(args.history, root, create=False) as store:
            records = store.runs(branch=args.branch, since=since)
            where = store.url
    except NoHistoryStore as exc:
        records, where = [], exc.url
    report = build_report(records, now=now, period=args.period, top=args.top)
    renderers = {"text": render_report_text, "json": render_report_json, "html": render_report_html}
    if not records:
        window = "" if since is None else f" since {since:%Y-%m-%d %H:%M} UTC"
        branch = f" on branch {args.branch}" if args.branch else ""
        stdout_format = next((n for n, target in formats if target is None), None)
        stream = sys.stdout if stdout_format in (None, "text") else sys.stderr  # keep JSON/HTML on stdout clean
        print(f"gatekeeper: no runs recorded{branch}{window} in {where}", file=stream)
        # A file asked for still gets the (empty) report: a page left from an older report would lie.
        for name, target in formats:
            if target is not None:
                write_report(target, renderers[name](report))
        return 0
    for name, target in formats:
        text = renderers[name](report)
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_report(target, text)
    return 0
