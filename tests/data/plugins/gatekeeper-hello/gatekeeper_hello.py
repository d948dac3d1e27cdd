"""Registers a checker that counts the lines of a file, and a one-line reporter."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from gatekeeper import CheckContext, Checker, CheckOutput, Reporter, RenderOptions, Verdict, hookimpl


class HelloOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str = "README.md"


def run(ctx: CheckContext, options: HelloOptions) -> CheckOutput:
    lines = ctx.resolve(options.file).read_text().count("\n")
    return CheckOutput(inputs=[ctx.input_file(options.file)], metrics={"lines": float(lines)})


def render(verdict: Verdict, options: RenderOptions) -> str:
    return f"hello: {verdict.outcome}\n"


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [Checker("hello-lines", run, HelloOptions, "Counts the lines of a file.")]


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("hello", render, "One line.", "txt")]
