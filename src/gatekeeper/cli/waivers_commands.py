"""``gatekeeper waivers``: every waiver of the resolved policy, with days to expiry.

With ``--expiring-within 14d`` it exits 1 when any waiver expires within that window (or has
expired already), for a scheduled job that reminds the owners. The date is ``clock.today()``
(``GATEKEEPER_NOW`` fixes it). A waiver applies until the end of its ``expires`` day, so
``days_left`` is 0 on that day and negative once it has expired; it is *expiring* when
``0 <= days_left <= N`` for a window of N whole days, as in ``gatekeeper report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS
from gatekeeper.errors import UsageError

if TYPE_CHECKING:  # the parser is built on every start-up: nothing heavy at import
    from gatekeeper.waivers import WaiverListing

__all__ = ["add_waivers_parser", "cmd_waivers", "render_waivers"]


def add_waivers_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    waivers: argparse.ArgumentParser = sub.add_parser(
        "waivers", help="list the policy's waivers with days to expiry; --expiring-within exits 1 when any is due"
    )
    waivers.add_argument("path", nargs="?", default=".", help="repository whose policy to read (default: .)")
    waivers.add_argument(
        "--policy", help="policy file or builtin:NAME (default: PATH/gatekeeper.yaml, else builtin:default)"
    )
    waivers.add_argument(
        "--expiring-within",
        metavar="DURATION",
        help="exit 1 when a waiver expires within this many days (e.g. 14d, 2w) or has expired",
    )
    waivers.add_argument("--format", choices=["text", "json"], default="text", help="default: text")
    return waivers


def cmd_waivers(args: argparse.Namespace) -> int:
    from gatekeeper import clock
    from gatekeeper.cli.main import disabled_plugins
    from gatekeeper.durations import parse_duration
    from gatekeeper.policy import find_policy, load_policy
    from gatekeeper.waivers import list_waivers

    within = None
    if args.expiring_within is not None:
        span = parse_duration(args.expiring_within, "--expiring-within")
        if span.total_seconds() % 86400:
            raise UsageError(f"--expiring-within {args.expiring_within!r}: give whole days, e.g. 14d or 2w")
        within = span.days
    root = Path(args.path)
    if args.policy is None and not root.is_dir():
        raise UsageError(f"{args.path}: not a directory; pass the repository whose policy to read")
    resolved = load_policy(args.policy or find_policy(root), disabled_plugins=disabled_plugins(args))
    listing = list_waivers(resolved.policy, clock.today(), within, resolved.name)
    if args.format == "json":
        print(json.dumps(listing.model_dump(mode="json"), indent=2))
    else:
        sys.stdout.write(render_waivers(listing))
    return EXIT_FAIL if listing.due else EXIT_PASS


def render_waivers(listing: WaiverListing) -> str:
    if not listing.waivers:
        return f"policy {listing.policy!r} has no waivers (today is {listing.today})\n"
    head = ("STATUS", "EXPIRES", "DAYS", "RULE", "SCOPE", "OWNER", "REASON")
    rows = [
        (w.status, w.expires, str(w.days_left), w.rule, w.scope, w.owner, w.reason.replace("\n", " "))
        for w in listing.waivers
    ]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head) - 1)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1] for row in [head, *rows]
    ]
    expired = sum(w.status == "expired" for w in listing.waivers)
    summary = f"{len(listing.waivers)} waiver(s) of policy {listing.policy!r} on {listing.today}"
    if listing.expiring_within_days is not None:
        expiring = sum(w.status == "expiring" for w in listing.waivers)
        summary += f"; {expiring} expire(s) within {listing.expiring_within_days} day(s)"
    if expired:
        summary += f"; {expired} expired (they waive nothing; renew or remove them)"
    return "\n".join([*lines, summary]) + "\n"
