"""A local plugin for the tests: a checker whose result the policy dictates.

Loaded the way a team loads an in-house check: named under ``plugins:`` in a policy.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper import CheckContext, Checker, CheckOutput, Finding, hookimpl


class FakeFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    severity: str = "high"
    path: str | None = None
    line: int | None = None
    message: str = "fake finding"


class FakeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    findings: list[FakeFinding] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    status: Literal["ok", "error", "skipped"] = "ok"
    error: str | None = None
    inputs: list[str] = Field(default_factory=lambda: ["input.txt"])
    behaviour: Literal["normal", "raise", "hang", "wrong-type"] = "normal"
    sleep: float = 0.0


def run(ctx: CheckContext, options: FakeOptions) -> Any:
    if options.sleep:
        time.sleep(options.sleep)
    if options.behaviour == "raise":
        raise RuntimeError("boom from the fake checker")
    if options.behaviour == "hang":
        while not ctx.cancelled.wait(0.05):
            pass
        time.sleep(3600)
    if options.behaviour == "wrong-type":
        return {"status": "ok"}
    return CheckOutput(
        status=options.status,
        error=options.error,
        inputs=[ctx.input_file(p) for p in options.inputs],
        findings=[Finding(**f.model_dump()) for f in options.findings],
        metrics=options.metrics,
    )


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [Checker("fake", run, FakeOptions, "A checker whose result the policy dictates (tests only).")]
