"""``gatekeeper history``, and the recording step of ``gatekeeper run`` (``--history``, ``--no-history``).

SQLAlchemy is imported inside the functions, so ``gatekeeper --version`` never loads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.cli.main import EXIT_PASS
from gatekeeper.errors import UsageError

if TYPE_CHECKING:
    from gatekeeper.history.records import RunRecord
    from gatekeeper.models import Verdict
    from gatekeeper.policy import ResolvedPolicy

_STORE_HELP = "sqlite:///PATH, a file path or postgresql://USER@HOST/DB (env: GATEKEEPER_HISTORY)"
DEFAULT_LIMIT = 20


def add_run_history_options(run: argparse.ArgumentParser) -> None:
    """``run --history URL`` / ``run --no-history``."""
    group = run.add_mutually_exclusive_group()
    group.add_argument(
        "--history",
        metavar="URL",
        help=f"record the run in this store: {_STORE_HELP}; default PATH/.gatekeeper/history.db",
    )
    group.add_argument("--no-history", action="store_true", help="do not record the run in the history store")


def add_history_parser(sub: argparse._SubParsersAction[Any]) -> None:
    history = sub.add_parser("history", help="list the recorded runs, newest first")
    history.add_argument("path", nargs="?", default=".", help="repository whose default store to read (default: .)")
    history.add_argument("--history", metavar="URL", help=f"the store to read: {_STORE_HELP}")
    history.add_argument("--branch", metavar="B", help="only runs of this branch")
    history.add_argument("--outcome", choices=["pass", "fail", "error"], help="only runs with this outcome")
    history.add_argument(
        "--since", metavar="DURATION", help="only runs recorded in the last DURATION, e.g. 30d, 12h, 2w"
    )
    history.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"at most N runs (default: {DEFAULT_LIMIT})"
    )
    history.add_argument("--format", choices=["text", "json"], default="text", help="text (default) or json")


def check_history_option(args: argparse.Namespace, root: Path) -> None:
    """Before any check runs: an unsupported or malformed ``--history``/``GATEKEEPER_HISTORY`` URL
    (unknown scheme, a port that is no number) is a usage error, not a failure after the checks."""
    if not args.no_history:
        from gatekeeper.history.store import check_history_url, resolve_history_url

        check_history_url(resolve_history_url(args.history, root))


def record_run(args: argparse.Namespace, verdict: Verdict, policy: ResolvedPolicy, root: Path) -> Verdict:
    """Record the run and return the verdict with ``history`` saying whether it was recorded.

    A store that cannot be written (read-only, full, down, driver missing, too new) costs one
    warning line on stderr: the outcome and exit code stay the verdict's.
    """
    if args.no_history:
        return verdict
    from gatekeeper.history.store import describe_error, open_store, redact_url, resolve_history_url
    from gatekeeper.models import HistoryStatus

    shown = "the history store"
    try:
        url = resolve_history_url(args.history, root)
        shown = redact_url(url)
        with open_store(url, root) as store:
            run_id = store.record(verdict, policy)
    except Exception as exc:  # whatever failed, the gate's decision stands
        reason = describe_error(exc)
        print(f"gatekeeper: warning: run not recorded in history ({shown}): {reason}", file=sys.stderr)
        status = HistoryStatus(recorded=False, store=shown, error=reason)
    else:
        status = HistoryStatus(recorded=True, run_id=run_id, store=shown)
    return verdict.model_copy(update={"history": status})


def cmd_history(args: argparse.Namespace) -> int:
    from gatekeeper import clock
    from gatekeeper.durations import parse_duration
    from gatekeeper.history.store import NoHistoryStore, open_store

    root = Path(args.path)
    if not root.is_dir():
        raise UsageError(f"{args.path}: not a directory; pass the repository whose runs to list")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    since = clock.now() - parse_duration(args.since, "--since") if args.since is not None else None
    records: list[RunRecord] = []
    try:
        store = open_store(args.history, root, create=False)
    except NoHistoryStore as exc:
        shown = exc.url
    else:
        with store:
            shown = store.url
            records = store.runs(branch=args.branch, outcome=args.outcome, since=since, limit=args.limit)
    if args.format == "json":
        print(json.dumps([run_summary(record) for record in records], indent=2, ensure_ascii=False))
        if not records:
            print(f"gatekeeper: {_nothing(args, shown)}", file=sys.stderr)
        return EXIT_PASS
    if not records:
        print(_nothing(args, shown))
        return EXIT_PASS
    rows = [_row(record) for record in records]
    header = ("ID", "RECORDED (UTC)", "OUTCOME", "BRANCH", "COMMIT", "POLICY", "FAILING RULES")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [row[0].rjust(widths[0]), *(cell.ljust(widths[i]) for i, cell in enumerate(row[1:-1], start=1))]
        print("  ".join([*cells, row[-1]]))
    return EXIT_PASS


def _nothing(args: argparse.Namespace, shown: str) -> str:
    filtered = args.branch is not None or args.outcome is not None or args.since is not None
    return f"no recorded run matches these filters in {shown}" if filtered else f"no runs recorded yet in {shown}"


def _failing_rules(record: RunRecord) -> list[str]:
    return [rule.id for rule in record.verdict.rules if rule.outcome in ("fail", "error")]


def _row(record: RunRecord) -> tuple[str, ...]:
    verdict = record.verdict
    outcome = verdict.outcome if verdict.enforced else f"{verdict.outcome} (audit)"
    return (
        str(record.id),
        f"{record.recorded_at:%Y-%m-%d %H:%M}",
        outcome,
        verdict.subject.branch or "-",
        (verdict.subject.commit or "-")[:12],
        verdict.policy.name,
        ", ".join(_failing_rules(record)) or "-",
    )


def run_summary(record: RunRecord) -> dict[str, Any]:
    """One run for ``gatekeeper history --format json``."""
    verdict = record.verdict
    return {
        "id": record.id,
        "recorded_at": record.recorded_at.isoformat().replace("+00:00", "Z"),
        "outcome": verdict.outcome,
        "enforced": verdict.enforced,
        "mode": verdict.mode,
        "repository": verdict.subject.repository,
        "branch": verdict.subject.branch,
        "commit": verdict.subject.commit,
        "policy": {"name": verdict.policy.name, "digest": verdict.policy.digest},
        "failing_rules": _failing_rules(record),
    }
