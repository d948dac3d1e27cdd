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
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError

STDERR_TAIL = 800


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
    argv: list[str], ctx: CheckContext, *, ok_codes: tuple[int, ...] = (0,), env: dict[str, str] | None = None
) -> ToolRun:
    """Run ``argv`` in the repository root; raise ``CheckError`` on timeout or an unexpected exit code.

    ``env`` adds to (does not replace) this process's environment.
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
    try:
        stdout, stderr = process.communicate(timeout=ctx.remaining())
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
