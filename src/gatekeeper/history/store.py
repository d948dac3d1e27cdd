"""The history store: every ``gatekeeper run`` as rows of one schema, in SQLite or PostgreSQL.

SQLAlchemy Core gives both databases one code path. A run is written in one transaction: the
verdict's JSON and the policy's canonical JSON (enough to re-decide it later without running
any tool), plus queryable columns and tables (``runs``, ``checks``, ``findings``,
``rule_results``). The schema is versioned in ``gatekeeper_schema`` and migrated forward on
open; a store newer than this code is refused rather than misread.

SQLite is the embedded default (``<root>/.gatekeeper/history.db``). Parallel CI jobs may share
one file: WAL, a 30 s busy timeout and ``BEGIN IMMEDIATE`` for writes serialise them without
losing a row. PostgreSQL (``postgresql://...``, driver in ``gatekeeper[postgres]``) serves an
organisation whose CI runs on many machines; an advisory lock serialises schema creation.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine

from gatekeeper import clock
from gatekeeper.errors import HistoryError, UsageError
from gatekeeper.history.records import RunRecord
from gatekeeper.history.urls import (
    ENV,
    HISTORY_FILE,
    check_history_url,
    default_history_url,
    redact_url,
    resolve_history_url,
)
from gatekeeper.models import Verdict
from gatekeeper.state import STATE_DIR, state_dir

if TYPE_CHECKING:
    from gatekeeper.policy import ResolvedPolicy

__all__ = [
    "ENV",
    "SCHEMA_VERSION",
    "HistoryStore",
    "NoHistoryStore",
    "StoreError",
    "check_history_url",
    "default_history_url",
    "describe_error",
    "open_store",
    "redact_url",
    "resolve_history_url",
]

#: How long a SQLite writer waits for another to finish (parallel CI jobs on one file).
BUSY_TIMEOUT_S = 30
#: How long to wait for a PostgreSQL server before giving up (unless the URL says otherwise).
CONNECT_TIMEOUT_S = 10
_ATTEMPTS = 6
_WRITE = "gatekeeper_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)
_PG_SCHEMA_LOCK = 0x67617465  # pg_advisory_xact_lock key serialising schema creation ("gate")
_READ_ONLY = "gatekeeper_read_only"  # engine flag: open_store(create=False), which never writes
#: PostgreSQL SQLSTATEs another attempt can get past: serialisation failure, deadlock, lock not available.
_PG_RETRY = frozenset({"40001", "40P01", "55P03"})
_PG_UNIQUE_VIOLATION = "23505"  # retried only while creating the schema (two first runs racing)
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6  # primary result codes (the low byte of an extended code)
#: Query parameters whose value never appears in a message: password, sslpassword, secret, api_key, token...

T = TypeVar("T")

# The tables. Never change a table in place once released: add a migration below instead.
METADATA = sa.MetaData()

SCHEMA_TABLE = sa.Table(
    "gatekeeper_schema",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

RUNS = sa.Table(
    "runs",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False, index=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("enforced", sa.Boolean, nullable=False),
    sa.Column("policy_name", sa.Text, nullable=False),
    sa.Column("policy_digest", sa.String(80), nullable=False, index=True),
    sa.Column("repository", sa.Text),
    sa.Column("commit", sa.String(64)),
    sa.Column("branch", sa.String(255), index=True),
    sa.Column("dirty", sa.Boolean),
    sa.Column("gatekeeper_version", sa.String(64), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("verdict", sa.Text, nullable=False),  # the whole verdict, as --format json writes it
    sa.Column("policy", sa.Text, nullable=False),  # ResolvedPolicy.canonical_json(): hashes to policy_digest
    sqlite_autoincrement=True,  # a deleted run's id is never reused: `gatekeeper replay 12` stays unambiguous
)

CHECKS = sa.Table(
    "checks",
    METADATA,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("uses", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("tool_name", sa.Text),
    sa.Column("tool_version", sa.Text),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("finding_count", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON object, metric -> number
)

FINDINGS = sa.Table(
    "findings",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("check", sa.String(255), nullable=False),
    sa.Column("finding_id", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("line", sa.Integer),
)

RULE_RESULTS = sa.Table(
    "rule_results",
    METADATA,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("rule", sa.String(255), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
)


def _create_v1(conn: Connection) -> None:
    # checkfirst=False: a database that already has a foreign ``runs`` table is refused, not written into.
    METADATA.create_all(conn, tables=[RUNS, CHECKS, FINDINGS, RULE_RESULTS], checkfirst=False)


#: Migration N (1-based) brings a store from version N-1 to N, inside the same transaction as
#: the version row it adds. Append only.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_create_v1,)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(HistoryError):
    """The store failed; ``reason`` says why without repeating its URL (for the warning of ``run``)."""

    def __init__(self, url: str, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"history store {url}: {reason}")
        self.url = url
        self.reason = reason


class NoHistoryStore(StoreError):
    """``open_store(..., create=False)`` found no store there: nothing was recorded yet."""


def open_store(url: str | None, root: Path, *, create: bool = True) -> HistoryStore:
    """Open (creating and migrating as needed) the store ``url`` names; see ``resolve_history_url``.

    ``create=False`` (``history``, ``report``, ``replay``, ``simulate``) never writes: it raises
    ``NoHistoryStore`` instead of creating a SQLite file that does not exist yet, refuses a store
    at an older schema version instead of migrating it, and leaves SQLite's journal mode alone.
    Raises ``HistoryError`` when the store cannot be opened, or is newer than this gatekeeper.
    """
    target = resolve_history_url(url, root)
    shown = redact_url(target)
    parsed = check_history_url(target)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed, shown, Path(root), create=create)
    try:
        engine = _engine(parsed, read_only=not create)
    except ImportError as exc:
        extra = " `pip install 'gatekeeper[postgres]'`" if parsed.get_backend_name() == "postgresql" else ""
        raise StoreError(
            shown, f"the database driver is not installed ({exc}); install it{extra} or use --no-history"
        ) from None
    except sa_exc.ArgumentError as exc:
        raise UsageError(f"history store {shown}: {describe_error(exc)}") from None
    store = HistoryStore(engine, shown)
    try:
        store._ensure_schema(create=create)
    except BaseException:
        store.close()
        raise
    return store


def _prepare_sqlite_file(parsed: URL, shown: str, root: Path, *, create: bool) -> None:
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database)
    if path.is_dir():
        raise StoreError(shown, f"{path} is a directory; name a file, e.g. {path / HISTORY_FILE}")
    if path.exists():
        return
    if not create:
        raise NoHistoryStore(shown, "does not exist yet; `gatekeeper run` creates it")
    try:
        if path.parent.absolute() == (root / STATE_DIR).absolute():
            state_dir(root)  # with its .gitignore, so the run leaves a clean tree clean
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(shown, f"cannot create {path.parent}: {exc.strerror or exc}") from None


def _engine(parsed: URL, *, read_only: bool = False) -> Engine:
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_connect_read_only if read_only else _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if backend == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return sa.create_engine(parsed, connect_args=connect_args)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit transactions are off: _sqlite_begin issues BEGIN (IMMEDIATE for
    # writes), so a writer takes the lock up front and waits for it instead of failing mid-way.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout is the driver's own: sqlite3.connect(timeout=BUSY_TIMEOUT_S) sets it.
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL: readers never block the writer, nor it them. A read-only file cannot switch, but still
        # reads; a write to it then fails with its own reason.
        with suppress(Exception):
            cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_connect_read_only(dbapi_connection: Any, _record: Any) -> None:
    # For open_store(create=False): the journal mode stays what it is, and SQLite itself refuses
    # any write (query_only), so reading the history never changes the file.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def describe_error(exc: BaseException) -> str:
    """One line for a database error: the driver's first line, without SQL or SQLAlchemy's links."""
    if isinstance(exc, StoreError):
        return exc.reason
    if isinstance(exc, HistoryError):
        return str(exc)
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first or type(exc).__name__


def _transient(exc: BaseException, *, creating_schema: bool = False) -> bool:
    """A lock or race another attempt can get past.

    SQLite: busy or locked, by the driver's error code (its message on Python < 3.11).
    PostgreSQL: serialisation failure, deadlock, lock not available; and a unique violation only
    while ``creating_schema`` (two first runs creating the same tables), never when writing a run.
    """
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_RETRY or (creating_schema and sqlstate == _PG_UNIQUE_VIOLATION)
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
        text = str(orig).lower()
        return "database is locked" in text or "database table is locked" in text
    return False


def _utc_naive(moment: datetime) -> datetime:
    """Stored times are naive UTC: the same column type and ordering on SQLite and PostgreSQL."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class HistoryStore:
    """Recorded runs. Open one with ``open_store``; use it as a context manager or ``close()`` it."""

    def __init__(self, engine: Engine, shown_url: str) -> None:
        self._engine = engine
        self._url = shown_url

    @property
    def url(self) -> str:
        """The store's URL without any password, for messages."""
        return self._url

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    def record(self, verdict: Verdict, policy: ResolvedPolicy) -> int:
        """Store one run in one transaction and return its id. Raises ``HistoryError``."""
        verdict_json = verdict.model_dump_json(exclude={"history"})  # the decided verdict, not our note on it
        run = {
            "recorded_at": _utc_naive(clock.now()),
            "outcome": verdict.outcome,
            "mode": verdict.mode,
            "enforced": verdict.enforced,
            "policy_name": verdict.policy.name,
            "policy_digest": verdict.policy.digest,
            "repository": verdict.subject.repository,
            "commit": verdict.subject.commit,
            "branch": verdict.subject.branch,
            "dirty": verdict.subject.dirty,
            "gatekeeper_version": verdict.gatekeeper_version,
            "started_at": _utc_naive(verdict.started_at),
            "finished_at": _utc_naive(verdict.finished_at),
            "duration": (verdict.finished_at - verdict.started_at).total_seconds(),
            "verdict": verdict_json,
            "policy": policy.canonical_json(),
        }
        checks = [
            {
                "name": check.name,
                "uses": check.uses,
                "status": check.status,
                "error": check.error,
                "tool_name": check.tool.name if check.tool else None,
                "tool_version": check.tool.version if check.tool else None,
                "duration_s": check.duration_s,
                "finding_count": len(check.findings),
                "metrics": json.dumps(check.metrics, sort_keys=True),
            }
            for check in verdict.checks
        ]
        findings = [
            {
                "check": check.name,
                "finding_id": finding.id,
                "fingerprint": finding.fingerprint,
                "severity": finding.severity.value,
                "path": finding.path,
                "line": finding.line,
            }
            for check in verdict.checks
            for finding in check.findings
        ]
        rules = [{"rule": rule.id, "outcome": rule.outcome, "mode": rule.mode} for rule in verdict.rules]

        def write(conn: Connection) -> int:
            key = conn.execute(RUNS.insert().values(**run)).inserted_primary_key
            if key is None or key[0] is None:  # every dialect we support returns the new id
                raise StoreError(self._url, "cannot record the run: the database returned no id for it")
            run_id = int(key[0])
            for table, rows in ((CHECKS, checks), (FINDINGS, findings), (RULE_RESULTS, rules)):
                if rows:
                    conn.execute(table.insert(), [{"run_id": run_id, **row} for row in rows])
            return run_id

        return self._retrying(lambda: self._in_write(write), "record the run")

    def runs(
        self,
        *,
        branch: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Recorded runs, newest first; ``since`` is inclusive and ``until`` exclusive (naive = UTC)."""
        query = sa.select(RUNS.c.id, RUNS.c.recorded_at, RUNS.c.verdict, RUNS.c.policy)
        if branch is not None:
            query = query.where(RUNS.c.branch == branch)
        if outcome is not None:
            query = query.where(RUNS.c.outcome == outcome)
        if since is not None:
            query = query.where(RUNS.c.recorded_at >= _utc_naive(since))
        if until is not None:
            query = query.where(RUNS.c.recorded_at < _utc_naive(until))
        query = query.order_by(RUNS.c.recorded_at.desc(), RUNS.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = self._retrying(lambda: self._in_read(lambda conn: conn.execute(query).all()), "read the runs")
        return [self._record(*row) for row in rows]

    def get(self, run_id: int) -> RunRecord:
        """The run with this id; ``HistoryError`` when the store has none."""
        query = sa.select(RUNS.c.id, RUNS.c.recorded_at, RUNS.c.verdict, RUNS.c.policy).where(RUNS.c.id == run_id)
        row = self._retrying(lambda: self._in_read(lambda conn: conn.execute(query).first()), "read the run")
        if row is None:
            raise HistoryError(f"no run {run_id} in history at {self._url}; list them with `gatekeeper history`")
        return self._record(*row)

    def schema_version(self) -> int:
        """The schema version the store is at (0 when it has none yet)."""
        return self._retrying(lambda: self._in_read(_read_version), "read the schema version")

    def _record(self, run_id: int, recorded_at: datetime, verdict: str, policy: str) -> RunRecord:
        try:
            return RunRecord(
                id=run_id,
                recorded_at=recorded_at.replace(tzinfo=timezone.utc),
                verdict=Verdict.model_validate_json(verdict),
                policy=json.loads(policy),
            )
        except (ValidationError, ValueError) as exc:
            raise StoreError(
                self._url,
                f"run {run_id} cannot be read ({describe_error(exc)}); "
                "it was written by another gatekeeper version or altered",
            ) from None

    def _ensure_schema(self, *, create: bool) -> None:
        def ensure() -> None:
            version = self._in_read(_read_version)
            self._refuse_newer(version)
            if version == len(MIGRATIONS):
                return
            if version == 0 and not create:
                raise NoHistoryStore(self._url, "has no runs yet; `gatekeeper run` creates its tables")
            if not create:  # reading never writes: not even a migration
                raise StoreError(
                    self._url,
                    f"schema version {version} is older than this gatekeeper's ({len(MIGRATIONS)}); "
                    "run `gatekeeper run` once to upgrade it",
                    f"history store {self._url} has schema version {version}, older than this gatekeeper's "
                    f"({len(MIGRATIONS)}); run `gatekeeper run` once to upgrade it",
                )
            self._in_write(self._migrate)

        self._retrying(ensure, "open it", creating_schema=True)

    def _migrate(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":  # concurrent first runs: one creates, the others wait and see it
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
        SCHEMA_TABLE.create(conn, checkfirst=True)
        version = _read_version(conn)  # again, under the lock: another process may have migrated meanwhile
        self._refuse_newer(version)
        for number in range(version + 1, len(MIGRATIONS) + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(SCHEMA_TABLE.insert().values(version=number, applied_at=_utc_naive(clock.now())))

    def _refuse_newer(self, version: int) -> None:
        if version > len(MIGRATIONS):
            known = len(MIGRATIONS)
            raise StoreError(
                self._url,
                f"schema version {version} is newer than this gatekeeper knows ({known}); "
                "upgrade gatekeeper (or use --no-history)",
                f"history store {self._url} has schema version {version} but this gatekeeper knows up to "
                f"{known}; upgrade gatekeeper (or use --no-history)",
            )

    def _in_read(self, work: Callable[[Connection], T]) -> T:
        with self._engine.connect() as conn, conn.begin():
            return work(conn)

    def _in_write(self, work: Callable[[Connection], T]) -> T:
        with self._engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            return work(conn)

    def _retrying(self, attempt: Callable[[], T], doing: str, *, creating_schema: bool = False) -> T:
        """Run ``attempt``, again after a lock or race; any database or file error becomes ``HistoryError``."""
        for number in range(_ATTEMPTS):
            try:
                with _errors_as_history(self._url, doing, creating_schema=creating_schema):
                    return attempt()
            except _Transient:
                if number == _ATTEMPTS - 1:
                    raise StoreError(self._url, f"cannot {doing}: still locked after {_ATTEMPTS} attempts") from None
                time.sleep(min(2.0, 0.05 * 2**number) * (0.5 + random.random()))  # jitter: parallel writers spread out
        raise AssertionError("unreachable")  # pragma: no cover


class _Transient(Exception):
    pass


@contextmanager
def _errors_as_history(url: str, doing: str, *, creating_schema: bool = False) -> Iterator[None]:
    try:
        yield
    except HistoryError:
        raise
    except sa_exc.DBAPIError as exc:
        if _transient(exc, creating_schema=creating_schema):
            raise _Transient from None
        raise StoreError(url, f"cannot {doing}: {describe_error(exc)}") from None
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        raise StoreError(url, f"cannot {doing}: {describe_error(exc)}") from None


def _read_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table(SCHEMA_TABLE.name):
        return 0
    return int(conn.execute(sa.select(sa.func.max(SCHEMA_TABLE.c.version))).scalar() or 0)
