"""GATEKEEPER_NOW fixes the clock for tests and replays; in a real run it is loud and recorded."""

from __future__ import annotations

import json
from pathlib import Path

POLICY = """
version: 1
plugins: ["{fake}"]
checks: {c: {uses: fake, with: {inputs: [], findings: [{id: X1}]}}}
rules: [{id: r, check: c, findings: {max: 0}}]
waivers:
  - {rule: r, match: {finding: X1}, reason: known, owner: team@example.com, expires: 2026-06-01}
"""


def test_a_fixed_clock_is_announced_and_recorded(repo: Path, write_policy, run_cli) -> None:
    write_policy(POLICY.replace("inputs: []", "inputs: [input.txt]"))
    (repo / "input.txt").write_text("x")
    done = run_cli("run", "--no-history", "--format", "json", env={"GATEKEEPER_NOW": "2026-05-20"})
    verdict = json.loads(done.stdout)
    assert "gatekeeper: warning: GATEKEEPER_NOW is set" in done.stderr
    assert "judged at 2026-05-20" in done.stderr
    assert verdict["started_at"].startswith("2026-05-20")
    assert (done.returncode, verdict["outcome"], verdict["waivers"][0]["status"]) == (0, "pass", "active")


def test_without_it_the_expired_waiver_no_longer_applies(repo: Path, write_policy, run_cli) -> None:
    write_policy(POLICY.replace("inputs: []", "inputs: [input.txt]"))
    (repo / "input.txt").write_text("x")
    done = run_cli("run", "--no-history", "--format", "json", env={"GATEKEEPER_NOW": ""})
    verdict = json.loads(done.stdout)
    assert "GATEKEEPER_NOW" not in done.stderr
    assert (done.returncode, verdict["outcome"], verdict["waivers"][0]["status"]) == (1, "fail", "expired")
