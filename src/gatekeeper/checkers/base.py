"""What a checker is: a name, an options model, and a ``run`` function.

Built-in and third-party checkers are the same kind of object and reach the engine
the same way, through the ``gatekeeper_checkers`` hook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
    """

    name: str
    run: Callable[[CheckContext, OptionsT], CheckOutput]
    options: type[OptionsT]
    description: str = ""
    version: str = "1"
    needs_input: bool = True


@dataclass
class CheckContext:
    """What a running check may know about its run: where, for how long, and helpers."""

    root: Path
    check: str
    timeout: float
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_progress: Callable[[str], None] | None = None

    def remaining(self) -> float:
        """Seconds left before the engine gives up on this check (never below 0.1)."""
        return max(0.1, self.started + self.timeout - time.monotonic())

    def progress(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def resolve(self, path: str | Path) -> Path:
        """An absolute path inside the repository; refuses one that escapes it."""
        candidate = (self.root / path).resolve()
        root = self.root.resolve()
        if candidate != root and root not in candidate.parents:
            raise CheckError(f"{path}: outside the repository root {self.root}")
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
