"""Running external tools: timeouts kill the whole process group, odd exit codes carry stderr."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from gatekeeper.checkers._subprocess import find_tool, run_tool
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError


def test_timeout_kills_the_tool_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    ctx = CheckContext(root=tmp_path, check="slow", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(CheckError, match=r"timed out after 1s"):
        run_tool([sys.executable, "-c", script], ctx)
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the tool's child process survived the timeout")


def test_unexpected_exit_code_reports_stderr_tail(tmp_path: Path) -> None:
    ctx = CheckContext(root=tmp_path, check="bad", timeout=30)
    with pytest.raises(CheckError, match=r"exited with code 7: first \| second$"):
        run_tool([sys.executable, "-c", "import sys; sys.stderr.write('first\\nsecond\\n'); sys.exit(7)"], ctx)


def test_allowed_exit_codes_return_output(tmp_path: Path) -> None:
    ctx = CheckContext(root=tmp_path, check="ok", timeout=30)
    done = run_tool([sys.executable, "-c", "import sys; print('out'); sys.exit(1)"], ctx, ok_codes=(0, 1))
    assert (done.returncode, done.stdout) == (1, "out\n")


def test_missing_executable_is_an_error(tmp_path: Path) -> None:
    ctx = CheckContext(root=tmp_path, check="x", timeout=30)
    with pytest.raises(CheckError, match="not found; is the tool installed"):
        run_tool([str(tmp_path / "no-such-tool")], ctx)


def test_find_tool_prefers_the_tool_beside_this_python() -> None:
    assert find_tool("bandit", "bandit") == str(Path(sys.executable).parent / "bandit")
