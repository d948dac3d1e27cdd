"""A history store that cannot be written never changes the verdict or the exit code of `gatekeeper run`.

Each fault is real: a read-only directory or file (as root too: the child drops the capabilities
that let root write anywhere), a path that is a directory, a file size limit hit mid-write (a
full disk, as SQLite sees it), a PostgreSQL server that is not there, a driver that cannot be
imported, and a store newer than this gatekeeper. Each one gives exactly one warning on stderr,
the exit code the same run has with --no-history, and a report that says it was not recorded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import resource
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from store_support import make_repo

from gatekeeper.history import open_store

WARNING = "gatekeeper: warning: run not recorded in history"
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    folder = make_repo(tmp_path / "repo")
    yield folder
    for path in [folder, *folder.rglob("*")]:  # undo any chmod so the folder can be removed
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)


def _without_root_override() -> None:
    """In the child before exec: as root, give up the capabilities that bypass file permissions."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _gate(
    root: Path, *args: str, preexec: Callable[[], None] | None = None, python: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GATEKEEPER_HISTORY", "GITHUB_ACTIONS", "GITLAB_CI")}
    return subprocess.run(
        [*(python or [sys.executable, "-m", "gatekeeper"]), "run", str(root), "--format", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=preexec,
        timeout=300,
        check=False,
    )


def _assert_not_recorded(done: subprocess.CompletedProcess[str], root: Path, reason: str) -> None:
    baseline = _gate(root, "--no-history")
    assert baseline.returncode == 1 and WARNING not in baseline.stderr  # the policy fails: exit 1
    assert "history" not in json.loads(baseline.stdout)
    assert done.returncode == baseline.returncode, done.stderr
    assert done.stderr.count(WARNING) == 1, done.stderr
    warning = next(line for line in done.stderr.splitlines() if line.startswith(WARNING))
    assert reason in warning, warning
    verdict = json.loads(done.stdout)
    assert verdict["outcome"] == json.loads(baseline.stdout)["outcome"] == "fail"
    assert verdict["history"]["recorded"] is False and verdict["history"]["run_id"] is None
    assert reason in verdict["history"]["error"]
    assert warning.endswith(verdict["history"]["error"])


def test_read_only_repository(root: Path) -> None:
    root.chmod(0o555)
    done = _gate(root, preexec=_without_root_override)
    _assert_not_recorded(done, root, f"cannot create {root / '.gatekeeper'}: Permission denied")
    assert not (root / ".gatekeeper").exists()


def test_read_only_store_file(root: Path) -> None:
    with open_store(None, root):
        pass  # an existing, empty store
    state = root / ".gatekeeper"
    for path in state.iterdir():
        path.chmod(0o444)
    state.chmod(0o555)
    done = _gate(root, preexec=_without_root_override)
    _assert_not_recorded(done, root, "readonly database")


def test_store_path_is_a_directory(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    done = _gate(root, "--history", str(folder))
    _assert_not_recorded(done, root, f"{folder} is a directory; name a file, e.g. {folder / 'history.db'}")


def test_disk_full_while_writing(root: Path) -> None:
    def small_files() -> None:  # a write past 16 KiB fails (EFBIG): SQLite sees the disk full
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))

    done = _gate(root, preexec=small_files)
    _assert_not_recorded(done, root, "disk I/O error")


def test_postgresql_server_down(root: Path) -> None:
    done = _gate(root, "--history", "postgresql://gk:s3cret@127.0.0.1:1/history")
    _assert_not_recorded(done, root, "Connection refused")
    assert "s3cret" not in done.stderr + done.stdout
    assert "(postgresql+psycopg://gk:***@127.0.0.1:1/history)" in done.stderr


def test_postgresql_driver_missing(root: Path) -> None:
    # None in sys.modules is how Python marks a module as unavailable: `import psycopg` then fails
    # exactly as it does when the package is not installed.
    python = [
        sys.executable,
        "-c",
        "import sys; sys.modules['psycopg'] = None; from gatekeeper.cli import main; sys.exit(main())",
    ]
    done = _gate(root, "--history", "postgresql://gk@127.0.0.1:1/history", python=python)
    _assert_not_recorded(done, root, "the database driver is not installed")
    assert "pip install 'gatekeeper[postgres]'" in done.stderr


def test_store_newer_than_this_gatekeeper(root: Path) -> None:
    with open_store(None, root):
        pass
    with sqlite3.connect(root / ".gatekeeper" / "history.db") as db:
        db.execute("INSERT INTO gatekeeper_schema (version, applied_at) VALUES (7, '2030-01-01 00:00:00')")
    done = _gate(root)
    _assert_not_recorded(done, root, "schema version 7 is newer than this gatekeeper knows (1); upgrade gatekeeper")


def test_text_report_says_the_run_was_not_recorded(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "GATEKEEPER_HISTORY"}
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "run", str(root), "--history", str(folder)],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.rstrip().splitlines()[-1] == (
        f"history: NOT recorded in sqlite:///{folder}: {folder} is a directory; name a file, e.g. "
        f"{folder / 'history.db'}"
    )
