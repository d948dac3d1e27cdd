"""A kit for testing gatekeeper plugins the way gatekeeper tests its own.

Everything here goes through the real code paths: a policy built from a dict is written to a
file and loaded by ``load_policy`` (so its errors are the ones users see), a checker runs
through the engine (so a crash becomes ``status: error`` exactly as in a gate run), and a
reporter renders through ``gatekeeper.render``. With pytest, the same helpers are fixtures
(``gatekeeper.testing.plugin``, loaded automatically through the ``pytest11`` entry point):

    def test_my_checker(gk_repo, gk_run_checker):
        gk_repo.write({"src/app.py": "x = 1\\n"}).commit("add app")
        result = gk_run_checker("my-checker", gk_repo.root, {"option": 1})
        assert result.status == "ok"

Plugins under test are found through their entry points when installed (the realistic
path); pass ``plugins=[module]`` to register one in-process instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from gatekeeper.models import CheckResult, Finding, Verdict
    from gatekeeper.policy import ResolvedPolicy
    from gatekeeper.policy.model import Mode
    from gatekeeper.reporters.base import RenderOptions
    from gatekeeper.signing.keys import KeySigner

__all__ = [
    "GitRepo",
    "make_policy",
    "make_verdict",
    "memory_signer",
    "render_report",
    "run_checker",
    "run_cli",
    "run_gate",
]

#: Variables a CI sets that would make ``gatekeeper run`` write CI outputs; ``run_cli`` clears them.
CI_MARKERS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "GITHUB_STEP_SUMMARY")


def make_policy(
    data: Mapping[str, Any],
    *,
    plugins: Sequence[object | tuple[str, object]] = (),
    entry_points: bool = True,
    folder: Path | None = None,
) -> ResolvedPolicy:
    """Load a policy given as a dict (``version: 1`` is added when absent).

    It is written as ``gatekeeper.yaml`` into ``folder`` (default: a fresh temporary folder,
    so the repository under test is not touched) and loaded with ``load_policy``: a bad
    policy raises the same ``PolicyError`` a user would see.
    """
    from gatekeeper.plugins import load_plugins
    from gatekeeper.policy import load_policy

    document = {"version": 1, **data}
    if folder is None:  # loaded before the folder goes: the policy keeps no handle on its file
        with tempfile.TemporaryDirectory(prefix="gatekeeper-policy-") as scratch:
            return make_policy(data, plugins=plugins, entry_points=entry_points, folder=Path(scratch))
    path = Path(folder) / "gatekeeper.yaml"
    path.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")  # JSON is YAML
    local = [(Path(folder) / p).resolve() for p in document.get("plugins", [])]
    loaded = load_plugins(local, entry_points=entry_points, extra=plugins)
    return load_policy(path, plugins=loaded)


def run_gate(
    policy: ResolvedPolicy, root: Path | str, *, mode: Mode | None = None, today: date | None = None
) -> Verdict:
    """The whole gate on ``root``: every check, the rules, the verdict (and the plugins' hooks)."""
    from gatekeeper.engine import evaluate

    return evaluate(policy, root, mode=mode, today=today, jobs=1)


def run_checker(
    checker: str,
    root: Path | str,
    options: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[object | tuple[str, object]] = (),
    entry_points: bool = True,
    timeout: float = 120.0,
) -> CheckResult:
    """Run one checker on ``root`` through the engine and return its normalised result.

    The check is wrapped in a one-rule policy (``findings: {max: 0}``), so options are
    validated by the checker's own model and a crash, timeout or empty input turns into
    ``status: error`` exactly as in a real run.
    """
    policy = make_policy(
        {
            "name": "plugin-test",
            "checks": {"under-test": {"uses": checker, "with": dict(options or {}), "timeout": timeout}},
            "rules": [{"id": "under-test", "check": "under-test", "findings": {"max": 0}}],
        },
        plugins=plugins,
        entry_points=entry_points,
    )
    return run_gate(policy, root).checks[0]


def render_report(
    verdict: Verdict,
    format_name: str,
    *,
    plugins: Sequence[object | tuple[str, object]] = (),
    entry_points: bool = True,
    options: RenderOptions | None = None,
) -> str:
    """What ``--format NAME`` would print for ``verdict``, through the registered reporter."""
    from gatekeeper.plugins import load_plugins
    from gatekeeper.reporters import render

    loaded = load_plugins(entry_points=entry_points, extra=plugins)
    return render(verdict, format_name, loaded, options)


def run_cli(
    *args: str, cwd: Path | str, env: Mapping[str, str] | None = None, timeout: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """The real console command (``python -m gatekeeper ARGS``) in ``cwd``, as a CI step runs it.

    CI variables and ``GATEKEEPER_*`` settings of the test's own environment are cleared (a
    test opts in through ``env``), so a developer's history store or webhook URL is never
    used; ``NO_COLOR`` is set so output can be compared as text.
    """
    base = {k: v for k, v in os.environ.items() if k not in CI_MARKERS and not k.startswith("GATEKEEPER_")}
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**base, "NO_COLOR": "1", **(env or {})},
        timeout=timeout,
        check=False,
    )


def make_verdict(
    outcome: Literal["pass", "fail", "error"] = "pass",
    *,
    findings: Sequence[Finding] = (),
    metrics: Mapping[str, float] | None = None,
    policy_name: str = "plugin-test",
    commit: str | None = "0" * 40,
    branch: str | None = "main",
) -> Verdict:
    """A small, valid verdict for reporter tests: one check, one rule, the given outcome.

    A ``fail`` verdict's rule counts ``findings`` (one is made up when none are given).
    """
    from gatekeeper.models import CheckResult, Finding, PolicyRef, RuleResult, Severity, Subject, Verdict

    if outcome not in ("pass", "fail", "error"):
        raise ValueError(f"outcome must be pass, fail or error, not {outcome!r}")
    found = list(findings)
    if outcome == "fail" and not found:
        found = [
            Finding(id="EXAMPLE1", severity=Severity.HIGH, message="an example finding", path="src/app.py", line=3)
        ]
    status: Literal["ok", "error"] = "error" if outcome == "error" else "ok"
    check = CheckResult(
        name="example",
        uses="example",
        status=status,
        error="the example tool crashed" if status == "error" else None,
        findings=found,
        metrics=dict(metrics or {}),
    )
    reason = {"pass": "no findings", "fail": f"{len(found)} finding(s) (max 0)", "error": "check example: error"}
    rule = RuleResult(
        id="example",
        outcome=outcome,
        reason=reason[outcome],
        checks=["example"],
        findings=found if outcome == "fail" else [],
    )
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return Verdict(
        outcome=outcome,
        summary=f"{outcome}: 1 rule",
        policy=PolicyRef(name=policy_name, digest="sha256:" + "0" * 64, sources=["gatekeeper.yaml"]),
        subject=Subject(repository="https://git.example.com/acme/app.git", commit=commit, branch=branch),
        rules=[rule],
        checks=[check],
        gatekeeper_version=_version(),
        started_at=moment,
        finished_at=moment,
    )


def memory_signer(key_type: Literal["ed25519", "ecdsa-p256"] = "ed25519") -> KeySigner:
    """A signer whose fresh private key lives only in memory; ``.public_key`` verifies what it signs."""
    from gatekeeper.signing.keys import KeySigner, generate_private_key

    return KeySigner(generate_private_key(key_type))


class GitRepo:
    """A real git repository in a folder, with a fixed author, for checkers that read history."""

    def __init__(self, root: Path, *, branch: str = "main") -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)

    def git(self, *args: str) -> str:
        """Run git in the repository (author ``gatekeeper-test``, no signing); its stdout, stripped."""
        done = subprocess.run(
            ["git", "-c", "user.name=gatekeeper-test", "-c", "user.email=test@example.com",
             "-c", "commit.gpgsign=false", *args],
            cwd=self.root, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed (exit {done.returncode}): {done.stderr.strip()}")
        return done.stdout.strip()

    def write(self, files: Mapping[str, str]) -> GitRepo:
        """Write files (paths relative to the root, folders created); returns the repository."""
        for name, text in files.items():
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return self

    def remove(self, *names: str) -> GitRepo:
        for name in names:
            (self.root / name).unlink()
        return self

    def commit(self, message: str = "change") -> str:
        """Stage everything and commit (an empty commit when nothing changed); the new commit's sha."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str) -> GitRepo:
        """Create ``name`` at HEAD and switch to it."""
        self.git("checkout", "-q", "-b", name)
        return self


def _version() -> str:
    from gatekeeper import __version__

    return __version__
