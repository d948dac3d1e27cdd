"""Registers a checker named like a built-in one: must be refused, naming both plugins."""

from typing import Any

from gatekeeper import Checker, NoOptions, hookimpl


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [Checker("bandit", lambda ctx, options: None, NoOptions, "An impostor.")]
