"""CI detection: the outputs a run writes by itself when it knows where it runs.

``auto_outputs`` decides, from the environment it is given, what to write and where;
``write_outputs`` writes it. The CLI calls both after the ``--format`` outputs, unless
``--no-ci-detect``:

- ``GITHUB_ACTIONS=true``: the annotations (``github``) to stdout, where the runner reads
  workflow commands; and the Markdown job summary appended to the file ``$GITHUB_STEP_SUMMARY``
  names, kept within 1 MiB together with what earlier steps wrote there (with no room left,
  it is not written).
- ``GITLAB_CI=true``: the Code Quality report (``gitlab``) to ``gl-code-quality-report.json`` in
  ``$CI_PROJECT_DIR`` (else the current folder), the path ``artifacts:reports:codequality``
  names in the examples.
- ``TF_BUILD=True``: the ``##vso[task.logissue]`` lines (``azure``) to stdout, where the agent
  reads logging commands.

A format the user already asked for with ``--format`` (to stdout or a file) is not written a
second time; the GitHub summary is still appended.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from gatekeeper.errors import ReportError
from gatekeeper.models import Verdict
from gatekeeper.reporters import render, write_report
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.github import SUMMARY_LIMIT, render_summary

if TYPE_CHECKING:
    from gatekeeper.plugins import Plugins

__all__ = ["GITLAB_REPORT", "CIOutput", "auto_outputs", "detect", "write_outputs"]

GITLAB_REPORT = "gl-code-quality-report.json"
CI = Literal["github", "gitlab", "azure"]


@dataclass(frozen=True)
class CIOutput:
    """One output: ``target`` None is stdout; ``append`` adds to the file instead of replacing it."""

    format: str
    target: str | None
    text: str
    append: bool = False


def _true(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() == "true"


def detect(env: Mapping[str, str]) -> list[CI]:
    """The CI systems the environment says this is (normally none or one)."""
    found: list[CI] = []
    if _true(env, "GITHUB_ACTIONS"):
        found.append("github")
    if _true(env, "GITLAB_CI"):
        found.append("gitlab")
    if _true(env, "TF_BUILD"):
        found.append("azure")
    return found


def _github_link_base(env: Mapping[str, str]) -> str | None:
    server, repo, sha = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_SHA")
    if server and repo and sha and server.startswith("https://"):
        return f"{server.rstrip('/')}/{repo}/blob/{sha}/"
    return None


def _existing_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def auto_outputs(
    verdict: Verdict,
    env: Mapping[str, str],
    plugins: Plugins,
    *,
    requested: Collection[str] = (),
) -> list[CIOutput]:
    """What to write, and where, for the CI systems ``env`` names (see the module doc).

    ``requested`` are the ``--format`` names already being written. Rendering goes through
    ``plugins`` (a failure is a ``ReportError``); nothing is written here.
    """
    outputs: list[CIOutput] = []
    for ci in detect(env):
        if ci == "github":
            if "github" not in requested:
                outputs.append(CIOutput("github", None, render(verdict, "github", plugins)))
            summary_file = env.get("GITHUB_STEP_SUMMARY", "").strip()
            if summary_file:
                room = SUMMARY_LIMIT - _existing_size(summary_file) - 1
                if room > 1024:
                    options = RenderOptions(link_base=_github_link_base(env))
                    try:
                        text = render_summary(verdict, options, room)
                    except Exception as exc:
                        raise ReportError(f"GitHub job summary failed: {type(exc).__name__}: {exc}") from exc
                    outputs.append(CIOutput("github-summary", summary_file, "\n" + text, append=True))
        elif ci == "gitlab":
            if "gitlab" not in requested:
                target = str(Path(env.get("CI_PROJECT_DIR") or ".") / GITLAB_REPORT)
                outputs.append(CIOutput("gitlab", target, render(verdict, "gitlab", plugins)))
        elif "azure" not in requested:
            outputs.append(CIOutput("azure", None, render(verdict, "azure", plugins)))
    return outputs


def write_outputs(outputs: Collection[CIOutput], stdout: TextIO) -> None:
    """Write each output: stdout, an appended file, or a file replaced atomically."""
    for output in outputs:
        if output.target is None:
            stdout.write(output.text)
            stdout.flush()
        elif output.append:
            try:
                with open(output.target, "a", encoding="utf-8", newline="\n") as handle:
                    handle.write(output.text)
            except OSError as exc:
                raise ReportError(f"cannot append to {output.target}: {exc.strerror}") from None
        else:
            write_report(output.target, output.text)
