"""What a checker is: a name, an options model, and a ``run`` function.

Built-in and third-party checkers are the same kind of object and reach the engine
the same way, through the ``gatekeeper_checkers`` hook.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from gatekeeper.digests import sha256_file
from gatekeeper.errors import CheckError
from gatekeeper.models import CheckOutput, InputFile


class NoOptions(BaseModel):
    """For checkers that take no ``with:`` options; any key given is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass(frozen=True)
class Checker(Generic[OptionsT]):
    """A kind of check a policy can use (``uses: NAME``).

    ``run`` is called in a worker thread with the context and the validated options.
    It returns a ``CheckOutput``, or raises: any exception becomes ``status: error``.
    ``needs_input``: an ``ok`` result that read no input file is turned into an error,
    because a check that looked at nothing is not evidence of anything.

    Result cache (``docs/cache.md``): ``cache_inputs`` opts the checker in. Called before
    ``run`` with the same arguments, it returns what the answer depends on besides the
    options (``CacheInputs``), or None for "do not cache this run"; a checker without it is
    never cached. ``external``: the answer also depends on the outside world (an advisory
    database), so a cached result expires after the policy's ``cache.ttl_external``.
    ``version`` is part of the cache key: change it when the same inputs give a new answer.

    ``supports_scope``: the checker can limit itself to the files changed since a base
    (``scope: changed``, ``--changed-since``); it then reads ``CheckContext.changed_since``.
    """

    name: str
    run: Callable[[CheckContext, OptionsT], CheckOutput]
    options: type[OptionsT]
    description: str = ""
    version: str = "1"
    needs_input: bool = True
    cache_inputs: Callable[[CheckContext, OptionsT], CacheInputs | None] | None = None
    external: bool = False
    supports_scope: bool = False


@dataclass(frozen=True)
class CacheInputs:
    """What a check's answer depends on besides its options: the key of its cached result.

    ``files``: files and folders the check reads, relative to the repository root. Their
    contents are hashed; a folder stands for every file below it (``.git`` and gatekeeper's
    own ``.gatekeeper/`` left out); a path that does not exist is recorded as missing, so
    creating it later changes the key. ``tool``: the identity of the tool that runs (name and
    version). ``extra``: anything else, as JSON-able values (an environment variable, a
    commit id, the digest of a rule file outside the repository).
    """

    files: Sequence[str | Path] = ()
    tool: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CheckContext:
    """What a running check may know about its run: where, for how long, and helpers."""

    root: Path
    check: str
    timeout: float
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_progress: Callable[[str], None] | None = None
    #: The base ref when the check is scoped to the files changed since it (``scope: changed`` or
    #: ``--changed-since``, for a checker with ``supports_scope``); None: the whole tree.
    changed_since: str | None = None
    #: The run's job budget (``gatekeeper run --jobs``, ``evaluate(jobs=...)``): a checker that runs work
    #: in parallel runs at most this many processes at once (``workers``). None: no bound but the cores.
    jobs: int | None = None
    #: Every repository path ``resolve`` (so ``relpath`` and ``input_file``) returned: the result
    #: cache re-checks them before it reuses a result.
    resolved: set[Path] = field(default_factory=set, repr=False)

    def remaining(self) -> float:
        """Seconds left before the engine gives up on this check (never below 0.1)."""
        return max(0.1, self.started + self.timeout - time.monotonic())

    def workers(self, wanted: int | None = None) -> int:
        """Processes a checker may run at once: ``wanted`` (None: the machine's cores), at most ``jobs``."""
        count = wanted or os.cpu_count() or 1
        return max(1, min(count, self.jobs) if self.jobs is not None else count)

    def progress(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def resolve(self, path: str | Path) -> Path:
        """An absolute path inside the repository; refuses one that escapes it."""
        candidate = (self.root / path).resolve()
        root = self.root.resolve()
        if candidate != root and root not in candidate.parents:
            raise CheckError(f"{path}: outside the repository root {self.root}")
        self.resolved.add(candidate)
        return candidate

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the repository root, '/'-separated; errors if it escapes."""
        resolved = self.resolve(path)
        rel = resolved.relative_to(self.root.resolve()).as_posix()
        return rel or "."

    def input_file(self, path: str | Path) -> InputFile:
        """Record a file the check read, with its sha256, for the verdict's evidence list."""
        resolved = self.resolve(path)
        try:
            digest = sha256_file(resolved)
        except OSError as exc:
            raise CheckError(f"{self.relpath(resolved)}: cannot read: {exc.strerror}") from None
        return InputFile(path=self.relpath(resolved), sha256=digest)


AnyChecker = Checker[Any]
