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
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal

from gatekeeper import clock
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import GatekeeperError, PluginError, UsageError
from gatekeeper.gitinfo import read_subject
from gatekeeper.models import CheckOutput, CheckResult, PolicyRef, Verdict
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.policy.model import MODE_STRICTNESS, Mode
from gatekeeper.rules import decide


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
) -> Verdict:
    """Run every check of ``policy`` on the repository at ``root`` and decide.

    Never raises for a check that fails to run: that becomes ``status: error`` and
    an ``error`` verdict. Raises ``UsageError`` for a bad root and ``PluginError``
    when a ``gatekeeper_verdict_ready`` hook raises.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise UsageError(f"{root}: not a directory; pass the repository to gate")
    if mode is not None and mode not in MODE_STRICTNESS:
        raise UsageError(f"unknown mode {mode!r}; use enforce, warn or audit")
    started_at = datetime.now(timezone.utc)
    effective_mode: Mode = mode or policy.policy.mode
    results = run_checks(policy, root_path, jobs=jobs or os.cpu_count() or 2, progress=progress)
    decision = decide(policy, results, today=today or clock.today(), mode=effective_mode)
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
        finished_at=datetime.now(timezone.utc),
    )
    try:
        policy.plugins.manager.hook.gatekeeper_verdict_ready(verdict=verdict, policy=policy)
    except GatekeeperError:
        raise
    except Exception as exc:
        raise PluginError(f"a plugin raised in gatekeeper_verdict_ready: {type(exc).__name__}: {exc}") from exc
    return verdict


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
    ):
        super().__init__(name=f"gatekeeper-check-{name}", daemon=True)
        self.policy, self.check, self.slots, self.emit = policy, name, slots, emit
        report: Callable[[str], None] = lambda message: emit("progress", message)  # noqa: E731
        spec = policy.policy.checks[name]
        self.context = CheckContext(root=root, check=name, timeout=spec.timeout, on_progress=report)
        self.begun = threading.Event()
        self.output: CheckOutput | None = None
        self.failure: str | None = None
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


def run_checks(
    policy: ResolvedPolicy, root: Path, *, jobs: int = 2, progress: ProgressCallback | None = None
) -> dict[str, CheckResult]:
    """Run every check, at most ``jobs`` at once; each result's status says how it went."""
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
        worker = _Worker(policy, name, root, slots, lambda kind, message, name=name: emit(name, kind, message))  # type: ignore[misc]
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
        elif worker.failure is not None or worker.output is None:
            result = _error(policy, worker.check, worker.failure or "checker returned nothing", elapsed)
        else:
            result = _guard(policy, worker.check, worker.output, elapsed)
        results[worker.check] = result
        emit(worker.check, "finished", result.status, result)
    return results


def _error(policy: ResolvedPolicy, name: str, message: str, elapsed: float) -> CheckResult:
    return CheckResult(
        name=name, uses=policy.policy.checks[name].uses, status="error", error=message, duration_s=round(elapsed, 3)
    )


def _guard(policy: ResolvedPolicy, name: str, output: CheckOutput, elapsed: float) -> CheckResult:
    """Apply the rules every checker is held to, and put results in a stable order."""
    uses = policy.policy.checks[name].uses
    checker = policy.plugins.checkers[uses]
    status, error = output.status, output.error
    if status == "ok" and checker.needs_input and not output.inputs:
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
        notes=list(output.notes),
        duration_s=round(elapsed, 3),
    )
