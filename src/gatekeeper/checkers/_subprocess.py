"""Run an external tool for a checker: found where gatekeeper is installed or on PATH,
bounded by the check's remaining time, and killed with its children when it overruns.

Every failure is a ``CheckError`` whose message says what to do, so the engine can
record ``status: error`` instead of a silent pass.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError

STDERR_TAIL = 800
#: How often a running tool is checked for cancellation, seconds.
POLL_S = 0.2


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    stdout: str
    stderr: str

    def stderr_tail(self, lines: int = 3) -> str:
        """The last few lines of stderr (where tools put the reason they stopped), on one line."""
        kept = [line.strip() for line in self.stderr.splitlines() if line.strip()][-lines:]
        tail = " | ".join(kept)[-STDERR_TAIL:]
        return tail or "(no stderr)"


def find_tool(command: str, package: str) -> str:
    """The tool installed beside this Python (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / command
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(command)
    if found is None:
        raise CheckError(f"{command} is not installed; install it with `pip install {package}` (or put it on PATH)")
    return found


def run_tool(
    argv: list[str],
    ctx: CheckContext,
    *,
    ok_codes: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
    stop: threading.Event | None = None,
) -> ToolRun:
    """Run ``argv`` in the repository root; raise ``CheckError`` on timeout or an unexpected exit code.

    ``env`` adds to (does not replace) this process's environment. The tool is killed (and
    ``CheckError`` raised) when the check is cancelled, or when ``stop`` is set (a sibling
    process of the same check failed).
    """
    try:
        process = subprocess.Popen(
            argv,
            cwd=ctx.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError:
        raise CheckError(f"{argv[0]}: not found; is the tool installed?") from None
    except OSError as exc:
        raise CheckError(f"cannot start {argv[0]}: {exc.strerror}") from None
    deadline = time.monotonic() + ctx.remaining()
    try:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=max(0.0, min(POLL_S, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise
                if ctx.cancelled.is_set() or (stop is not None and stop.is_set()):
                    _kill(process)
                    raise CheckError(f"{Path(argv[0]).name} was stopped: the check was cancelled") from None
    except subprocess.TimeoutExpired:
        _kill(process)
        raise CheckError(f"{Path(argv[0]).name} timed out after {ctx.timeout:g}s") from None
    except BaseException:
        _kill(process)
        raise
    run = ToolRun(process.returncode, stdout, stderr)
    if run.returncode not in ok_codes:
        raise CheckError(f"{Path(argv[0]).name} exited with code {run.returncode}: {run.stderr_tail()}")
    return run


def _kill(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
