"""The whole plugin contract. A plugin is a module (or object) with functions named
like the hooks below and decorated with ``@gatekeeper.hookimpl``.

Plugins are found three ways, in this order, and all go through these same hooks:

1. gatekeeper's own built-in checkers and reporters;
2. installed packages that declare an entry point in the group ``gatekeeper``;
3. local modules a policy names (``plugins: [./ci/gatekeeper_local.py]``).

Any function whose name starts with ``gatekeeper_`` is taken as a hook implementation
(``@hookimpl`` is recommended, and needed for options such as ``tryfirst``); one that
matches no hook below is rejected when the plugin loads, so a typo never silently
does nothing.

Versioning promise: hooks are only added, never changed incompatibly, within a
major version; a hook may gain keyword arguments, which pluggy lets old
implementations ignore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gatekeeper.checkers.base import AnyChecker
    from gatekeeper.models import Verdict
    from gatekeeper.policy import ResolvedPolicy
    from gatekeeper.reporters.base import Reporter
    from gatekeeper.signing import SignerType

PROJECT = "gatekeeper"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gatekeeper_checkers() -> list[AnyChecker]:
    """Register checkers: the kinds of check a policy can name with ``uses:``.

    Called once, when plugins are loaded (before any policy is validated, since a
    check's ``with:`` block is validated against its checker's options model).
    Return a list of ``gatekeeper.Checker``. Two plugins registering the same
    name is an error naming both.
    """
    raise NotImplementedError


@hookspec
def gatekeeper_reporters() -> list[Reporter]:
    """Register reporters: the output formats ``--format NAME`` can choose.

    Called once, when plugins are loaded. Return a list of ``gatekeeper.Reporter``.
    """
    raise NotImplementedError


@hookspec
def gatekeeper_signers() -> list[SignerType]:
    """Register signers: the kinds of key a verdict can be signed with (a key file, a KMS, an HSM).

    Called once, when plugins are loaded. Return a list of ``gatekeeper.signing.SignerType``;
    the signing step picks one by its ``name``.
    """
    raise NotImplementedError


@hookspec
def gatekeeper_policy_loaded(policy: ResolvedPolicy) -> None:
    """Called after a policy is resolved and validated, before any check runs.

    A plugin may inspect the policy (for example to refuse one, or to validate its
    ``settings:`` block with ``policy.plugin_settings(NAME, Model)``): raising a
    ``PolicyError`` refuses it (exit 2); any other exception aborts the run as a
    plugin error (exit 3). Return value is ignored.
    """


@hookspec
def gatekeeper_verdict_ready(verdict: Verdict, policy: ResolvedPolicy) -> None:
    """Called once the verdict is decided, before reports are written.

    For observers (metrics, notifications); ``policy`` is the policy that decided it, whose
    ``plugin_settings()`` gives the plugin its own ``settings:`` block. The verdict is frozen
    and cannot be changed here; raising a ``GatekeeperError`` keeps its exit code, anything
    else is a plugin error (exit 3), so a notifier that must never change the outcome
    catches its own errors. Return value is ignored.
    """
