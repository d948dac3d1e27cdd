"""The history store on a real PostgreSQL server: same schema and code path as SQLite.

`.ci/run` starts a throwaway server and sets GATEKEEPER_TEST_POSTGRES_URL; these tests skip only
when it is unset (set but unreachable fails the module at collection). Each test gets a database
of its own, dropped afterwards, so reruns start clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_support import make_repo, real_run, run_writers

from gatekeeper.errors import HistoryError
from gatekeeper.history import open_store

URL = os.environ.get("GATEKEEPER_TEST_POSTGRES_URL", "")
if not URL:
    pytest.skip("GATEKEEPER_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server)", allow_module_level=True)
try:
    import psycopg
    from psycopg import sql

    psycopg.connect(URL, connect_timeout=5, autocommit=True).close()
except Exception as exc:  # no driver, or no server there: the URL was set, so this is a failure, not a skip
    pytest.fail(
        f"GATEKEEPER_TEST_POSTGRES_URL is set but no PostgreSQL answers there: "
        f"{(str(exc).splitlines() or [type(exc).__name__])[0]}",
        pytrace=False,
    )


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"gk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(URL, name)
    finally:
        with psycopg.connect(URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_round_trip_and_filters(pg_url: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verdict, policy = real_run(root)
    with open_store(pg_url, root) as store:
        assert store.schema_version() == 1
        monkeypatch.setenv("GATEKEEPER_NOW", "2026-04-01T10:00:00Z")
        first = store.record(verdict, policy)
        monkeypatch.setenv("GATEKEEPER_NOW", "2026-04-30T10:00:00Z")
        second = store.record(verdict.model_copy(update={"outcome": "pass"}), policy)
        record = store.get(first)
        assert record.verdict == verdict and record.policy == json.loads(policy.canonical_json())
        assert [r.id for r in store.runs()] == [second, first]
        assert [r.id for r in store.runs(outcome="fail")] == [first]
        assert [r.id for r in store.runs(limit=1)] == [second]
        with pytest.raises(HistoryError, match=f"no run {second + 1} in history at postgresql"):
            store.get(second + 1)
    assert not (root / ".gatekeeper").exists()  # nothing local for a server store
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT count(*) FROM findings WHERE run_id = %s", (first,)).fetchone() == (2,)
        assert db.execute(
            "SELECT rule, outcome FROM rule_results WHERE run_id = %s ORDER BY rule", (first,)
        ).fetchall() == [("no-critical", "pass"), ("tests-green", "fail")]


def test_a_newer_schema_is_refused(pg_url: str, root: Path) -> None:
    with open_store(pg_url, root):
        pass
    with psycopg.connect(pg_url) as db:
        db.execute("INSERT INTO gatekeeper_schema (version, applied_at) VALUES (2, now())")
    with pytest.raises(
        HistoryError, match="has schema version 2 but this gatekeeper knows up to 1; upgrade gatekeeper"
    ):
        open_store(pg_url, root)


def test_many_processes_writing_a_new_database_lose_no_row(pg_url: str, root: Path) -> None:
    done = run_writers(pg_url, root, 8, 10)
    assert [(p.returncode, p.stderr) for p in done] == [(0, "")] * 8
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT version FROM gatekeeper_schema").fetchall() == [(1,)]
        summaries = [json.loads(row[0])["summary"] for row in db.execute("SELECT verdict FROM runs")]
        assert db.execute("SELECT count(*) FROM checks").fetchone() == (160,)
    assert Counter(summaries) == Counter(f"w{n}-{i}" for n in range(8) for i in range(10))


def test_gatekeeper_run_records_there_and_history_lists_it(pg_url: str, root: Path) -> None:
    secret_url = pg_url.replace("://postgres@", "://postgres:s3cret@")  # trust auth: the password is not checked
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    ran = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "run", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        env={**env, "GATEKEEPER_HISTORY": secret_url},
        check=False,
    )
    assert ran.returncode == 1 and "warning" not in ran.stderr, ran.stderr
    history = json.loads(ran.stdout)["history"]
    assert history["recorded"] is True and history["run_id"] == 1
    assert "s3cret" not in ran.stdout and ":***@" in history["store"]
    listed = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "history", str(root), "--history", secret_url, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert [(r["id"], r["outcome"], r["failing_rules"]) for r in json.loads(listed.stdout)] == [
        (1, "fail", ["tests-green"])
    ]
