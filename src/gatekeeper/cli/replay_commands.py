"""``gatekeeper replay`` and ``gatekeeper simulate``: decide recorded runs again, without running a tool.

``replay`` exits 0 when the replayed verdict matches the recorded one and 1 when it differs;
``simulate`` is a report, not a gate (exit 0), unless ``--fail-on-change``: then it exits 1 when
any run would change, could not be decided (``unknown``), or when no recorded run matched. Heavy
modules are imported inside the functions, like the other commands.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import UsageError

if TYPE_CHECKING:
    from gatekeeper.history.records import RunRecord
    from gatekeeper.history.replay import Replay
    from gatekeeper.history.simulate import SimulatedRun, Simulation

__all__ = ["add_replay_parser", "add_simulate_parser", "cmd_replay", "cmd_simulate"]

_HISTORY_HELP = "history store URL (default: GATEKEEPER_HISTORY, else PATH/.gatekeeper/history.db)"


def add_replay_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """``gatekeeper replay RUN [PATH]`` on the subparsers of the main parser."""
    replay = sub.add_parser(
        "replay",
        help="decide a recorded run again from its stored results; exit 0 if it matches, 1 if not",
    )
    replay.add_argument(
        "run",
        metavar="RUN",
        help="a run id from the history, or a JSON file: an exported run record, or a --format json "
        "verdict with --policy",
    )
    replay.add_argument("path", nargs="?", default=".", help="repository whose history to read (default: .)")
    replay.add_argument("--history", metavar="URL", help=_HISTORY_HELP)
    replay.add_argument(
        "--policy", metavar="FILE", help="the policy a verdict file was decided with (its digest must match)"
    )
    replay.add_argument("--format", choices=["text", "json"], default="text", help="default: text")


def add_simulate_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """``gatekeeper simulate --policy NEW.yaml [PATH]`` on the subparsers of the main parser."""
    from gatekeeper.cli.main import add_plugin_options

    simulate = sub.add_parser(
        "simulate",
        help="decide the recorded runs under a proposed policy, without running any tool",
    )
    simulate.add_argument("path", nargs="?", default=".", help="repository whose history to read (default: .)")
    simulate.add_argument("--policy", required=True, metavar="FILE", help="the proposed policy (file or builtin:NAME)")
    simulate.add_argument("--history", metavar="URL", help=_HISTORY_HELP)
    simulate.add_argument("--since", metavar="DURATION", help="only runs recorded in this last span, e.g. 30d, 12h")
    simulate.add_argument("--branch", metavar="B", help="only runs on this branch")
    simulate.add_argument("--format", choices=["text", "json"], default="text", help="default: text")
    simulate.add_argument(
        "--fail-on-change",
        action="store_true",
        help="exit 1 when the outcome of any run would change or cannot be decided (unknown), "
        "or when no recorded run matches --branch/--since",
    )
    add_plugin_options(simulate)


def cmd_replay(args: argparse.Namespace) -> int:
    from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS
    from gatekeeper.cli.terminal import use_color
    from gatekeeper.history.replay import replay
    from gatekeeper.plugins import load_plugins
    from gatekeeper.reporters import render
    from gatekeeper.reporters.base import RenderOptions

    record = _replay_input(args)
    plugins = load_plugins(entry_points=False)  # nothing runs: the built-in checkers and reporters are enough
    result = replay(record, plugins=plugins)
    where = f"run {record.id}" if record.id else args.run
    if args.format == "json":
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        print(_conclusion(result, where), file=sys.stderr)
    else:
        recorded = record.recorded_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        sys.stdout.write(f"Replay of {where} (recorded {recorded}) from its stored results; no tool was run.\n\n")
        sys.stdout.write(render(result.verdict, "text", plugins, RenderOptions(color=use_color(sys.stdout))))
        sys.stdout.write("\n" + _conclusion(result, where) + "\n")
    sys.stdout.flush()
    return EXIT_PASS if result.matches else EXIT_FAIL


def _replay_input(args: argparse.Namespace) -> RunRecord:
    """The record RUN names: a run of the store at PATH (or --history), or a JSON file."""
    from gatekeeper.history import open_store
    from gatekeeper.history.replay import load_replay_input

    if args.run.isdigit():
        if args.policy is not None:
            raise UsageError("--policy: only for a verdict file; a recorded run carries its own policy")
        root = _repository(args.path, args.history)
        with open_store(args.history, root, create=False) as store:
            record: RunRecord = store.get(int(args.run))
        return record
    if args.path != ".":
        raise UsageError(f"{args.path}: PATH is only for a run id; {args.run} is a file and names no history")
    return load_replay_input(args.run, policy=args.policy)


def _conclusion(result: Replay, where: str) -> str:
    if result.matches:
        return f"replay matches the recorded verdict ({where})"
    lines = [f"replay differs from the recorded verdict ({where}):"]
    lines += [f"  - {difference}" for difference in result.differences]
    return "\n".join(lines)


def cmd_simulate(args: argparse.Namespace) -> int:
    from gatekeeper import clock
    from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS, disabled_plugins
    from gatekeeper.durations import parse_duration
    from gatekeeper.history import open_store
    from gatekeeper.history.simulate import simulate
    from gatekeeper.policy import load_policy

    root = _repository(args.path, args.history)
    since, label = None, None
    if args.since is not None:
        span = parse_duration(args.since, "--since")
        if span <= timedelta(0):
            raise UsageError(f"--since {args.since!r}: give a span longer than zero, e.g. 30d")
        since, label = clock.now() - span, spell_duration(span)
    if args.branch is not None and not args.branch.strip():
        raise UsageError("--branch: give a branch name")
    policy = load_policy(args.policy, disabled_plugins=disabled_plugins(args))
    with open_store(args.history, root, create=False) as store:
        records = store.runs(branch=args.branch, since=since)
    result = simulate(records, policy, branch=args.branch, since_label=label)
    if args.format == "json":
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_simulation(result))
    sys.stdout.flush()
    if not args.fail_on_change:
        return EXIT_PASS
    if not result.runs:
        scope = f"branch {args.branch or 'any'}, since {args.since or 'the first run'}"
        print(f"gatekeeper: no recorded runs match ({scope}); nothing shows the change is safe", file=sys.stderr)
        return EXIT_FAIL
    # An unknown run could change: it cannot be counted as unchanged.
    return EXIT_FAIL if result.changed or result.counts.unknown else EXIT_PASS


def _repository(path: str, history: str | None) -> Path:
    root = Path(path)
    if history is None and not root.is_dir():
        raise UsageError(f"{path}: not a directory; pass the repository whose history to read, or --history URL")
    return root


def spell_duration(span: timedelta) -> str:
    """``30 days``, ``1 week``, ``12 hours``: a span in its largest whole unit, else ``1d12h``."""
    from gatekeeper.durations import format_duration

    seconds = int(span.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return format_duration(span)  # pragma: no cover - every whole number of seconds has a unit above


def render_simulation(result: Simulation) -> str:
    """The simulation for people: what would change, what cannot be decided, and the summary."""
    scope = (f" on {result.branch}" if result.branch else "") + (
        f" in the last {result.since_label}" if result.since_label else ""
    )
    runs = result.counts.runs
    lines = [
        f"Simulating policy {result.policy.name} ({result.policy.digest}) over {runs} recorded "
        f"run{'' if runs == 1 else 's'}{scope}; no tool was run."
    ]
    changed = result.changed
    if changed:
        lines += ["", "Runs whose outcome would change:"]
        lines += [_run_line(run, ", ".join(run.responsible) or "-") for run in changed]
    unknown = [run for run in result.runs if run.change == "unknown"]
    if unknown:
        lines += ["", "Runs that cannot be decided (rules needing evidence the run does not have):"]
        for run in unknown:
            why = "; ".join(f"{item.rule}: {item.reason}" for item in run.not_simulable)
            lines.append(_run_line(run, why))
    if result.by_rule:
        lines += ["", "Rules behind the new failures:"]
        lines += [f"  {rule}: {count} run{'' if count == 1 else 's'}" for rule, count in result.by_rule.items()]
    lines += ["", result.summary[:1].upper() + result.summary[1:] + "."]
    return "\n".join(lines) + "\n"


def _run_line(run: SimulatedRun, detail: str) -> str:
    when = run.recorded_at.strftime("%Y-%m-%d %H:%M")
    commit = (run.commit or "-")[:12]
    return f"  run {run.id:<5} {when}  {run.branch or '-'}  {commit}  {run.old_outcome} -> {run.new_outcome}  {detail}"
