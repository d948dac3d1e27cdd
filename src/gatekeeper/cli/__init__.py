"""The command line: the only place that prints or exits. Everything else is the library."""

from gatekeeper.cli.main import main

__all__ = ["main"]
