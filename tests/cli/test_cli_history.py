"""`gatekeeper history` and the recording flags of `gatekeeper run`. Runs the real console command."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

POLICY = """
version: 1
name: history-cli
plugins: ["{fake}"]
checks:
  tests: {uses: fake, with: {metrics: {failed: FAILED}}}
rules:
  - {id: tests-green, check: tests, require: ["failed == 0"]}
"""


@pytest.fixture
def gate(write_policy, run_cli):
    """Run the gate once, passing (failed=0) or failing, at a fixed clock; returns the JSON verdict."""

    def run(failed: int = 0, now: str = "2026-05-01T12:00:00Z", *args: str) -> dict[str, object]:
        write_policy(POLICY.replace("FAILED", str(failed)))
        done = run_cli("run", "--format", "json", *args, env={"GATEKEEPER_NOW": now})
        assert done.returncode == (1 if failed else 0), done.stderr
        return json.loads(done.stdout)

    return run


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def test_no_store_yet_is_said_plainly_and_creates_nothing(run_cli, repo: Path) -> None:
    done = run_cli("history")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"no runs recorded yet in sqlite:///{repo / '.gatekeeper' / 'history.db'}\n"
    as_json = run_cli("history", "--format", "json")
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, [])
    assert as_json.stderr.startswith("gatekeeper: no runs recorded yet in sqlite:///")
    assert not (repo / ".gatekeeper").exists()


def test_lists_runs_newest_first_with_failing_rules(gate, run_cli, repo: Path) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "x")
    gate(0, "2026-04-01T09:30:00Z")
    gate(2, "2026-04-02T10:45:00Z")
    done = run_cli("history")
    assert done.returncode == 0, done.stderr
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ID", "RECORDED", "(UTC)", "OUTCOME", "BRANCH", "COMMIT", "POLICY", "FAILING", "RULES"]
    assert lines[1].split() == ["2", "2026-04-02", "10:45", "fail", "main", head[:12], "history-cli", "tests-green"]
    assert lines[2].split() == ["1", "2026-04-01", "09:30", "pass", "main", head[:12], "history-cli", "-"]
    assert len(lines) == 3


def test_json_summaries(gate, run_cli) -> None:
    verdict = gate(2)
    done = run_cli("history", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "id": 1,
            "recorded_at": "2026-05-01T12:00:00Z",
            "outcome": "fail",
            "enforced": True,
            "mode": "enforce",
            "repository": None,
            "branch": None,
            "commit": None,
            "policy": {"name": "history-cli", "digest": verdict["policy"]["digest"]},
            "failing_rules": ["tests-green"],
        }
    ]


def test_filters_and_limit(gate, run_cli, repo: Path) -> None:
    gate(0, "2026-03-01T00:00:00Z")
    gate(2, "2026-04-20T00:00:00Z")
    gate(0, "2026-04-29T00:00:00Z")
    now = {"GATEKEEPER_NOW": "2026-05-01T00:00:00Z"}

    def ids(*args: str) -> list[int]:
        done = run_cli("history", "--format", "json", *args, env=now)
        assert done.returncode == 0, done.stderr
        return [run["id"] for run in json.loads(done.stdout)]

    assert ids() == [3, 2, 1]
    assert ids("--outcome", "pass") == [3, 1]
    assert ids("--since", "30d") == [3, 2]
    assert ids("--since", "2d") == [3]
    assert ids("--limit", "1") == [3]
    assert ids("--branch", "main") == []  # not a git repository: no branch recorded
    done = run_cli("history", "--outcome", "error", env=now)
    assert (done.returncode, done.stdout) == (
        0,
        f"no recorded run matches these filters in sqlite:///{repo / '.gatekeeper' / 'history.db'}\n",
    )


def test_branch_filter(gate, run_cli, repo: Path) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    gate(0)
    _git(repo, "checkout", "-q", "-b", "feature")
    gate(2)
    done = run_cli("history", "--branch", "feature", "--format", "json")
    assert [(r["id"], r["branch"]) for r in json.loads(done.stdout)] == [(2, "feature")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "a month"],
            "gatekeeper: error: --since 'a month': write a duration such as 24h, 30m, 7d or 1h30m\n",
        ),
        (["--limit", "0"], "gatekeeper: error: --limit must be at least 1\n"),
        (
            ["--history", "redis://x"],
            "gatekeeper: error: history store redis://x: unsupported URL scheme 'redis'; "
            "use sqlite:///PATH, a file path, or postgresql://USER@HOST/DATABASE\n",
        ),
    ],
)
def test_usage_errors_exit_2_in_one_line(run_cli, args: list[str], message: str) -> None:
    done = run_cli("history", *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)


def test_an_unreadable_store_exits_3_in_one_line(run_cli, repo: Path) -> None:
    (repo / "junk.db").write_bytes(b"this is not a database, just text" * 100)
    done = run_cli("history", "--history", "junk.db")
    assert done.returncode == 3
    assert (
        done.stderr
        == f"gatekeeper: error: history store sqlite:///{repo / 'junk.db'}: cannot open it: file is not a database\n"
    )


def test_a_newer_store_is_refused_with_exit_3(gate, run_cli, repo: Path) -> None:
    gate(0)
    db = repo / ".gatekeeper" / "history.db"
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO gatekeeper_schema (version, applied_at) VALUES (9, '2030-01-01 00:00:00')")
    done = run_cli("history")
    assert done.returncode == 3
    assert done.stderr == (
        f"gatekeeper: error: history store sqlite:///{db} has schema version 9 but this gatekeeper knows up to 1; "
        "upgrade gatekeeper (or use --no-history)\n"
    )


def test_run_records_by_default_and_says_so(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("FAILED", "0"))
    first, second = run_cli("run"), run_cli("run")
    assert first.returncode == second.returncode == 0
    db = repo / ".gatekeeper" / "history.db"
    assert first.stdout.rstrip().splitlines()[-1] == f"history: recorded as run 1 in sqlite:///{db}"
    assert second.stdout.rstrip().splitlines()[-1] == f"history: recorded as run 2 in sqlite:///{db}"


def test_no_history_records_nothing_and_leaves_the_report_unchanged(write_policy, run_cli, repo: Path) -> None:
    write_policy(POLICY.replace("FAILED", "0"))
    done = run_cli("run", "--no-history", "--format", "json")
    assert done.returncode == 0
    assert "history" not in json.loads(done.stdout)
    assert not (repo / ".gatekeeper").exists()
    text = run_cli("run", "--no-history")
    assert "history:" not in text.stdout


def test_store_chosen_by_flag_or_environment(write_policy, run_cli, repo: Path, tmp_path: Path) -> None:
    write_policy(POLICY.replace("FAILED", "0"))
    by_env, by_flag = tmp_path / "env" / "h.db", tmp_path / "flag.db"
    assert run_cli("run", env={"GATEKEEPER_HISTORY": str(by_env)}).returncode == 0
    assert run_cli("run", "--history", f"sqlite:///{by_flag}", env={"GATEKEEPER_HISTORY": str(by_env)}).returncode == 0
    assert not (repo / ".gatekeeper").exists()
    with sqlite3.connect(by_env) as env_db, sqlite3.connect(by_flag) as flag_db:
        assert env_db.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        assert flag_db.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    listed = run_cli("history", "--format", "json", env={"GATEKEEPER_HISTORY": str(by_env)})
    assert [r["id"] for r in json.loads(listed.stdout)] == [1]


def test_run_refuses_a_bad_store_url_before_running_anything(write_policy, run_cli) -> None:
    write_policy(POLICY.replace("FAILED", "0"))
    done = run_cli("run", "--history", "mysql://ci:pw@db/gates")
    assert done.returncode == 2
    assert done.stderr == (
        "gatekeeper: error: history store mysql://ci:***@db/gates: unsupported URL scheme 'mysql'; "
        "use sqlite:///PATH, a file path, or postgresql://USER@HOST/DATABASE\n"
    )  # no progress line: no check ran
    both = run_cli("run", "--history", "h.db", "--no-history")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://u:x@db:notaport/x",
            "history store postgresql+psycopg://u:***@db:notaport/x: not a database URL "
            "(invalid literal for int() with base 10: 'notaport')",
        ),
        (
            "postgresql://u:x@db:99999/x",
            "history store postgresql+psycopg://u:***@db:99999/x: port 99999 is out of range (1-65535)",
        ),
        (
            "mysql://u:x@db:notaport/x",
            "history store mysql://u:***@db:notaport/x: unsupported URL scheme 'mysql'; "
            "use sqlite:///PATH, a file path, or postgresql://USER@HOST/DATABASE",
        ),
    ],
)
def test_run_refuses_a_malformed_store_url_before_running_anything(
    write_policy, run_cli, repo: Path, url: str, message: str
) -> None:
    write_policy(POLICY.replace("FAILED", "0"))
    done = run_cli("run", "--history", url, "--format", "json=verdict.json")
    assert (done.returncode, done.stderr) == (2, f"gatekeeper: error: {message}\n")  # not exit 3 after the checks
    assert not (repo / "verdict.json").exists(), "no check ran, no report was written"
    assert "x@" not in done.stderr


def test_version_does_not_import_the_database_layer() -> None:
    code = (
        "import sys\nfrom gatekeeper.cli.main import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'psycopg', 'gatekeeper.history'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
