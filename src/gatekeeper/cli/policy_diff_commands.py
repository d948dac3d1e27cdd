"""``gatekeeper policy diff OLD NEW``: a semantic diff of two resolved policies (text or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS, add_plugin_options, disabled_plugins


def add_policy_diff_parser(policy_sub: argparse._SubParsersAction[Any]) -> None:
    diff = policy_sub.add_parser(
        "diff", help="what changed between two policies (after extends), and whether it loosened the gate"
    )
    diff.add_argument("old", help="the old policy: a file or builtin:NAME")
    diff.add_argument("new", help="the new policy: a file or builtin:NAME")
    diff.add_argument("--format", choices=["text", "json"], default="text", help="text (default) or json")
    diff.add_argument("--fail-on-loosen", action="store_true", help="exit 1 when any change loosens the gate")
    add_plugin_options(diff)


def cmd_policy_diff(args: argparse.Namespace) -> int:
    from gatekeeper import clock
    from gatekeeper.policy import load_policy
    from gatekeeper.policy.diff import diff_policies

    disabled = disabled_plugins(args)
    old = load_policy(args.old, disabled_plugins=disabled)
    new = load_policy(args.new, disabled_plugins=disabled)
    result = diff_policies(old.policy, new.policy, today=clock.today())
    if args.format == "json":

        def about(ref: str, resolved: Any) -> dict[str, Any]:
            return {"ref": ref, "name": resolved.name, "digest": resolved.digest, "sources": resolved.sources}

        data = result.to_json(old=about(args.old, old), new=about(args.new, new))
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(result.render_text(args.old, args.new))
    return EXIT_FAIL if args.fail_on_loosen and result.loosened else EXIT_PASS
