"""``gatekeeper policy diff OLD NEW``: exit codes, --fail-on-loosen, JSON (issue 12)."""

from __future__ import annotations

import json

LOOSER = """\
version: 1
extends: ["builtin:default"]
rules:
  - {id: no-high-security-findings, check: [python-security, python-patterns], findings: {severity: critical}}
"""


def test_text_diff_exits_0_even_when_loosened(write_policy, run_cli) -> None:
    write_policy(LOOSER, name="new.yaml")
    done = run_cli("policy", "diff", "builtin:default", "new.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("policy diff builtin:default -> new.yaml\nRules:\n")
    assert "no-high-security-findings: findings.severity loosened: 'high' -> 'critical' [loosens]" in done.stdout


def test_fail_on_loosen_exits_1_when_loosened_and_0_when_only_tightened(write_policy, run_cli) -> None:
    write_policy(LOOSER, name="new.yaml")
    assert run_cli("policy", "diff", "builtin:default", "new.yaml", "--fail-on-loosen").returncode == 1
    tighter = run_cli("policy", "diff", "builtin:default", "builtin:strict", "--fail-on-loosen")
    assert tighter.returncode == 0, tighter.stderr
    assert "nothing loosened" in tighter.stdout


def test_json_output(write_policy, run_cli) -> None:
    write_policy(LOOSER, name="new.yaml")
    done = run_cli("policy", "diff", "builtin:default", "new.yaml", "--format", "json", "--fail-on-loosen")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["old"]["ref"] == "builtin:default" and data["new"]["digest"].startswith("sha256:")
    assert data["loosened"] is True
    assert data["changes"] == [
        {
            "kind": "rule",
            "subject": "no-high-security-findings",
            "change": "loosened",
            "aspect": "findings.severity",
            "old": "'high'",
            "new": "'critical'",
            "loosens": True,
        }
    ]


def test_a_policy_error_exits_2(write_policy, run_cli) -> None:
    write_policy("version: 1\nrules: []\n", name="bad.yaml")
    done = run_cli("policy", "diff", "builtin:default", "bad.yaml")
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr
