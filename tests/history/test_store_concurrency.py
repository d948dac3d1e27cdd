"""Parallel CI jobs writing one SQLite history file: no row lost, no error, the schema created once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from store_support import make_repo, run_writers

WORKERS, PER_WORKER = 8, 10


def test_many_processes_writing_a_new_sqlite_store_lose_no_row(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    path = root / ".gatekeeper" / "history.db"
    done = run_writers(f"sqlite:///{path}", root, WORKERS, PER_WORKER)
    assert [(p.returncode, p.stderr) for p in done] == [(0, "")] * WORKERS
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT version FROM gatekeeper_schema").fetchall() == [(1,)]  # created exactly once
        ids = [row[0] for row in db.execute("SELECT id FROM runs")]
        tags = Counter(json.loads(row[0])["summary"] for row in db.execute("SELECT verdict FROM runs"))
        per_run = Counter(row[0] for row in db.execute("SELECT run_id FROM checks"))
        findings = db.execute("SELECT count(*) FROM findings").fetchone()[0]
    assert len(ids) == len(set(ids)) == WORKERS * PER_WORKER
    assert tags == Counter(f"w{n}-{i}" for n in range(WORKERS) for i in range(PER_WORKER))
    assert set(per_run.values()) == {2} and set(per_run) == set(ids)  # each run's checks in its own transaction
    assert findings == 2 * WORKERS * PER_WORKER


def test_parallel_gatekeeper_runs_on_one_repository_each_record_their_run(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if k not in ("GATEKEEPER_HISTORY", "GITHUB_ACTIONS", "GITLAB_CI")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gatekeeper", "run", str(root), "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [1] * 6  # the policy fails; recording never changes that
    assert all("warning" not in err for _, err in results), [err for _, err in results]
    run_ids = sorted(json.loads(out)["history"]["run_id"] for out, _ in results)
    assert run_ids == [1, 2, 3, 4, 5, 6]
    with sqlite3.connect(root / ".gatekeeper" / "history.db") as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (6,)
