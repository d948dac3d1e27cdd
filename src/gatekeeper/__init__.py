"""gatekeeper: a policy-as-code quality gate.

    from gatekeeper import load_policy, evaluate

    policy = load_policy("gatekeeper.yaml")
    verdict = evaluate(policy, ".")
    if not verdict.passed:
        ...

Names are imported lazily so that ``gatekeeper --version`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gatekeeper.cache import ResultCache
    from gatekeeper.checkers.base import CacheInputs, CheckContext, Checker, NoOptions
    from gatekeeper.engine import CheckEvent, evaluate
    from gatekeeper.errors import CheckError, GatekeeperError, PluginError, PolicyError, ReportError, UsageError
    from gatekeeper.hookspecs import hookimpl
    from gatekeeper.models import (
        CheckOutput,
        CheckResult,
        Finding,
        InputFile,
        RuleResult,
        Severity,
        ToolInfo,
        Verdict,
        fingerprint,
    )
    from gatekeeper.plugins import Plugins, load_plugins
    from gatekeeper.policy import ResolvedPolicy, find_policy, load_policy, policy_schema
    from gatekeeper.reporters import render, write_report
    from gatekeeper.reporters.base import RenderOptions, Reporter

_EXPORTS = {
    "ResultCache": "gatekeeper.cache",
    "CacheInputs": "gatekeeper.checkers.base",
    "CheckContext": "gatekeeper.checkers.base",
    "Checker": "gatekeeper.checkers.base",
    "NoOptions": "gatekeeper.checkers.base",
    "CheckEvent": "gatekeeper.engine",
    "evaluate": "gatekeeper.engine",
    "CheckError": "gatekeeper.errors",
    "GatekeeperError": "gatekeeper.errors",
    "PluginError": "gatekeeper.errors",
    "PolicyError": "gatekeeper.errors",
    "ReportError": "gatekeeper.errors",
    "UsageError": "gatekeeper.errors",
    "hookimpl": "gatekeeper.hookspecs",
    "CheckOutput": "gatekeeper.models",
    "CheckResult": "gatekeeper.models",
    "Finding": "gatekeeper.models",
    "InputFile": "gatekeeper.models",
    "RuleResult": "gatekeeper.models",
    "Severity": "gatekeeper.models",
    "ToolInfo": "gatekeeper.models",
    "Verdict": "gatekeeper.models",
    "fingerprint": "gatekeeper.models",
    "Plugins": "gatekeeper.plugins",
    "load_plugins": "gatekeeper.plugins",
    "ResolvedPolicy": "gatekeeper.policy",
    "find_policy": "gatekeeper.policy",
    "load_policy": "gatekeeper.policy",
    "policy_schema": "gatekeeper.policy",
    "render": "gatekeeper.reporters",
    "write_report": "gatekeeper.reporters",
    "RenderOptions": "gatekeeper.reporters.base",
    "Reporter": "gatekeeper.reporters.base",
}

__all__ = [
    "CacheInputs",
    "CheckContext",
    "CheckError",
    "CheckEvent",
    "CheckOutput",
    "CheckResult",
    "Checker",
    "Finding",
    "GatekeeperError",
    "InputFile",
    "NoOptions",
    "PluginError",
    "Plugins",
    "PolicyError",
    "RenderOptions",
    "ReportError",
    "Reporter",
    "ResolvedPolicy",
    "ResultCache",
    "RuleResult",
    "Severity",
    "ToolInfo",
    "UsageError",
    "Verdict",
    "__version__",
    "evaluate",
    "find_policy",
    "fingerprint",
    "hookimpl",
    "load_plugins",
    "load_policy",
    "policy_schema",
    "render",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gatekeeper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
