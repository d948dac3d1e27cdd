"""The history store on SQLite: a real run round-trips, filters, schema versions and migrations, URLs."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from store_support import make_repo, real_run

from gatekeeper.errors import HistoryError, UsageError
from gatekeeper.history import HistoryStore, RunRecord, open_store
from gatekeeper.history import store as store_module
from gatekeeper.history import urls as urls_module
from gatekeeper.history.store import (
    NoHistoryStore,
    default_history_url,
    redact_url,
    resolve_history_url,
)
from gatekeeper.models import HistoryStatus, Subject
from gatekeeper.state import state_dir


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def _db(root: Path) -> Path:
    return root / ".gatekeeper" / "history.db"


def test_a_real_run_round_trips(root: Path) -> None:
    verdict, policy = real_run(root)
    assert verdict.outcome == "fail" and verdict.checks[1].findings  # the run has something to keep
    before = datetime.now(timezone.utc)
    with open_store(None, root) as store:
        run_id = store.record(verdict, policy)
        record = store.get(run_id)
    assert isinstance(record, RunRecord) and record.id == run_id
    assert record.verdict == verdict
    assert record.policy == json.loads(policy.canonical_json())
    stored_text = json.dumps(record.policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "sha256:" + hashlib.sha256(stored_text.encode()).hexdigest() == verdict.policy.digest  # re-decidable
    assert record.recorded_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= record.recorded_at <= datetime.now(timezone.utc)


def test_the_normalised_tables_hold_the_per_check_results(root: Path) -> None:
    verdict, policy = real_run(root)
    with open_store(None, root) as store:
        run_id = store.record(verdict, policy)
    engine = sa.create_engine(f"sqlite:///{_db(root)}")
    with engine.connect() as conn:
        run = conn.execute(sa.text("SELECT * FROM runs WHERE id = :id"), {"id": run_id}).mappings().one()
        checks = conn.execute(sa.text("SELECT * FROM checks ORDER BY name")).mappings().all()
        findings = conn.execute(sa.text("SELECT * FROM findings ORDER BY finding_id")).mappings().all()
        rules = conn.execute(sa.text("SELECT rule, outcome, mode FROM rule_results ORDER BY rule")).all()
    engine.dispose()
    assert (run["outcome"], run["mode"], run["policy_name"], run["policy_digest"]) == (
        "fail",
        "enforce",
        "store-test",
        verdict.policy.digest,
    )
    assert run["duration"] == pytest.approx((verdict.finished_at - verdict.started_at).total_seconds())
    assert [(c["name"], c["uses"], c["status"], c["finding_count"]) for c in checks] == [
        ("sast", "fake", "ok", 2),
        ("tests", "fake", "ok", 0),
    ]
    assert json.loads(checks[1]["metrics"]) == {"failed": 2.0, "total": 40.0}
    sast = verdict.checks[[c.name for c in verdict.checks].index("sast")]
    expected = sorted((f.id, f.fingerprint, f.severity.value, f.path, f.line) for f in sast.findings)
    got = [(f["finding_id"], f["fingerprint"], f["severity"], f["path"], f["line"]) for f in findings]
    assert got == expected and all(f["check"] == "sast" and f["run_id"] == run_id for f in findings)
    assert rules == [("no-critical", "pass", "enforce"), ("tests-green", "fail", "enforce")]


def test_runs_are_listed_newest_first_and_filtered(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verdict, policy = real_run(root)
    passing = verdict.model_copy(update={"outcome": "pass"})
    plan = [  # (recorded at, branch, verdict)
        ("2026-04-01T10:00:00Z", "main", verdict),
        ("2026-04-20T10:00:00Z", "feature", passing),
        ("2026-04-28T10:00:00Z", "main", passing),
        ("2026-04-30T10:00:00Z", "main", verdict),
    ]
    with open_store(None, root) as store:
        ids = []
        for when, branch, base in plan:
            monkeypatch.setenv("GATEKEEPER_NOW", when)
            ids.append(store.record(base.model_copy(update={"subject": Subject(branch=branch)}), policy))
        assert ids == sorted(ids) and len(set(ids)) == 4

        def listed(**filters: object) -> list[int]:
            return [record.id for record in store.runs(**filters)]  # type: ignore[arg-type]

        assert listed() == ids[::-1]
        assert listed(branch="main") == [ids[3], ids[2], ids[0]]
        assert listed(outcome="pass") == [ids[2], ids[1]]
        assert listed(branch="main", outcome="fail") == [ids[3], ids[0]]
        assert listed(since=datetime(2026, 4, 20, 10, tzinfo=timezone.utc)) == [ids[3], ids[2], ids[1]]  # inclusive
        assert listed(until=datetime(2026, 4, 28, 10, tzinfo=timezone.utc)) == [ids[1], ids[0]]  # exclusive
        assert listed(since=datetime(2026, 4, 28, 12, 0, tzinfo=timezone(timedelta(hours=2)))) == [ids[3], ids[2]]
        assert listed(limit=2) == [ids[3], ids[2]]
        assert listed(branch="nowhere") == []
        assert store.get(ids[1]).recorded_at == datetime(2026, 4, 20, 10, tzinfo=timezone.utc)


def test_get_names_the_store_and_how_to_list_runs(root: Path) -> None:
    with open_store(None, root) as store, pytest.raises(HistoryError) as caught:
        store.get(42)
    assert str(caught.value) == (f"no run 42 in history at sqlite:///{_db(root)}; list them with `gatekeeper history`")
    assert caught.value.exit_code == 3


def test_the_stored_verdict_is_the_decided_one_without_the_history_note(root: Path) -> None:
    verdict, policy = real_run(root)
    noted = verdict.model_copy(update={"history": HistoryStatus(recorded=False, store="x", error="e")})
    with open_store(None, root) as store:
        record = store.get(store.record(noted, policy))
    assert record.verdict.history is None and record.verdict == verdict


def test_a_newer_schema_is_refused_with_what_to_do(root: Path) -> None:
    with open_store(None, root) as store:
        assert store.schema_version() == store_module.SCHEMA_VERSION == 1
    with sqlite3.connect(_db(root)) as db:
        db.execute("INSERT INTO gatekeeper_schema (version, applied_at) VALUES (2, '2030-01-01 00:00:00')")
    with pytest.raises(HistoryError) as caught:
        open_store(None, root)
    assert str(caught.value) == (
        f"history store sqlite:///{_db(root)} has schema version 2 but this gatekeeper knows up to 1; "
        "upgrade gatekeeper (or use --no-history)"
    )


def test_an_empty_database_is_migrated_and_its_other_tables_kept(tmp_path: Path, root: Path) -> None:
    path = tmp_path / "shared.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('keep me')")
    with open_store(str(path), root) as store:
        assert store.schema_version() == 1
        verdict, policy = real_run(root)
        assert store.get(store.record(verdict, policy)).verdict == verdict
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"gatekeeper_schema", "runs", "checks", "findings", "rule_results", "notes"} <= tables
        assert db.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
        assert db.execute("SELECT version FROM gatekeeper_schema").fetchall() == [(1,)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_foreign_runs_table_is_refused_not_written_into(tmp_path: Path, root: Path) -> None:
    path = tmp_path / "other-app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (job TEXT)")
    with pytest.raises(HistoryError, match="cannot open it: table runs already exists"):
        open_store(str(path), root)
    with sqlite3.connect(path) as db:  # the failed migration left nothing behind
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"runs"}


def test_migrations_apply_forward_in_order_each_in_the_transaction_of_its_version(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdict, policy = real_run(root)
    with open_store(None, root) as store:
        run_id = store.record(verdict, policy)

    def add_labels(conn: Connection) -> None:
        conn.execute(sa.text("CREATE TABLE labels (run_id INTEGER, label TEXT)"))
        conn.execute(sa.text("INSERT INTO labels SELECT id, 'migrated' FROM runs"))

    def broken(conn: Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
        raise sa.exc.OperationalError("ALTER ...", {}, Exception("simulated failure in migration 3"))

    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, add_labels))
    with open_store(None, root) as store:
        assert store.schema_version() == 2
        assert store.get(run_id).verdict == verdict  # the data survived the migration
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, broken))
    with pytest.raises(HistoryError, match="simulated failure in migration 3"):
        open_store(None, root)
    with sqlite3.connect(_db(root)) as db:
        assert db.execute("SELECT version FROM gatekeeper_schema ORDER BY version").fetchall() == [(1,), (2,)]
        assert db.execute("SELECT run_id, label FROM labels").fetchall() == [(run_id, "migrated")]
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall() == []


def test_open_without_create_does_not_create_a_store(root: Path) -> None:
    with pytest.raises(NoHistoryStore):
        open_store(None, root, create=False)
    assert not (root / ".gatekeeper").exists()


def test_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEKEEPER_HISTORY", raising=False)
    root = tmp_path / "r"
    assert default_history_url(root) == f"sqlite:///{root.absolute()}/.gatekeeper/history.db"
    assert resolve_history_url(None, root) == default_history_url(root)
    monkeypatch.setenv("GATEKEEPER_HISTORY", "postgresql://ci@db.internal/gates")
    assert resolve_history_url(None, root) == "postgresql+psycopg://ci@db.internal/gates"
    assert resolve_history_url("postgres://ci@db/g", root) == "postgresql+psycopg://ci@db/g"  # --history wins
    assert resolve_history_url("sqlite:////data/h.db", root) == "sqlite:////data/h.db"
    monkeypatch.chdir(tmp_path)
    assert resolve_history_url("h.db", root) == f"sqlite:///{tmp_path / 'h.db'}"  # a bare path, from the cwd
    with pytest.raises(UsageError, match=r"history store mysql://u:\*\*\*@h/db: unsupported URL scheme 'mysql'"):
        resolve_history_url("mysql://u:secret@h/db", root)
    assert redact_url("postgresql+psycopg://ci:s3cret@db:5432/gates") == "postgresql+psycopg://ci:***@db:5432/gates"
    assert "s3cret" not in redact_url("postgresql://ci@db/gates?password=s3cret")


def test_the_store_url_property_has_no_password(root: Path) -> None:
    store = HistoryStore(sa.create_engine("sqlite://"), redact_url("postgresql://u:pw@h/d"))
    assert store.url == "postgresql://u:***@h/d"
    store.close()


def test_state_dir_ignores_itself(tmp_path: Path) -> None:
    folder = state_dir(tmp_path)
    assert folder == tmp_path / ".gatekeeper"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert state_dir(tmp_path) == folder  # idempotent
    assert sorted(p.name for p in folder.iterdir()) == [".gitignore"]  # no scratch file left


def test_recording_a_run_keeps_a_clean_git_tree_clean(root: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "x")
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "gatekeeper", "run", ".", "--format", "json"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        data = json.loads(done.stdout)
        assert data["history"]["recorded"] is True
        assert data["subject"]["dirty"] is False  # the first run's store did not dirty the second's tree
        assert git("status", "--porcelain", "--untracked-files=all") == ""
    assert _db(root).is_file()
    with open_store(None, root) as store:
        assert [r.verdict.subject.branch for r in store.runs()] == ["main", "main"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://ci:s3cret@db:5432/gates", "postgresql+psycopg://ci:***@db:5432/gates"),
        ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),  # an '@' in the password
        ("postgresql://u:p@s:s@w@host:5432/db", "postgresql://u:***@host:5432/db"),
        ("postgresql://:only-a-password@host/db", "postgresql://***@host/db"),
        ("postgresql://ci@db/gates", "postgresql://ci@db/gates"),  # a user alone is no secret
        (
            "postgresql://ci@db/gates?sslpassword=k3y&sslmode=require&password=pw1",
            "postgresql://ci@db/gates?sslpassword=***&sslmode=require&password=***",
        ),
        (
            "postgresql://ci@db/g?client_secret=a&api_key=b&TOKEN=c&application_name=gate",
            "postgresql://ci@db/g?client_secret=***&api_key=***&TOKEN=***&application_name=gate",
        ),
        ("sqlite:////srv/a@b/history.db", "sqlite:////srv/a@b/history.db"),  # an '@' in a path is no user
        ("postgresql://u:x@db:notaport/x", "postgresql://u:***@db:notaport/x"),
        ("mysql://u:x@db:notaport/x", "mysql://u:***@db:notaport/x"),
        ("/tmp/history.db", "/tmp/history.db"),
    ],
)
def test_redact_url_hides_every_secret(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_url_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(url: str) -> str:
        raise ValueError("cannot take it apart")

    monkeypatch.setattr(urls_module, "_redact", broken)
    assert redact_url("postgresql://u:secret@db/x") == "postgresql://***"
    assert redact_url("no scheme:secret") == "***"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://u:x@db:notaport/x", "not a database URL (invalid literal for int()"),
        ("postgresql+psycopg://u:x@db:0/x", "port 0 is out of range (1-65535)"),
        ("postgresql+psycopg://u:x@db:65536/x", "port 65536 is out of range (1-65535)"),
        ("not a url://x", "not a database URL"),
    ],
)
def test_check_history_url_refuses_a_malformed_url(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as caught:
        store_module.check_history_url(url)
    assert "u:x@" not in str(caught.value)


def test_open_store_refuses_a_malformed_url_as_a_usage_error(root: Path) -> None:
    with pytest.raises(UsageError, match=r"postgresql\+psycopg://u:\*\*\*@db:notaport/x: not a database URL"):
        open_store("postgresql://u:x@db:notaport/x", root)


def test_recording_never_raises_on_a_bad_url(root: Path) -> None:
    from argparse import Namespace

    from gatekeeper.cli.history_commands import record_run

    verdict, policy = real_run(root)
    noted = record_run(Namespace(no_history=False, history="mysql://u:pw@db:notaport/x"), verdict, policy, root)
    assert noted.history is not None and noted.history.recorded is False
    assert noted.history.store == "the history store"
    assert noted.history.error is not None and "unsupported URL scheme 'mysql'" in noted.history.error
    assert "pw" not in noted.history.error


def _dbapi_error(orig: BaseException) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError("INSERT ...", {}, orig)


def _sqlite_error(message: str, code: int | None) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    if code is not None:
        error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("orig", "creating_schema", "retried"),
    [
        (_sqlite_error("database is locked", 5), False, True),  # SQLITE_BUSY
        (_sqlite_error("database table is locked", 6), False, True),  # SQLITE_LOCKED
        (_sqlite_error("database is locked", 5 | (1 << 8)), False, True),  # SQLITE_BUSY_RECOVERY
        (_sqlite_error("database is locked", None), False, True),  # Python < 3.11: by the message
        (_sqlite_error("no such table: busy_jobs", 1), False, False),  # "busy" in a message is no lock
        (_sqlite_error("disk I/O error: device busy", 10), False, False),
        (_sqlite_error("UNIQUE constraint failed: runs.id", 19), True, False),
        (_PgError("40001"), False, True),
        (_PgError("40P01"), False, True),
        (_PgError("55P03"), False, True),
        (_PgError("23505"), False, False),  # a unique violation writing a run is a bug, not a lock
        (_PgError("23505"), True, True),  # two first runs creating the schema at once
        (_PgError("42P01"), True, False),
        (Exception("resource busy"), False, False),
    ],
)
def test_only_locks_and_races_are_retried(orig: BaseException, creating_schema: bool, retried: bool) -> None:
    assert store_module._transient(_dbapi_error(orig), creating_schema=creating_schema) is retried


def test_a_unique_violation_while_recording_is_reported_at_once(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []
    sleeps: list[float] = []
    verdict, policy = real_run(root)  # before time.sleep is replaced: the tools' runner polls with it
    monkeypatch.setattr(store_module.time, "sleep", sleeps.append)
    with open_store(None, root) as store:

        def fail(work: object) -> int:
            attempts.append(work)
            raise _dbapi_error(_PgError("23505"))

        monkeypatch.setattr(store, "_in_write", fail)
        with pytest.raises(HistoryError, match="cannot record the run: sqlstate 23505") as caught:
            store.record(verdict, policy)
    assert "still locked" not in str(caught.value)
    assert (len(attempts), sleeps) == (1, [])


def test_reading_never_migrates_nor_changes_the_journal_mode(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verdict, policy = real_run(root)
    with open_store(None, root) as store:
        run_id = store.record(verdict, policy)
    with sqlite3.connect(_db(root)) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    with open_store(None, root, create=False) as store:  # history, report, replay, simulate
        assert store.get(run_id).verdict == verdict
    with sqlite3.connect(_db(root)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    def add_labels(conn: Connection) -> None:
        conn.execute(sa.text("CREATE TABLE labels (run_id INTEGER, label TEXT)"))

    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, add_labels))
    with pytest.raises(HistoryError) as caught:
        open_store(None, root, create=False)
    assert str(caught.value) == (
        f"history store sqlite:///{_db(root)} has schema version 1, older than this gatekeeper's (2); "
        "run `gatekeeper run` once to upgrade it"
    )
    with sqlite3.connect(_db(root)) as db:
        assert db.execute("SELECT version FROM gatekeeper_schema").fetchall() == [(1,)]
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'labels'").fetchall() == []
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    with open_store(None, root) as store:  # `gatekeeper run` does upgrade it
        assert store.schema_version() == 2
