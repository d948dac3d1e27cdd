"""`gatekeeper baseline create`, and `run` / `policy validate` with baselines. Runs the real console command."""

from __future__ import annotations

import json
from pathlib import Path

POLICY = """
version: 1
name: cli-baseline
plugins: ["{fake}"]
checks:
  sast: {uses: fake, with: {findings: FINDINGS}}
  deps: {uses: fake, with: {status: skipped, error: no requirements file}}
rules:
  - {id: no-new, check: sast, new_only: true, findings: {}}
  - {id: deps, check: deps, findings: {}, on_skipped: pass}
"""
OLD = "[{id: B1, path: input.txt, line: 1}, {id: B2, path: input.txt, line: 1}]"
NEW = "[{id: B1, path: input.txt, line: 1}, {id: B2, path: input.txt, line: 1}, {id: B3, path: input.txt}]"


def test_create_then_run_counts_only_new_findings(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("FINDINGS", OLD))
    done = run_cli("baseline", "create")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "gatekeeper: wrote .gatekeeper-baseline.json: 2 finding(s)",
        "  sast: 2",
        "  deps: 0 (skipped: no requirements file)",
        "read by rule(s): no-new (new_only); commit the file",
    ]
    assert "[1/2] sast (fake) ok" in done.stderr  # the same progress lines as `run`
    entries = json.loads((repo / ".gatekeeper-baseline.json").read_text())["findings"]
    assert [(e["check"], e["id"]) for e in entries] == [("sast", "B1"), ("sast", "B2")]

    passing = run_cli("run", "--no-history")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "0 new finding(s) at or above info (2 in baseline .gatekeeper-baseline.json)" in passing.stdout

    write_policy(POLICY.replace("FINDINGS", NEW))
    failing = run_cli("run", "--no-history", "--format", "json")
    assert failing.returncode == 1
    rule = json.loads(failing.stdout)["rules"][0]
    assert [f["id"] for f in rule["findings"]] == ["B3"] and [f["id"] for f in rule["baselined"]] == ["B1", "B2"]
    assert rule["reason"].startswith("1 new finding(s) at or above info (2 in baseline .gatekeeper-baseline.json)")

    again = run_cli("baseline", "create")
    assert again.returncode == 0 and again.stdout.startswith("gatekeeper: replaced .gatekeeper-baseline.json: 3")
    assert run_cli("run", "--no-history").returncode == 0


def test_run_without_the_baseline_is_a_policy_error_and_runs_nothing(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("FINDINGS", OLD))
    done = run_cli("run", "--no-history")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "gatekeeper: error: gatekeeper.yaml:9:31: rules[0].new_only: no baseline .gatekeeper-baseline.json at the "
        "repository root (.); create it with `gatekeeper baseline create .` and commit it\n"
    )


def test_a_check_error_exits_3_and_writes_nothing(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("{findings: FINDINGS}", "{behaviour: raise}"))
    done = run_cli("baseline", "create")
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == (
        "gatekeeper: error: check 'sast' errored: checker crashed: RuntimeError: boom from the fake checker; "
        "no baseline written (it would miss those findings): fix the check and run again"
    )
    assert not (repo / ".gatekeeper-baseline.json").exists()


def test_out_file_and_findings_baseline(write_policy, run_cli, repo: Path) -> None:
    body = POLICY.replace("FINDINGS", OLD).replace(
        "new_only: true, findings: {}", "findings: {baseline: accepted.json}"
    )
    policy = write_policy(body, folder=repo / "ci")
    missing = run_cli("policy", "validate", str(policy))
    assert missing.returncode == 2
    assert "rules[0].findings.baseline: no baseline ci/accepted.json; create it with `gatekeeper baseline create" in (
        missing.stderr
    )
    assert "--out ci/accepted.json` and commit it" in missing.stderr

    done = run_cli("baseline", "create", ".", "--policy", "ci/gatekeeper.yaml", "--out", "ci/accepted.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "gatekeeper: wrote ci/accepted.json: 2 finding(s)"
    assert "read by rule(s): no-new (findings.baseline)" in done.stdout
    assert not (repo / ".gatekeeper-baseline.json").exists()
    assert run_cli("policy", "validate", str(policy)).returncode == 0
    assert run_cli("run", "--policy", "ci/gatekeeper.yaml", "--no-history").returncode == 0


def test_a_baseline_no_rule_reads_says_how_to_use_it(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("FINDINGS", OLD).replace("new_only: true, ", ""))
    done = run_cli("baseline", "create", "--out", "elsewhere.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("no rule reads this file yet: give a rule with 'findings:'")


def test_usage_errors(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("FINDINGS", OLD))
    bare = run_cli("baseline")
    assert (bare.returncode, bare.stderr) == (
        2,
        "gatekeeper: error: name a subcommand: gatekeeper baseline create [PATH] [--policy FILE] [--out FILE]\n",
    )
    nowhere = run_cli("baseline", "create", "no-such-dir")
    assert nowhere.returncode == 2 and "no-such-dir: not a directory" in nowhere.stderr
    into_dir = run_cli("baseline", "create", "--out", ".")
    assert into_dir.returncode == 2 and "is a directory; name the baseline file to write" in into_dir.stderr
    jobs = run_cli("baseline", "create", "--jobs", "0")
    assert jobs.returncode == 2 and "--jobs must be at least 1" in jobs.stderr
    assert "create" in run_cli("baseline", "--help").stdout
