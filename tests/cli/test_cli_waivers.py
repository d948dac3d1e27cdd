"""``gatekeeper waivers``: every waiver with days to expiry; --expiring-within exits 1 when any is due."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

POLICY = """
version: 1
name: shop
plugins: ["{fake}"]
checks: {c: {uses: fake}}
rules: [{id: r, check: c, findings: {max: 0}}, {id: s, check: c, findings: {}}]
waivers:
  - {rule: r, reason: legacy scripts, owner: alice@example.com, expires: 2026-07-01, match: {finding: "B6*", path: "scripts/*"}}
  - {rule: s, reason: vendor fix pending, owner: bob@example.com, expires: 2026-05-10}
"""
EXPIRED = "  - {rule: r, reason: old, owner: carol@example.com, expires: 2026-04-01}\n"
NOW = {"GATEKEEPER_NOW": "2026-05-01"}

Cli = Callable[..., CompletedProcess[str]]


def test_lists_every_waiver_with_days_to_expiry(write_policy: Callable[..., Path], run_cli: Cli) -> None:
    write_policy(POLICY)
    done = run_cli("waivers", env=NOW)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "STATUS  EXPIRES     DAYS  RULE  SCOPE                       OWNER              REASON",
        "active  2026-05-10  9     s     whole rule                  bob@example.com    vendor fix pending",
        "active  2026-07-01  61    r     finding=B6* path=scripts/*  alice@example.com  legacy scripts",
        "2 waiver(s) of policy 'shop' on 2026-05-01",
    ]


def test_expiring_within_exits_1_when_one_is_due(write_policy: Callable[..., Path], run_cli: Cli) -> None:
    write_policy(POLICY)
    due = run_cli("waivers", "--expiring-within", "14d", env=NOW)
    assert due.returncode == 1, due.stderr
    assert due.stdout.splitlines()[1].startswith("expiring  2026-05-10  9 ")
    assert due.stdout.splitlines()[-1] == "2 waiver(s) of policy 'shop' on 2026-05-01; 1 expire(s) within 14 day(s)"
    calm = run_cli("waivers", "--expiring-within", "1w", env=NOW)
    assert calm.returncode == 0, calm.stdout
    on_the_day = run_cli("waivers", "--expiring-within", "9d", env=NOW)
    assert on_the_day.returncode == 1  # 9 days left is within 9 days


def test_expired_waivers_are_listed_and_count_as_due(write_policy: Callable[..., Path], run_cli: Cli) -> None:
    write_policy(POLICY + EXPIRED)
    plain = run_cli("waivers", "--format", "json", env=NOW)
    assert plain.returncode == 0  # without a window it only lists
    listing = json.loads(plain.stdout)
    assert listing["today"] == "2026-05-01" and listing["expiring_within_days"] is None
    assert [(w["rule"], w["owner"], w["days_left"], w["status"]) for w in listing["waivers"]] == [
        ("r", "carol@example.com", -30, "expired"),
        ("s", "bob@example.com", 9, "active"),
        ("r", "alice@example.com", 61, "active"),
    ]
    assert listing["waivers"][2]["match"] == {"finding": "B6*", "path": "scripts/*"}
    windowed = run_cli("waivers", "--expiring-within", "2d", "--format", "json", env=NOW)
    assert windowed.returncode == 1
    assert [w["status"] for w in json.loads(windowed.stdout)["waivers"]] == ["expired", "active", "active"]


def test_policy_option_and_no_waivers(repo: Path, write_policy: Callable[..., Path], run_cli: Cli) -> None:
    write_policy(POLICY.split("waivers:")[0], name="other.yaml", folder=repo / "ci")
    done = run_cli("waivers", "--policy", "ci/other.yaml", "--expiring-within", "14d", env=NOW)
    assert (done.returncode, done.stdout) == (0, "policy 'shop' has no waivers (today is 2026-05-01)\n")


def test_bad_arguments_are_usage_errors(write_policy: Callable[..., Path], run_cli: Cli) -> None:
    write_policy(POLICY)
    bad = run_cli("waivers", "--expiring-within", "soon", env=NOW)
    assert bad.returncode == 2
    assert bad.stderr == (
        "gatekeeper: error: --expiring-within 'soon': write a duration such as 24h, 30m, 7d or 1h30m\n"
    )
    hours = run_cli("waivers", "--expiring-within", "36h", env=NOW)
    assert (hours.returncode, hours.stderr) == (
        2,
        "gatekeeper: error: --expiring-within '36h': give whole days, e.g. 14d or 2w\n",
    )
    missing = run_cli("waivers", "nowhere", env=NOW)
    assert missing.returncode == 2 and "nowhere: not a directory" in missing.stderr
