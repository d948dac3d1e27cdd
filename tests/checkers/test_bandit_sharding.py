"""bandit sharded over several processes gives exactly what one process gives: the real bandit, real trees."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import gatekeeper.checkers.bandit as bandit_checker
from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.checkers._subprocess import ToolRun, run_tool
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError
from gatekeeper.models import CheckResult
from gatekeeper.testing import GitRepo

BANDIT = str(Path(sys.executable).parent / "bandit")
PICKLE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
EVAL = "def run(code):\n    return eval(code)\n"
HASH = "import hashlib\n\n\ndef digest(data):\n    return hashlib.md5(data).hexdigest()\n"
CLEAN = "def add(a, b):\n    return a + b\n"


def _tree(root: Path) -> Path:
    """Flaws spread over folders; the same flagged line in several files (fingerprints count them in order)."""
    files = {
        "src/app/__init__.py": "",
        "src/app/a.py": PICKLE,
        "src/app/b.py": PICKLE + "\n\n" + SHELL,
        "src/app/c.py": CLEAN * 40,
        "src/app/deep/d.py": PICKLE + "\n\n" + HASH,
        "src/app/deep/e.py": EVAL + "\n\n" + "x = eval('1')  # nosec B307\n",
        "src/app/win.pyw": EVAL,
        "src/gen/generated.py": EVAL,
        "src/app/api_pb2.py": EVAL,
        "tools/script.py": SHELL,
        "tools/notes.txt": "eval(x)\n",
        "build/lib/app/a.py": PICKLE,  # left out by the default 'exclude' (bandit's own -x build did not)
        "setup.py": CLEAN,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _gate(root: Path, with_: str, jobs: int | None = 8) -> Verdict:
    """The gate; the run's ``jobs`` (8 by default, more than the test machine may have) bounds the shards."""
    policy = root.parent / f"{root.name}-policy.yaml"
    policy.write_text(
        f"""
version: 1
checks:
  sast: {{uses: bandit, with: {with_}}}
rules:
  - {{id: no-high, check: sast, findings: {{severity: high, max: 0}}}}
"""
    )
    return evaluate(load_policy(policy, entry_points=False), root, jobs=jobs, today=date(2026, 1, 1))


def _same(single: CheckResult, sharded: CheckResult) -> None:
    """Everything but the notes (the sharded run says how it ran) and the time taken."""
    assert single.status == sharded.status, (single.error, sharded.error)
    assert single.error == sharded.error
    assert single.findings == sharded.findings  # ids, paths, lines, fingerprints, properties, in order
    assert single.inputs == sharded.inputs
    assert single.metrics == sharded.metrics
    assert [n for n in sharded.notes if not n.startswith("bandit ran as ")] == single.notes


def test_a_sharded_run_equals_a_single_run(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    (root / "src/app/broken.py").write_text("def broken(:\n")
    single = _gate(root, "{jobs: 1, unparsed_files: warn}").checks[0]
    assert single.status == "ok", single.error
    assert single.metrics["files_scanned"] >= 10 and single.metrics["unparsed_files"] == 1
    assert len({f.path for f in single.findings}) >= 6
    for jobs in (2, 3, 5):
        sharded = _gate(root, f"{{jobs: {jobs}, shard_min_files: 1, unparsed_files: warn}}").checks[0]
        _same(single, sharded)
        scanned = int(single.metrics["files_scanned"])
        assert f"bandit ran as {jobs} processes, {jobs} at a time, on {scanned} files" in sharded.notes


def test_paths_excludes_and_a_baseline_give_the_same_result_sharded(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    with_ = "paths: [src, ./tools, setup.py], exclude: [src/gen, '*_pb2.py', venv], baseline: accepted.json"
    accepted = subprocess.run(  # what the single run prints: src/..., ./tools/..., setup.py
        [BANDIT, "-r", "-f", "json", "-q", "-x", "src/gen,*_pb2.py,venv", "--", "src", "./tools", "setup.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    (root / "accepted.json").write_text(accepted.stdout)
    (root / "src/app/a.py").write_text(PICKLE + "\n\n" + SHELL)  # one new flaw in a file the baseline knows
    (root / "tools/more.py").write_text(EVAL)  # and a new file
    single = _gate(root, f"{{{with_}, jobs: 1}}").checks[0]
    assert single.status == "ok", single.error
    assert {(f.id, f.path) for f in single.findings} == {
        ("B404", "src/app/a.py"),
        ("B602", "src/app/a.py"),
        ("B307", "tools/more.py"),
    }
    assert "accepted.json" in {i.path for i in single.inputs}
    assert not any(i.path.startswith(("src/gen/", "build/")) or i.path.endswith("_pb2.py") for i in single.inputs)
    sharded = _gate(root, f"{{{with_}, jobs: 2, shard_min_files: 1}}").checks[0]
    _same(single, sharded)


def test_excludes_are_gitignore_patterns_the_same_sharded_or_not(tmp_path: Path) -> None:
    """A bare name matches a folder at any depth, never a substring (bandit's -x matched ``gen`` in ``general``)."""
    root = _tree(tmp_path / "tree")
    (root / "src/app/general.py").write_text(EVAL)
    with_ = "exclude: [build, gen]"
    single = _gate(root, f"{{{with_}, jobs: 1}}").checks[0]
    scanned = {i.path for i in single.inputs}
    assert "build/lib/app/a.py" not in scanned and "src/gen/generated.py" not in scanned
    assert "src/app/general.py" in scanned
    _same(single, _gate(root, f"{{{with_}, jobs: 2, shard_min_files: 1}}").checks[0])


def test_an_unparsable_file_in_one_shard_is_the_same_error(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    (root / "src/app/broken.py").write_text("def broken(:\n")
    single = _gate(root, "{jobs: 1}").checks[0]
    sharded = _gate(root, "{jobs: 3, shard_min_files: 1}").checks[0]
    assert single.status == sharded.status == "error"
    assert (
        single.error
        == sharded.error
        == ("bandit could not scan 1 file(s): src/app/broken.py (set unparsed_files: warn to accept the gap)")
    )


def test_a_dot_bandit_file_is_read_by_every_shard_and_two_are_an_error(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    (root / ".bandit").write_text("[bandit]\nskips: B301,B403\n")
    single = _gate(root, "{jobs: 1}").checks[0]
    assert single.status == "ok", single.error
    assert not {"B301", "B403"} & {f.id for f in single.findings}
    _same(single, _gate(root, "{jobs: 2, shard_min_files: 1}").checks[0])
    (root / "src/.bandit").write_text("[bandit]\nskips: B602\n")
    sharded = _gate(root, "{jobs: 2, shard_min_files: 1}").checks[0]
    assert sharded.status == "error"
    assert sharded.error is not None
    assert sharded.error.startswith("several .bandit files under the scanned paths (.bandit, src/.bandit)")
    assert _gate(root, "{jobs: 1}").checks[0].error == sharded.error  # as bandit itself refuses the two
    single = _gate(root, "{jobs: 1, exclude: [src/.bandit]}").checks[0]  # one left out: the other is read
    assert single.status == "ok", single.error
    assert not {"B301", "B403"} & {f.id for f in single.findings}
    assert "B602" in {f.id for f in single.findings}


def test_a_dot_bandit_file_cannot_leave_files_out(tmp_path: Path) -> None:
    """Its ``exclude`` is bandit's substring test: gatekeeper's ``-x ""`` overrides it, every file is scanned."""
    root = _tree(tmp_path / "tree")
    (root / ".bandit").write_text("[bandit]\nexclude: app\n")
    check = _gate(root, "{jobs: 1}").checks[0]
    assert check.status == "ok", check.error
    assert "src/app/a.py" in {i.path for i in check.inputs}


def test_a_small_tree_runs_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "tree")
    calls = _spy(monkeypatch)
    check = _gate(root, "{jobs: 4}").checks[0]  # 11 files, under the default shard_min_files
    assert check.status == "ok", check.error
    scans = [argv for argv, _, _ in calls if "--version" not in argv]
    assert len(scans) == 1
    named = scans[0][scans[0].index("--") + 1 :]  # every file named, in order: bandit chooses none itself
    assert named == sorted(i.path for i in check.inputs) and len(named) == check.metrics["files_scanned"] == 11
    assert scans[0][scans[0].index("-x") + 1] == "" and "-r" not in scans[0]
    assert not any(n.startswith("bandit ran as ") for n in check.notes)


@pytest.mark.parametrize(
    ("run_jobs", "option", "processes"), [(1, "", 1), (1, "jobs: 4, ", 1), (3, "", 3), (8, "jobs: 2, ", 2)]
)
def test_the_runs_jobs_bound_the_shards(
    run_jobs: int, option: str, processes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gatekeeper run --jobs N``: at most N bandit processes (the option, or the cores, when fewer)."""
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    root = _tree(tmp_path / "tree")
    calls = _spy(monkeypatch)
    check = _gate(root, f"{{{option}shard_min_files: 1}}", jobs=run_jobs).checks[0]
    assert check.status == "ok", check.error
    assert len([argv for argv, _, _ in calls if "--version" not in argv]) == processes
    sharded = [n for n in check.notes if n.startswith("bandit ran as ")]
    assert sharded == (
        [] if processes == 1 else [f"bandit ran as {processes} processes, {processes} at a time, on 11 files"]
    )


def test_shards_run_at_once_and_the_check_time_covers_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "tree")
    calls = _spy(monkeypatch)
    check = _gate(root, "{jobs: 2, shard_min_files: 1}").checks[0]
    assert check.status == "ok", check.error
    shards = [(start, end) for argv, start, end in calls if "--version" not in argv]
    assert len(shards) == 2
    (first_start, first_end), (second_start, second_end) = sorted(shards)
    assert second_start < first_end  # the second started before the first ended
    assert check.duration_s >= max(first_end, second_end) - first_start


def test_a_failing_shard_fails_the_check_and_stops_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "tree")
    (root / "src/app/poison.py").write_text(CLEAN * 400)  # the biggest file: a batch of its own
    fake = tmp_path / "bin" / "bandit"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *--version*) exec {BANDIT} "$@";; esac\n'
        'case "$*" in *poison.py*) echo "bandit: cannot go on" >&2; exit 2;; esac\n'
        f'sleep 60; exec {BANDIT} "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake.parent / "python"))
    started = time.monotonic()
    check = _gate(root, "{jobs: 2, shard_min_files: 1}").checks[0]
    assert check.status == "error"
    assert check.error == "bandit exited with code 2: bandit: cannot go on"
    assert time.monotonic() - started < 30  # the sleeping shard was killed, not waited for


def test_scoped_runs_shard_the_changed_files(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write({"app/old.py": PICKLE}).commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write({f"app/new{n}.py": EVAL if n % 2 else SHELL for n in range(6)}).commit("six new files")
    policy = "{jobs: 2, shard_min_files: 3}"
    check = _gate_scoped(repo.root, policy)
    assert check.status == "ok", check.error
    assert {f.path for f in check.findings} == {f"app/new{n}.py" for n in range(6)}
    assert check.metrics["files_changed"] == 6 and check.metrics["files_scanned"] == 6
    assert "bandit ran as 2 processes, 2 at a time, on 6 files" in check.notes


def test_batches_are_balanced_by_size_and_sorted(tmp_path: Path) -> None:
    sizes = {"a.py": 900, "b.py": 500, "c.py": 400, "d.py": 300, "e.py": 100, "f.py": 100}
    for name, size in sizes.items():
        (tmp_path / name).write_text("#" * (size - 1) + "\n")
    ctx = CheckContext(root=tmp_path, check="t", timeout=60)
    batches = bandit_checker._batches(ctx, sorted(sizes), 2)
    assert batches == [["a.py", "d.py"], ["b.py", "c.py", "e.py", "f.py"]]  # 1200 and 1100 bytes
    assert bandit_checker._batches(ctx, ["a.py"], 4) == [["a.py"]]


def _gate_scoped(root: Path, with_: str) -> CheckResult:
    policy = root.parent / "scoped.yaml"
    policy.write_text(
        f"""
version: 1
checks:
  sast: {{uses: bandit, scope: changed, base: main, with: {with_}}}
rules:
  - {{id: no-high, check: sast, findings: {{severity: high, max: 0}}}}
"""
    )
    return evaluate(load_policy(policy, entry_points=False), root, today=date(2026, 1, 1)).checks[0]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], float, float]]:
    """Record each bandit process the checker starts: its command line, when it started and ended."""
    calls: list[tuple[list[str], float, float]] = []
    real = run_tool

    def timed(argv: list[str], ctx: CheckContext, **kwargs: Any) -> ToolRun:
        start = time.monotonic()
        try:
            return real(argv, ctx, **kwargs)
        finally:
            calls.append((argv, start, time.monotonic()))

    monkeypatch.setattr(bandit_checker, "run_tool", timed)
    return calls


def test_a_cancelled_check_kills_its_running_tool(tmp_path: Path) -> None:
    """The engine sets ``cancelled`` when it gives up on a check: every process the check started is killed."""
    ctx = CheckContext(root=tmp_path, check="t", timeout=60)
    threading.Timer(0.3, ctx.cancelled.set).start()
    started = time.monotonic()
    with pytest.raises(CheckError, match=r"^sleep was stopped: the check was cancelled$"):
        run_tool(["sleep", "30"], ctx)
    assert time.monotonic() - started < 5


def test_a_checks_workers_are_its_option_or_the_cores_at_most_the_runs_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    unbounded = CheckContext(root=Path("."), check="t", timeout=60)
    assert (unbounded.workers(), unbounded.workers(9)) == (6, 9)
    bounded = CheckContext(root=Path("."), check="t", timeout=60, jobs=2)
    assert (bounded.workers(), bounded.workers(1), bounded.workers(9)) == (2, 1, 2)
