"""Read what is being gated from git: repository, commit, branch, dirty. Absent git is not an error."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from gatekeeper.models import Subject


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _clean_url(url: str) -> str:
    """Drop credentials a CI may have put into the remote URL."""
    return re.sub(r"^([a-z+]+://)[^@/]+@", r"\1", url)


def read_subject(root: Path) -> Subject:
    if _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return Subject()
    remote = _git(root, "config", "--get", "remote.origin.url")
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    branch = _git(root, "symbolic-ref", "--short", "-q", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    top = _git(root, "rev-parse", "--show-toplevel")
    return Subject(
        repository=_clean_url(remote) if remote else (Path(top).name if top else None),
        commit=commit or None,
        branch=branch or None,
        dirty=bool(status) if status is not None else None,
    )
