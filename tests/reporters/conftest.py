from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from reporters_support import GOLDEN, UPDATE_ENV, make_ci_verdict

from gatekeeper import CheckResult, Finding, RuleResult, Severity, Verdict
from gatekeeper.models import InputFile, PolicyRef, Subject, ToolInfo, WaiverReport


@pytest.fixture
def failing_verdict() -> Verdict:
    findings = [
        Finding(
            id=f"B60{i}", severity=Severity.HIGH, message=f"problem {i}\nsecond line", path="src/app.py", line=10 + i
        )
        for i in range(7)
    ]
    return Verdict(
        outcome="fail",
        summary="FAIL: 2 rule(s); fail: no-high",
        policy=PolicyRef(name="acme", digest="sha256:" + "ab" * 32, sources=["builtin:default", "gatekeeper.yaml"]),
        subject=Subject(repository="acme", commit="0123456789abcdef", branch="main", dirty=True),
        rules=[
            RuleResult(id="tests-green", outcome="pass", reason="met: failed == 0 (failed=0)", checks=["tests"]),
            RuleResult(id="no-high", outcome="fail", reason="7 finding(s) at or above high", checks=["sast"], findings=findings),
        ],
        checks=[
            CheckResult(
                name="sast", uses="bandit", status="ok", tool=ToolInfo(name="bandit", version="1.9.4"),
                inputs=[InputFile(path="src/app.py", sha256="0" * 64)], findings=findings, notes=["2 files skipped"],
                duration_s=1.25,
            ),
            CheckResult(name="tests", uses="junit", status="ok", metrics={"failed": 0.0}),
        ],
        waivers=[WaiverReport(rule="no-high", owner="sec@acme", reason="r", expires="2020-01-01", status="expired")],
        gatekeeper_version="0.1.0",
        started_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        finished_at=datetime(2026, 1, 1, 0, 0, 2, tzinfo=timezone.utc),
    )  # fmt: skip


@pytest.fixture
def ci_verdict() -> Verdict:
    return make_ci_verdict()


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare a rendering with ``tests/data/golden/NAME``; with GATEKEEPER_UPDATE_GOLDEN=1, rewrite it."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get(UPDATE_ENV) == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            return
        if not path.exists():
            pytest.fail(f"{path} is missing; create it with {UPDATE_ENV}=1 .venv/bin/pytest tests/reporters")
        expected = path.read_bytes().decode("utf-8")
        assert text == expected, f"{name} differs from its golden file; if the change is intended, run {UPDATE_ENV}=1"

    return check
