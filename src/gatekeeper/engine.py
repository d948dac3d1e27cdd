"""Run a policy's checks concurrently, each under its timeout, and decide the verdict.

Every way a check can go wrong ends as ``status: error`` on its result: the checker
raised, ran past its timeout, returned something that is not a ``CheckOutput``, or
said ``ok`` without reading any input. Rules then fail closed on it (``rules.py``).
Threads are daemons so a checker that hangs cannot keep the process alive.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gatekeeper import clock
from gatekeeper.baseline import load_baselines
from gatekeeper.checkers._scope import DEFAULT_BASE
from gatekeeper.checkers.base import AnyChecker, CheckContext
from gatekeeper.errors import GatekeeperError, PluginError, UsageError
from gatekeeper.gitinfo import read_subject
from gatekeeper.models import CheckOutput, CheckResult, PolicyRef, Verdict
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.policy.model import MODE_STRICTNESS, CheckSpec, Mode
from gatekeeper.rules import decide

if TYPE_CHECKING:
    from gatekeeper.cache import CacheSession, ResultCache


@dataclass(frozen=True)
class CheckEvent:
    """Progress of one check, for a progress display. ``result`` is set when it finished."""

    check: str
    uses: str
    kind: Literal["started", "progress", "finished"]
    index: int
    total: int
    message: str = ""
    result: CheckResult | None = None


ProgressCallback = Callable[[CheckEvent], None]


def evaluate(
    policy: ResolvedPolicy,
    root: str | Path = ".",
    *,
    mode: Mode | None = None,
    jobs: int | None = None,
    today: date | None = None,
    progress: ProgressCallback | None = None,
    changed_since: str | None = None,
    cache: ResultCache | str | Path | None = None,
) -> Verdict:
    """Run every check of ``policy`` on the repository at ``root`` and decide.

    Never raises for a check that fails to run: that becomes ``status: error`` and
    an ``error`` verdict. Raises ``UsageError`` for a bad root, ``PolicyError`` for a
    baseline a rule reads that is missing or invalid (before any check runs), and
    ``PluginError`` when a ``gatekeeper_verdict_ready`` hook raises.

    ``changed_since``: scope every check whose checker supports it to the files changed
    since this base (as ``scope: changed`` with ``base:`` would); the others run on everything.

    ``cache``: a ``gatekeeper.cache.ResultCache`` (or the folder of one) to reuse the results of
    checks whose inputs did not change, and keep the new ones (``docs/cache.md``). None, the
    default, runs every check.
    """
    root_path = Path(root).absolute()  # checkers join paths to it; a relative root would be applied twice
    if not root_path.is_dir():
        raise UsageError(f"{root}: not a directory; pass the repository to gate")
    if mode is not None and mode not in MODE_STRICTNESS:
        raise UsageError(f"unknown mode {mode!r}; use enforce, warn or audit")
    if changed_since is not None and (not changed_since.strip() or changed_since.startswith("-")):
        raise UsageError(f"--changed-since {changed_since!r}: name a branch, tag or commit (not starting with '-')")
    started_at = clock.now()  # one reading decides the date waivers are judged at, and replay reads it back
    effective_mode: Mode = mode or policy.policy.mode
    baselines = load_baselines(policy, Path(root))  # as given: its messages name the path the user typed
    _refuse_scoped_baselines(policy, baselines, changed_since)
    session = None
    if cache is not None:
        from gatekeeper.cache import ResultCache

        store = cache if isinstance(cache, ResultCache) else ResultCache(cache)
        session = store.session(policy.policy.cache, root_path)
    results = run_checks(
        policy,
        root_path,
        jobs=jobs or os.cpu_count() or 2,
        progress=progress,
        changed_since=changed_since,
        cache=session,
    )
    decision = decide(policy, results, today=today or started_at.date(), mode=effective_mode, baselines=baselines)
    verdict = Verdict(
        outcome=decision.outcome,
        enforced=effective_mode != "audit",
        mode=effective_mode,
        summary=decision.summary,
        policy=PolicyRef(name=policy.name, digest=policy.digest, sources=policy.sources),
        subject=read_subject(root_path),
        rules=decision.rules,
        checks=[results[name] for name in policy.policy.checks],
        waivers=decision.waivers,
        gatekeeper_version=_version(),
        started_at=started_at,
        finished_at=max(started_at, clock.now()),
    )
    try:
        policy.plugins.manager.hook.gatekeeper_verdict_ready(verdict=verdict, policy=policy)
    except GatekeeperError:
        raise
    except Exception as exc:
        raise PluginError(f"a plugin raised in gatekeeper_verdict_ready: {type(exc).__name__}: {exc}") from exc
    return verdict


def _refuse_scoped_baselines(policy: ResolvedPolicy, baselines: dict[str, Any], changed_since: str | None) -> None:
    """A baseline needs the whole scan: fingerprints do not name files, so in a scan of changed files
    only, a new copy of a known issue would be taken for the known one. Refused, never guessed."""
    for rule in policy.policy.rules:
        if rule.id not in baselines:
            continue
        for name in rule.check:
            spec = policy.policy.checks[name]
            if scope_base(spec, policy.plugins.checkers.get(spec.uses), changed_since) is not None:
                why = f"--changed-since {changed_since}" if changed_since is not None else "scope: changed"
                raise UsageError(
                    f"rule {rule.id!r} counts findings against a baseline, which needs the whole scan, but check "
                    f"{name!r} is limited to changed files ({why}); run it on everything, or drop the baseline"
                )


def _version() -> str:
    from gatekeeper import __version__

    return __version__


class _Worker(threading.Thread):
    def __init__(
        self,
        policy: ResolvedPolicy,
        name: str,
        root: Path,
        slots: threading.Semaphore,
        emit: Callable[[str, str], None],
        changed_since: str | None = None,
        cache: CacheSession | None = None,
        jobs: int | None = None,
    ):
        super().__init__(name=f"gatekeeper-check-{name}", daemon=True)
        self.policy, self.check, self.slots, self.emit = policy, name, slots, emit
        report: Callable[[str], None] = lambda message: emit("progress", message)  # noqa: E731
        spec = policy.policy.checks[name]
        self.context = CheckContext(
            root=root,
            check=name,
            timeout=spec.timeout,
            on_progress=report,
            changed_since=scope_base(spec, policy.plugins.checkers.get(spec.uses), changed_since),
            jobs=jobs,
        )
        self.begun = threading.Event()
        self.output: CheckOutput | None = None
        self.failure: str | None = None
        self.cache = cache
        self.cached: CheckResult | None = None
        self.released = threading.Lock()
        self.freed = False
        self.ended: float | None = None

    def free_slot(self) -> None:
        with self.released:
            if not self.freed:
                self.freed = True
                self.slots.release()

    def run(self) -> None:
        self.slots.acquire()
        self.context.started = time.monotonic()
        self.begun.set()
        try:
            self.emit("started", "")  # inside the try: a raising progress callback must still free the slot
            spec = self.policy.policy.checks[self.check]
            checker = self.policy.plugins.checkers[spec.uses]
            if self.cache is not None and self.context.changed_since is None:  # scoped runs depend on git: not cached
                self.cached = self.cache.lookup(self.check, checker, self.policy.options[self.check], self.context)
                if self.cached is not None:
                    return
            output = checker.run(self.context, self.policy.options[self.check])
            if not isinstance(output, CheckOutput):
                self.failure = f"checker {spec.uses!r} returned {type(output).__name__}, not a CheckOutput"
            else:
                self.output = output
        except GatekeeperError as exc:
            self.failure = str(exc)
        except Exception as exc:  # any crash of a checker is an error result, never a pass
            self.failure = f"checker crashed: {type(exc).__name__}: {exc}"
        finally:
            self.ended = time.monotonic()
            self.free_slot()


def scope_base(spec: CheckSpec, checker: AnyChecker | None, changed_since: str | None) -> str | None:
    """The base a check is scoped to (``--changed-since`` wins over the check's own ``base``), or None."""
    if checker is None or not checker.supports_scope:
        return None
    if changed_since is not None:
        return changed_since
    return (spec.base or DEFAULT_BASE) if spec.scope == "changed" else None


def run_checks(
    policy: ResolvedPolicy,
    root: Path,
    *,
    jobs: int = 2,
    progress: ProgressCallback | None = None,
    changed_since: str | None = None,
    cache: CacheSession | None = None,
) -> dict[str, CheckResult]:
    """Run every check, at most ``jobs`` at once; each result's status says how it went. A check that runs
    processes of its own in parallel (bandit's shards, semgrep's ``--jobs``) runs at most ``jobs`` too.

    With ``cache``, a check whose cached result is still valid is not run: its result comes back
    with ``cached: true`` and the lookup's duration; the ``ok`` results of checks that ran are stored.
    """
    names = list(policy.policy.checks)
    total = len(names)
    slots = threading.Semaphore(max(1, jobs))

    def emit(
        name: str,
        kind: Literal["started", "progress", "finished"],
        message: str = "",
        result: CheckResult | None = None,
    ) -> None:
        if progress is not None:
            progress(CheckEvent(name, policy.policy.checks[name].uses, kind, names.index(name), total, message, result))

    workers = []
    for name in names:
        worker = _Worker(
            policy,
            name,
            root,
            slots,
            lambda kind, message, name=name: emit(name, kind, message),  # type: ignore[misc]
            changed_since,
            cache,
            max(1, jobs),  # the run's budget also bounds a check's own processes (CheckContext.workers)
        )
        workers.append(worker)
        worker.start()

    results: dict[str, CheckResult] = {}
    for worker in workers:
        worker.begun.wait()
        context = worker.context
        worker.join(timeout=max(0.0, context.started + context.timeout - time.monotonic()))
        elapsed = (worker.ended or time.monotonic()) - context.started
        if worker.is_alive():
            context.cancelled.set()
            worker.free_slot()  # let the others run; the thread is a daemon and is abandoned
            result = _error(
                policy,
                worker.check,
                f"timed out after {context.timeout:g}s (raise 'timeout' on the check if it needs longer)",
                elapsed,
            )
        elif worker.cached is not None:
            result = worker.cached.model_copy(update={"cached": True, "duration_s": round(elapsed, 3)})
        elif worker.failure is not None or worker.output is None:
            result = _error(policy, worker.check, worker.failure or "checker returned nothing", elapsed)
        else:
            result = _guard(policy, worker.check, worker.output, elapsed, scoped=context.changed_since is not None)
            if cache is not None and context.changed_since is None:
                cache.store(worker.check, result, context)  # only an ok result is kept; never raises
        spec = policy.policy.checks[worker.check]
        if (changed_since is not None or spec.scope == "changed") and context.changed_since is None:
            why = f"--changed-since {changed_since}" if changed_since is not None else "scope: changed"
            note = f"{why}: checker {spec.uses!r} cannot limit itself to changed files; it was not limited"
            result = result.model_copy(update={"notes": [*result.notes, note]})
        results[worker.check] = result
        emit(worker.check, "finished", result.status, result)
    if cache is not None:
        cache.finish()
    return results


def _error(policy: ResolvedPolicy, name: str, message: str, elapsed: float) -> CheckResult:
    return CheckResult(
        name=name, uses=policy.policy.checks[name].uses, status="error", error=message, duration_s=round(elapsed, 3)
    )


def _guard(
    policy: ResolvedPolicy, name: str, output: CheckOutput, elapsed: float, *, scoped: bool = False
) -> CheckResult:
    """Apply the rules every checker is held to, and put results in a stable order.

    ``scoped``: the check ran on the files changed since a base; only then does an ``empty_scope``
    reason let an ok result list no input (nothing in scope changed), and the reason becomes a note.
    """
    uses = policy.policy.checks[name].uses
    checker = policy.plugins.checkers[uses]
    status, error = output.status, output.error
    empty = output.empty_scope if scoped else None
    notes = [*output.notes, empty] if empty and status == "ok" else list(output.notes)
    if status == "ok" and checker.needs_input and not output.inputs and not empty:
        status, error = "error", "the check read no input, so it is no evidence of anything (check its paths/reports)"
    if status != "ok" and not error:
        error = f"checker {uses!r} reported {status} without saying why"
    return CheckResult(
        name=name,
        uses=uses,
        status=status,
        error=error,
        tool=output.tool,
        inputs=sorted(output.inputs, key=lambda i: i.path),
        findings=sorted(output.findings, key=lambda f: f.sort_key()),
        metrics=dict(sorted(output.metrics.items())),
        not_applicable=dict(sorted(output.not_applicable.items())),
        notes=notes,
        duration_s=round(elapsed, 3),
    )
