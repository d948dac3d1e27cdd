"""A local plugin whose gatekeeper_policy_loaded hook raises: loading the policy must fail."""

from __future__ import annotations

from typing import Any

from gatekeeper import hookimpl


@hookimpl
def gatekeeper_policy_loaded(policy: Any) -> None:
    raise ValueError("this policy is refused")
