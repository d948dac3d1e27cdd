"""git for the checkers that read history (diff-coverage, codeowners, git): one way to run it,
one way to find the merge-base with a base ref, each failure a ``CheckError`` saying what to fetch."""

from __future__ import annotations

from gatekeeper.checkers._subprocess import ToolRun, run_tool
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError


def git(ctx: CheckContext, *args: str, ok: tuple[int, ...] = (0,)) -> ToolRun:
    """Run git in the repository, paths unquoted; exit codes outside ``ok`` are a ``CheckError``."""
    return run_tool(["git", "-c", "core.quotePath=false", *args], ctx, ok_codes=ok)


def validate_base(value: str) -> str:
    """For options models: a base is a ref, never something git would read as an option."""
    if not value.strip() or value.startswith("-"):
        raise ValueError("must name a branch, tag or commit (and not start with '-')")
    return value


def find_merge_base(ctx: CheckContext, base: str, needed_by: str) -> str:
    """The merge-base of ``base`` and HEAD; ``needed_by`` names the check in the not-a-repository error."""
    inside = git(ctx, "rev-parse", "--is-inside-work-tree", ok=(0, 128))
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise CheckError(f"{ctx.root} is not a git working tree ({inside.stderr_tail(1)}); {needed_by} needs it")
    found = git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}", ok=(0, 1, 128))
    if found.returncode != 0:
        raise CheckError(
            f"base {base!r} is not a commit in this repository (unknown ref); fetch it first "
            "(e.g. git fetch origin main, or fetch-depth: 0 in CI) or set 'base'"
        )
    merged = git(ctx, "merge-base", found.stdout.strip(), "HEAD", ok=(0, 1, 128))
    if merged.returncode != 0 or not merged.stdout.strip():
        why = merged.stderr_tail() if merged.stderr.strip() else "no common ancestor"
        raise CheckError(f"no merge-base of {base!r} and HEAD: {why} (a shallow clone? fetch more history)")
    return merged.stdout.strip()
