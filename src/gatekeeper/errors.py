"""The error hierarchy: one root, a few kinds, each message saying what to do next.

The CLI maps each kind to an exit code (``exit_code``); the library only raises.
A check that fails to run is *not* an exception here: the engine turns it into a
``CheckResult`` with ``status: error`` so the verdict can fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass


class GatekeeperError(Exception):
    """Root of every error gatekeeper raises on purpose."""

    exit_code: int = 3


class UsageError(GatekeeperError):
    """The command line or library call was wrong (unknown format, missing path...)."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """Where in a policy file something was written (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class PolicyError(GatekeeperError):
    """A policy file is malformed, invalid, or refers to something that does not exist."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None, path: str | None = None):
        self.location = location
        self.path = path
        self.detail = message
        prefix = f"{location}: " if location else ""
        where = f"{path}: " if path else ""
        super().__init__(f"{prefix}{where}{message}")


class PluginError(GatekeeperError):
    """A plugin could not be loaded, registered something invalid, or raised in a hook."""

    exit_code = 3


class CheckError(GatekeeperError):
    """Raised by a checker that cannot run on its input; becomes ``status: error``."""

    exit_code = 3


class SigningError(GatekeeperError):
    """A key cannot be read or used: missing file, not a key, wrong passphrase, unsupported type."""

    exit_code = 2


class ReportError(GatekeeperError):
    """A report could not be rendered or written."""

    exit_code = 3


class HistoryError(GatekeeperError):
    """The run history store cannot be opened, read or written, or has no such run."""

    exit_code = 3
