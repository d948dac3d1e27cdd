"""README's first set-up command runs `gatekeeper run .` on this repository with the default pack:
it must pass, so a flawed fixture or a risky line added anywhere in the project shows up here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gate_passes_on_its_own_repository() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "run", ".", "--no-history", "--no-cache", "--no-ci-detect",
         "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    verdict = json.loads(done.stdout)
    failing = [f"{r['id']}: {r['reason']}" for r in verdict["rules"] if r["outcome"] in ("fail", "error")]
    assert (done.returncode, verdict["outcome"], failing) == (0, "pass", []), done.stderr[-2000:]
