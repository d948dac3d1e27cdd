"""The result cache: a check whose inputs have not changed reuses its last ``ok`` result.

Content-addressed. A check's key is the sha256 of the canonical JSON of: this cache format,
gatekeeper's version and the digest of its code, the checker's name, ``version`` and the digest
of the module that defines it, the check's name and validated options, and what the checker's
``cache_inputs`` declares (``CacheInputs``: the digests of the files and folders it reads, the
tool's identity, anything else). A checker without ``cache_inputs`` is never cached.

One JSON file per entry, ``<key>.json``, in the cache folder (``<root>/.gatekeeper/cache`` for
``gatekeeper run``, or ``GATEKEEPER_CACHE_DIR``), written atomically. An entry also records the
state of every other repository path the check resolved through its context (a source file it
read for a fingerprint, a path it probed), and a hit re-checks them. Reading an entry never
trusts it: a truncated, garbled, foreign or outdated entry is a miss, and is deleted. Only
``ok`` results are stored, and only when every input the result lists was among the hashed
ones. Lookups and writes never raise: any problem is a miss (a run), recorded in ``problems``.

Checkers marked ``external`` (the answer also depends on the outside world) are reused only
for the policy's ``cache.ttl_external`` seconds, and not at all when it is 0. After a run that
stored something, the least recently used entries (file mtime, touched on each hit) are
deleted until the folder is within ``cache.max_size_mb``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from gatekeeper import clock
from gatekeeper.checkers.base import CacheInputs
from gatekeeper.digests import sha256_file
from gatekeeper.errors import CheckError
from gatekeeper.models import CheckResult
from gatekeeper.state import STATE_DIR

if TYPE_CHECKING:
    from gatekeeper.checkers.base import AnyChecker, CheckContext
    from gatekeeper.policy.model import CacheSettings

__all__ = ["CACHE_DIR_ENV", "FORMAT", "ResultCache", "default_cache_dir"]

CACHE_DIR_ENV = "GATEKEEPER_CACHE_DIR"
FORMAT: Final = 1
_TAG_NAME = "CACHEDIR.TAG"
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gatekeeper (its result cache).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_STALE_TEMP_S = 3600.0


def default_cache_dir(root: str | Path) -> Path:
    """Where ``gatekeeper run`` keeps the cache: ``$GATEKEEPER_CACHE_DIR``, else ``<root>/.gatekeeper/cache``."""
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path(root) / STATE_DIR / "cache"


class _Entry(BaseModel):
    """One cache file. ``result`` is the CheckResult's JSON text, so its digest can be checked as stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1]
    key: str
    created_at: datetime
    check: str
    uses: str
    depends: dict[str, str]
    result: str
    result_sha256: str


# --- digests of what a check reads --------------------------------------------------------------


class _States:
    """The state of repository paths: ``sha256:<hex>`` for a file (through symlinks), ``dir``, ``missing``...

    A symlink's target is part of its state. Digests are remembered by path, size, mtime and inode
    for the life of the object (one check of one run), so a file is hashed once per check.
    """

    def __init__(self) -> None:
        self._digests: dict[str, tuple[tuple[int, int, int, int], str]] = {}

    def of(self, path: Path) -> str:
        try:
            link = f"link:{os.readlink(path)};" if path.is_symlink() else ""
        except OSError:
            link = "link:?;"
        try:
            info = path.stat()
        except FileNotFoundError:
            return link + "missing"
        except OSError as exc:
            raise _Uncacheable(f"{path}: cannot stat: {exc.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            return link + "dir"
        if not stat.S_ISREG(info.st_mode):
            return link + "other"
        signature = (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)
        key = str(path)
        known = self._digests.get(key)
        if known is not None and known[0] == signature:
            return link + known[1]
        try:
            digest = "sha256:" + sha256_file(path)
        except OSError as exc:
            raise _Uncacheable(f"{path}: cannot read: {exc.strerror}") from None
        self._digests[key] = (signature, digest)
        return link + digest


class _Uncacheable(Exception):
    """This run of the check cannot be keyed or stored; it simply runs."""


def _relative(root: Path, entry: str | Path) -> str:
    """A declared path as '/'-separated and relative to the root, without following symlinks."""
    base = os.path.normpath(root.absolute())
    candidate = Path(entry)
    absolute = os.path.normpath(candidate if candidate.is_absolute() else Path(base) / candidate)
    if absolute != base and not absolute.startswith(base.rstrip(os.sep) + os.sep):
        raise _Uncacheable(f"cache input {entry}: outside the repository (declare it under 'extra' instead)")
    return Path(os.path.relpath(absolute, base)).as_posix()


def _file_states(root: Path, declared: list[str | Path], skip: set[str], states: _States) -> dict[str, str]:
    """Path -> state for every declared path, a folder expanded to every file below it."""
    found: dict[str, str] = {}
    base = Path(os.path.normpath(root.absolute()))
    for entry in declared:
        rel = _relative(root, entry)
        path = base / rel
        if any(os.path.normpath(path) == d or os.path.normpath(path).startswith(d + os.sep) for d in skip):
            continue  # gatekeeper's own state (the cache itself) is never an input
        found[rel] = states.of(path)
        if not found[rel].endswith("dir"):  # a folder, or a symlink to one named on purpose
            continue
        for folder, dirs, files in os.walk(path):  # symlinked folders are listed, not followed
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if d != ".git" and os.path.normpath(here / d) not in skip)
            for name in sorted(files) + [d for d in dirs if (here / d).is_symlink()]:
                child = here / name
                found[child.relative_to(base).as_posix()] = states.of(child)
    return found


# --- the identity of the code that produces a result --------------------------------------------


@functools.cache
def _gatekeeper_code() -> str:
    """gatekeeper's own version and the digest of its modules: a changed gatekeeper may normalise differently."""
    from gatekeeper import __version__

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"?")
        digest.update(b"\0")
    return f"{__version__} sha256:{digest.hexdigest()}"


_MODULE_DIGESTS: dict[str, tuple[tuple[int, int], str]] = {}
_MODULE_LOCK = threading.Lock()


def _code_of(function: object) -> str | None:
    """The digest of the file of the module that defines ``function`` (an in-house checker edited in place)."""
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    filename = getattr(module, "__file__", None)
    if not filename:
        return None
    try:
        info = os.stat(filename)
        signature = (info.st_size, info.st_mtime_ns)
        with _MODULE_LOCK:
            known = _MODULE_DIGESTS.get(filename)
        if known is not None and known[0] == signature:
            return known[1]
        digest = "sha256:" + sha256_file(filename)
    except OSError:
        return None
    with _MODULE_LOCK:
        _MODULE_DIGESTS[filename] = (signature, digest)
    return digest


# --- the cache ----------------------------------------------------------------------------------


@dataclass
class _Prepared:
    key: str
    files: dict[str, str]
    states: _States


class ResultCache:
    """A folder of cached check results; ``gatekeeper.evaluate(..., cache=...)`` takes one (or a path).

    Counters (``hits``, ``misses``, ``stored``, ``evicted``) and ``problems`` (why an entry could
    not be used or written, for a warning) add up over the runs that use the object.
    ``now`` is the clock for entry ages (default ``gatekeeper.clock.now``, which honours
    ``GATEKEEPER_NOW``). ``on_create`` is called once before the folder is first created (the
    CLI makes ``.gatekeeper/`` with its ``.gitignore`` that way).
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        now: Callable[[], datetime] | None = None,
        on_create: Callable[[], object] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.now = now or clock.now
        self.on_create = on_create
        self.hits = self.misses = self.stored = self.evicted = 0
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ResultCache({str(self.directory)!r})"

    def session(self, settings: CacheSettings, root: Path) -> CacheSession:
        """The cache as one run of the checks on ``root`` uses it."""
        return CacheSession(self, settings, root)

    def _problem(self, message: str) -> None:
        with self._lock:
            if message not in self.problems:
                self.problems.append(message)

    def _count(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def entry_path(self, key: str) -> Path:
        return self.directory / f"{key}.json"


class CacheSession:
    """One run: ``lookup`` before a check runs (in its worker thread), ``store`` after, ``finish`` at the end."""

    def __init__(self, cache: ResultCache, settings: CacheSettings, root: Path) -> None:
        self.cache, self.settings, self.root = cache, settings, root
        self._prepared: dict[str, _Prepared] = {}
        self._lock = threading.Lock()
        self._wrote = False
        skipped = {Path(root).absolute() / STATE_DIR, cache.directory.absolute()}
        self._skip = {os.path.normpath(p) for p in skipped} | {os.path.realpath(p) for p in skipped}

    # -- lookup ---------------------------------------------------------------------------------

    def lookup(self, check: str, checker: AnyChecker, options: BaseModel, ctx: CheckContext) -> CheckResult | None:
        """The cached result of this check, or None (then run it, and ``store`` the result). Never raises."""
        if checker.cache_inputs is None or (checker.external and self.settings.ttl_external == 0):
            return None
        if ctx.changed_since is not None:  # scoped to a git diff: the answer depends on history
            return None
        try:
            prepared = self._prepare(check, checker, options, ctx)
        except CheckError:
            return None  # e.g. the tool is not installed: the run says so
        except _Uncacheable as exc:
            self.cache._problem(f"check {check!r}: not cached: {exc}")
            return None
        except Exception as exc:  # a bug in a checker's cache_inputs must not stop the check
            self.cache._problem(f"check {check!r}: cache_inputs raised {type(exc).__name__}: {exc}")
            return None
        finally:
            ctx.resolved.clear()  # what the run itself resolves is recorded from here on
        if prepared is None:
            return None
        with self._lock:
            self._prepared[check] = prepared
        try:
            result = self._read(check, checker, prepared)
        except Exception as exc:  # whatever is wrong with an entry, the check runs
            self.cache._problem(f"check {check!r}: cache entry not usable: {type(exc).__name__}: {exc}")
            result = None
        self.cache._count("hits" if result is not None else "misses")
        return result

    def _prepare(self, check: str, checker: AnyChecker, options: BaseModel, ctx: CheckContext) -> _Prepared | None:
        assert checker.cache_inputs is not None
        inputs = checker.cache_inputs(ctx, options)
        if inputs is None:
            return None
        if not isinstance(inputs, CacheInputs):
            raise _Uncacheable(f"cache_inputs returned {type(inputs).__name__}, not CacheInputs")
        states = _States()
        files = _file_states(self.root, list(inputs.files), self._skip, states)
        material = {
            "format": FORMAT,
            "gatekeeper": _gatekeeper_code(),
            "checker": {
                "name": checker.name,
                "version": checker.version,
                "code": _code_of(checker.run),
                "inputs_code": _code_of(checker.cache_inputs),
            },
            "check": check,
            "options": options.model_dump(mode="json"),
            "tool": inputs.tool,
            "extra": dict(inputs.extra),
            "files": sorted(files.items()),
        }
        try:
            text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise _Uncacheable(f"cache inputs are not JSON: {exc}") from None
        return _Prepared(hashlib.sha256(text.encode("utf-8")).hexdigest(), files, states)

    def _read(self, check: str, checker: AnyChecker, prepared: _Prepared) -> CheckResult | None:
        path = self.cache.entry_path(prepared.key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return self._discard(path, f"unreadable ({exc})")
        try:
            entry = _Entry.model_validate_json(text)
            if entry.key != prepared.key or entry.check != check or entry.uses != checker.name:
                return self._discard(path, "it belongs to another key")
            if hashlib.sha256(entry.result.encode("utf-8")).hexdigest() != entry.result_sha256:
                return self._discard(path, "its result does not match its digest")
            result = CheckResult.model_validate_json(entry.result)
        except ValidationError:
            return self._discard(path, "not a valid entry (truncated or garbled)")
        if result.status != "ok" or result.name != check or result.uses != checker.name or result.cached:
            return self._discard(path, "not a result the cache stores")
        if checker.external:
            age = self.cache.now() - entry.created_at
            if not timedelta(0) <= age < timedelta(seconds=self.settings.ttl_external):
                return None  # expired (or from the future): run again, the new result replaces it
        for name, expected in entry.depends.items():
            try:
                current = prepared.states.of(Path(os.path.normpath(self.root.absolute())) / name)
            except _Uncacheable:
                return None
            if current != expected:
                return None  # a file the check read besides its declared inputs changed
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently used: a hit makes the entry new again
        return result

    def _discard(self, path: Path, why: str) -> CheckResult | None:
        """A bad entry is a miss, never an error: say so, and remove it."""
        self.cache._problem(f"{path.name}: ignored and removed: {why}")
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    # -- store ----------------------------------------------------------------------------------

    def store(self, check: str, result: CheckResult, ctx: CheckContext) -> None:
        """Keep ``result`` for the next run, if it is an ``ok`` result of a looked-up check. Never raises."""
        with self._lock:
            prepared = self._prepared.pop(check, None)
        if prepared is None or result.status != "ok" or result.cached:
            return
        try:
            entry = self._entry(check, result, ctx, prepared)
            if entry is not None:
                self._write(prepared.key, entry.model_dump_json())
                self._wrote = True
                self.cache._count("stored")
        except _Uncacheable as exc:
            self.cache._problem(f"check {check!r}: not cached: {exc}")
        except OSError as exc:
            self.cache._problem(f"cannot write to the cache {self.cache.directory}: {exc.strerror or exc}")
        except Exception as exc:  # storing is a bonus: it must never cost the run
            self.cache._problem(f"check {check!r}: not cached: {type(exc).__name__}: {exc}")

    def _entry(self, check: str, result: CheckResult, ctx: CheckContext, prepared: _Prepared) -> _Entry | None:
        for item in result.inputs:
            if prepared.files.get(item.path) != f"sha256:{item.sha256}":
                # The check read a file its cache inputs do not cover (or one that changed meanwhile).
                raise _Uncacheable(f"input {item.path} is not among its declared cache inputs, or changed")
        real_root = Path(os.path.realpath(self.root))
        depends: dict[str, str] = {}
        for path in sorted(list(ctx.resolved)):
            try:
                rel = path.relative_to(real_root).as_posix()
            except ValueError:
                continue
            if rel not in prepared.files:
                depends[rel] = prepared.states.of(path)
        body = result.model_dump_json()
        return _Entry(
            format=FORMAT,
            key=prepared.key,
            created_at=self.cache.now(),
            check=check,
            uses=result.uses,
            depends=depends,
            result=body,
            result_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        )

    def _write(self, key: str, text: str) -> None:
        folder = self.cache.directory
        if not folder.is_dir() and self.cache.on_create is not None:
            self.cache.on_create()
        folder.mkdir(parents=True, exist_ok=True)
        tag = folder / _TAG_NAME
        if not tag.exists():
            self._atomic(tag, _TAG)
        self._atomic(self.cache.entry_path(key), text)

    @staticmethod
    def _atomic(target: Path, text: str) -> None:
        handle, scratch = tempfile.mkstemp(prefix=f".{target.stem[:16]}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(scratch, target)  # parallel runs: the last complete write wins, none is ever partial
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise

    # -- eviction -------------------------------------------------------------------------------

    def finish(self) -> None:
        """After the run: delete least recently used entries above the size limit. Never raises."""
        if not self._wrote:
            return
        try:
            self._evict(int(self.settings.max_size_mb * 1024 * 1024))
        except Exception as exc:  # an oversized cache is no reason to fail a gate
            self.cache._problem(f"cannot trim the cache {self.cache.directory}: {exc}")

    def _evict(self, limit: int) -> None:
        entries: list[tuple[int, str, int, Path]] = []
        stale = time.time() - _STALE_TEMP_S
        with os.scandir(self.cache.directory) as listing:
            for item in listing:
                try:
                    info = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                if item.name.endswith(".tmp") and info.st_mtime < stale:  # a writer that died mid-write
                    Path(item.path).unlink(missing_ok=True)
                elif item.name.endswith(".json"):
                    entries.append((info.st_mtime_ns, item.name, info.st_size, Path(item.path)))
        total = sum(size for _, _, size, _ in entries)
        for _, _, size, path in sorted(entries):
            if total <= limit:
                break
            path.unlink(missing_ok=True)  # another run may have removed it already
            total -= size
            self.cache._count("evicted")
