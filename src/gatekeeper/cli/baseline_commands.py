"""``gatekeeper baseline create``: record the repository's current findings, so rules can count only new ones.

It loads the policy and runs its checks as ``gatekeeper run`` does (same PATH, ``--policy``,
``--jobs`` and plugins), but decides nothing, records no history and calls no verdict hook:
it writes the findings of every check to the baseline file (``gatekeeper.baseline``).
A check that errored means no baseline is written (exit 3): the file would miss its findings.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gatekeeper.cli.main import EXIT_PASS
from gatekeeper.errors import UsageError


def add_baseline_parser(sub: argparse._SubParsersAction[Any]) -> list[argparse.ArgumentParser]:
    """``baseline create``; returns the subcommands that load a policy (they take ``--disable-plugin``)."""
    baseline = sub.add_parser("baseline", help="record the current findings, so rules can count only new ones")
    baseline_sub = baseline.add_subparsers(dest="baseline_command", metavar="SUBCOMMAND", parser_class=type(baseline))
    create = baseline_sub.add_parser(
        "create", help="run the policy's checks and write their findings to the baseline file"
    )
    create.add_argument("path", nargs="?", default=".", help="repository to scan (default: .)")
    create.add_argument(
        "--policy", help="policy file or builtin:NAME (default: PATH/gatekeeper.yaml, else builtin:default)"
    )
    create.add_argument(
        "--out", metavar="FILE", help="baseline file to write, atomically (default: PATH/.gatekeeper-baseline.json)"
    )
    create.add_argument("--jobs", type=int, default=None, help="checks to run at once (default: cores)")
    return [create]


def cmd_baseline(args: argparse.Namespace) -> int:
    if getattr(args, "baseline_command", None) is None:
        raise UsageError("name a subcommand: gatekeeper baseline create [PATH] [--policy FILE] [--out FILE]")
    return _create(args)


def _create(args: argparse.Namespace) -> int:
    from gatekeeper.baseline import create_baseline
    from gatekeeper.cli.commands import gate_policy, gate_root
    from gatekeeper.cli.progress import progress_display

    root = gate_root(args)
    policy = gate_policy(args, root)
    with progress_display(sys.stderr, len(policy.policy.checks)) as on_event:
        created = create_baseline(policy, root, args.out, jobs=args.jobs, progress=on_event)
    print(f"gatekeeper: {'replaced' if created.replaced else 'wrote'} {created.path}: {created.total} finding(s)")
    for name, count in created.per_check.items():
        skipped = f" (skipped: {created.skipped[name]})" if name in created.skipped else ""
        print(f"  {name}: {count}{skipped}")
    if created.left_out:
        print(f"  {created.left_out} finding(s) without a fingerprint were left out: they always count")
    if created.readers:
        print(f"read by rule(s): {', '.join(created.readers)}; commit the file")
    else:
        print(
            "no rule reads this file yet: give a rule with 'findings:' 'new_only: true' (for PATH/"
            ".gatekeeper-baseline.json) or 'findings: {baseline: FILE}', then commit the file"
        )
    return EXIT_PASS
