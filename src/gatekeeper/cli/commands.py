"""One function per command: call the library, print, return the exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.cli.baseline_commands import cmd_baseline
from gatekeeper.cli.cache_commands import open_cache, report_cache
from gatekeeper.cli.history_commands import check_history_option, cmd_history, record_run
from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS, EXIT_RUNTIME, EXIT_USAGE, disabled_plugins
from gatekeeper.cli.progress import progress_display
from gatekeeper.cli.replay_commands import cmd_replay, cmd_simulate
from gatekeeper.cli.report_commands import cmd_report
from gatekeeper.cli.signing_commands import cmd_keygen, cmd_verify, finish_signing, prepare_signing
from gatekeeper.cli.terminal import use_color
from gatekeeper.cli.waivers_commands import cmd_waivers
from gatekeeper.errors import UsageError
from gatekeeper.models import Verdict

if TYPE_CHECKING:
    from gatekeeper.plugins import Plugins
    from gatekeeper.policy import ResolvedPolicy


def parse_formats(values: list[str]) -> list[tuple[str, str | None]]:
    formats = []
    for value in values or ["text"]:
        name, _, target = value.partition("=")
        if not name:
            raise UsageError(f"--format {value!r}: name a format, e.g. --format json=report.json")
        formats.append((name, target or None))
    to_stdout = [name for name, target in formats if target is None]
    if len(to_stdout) > 1:
        raise UsageError(f"formats {', '.join(to_stdout)} would all go to stdout; give all but one a FILE (NAME=FILE)")
    return formats


def exit_code(verdict: Verdict) -> int:
    if not verdict.enforced:
        return EXIT_PASS
    return {"pass": EXIT_PASS, "fail": EXIT_FAIL, "error": EXIT_RUNTIME}[verdict.outcome]


def gate_root(args: argparse.Namespace) -> Path:
    """The repository ``run`` and ``baseline create`` gate (``PATH``), with ``--jobs`` checked."""
    root = Path(args.path)
    if not root.is_dir():
        raise UsageError(f"{args.path}: not a directory; pass the repository to gate")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    return root


def gate_policy(args: argparse.Namespace, root: Path) -> ResolvedPolicy:
    """The policy ``run`` and ``baseline create`` use: ``--policy``, else the one found in ``root``."""
    from gatekeeper.policy import find_policy, load_policy

    return load_policy(args.policy or find_policy(root), disabled_plugins=disabled_plugins(args))


def cmd_run(args: argparse.Namespace) -> int:
    from gatekeeper.engine import evaluate
    from gatekeeper.reporters import render, write_report
    from gatekeeper.reporters.base import RenderOptions

    root = gate_root(args)
    formats = parse_formats(args.format)
    policy = gate_policy(args, root)
    for name, _ in formats:  # a typo in --format is a usage error before minutes of scanning
        if name not in policy.plugins.reporters:
            raise UsageError(f"unknown format {name!r}; available: {', '.join(sorted(policy.plugins.reporters))}")
    warn_fixed_clock()
    signing = prepare_signing(args, policy.plugins, root)  # a bad key is a usage error before any check runs
    check_history_option(args, root)  # so is a bad --history URL
    cache = open_cache(args, root)
    with progress_display(sys.stderr, len(policy.policy.checks)) as on_event:
        verdict = evaluate(
            policy,
            root,
            mode=args.mode,
            jobs=args.jobs,
            progress=on_event,
            cache=cache,
            changed_since=args.changed_since,
        )
    report_cache(cache)  # warnings only: the cache never changes the verdict
    verdict = record_run(args, verdict, policy, root)  # never changes the outcome; warns if it cannot record
    for name, target in formats:
        if target is None:
            options = RenderOptions(color=use_color(sys.stdout), source_root=root)
            sys.stdout.write(render(verdict, name, policy.plugins, options))
            sys.stdout.flush()
        else:
            write_report(target, render(verdict, name, policy.plugins, RenderOptions(source_root=root)))
    if not args.no_ci_detect:
        write_ci_outputs(verdict, policy.plugins, formats)
    if signing is not None:  # after the verdict is decided; the exit code stays the verdict's
        finish_signing(signing, verdict)
    return exit_code(verdict)


def warn_fixed_clock() -> None:
    """``GATEKEEPER_NOW`` is for tests and replays; in a real gate it moves waiver expiry, so say so loudly."""
    from gatekeeper import clock

    if os.environ.get(clock.ENV):
        moment = clock.now()
        print(
            f"gatekeeper: warning: {clock.ENV} is set: the clock reads {moment.isoformat()}, so waivers and dates "
            f"are judged at {moment.date().isoformat()} (the verdict's started_at records it); unset it in CI",
            file=sys.stderr,
        )


#: Formats a machine reads from stdout; CI annotations written there would corrupt them. A plugin's
#: reporter counts as one when its file extension says so (``webhook`` renders JSON).
MACHINE_FORMATS = {"json", "sarif", "gitlab", "junit"}
MACHINE_EXTENSIONS = {"json", "sarif", "xml"}


def write_ci_outputs(verdict: Verdict, plugins: Plugins, formats: list[tuple[str, str | None]]) -> None:
    """The outputs the CI system we run in reads by itself (GitHub, GitLab, Azure), unless --no-ci-detect."""
    from gatekeeper.reporters.ci import auto_outputs, write_outputs

    outputs = auto_outputs(verdict, os.environ, plugins, requested={name for name, _ in formats})
    machine = {n for n, r in plugins.reporters.items() if n in MACHINE_FORMATS or r.extension in MACHINE_EXTENSIONS}
    if any(target is None and name in machine for name, target in formats):
        outputs = [o for o in outputs if o.target is not None]  # keep stdout parseable
    write_outputs(outputs, sys.stdout)


def cmd_policy(args: argparse.Namespace) -> int:
    from gatekeeper.plugins import load_plugins
    from gatekeeper.policy import load_policy, policy_schema

    if args.policy_command is None:
        raise UsageError("name a subcommand: gatekeeper policy validate|show|schema|test|diff")
    if args.policy_command == "diff":
        from gatekeeper.cli.policy_diff_commands import cmd_policy_diff

        return cmd_policy_diff(args)
    if args.policy_command == "test":
        from gatekeeper.cli.policy_test_commands import cmd_policy_test

        return cmd_policy_test(args)
    if args.policy_command == "schema":
        schema = policy_schema(load_plugins(disabled=disabled_plugins(args)))
        print(json.dumps(schema, indent=2, sort_keys=True))
        return EXIT_PASS
    resolved = load_policy(args.file, disabled_plugins=disabled_plugins(args))
    if args.policy_command == "validate":
        from gatekeeper.baseline import load_baselines

        load_baselines(resolved, None)  # each findings.baseline file; new_only's, at the repository root, by `run`
        policy = resolved.policy
        print(
            f"{args.file}: valid policy {resolved.name!r} ({len(policy.checks)} checks, {len(policy.rules)} rules, "
            f"{len(policy.waivers)} waivers) {resolved.digest}"
        )
        return EXIT_PASS
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    print(f"# resolved from: {' -> '.join(resolved.sources)}")
    print(f"# digest: {resolved.digest}")
    from gatekeeper import clock
    from gatekeeper.rules import shown_rule, upcoming_enforcement

    for rule_id, start, days in upcoming_enforcement(resolved.policy, clock.today()):
        print(f"# upcoming enforcement: rule {rule_id} from {start.isoformat()} (in {days} days)")
    shown = resolved.policy.model_dump(mode="json", by_alias=True, exclude={"extends"})
    shown["rules"] = [shown_rule(rule) for rule in shown["rules"]]
    yaml.dump(shown, sys.stdout)
    return EXIT_PASS


def cmd_plugins(args: argparse.Namespace) -> int:
    from gatekeeper.plugins import load_plugins
    from gatekeeper.policy import load_policy

    if args.policy:
        plugins = load_policy(args.policy, disabled_plugins=disabled_plugins(args)).plugins
    else:
        plugins = load_plugins(disabled=disabled_plugins(args))
    rows = [
        (r.kind, r.name, r.plugin.name, r.plugin.source, r.plugin.version or "-", r.description)
        for r in plugins.listing()
    ]
    widths = [
        max(len(str(row[i])) for row in [("KIND", "NAME", "PLUGIN", "SOURCE", "VERSION", ""), *rows]) for i in range(5)
    ]
    for row in [("KIND", "NAME", "PLUGIN", "SOURCE", "VERSION", "DESCRIPTION"), *rows]:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
    return EXIT_PASS


def cmd_init(args: argparse.Namespace) -> int:
    from importlib import resources

    folder = Path(args.path)
    if not folder.is_dir():
        raise UsageError(f"{args.path}: not a directory")
    target = folder / "gatekeeper.yaml"
    if target.exists() and not args.force:
        raise UsageError(f"{target} already exists; use --force to overwrite it")
    text = resources.files("gatekeeper").joinpath("templates/starter.yaml").read_text(encoding="utf-8")
    from gatekeeper.reporters import write_report

    write_report(target, text)
    print(f"wrote {target}; check it with `gatekeeper policy validate {target}`")
    return EXIT_PASS


__all__ = [
    "EXIT_FAIL", "EXIT_USAGE", "cmd_baseline", "cmd_history", "cmd_init", "cmd_keygen", "cmd_plugins", "cmd_policy",
    "cmd_replay", "cmd_report", "cmd_run", "cmd_simulate", "cmd_verify", "cmd_waivers", "exit_code",
]  # fmt: skip
