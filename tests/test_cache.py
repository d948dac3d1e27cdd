"""The result cache: a hit reuses the stored result without running the tool, and never changes a verdict.

Most tests use the ``counter`` checkers of ``tests/data/plugins/cacheable_checkers.py``, which
log each run (so a hit is told from a run by a side effect, not by the ``cached`` flag alone);
the real bandit, semgrep and pip-audit (against the local OSV server) are cached too.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import CheckResult, ResultCache, Verdict, evaluate, load_policy
from gatekeeper.cache import default_cache_dir
from gatekeeper.checkers import _cache_keys
from gatekeeper.errors import PolicyError
from gatekeeper.policy import ResolvedPolicy

DATA = Path(__file__).parent / "data"
PLUGIN = DATA / "plugins" / "cacheable_checkers.py"
TODAY = date(2026, 5, 1)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)

ONE_CHECK = """
checks:
  c: {uses: counter, with: {}}
rules:
  - {id: r, check: c, findings: {severity: high, max: 0}}
"""


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """The names of the checks the counter checkers ran, in order (a hit runs nothing)."""
    log = tmp_path / "runs.log"
    monkeypatch.setenv("GK_TEST_RUN_LOG", str(log))
    monkeypatch.delenv("GK_TEST_TOOL_VERSION", raising=False)
    monkeypatch.delenv("GATEKEEPER_NOW", raising=False)
    monkeypatch.delenv("GATEKEEPER_CACHE_DIR", raising=False)
    return lambda: log.read_text().split() if log.exists() else []


@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "src").mkdir(parents=True)
    (root / "report.txt").write_text("high X1 src/a.py\nlow X2\n")
    (root / "src" / "a.py").write_text("danger()\n")
    return root


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def load(root: Path, body: str) -> ResolvedPolicy:
    path = root / "gatekeeper.yaml"
    path.write_text(f'version: 1\nname: demo\nplugins: ["{PLUGIN}"]\n' + textwrap.dedent(body))
    return load_policy(path, entry_points=False)


def gate(root: Path, body: str, cache: ResultCache | Path | None) -> Verdict:
    return evaluate(load(root, body), root, today=TODAY, cache=cache)


def comparable(verdict: Verdict) -> dict[str, Any]:
    """The verdict as JSON, without what differs between any two runs: times, durations and the cached flags."""
    data: dict[str, Any] = verdict.model_dump(mode="json")
    del data["started_at"], data["finished_at"]
    for check in data["checks"]:
        del check["duration_s"]
        check.pop("cached", None)
    return data


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


# --- hits and misses --------------------------------------------------------------------------


def test_a_second_run_reuses_the_result_without_running_the_checker(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    first = gate(work, ONE_CHECK, cache_dir)
    second = gate(work, ONE_CHECK, cache_dir)
    assert runs() == ["c"]
    assert first.checks[0].cached is False and second.checks[0].cached is True
    assert first.outcome == second.outcome == "fail"
    assert comparable(first) == comparable(second)
    assert second.checks[0].findings == first.checks[0].findings and second.checks[0].inputs == first.checks[0].inputs
    assert len(entries(cache_dir)) == 1 and (cache_dir / "CACHEDIR.TAG").is_file()


def test_the_report_marks_a_cached_check_and_only_then(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    first = json.loads(gate(work, ONE_CHECK, cache_dir).model_dump_json())
    second = json.loads(gate(work, ONE_CHECK, cache_dir).model_dump_json())
    assert "cached" not in first["checks"][0]  # reports of runs without a hit keep their exact shape
    assert second["checks"][0]["cached"] is True
    assert CheckResult.model_validate(second["checks"][0]).cached is True


def test_without_a_cache_nothing_is_reused_or_written(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    gate(work, ONE_CHECK, None)
    verdict = gate(work, ONE_CHECK, None)
    assert runs() == ["c", "c"] and verdict.checks[0].cached is False
    assert not cache_dir.exists() and not (work / ".gatekeeper").exists()


def test_a_checker_without_cache_inputs_is_never_cached(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    body = ONE_CHECK.replace("uses: counter", "uses: counter-plain")
    gate(work, body, cache_dir)
    assert gate(work, body, cache_dir).checks[0].cached is False
    assert runs() == ["c", "c"] and entries(cache_dir) == []


def test_cache_inputs_of_none_means_this_run_is_not_cached(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    body = ONE_CHECK.replace("with: {}", "with: {declare: none}")
    gate(work, body, cache_dir)
    gate(work, body, cache_dir)
    assert runs() == ["c", "c"] and entries(cache_dir) == []


def test_a_hit_survives_a_round_trip_to_the_original_content(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    gate(work, ONE_CHECK, cache_dir)
    original = (work / "report.txt").read_text()
    (work / "report.txt").write_text("low X3\n")
    assert gate(work, ONE_CHECK, cache_dir).outcome == "pass"
    (work / "report.txt").write_text(original)  # content-addressed: the first entry is still there
    verdict = gate(work, ONE_CHECK, cache_dir)
    assert verdict.checks[0].cached is True and verdict.outcome == "fail"
    assert runs() == ["c", "c"]


def test_checks_with_the_same_options_do_not_share_an_entry(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    body = """
    checks:
      one: {uses: counter}
      two: {uses: counter}
    rules:
      - {id: r, check: [one, two], findings: {severity: high, max: 0}}
    """
    gate(work, body, cache_dir)
    verdict = gate(work, body, cache_dir)
    assert sorted(runs()) == ["one", "two"] and [c.cached for c in verdict.checks] == [True, True]
    assert [c.name for c in verdict.checks] == ["one", "two"]
    assert len(entries(cache_dir)) == 2


# --- the matrix: the cache never changes a verdict ----------------------------------------------


def _edit_source(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (root / "src" / "a.py").write_text("safe()\n")  # read through the context for a message, not declared
    return ONE_CHECK


def _edit_report(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (root / "report.txt").write_text("low X2\n")
    return ONE_CHECK


def _edit_rule(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return ONE_CHECK.replace("max: 0", "max: 1")


def _edit_option(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return ONE_CHECK.replace("with: {}", "with: {skip_first: 1}")


def _edit_tool(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GK_TEST_TOOL_VERSION", "2.0")
    return ONE_CHECK


def _delete_source(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (root / "src" / "a.py").unlink()
    return ONE_CHECK


@pytest.mark.parametrize(
    ("edit", "reused"),
    [
        (_edit_source, False),
        (_delete_source, False),
        (_edit_report, False),
        (_edit_rule, True),  # rules decide after the checks: the check's result is still good
        (_edit_option, False),
        (_edit_tool, False),
    ],
    ids=["source file", "deleted source file", "report", "policy rule", "checker option", "tool version"],
)
def test_cached_and_uncached_verdicts_agree_after_each_edit(
    edit: Callable[[Path, pytest.MonkeyPatch], str],
    reused: bool,
    work: Path,
    cache_dir: Path,
    runs: Callable[[], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = gate(work, ONE_CHECK, cache_dir)
    body = edit(work, monkeypatch)
    cached = gate(work, body, cache_dir)
    uncached = gate(work, body, None)
    assert comparable(cached) == comparable(uncached)
    assert cached.checks[0].cached is reused
    assert runs() == (["c", "c"] if reused else ["c", "c", "c"])
    if not reused:
        assert comparable(cached) != comparable(before)  # the edit mattered, and the cache saw it
    again = gate(work, body, cache_dir)
    assert again.checks[0].cached is True and comparable(again) == comparable(uncached)


# --- a bad entry is a miss, never an error and never a pass -------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff\xfe garbage \x80")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _not_an_entry(path: Path) -> None:
    path.write_text('{"status": "ok"}')


def _flipped_result(path: Path) -> None:
    entry = json.loads(path.read_text())
    entry["result"] = entry["result"].replace('"findings":[{', '"findings":[], "x":[{', 1)  # digest now wrong
    path.write_text(json.dumps(entry))


def _another_key(path: Path) -> None:
    entry = json.loads(path.read_text())
    entry["key"] = "0" * 64
    path.write_text(json.dumps(entry))


def _error_result(path: Path) -> None:
    import hashlib

    entry = json.loads(path.read_text())
    result = json.loads(entry["result"])
    result.update(status="error", error="stored error", findings=[])
    entry["result"] = json.dumps(result)
    entry["result_sha256"] = hashlib.sha256(entry["result"].encode()).hexdigest()
    path.write_text(json.dumps(entry))


@pytest.mark.parametrize(
    "damage",
    [_truncate, _garbage, _empty, _not_an_entry, _flipped_result, _another_key, _error_result],
    ids=["truncated", "garbage", "empty", "not an entry", "result does not match its digest", "wrong key", "error"],
)
def test_a_damaged_entry_is_a_miss_and_is_replaced(
    damage: Callable[[Path], None], work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    cache = ResultCache(cache_dir)
    uncached = gate(work, ONE_CHECK, cache)
    [entry] = entries(cache_dir)
    damage(entry)
    verdict = gate(work, ONE_CHECK, cache)
    assert verdict.checks[0].cached is False and verdict.checks[0].status == "ok"
    assert verdict.outcome == "fail" and comparable(verdict) == comparable(uncached)
    assert runs() == ["c", "c"]
    assert any("ignored and removed" in problem for problem in cache.problems), cache.problems
    assert gate(work, ONE_CHECK, cache).checks[0].cached is True  # the run stored a good entry again


def test_an_unwritable_cache_only_costs_the_reuse(work: Path, tmp_path: Path, runs: Callable[[], list[str]]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    cache = ResultCache(blocker / "cache")
    uncached = gate(work, ONE_CHECK, None)
    verdict = gate(work, ONE_CHECK, cache)
    assert comparable(verdict) == comparable(uncached)
    assert any("cannot write to the cache" in p for p in cache.problems), cache.problems
    assert cache.stored == 0


# --- what is stored -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    ["{status: error}", "{status: skipped}", "{reports: [missing.txt]}"],
    ids=["error", "skipped", "checker raised"],
)
def test_results_that_are_not_ok_are_never_stored(
    options: str, work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    body = ONE_CHECK.replace("with: {}", f"with: {options}")
    body = body.replace("max: 0}", "max: 0}, on_skipped: warn, on_error: warn")
    first = gate(work, body, cache_dir)
    second = gate(work, body, cache_dir)
    assert first.checks[0].status != "ok" and second.checks[0].cached is False
    assert runs() == ["c", "c"] and entries(cache_dir) == []


def test_a_timed_out_check_is_not_stored(work: Path, cache_dir: Path, runs: Callable[[], list[str]]) -> None:
    body = ONE_CHECK.replace("{uses: counter, with: {}}", "{uses: counter, timeout: 0.3, with: {sleep: 3}}")
    verdict = gate(work, body, cache_dir)
    assert verdict.checks[0].status == "error" and "timed out" in (verdict.checks[0].error or "")
    time.sleep(0.1)
    assert entries(cache_dir) == []


def test_a_result_reading_an_undeclared_input_is_not_stored(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    cache = ResultCache(cache_dir)
    body = ONE_CHECK.replace("with: {}", "with: {declare: not-the-reports}")
    gate(work, body, cache)
    assert gate(work, body, cache).checks[0].cached is False
    assert runs() == ["c", "c"] and entries(cache_dir) == []
    assert any("report.txt is not among its declared cache inputs" in p for p in cache.problems), cache.problems


@pytest.mark.parametrize(
    ("declare", "problem"),
    [
        ("raise", "cache_inputs raised RuntimeError: cache_inputs broke"),
        ("wrong-type", "cache_inputs returned dict, not CacheInputs"),
        ("outside", "outside the repository"),
        ("not-json", "cache inputs are not JSON"),
    ],
)
def test_broken_cache_inputs_leave_the_check_to_run(
    declare: str, problem: str, work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    cache = ResultCache(cache_dir)
    body = ONE_CHECK.replace("with: {}", f"with: {{declare: {declare}}}")
    uncached = gate(work, body, None)
    verdict = gate(work, body, cache)
    assert verdict.checks[0].status == "ok" and comparable(verdict) == comparable(uncached)
    assert any(problem in p for p in cache.problems), cache.problems
    assert entries(cache_dir) == []


def test_paths_the_check_resolved_are_recorded_with_the_entry(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    gate(work, ONE_CHECK, cache_dir)
    [entry] = entries(cache_dir)
    depends = json.loads(entry.read_text())["depends"]
    assert depends["src/a.py"].startswith("sha256:")  # read for a finding's message, not declared
    assert "report.txt" not in depends  # declared: part of the key


def test_gatekeeper_state_is_never_an_input(work: Path, runs: Callable[[], list[str]]) -> None:
    """A folder input spans the repository; the cache inside it must not change the key it is stored under."""
    body = ONE_CHECK.replace("with: {}", "with: {reports: [report.txt]}")
    plugin = work / "folder_counter.py"
    plugin.write_text(
        PLUGIN.read_text().replace(
            'return CacheInputs(files=files, tool=f"counter {_version()}")',
            'return CacheInputs(files=["."], tool=f"counter {_version()}")',
        )
    )
    path = work / "gatekeeper.yaml"
    path.write_text(f'version: 1\nplugins: ["{plugin}"]\n' + textwrap.dedent(body))
    (work / ".git").mkdir()
    (work / ".git" / "index").write_text("changes on every git status\n")
    policy = load_policy(path, entry_points=False)
    evaluate(policy, work, today=TODAY, cache=default_cache_dir(work))
    (work / ".git" / "index").write_text("changed\n")
    verdict = evaluate(policy, work, today=TODAY, cache=default_cache_dir(work))
    assert verdict.checks[0].cached is True
    (work / "notes.md").write_text("a new file in the folder\n")
    assert evaluate(policy, work, today=TODAY, cache=default_cache_dir(work)).checks[0].cached is False


# --- external checkers: a time-to-live ----------------------------------------------------------

EXTERNAL = ONE_CHECK.replace("uses: counter", "uses: counter-external")


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setenv("GATEKEEPER_NOW", moment.isoformat())


def test_an_external_checker_is_reused_until_its_ttl_ends(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _at(monkeypatch, T0)
    gate(work, EXTERNAL, cache_dir)
    _at(monkeypatch, T0 + timedelta(minutes=59))
    assert gate(work, EXTERNAL, cache_dir).checks[0].cached is True
    _at(monkeypatch, T0 + timedelta(minutes=60))  # the default ttl_external: one hour
    assert gate(work, EXTERNAL, cache_dir).checks[0].cached is False
    _at(monkeypatch, T0 + timedelta(minutes=61))
    assert gate(work, EXTERNAL, cache_dir).checks[0].cached is True  # the new result, stored at T0+60m
    assert runs() == ["c", "c"]


def test_the_policy_sets_the_ttl(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = EXTERNAL + "cache: {ttl_external: 10m}\n"
    _at(monkeypatch, T0)
    gate(work, body, cache_dir)
    _at(monkeypatch, T0 + timedelta(minutes=9))
    assert gate(work, body, cache_dir).checks[0].cached is True
    _at(monkeypatch, T0 + timedelta(minutes=11))
    assert gate(work, body, cache_dir).checks[0].cached is False
    assert runs() == ["c", "c"]


def test_a_ttl_of_zero_never_caches_external_checkers(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    body = EXTERNAL + "cache: {ttl_external: 0}\n"
    gate(work, body, cache_dir)
    assert gate(work, body, cache_dir).checks[0].cached is False
    assert runs() == ["c", "c"] and entries(cache_dir) == []


def test_an_entry_from_the_future_is_a_miss(work: Path, cache_dir: Path, runs: Callable[[], list[str]]) -> None:
    now = [T0]
    cache = ResultCache(cache_dir, now=lambda: now[0])
    gate(work, EXTERNAL, cache)
    now[0] = T0 - timedelta(minutes=5)  # the clock went back: the entry's age cannot be trusted
    assert gate(work, EXTERNAL, cache).checks[0].cached is False
    assert runs() == ["c", "c"]


def test_a_checker_that_is_not_external_has_no_ttl(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _at(monkeypatch, T0)
    gate(work, ONE_CHECK, cache_dir)
    _at(monkeypatch, T0 + timedelta(days=400))
    assert gate(work, ONE_CHECK, cache_dir).checks[0].cached is True


# --- size limit: least recently used first ------------------------------------------------------

THREE = """
checks:
  a: {uses: counter, with: {reports: [a.txt]}}
  b: {uses: counter, with: {reports: [b.txt]}}
  c: {uses: counter, with: {reports: [c.txt]}}
rules:
  - {id: r, check: [a, b, c], findings: {severity: high, max: 0}}
"""


def _only(*names: str) -> str:
    checks = "\n".join(f"  {n}: {{uses: counter, with: {{reports: [{n}.txt]}}}}" for n in names)
    return f"checks:\n{checks}\nrules:\n  - {{id: r, check: [{', '.join(names)}], findings: {{max: 9}}}}\n"


def test_the_least_recently_used_entries_go_first(work: Path, cache_dir: Path, runs: Callable[[], list[str]]) -> None:
    for name in "abc":
        (work / f"{name}.txt").write_text(f"low {name.upper()}1\n")
    gate(work, _only("a", "b"), cache_dir)
    by_check = {json.loads(e.read_text())["check"]: e for e in entries(cache_dir)}
    old = time.time() - 3600
    os.utime(by_check["a"], (old, old))
    os.utime(by_check["b"], (old + 60, old + 60))  # b was stored after a...
    assert gate(work, _only("a"), cache_dir).checks[0].cached is True  # ...but a was used since
    size = max(e.stat().st_size for e in entries(cache_dir))
    limit_mb = 2.5 * size / (1024 * 1024)  # room for two entries, not three
    gate(work, _only("c") + f"cache: {{max_size_mb: {limit_mb}}}\n", cache_dir)
    assert sorted(json.loads(e.read_text())["check"] for e in entries(cache_dir)) == ["a", "c"]
    assert gate(work, _only("b"), cache_dir).checks[0].cached is False  # evicted: it runs again


def test_leftovers_of_a_writer_that_died_are_removed(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]]
) -> None:
    cache_dir.mkdir()
    stale, fresh = cache_dir / ".abc.dead.tmp", cache_dir / ".abc.writing.tmp"
    stale.write_text("{half an entry")
    fresh.write_text("{being written")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    gate(work, ONE_CHECK, cache_dir)
    assert not stale.exists() and fresh.exists()


# --- the policy's cache block -------------------------------------------------------------------


def test_cache_settings_merge_key_by_key_through_extends(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "version: 1\ncache: {ttl_external: 2h, max_size_mb: 50}\nchecks: {c: {uses: junit, with: {reports: [r.xml]}}}\n"
        "rules: [{id: r, check: c, require: ['failed == 0']}]\n"
    )
    (tmp_path / "child.yaml").write_text("version: 1\nextends: base.yaml\ncache: {ttl_external: 0}\n")
    settings = load_policy(tmp_path / "child.yaml", entry_points=False).policy.cache
    assert (settings.ttl_external, settings.max_size_mb) == (0, 50)


def test_default_cache_settings_leave_the_policy_digest_alone(tmp_path: Path) -> None:
    body = "version: 1\nname: p\nchecks: {c: {uses: junit, with: {reports: [r.xml]}}}\n"
    body += "rules: [{id: r, check: c, require: ['failed == 0']}]\n"
    (tmp_path / "plain.yaml").write_text(body)
    (tmp_path / "defaults.yaml").write_text(body + "cache: {ttl_external: 3600, max_size_mb: 200}\n")
    (tmp_path / "shorter.yaml").write_text(body + "cache: {ttl_external: 1m}\n")
    plain, defaults, shorter = (
        load_policy(tmp_path / f"{n}.yaml", entry_points=False) for n in ("plain", "defaults", "shorter")
    )
    assert plain.digest == defaults.digest
    assert '"cache"' not in plain.canonical_json()
    assert shorter.digest != plain.digest and '"ttl_external":60' in shorter.canonical_json()


@pytest.mark.parametrize("bad", ["{ttl_external: -1}", "{ttl_external: soon}", "{max_size_mb: 0}", "{size: 1}"])
def test_a_bad_cache_block_is_a_policy_error(bad: str, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        f"version: 1\ncache: {bad}\nchecks: {{c: {{uses: junit, with: {{reports: [r.xml]}}}}}}\n"
        "rules: [{id: r, check: c, require: ['failed == 0']}]\n"
    )
    with pytest.raises(PolicyError, match="cache"):
        load_policy(tmp_path / "p.yaml", entry_points=False)


# --- the real tools -----------------------------------------------------------------------------


@pytest.fixture
def flawed(fixture_repo: Callable[[str], Path]) -> Path:
    return fixture_repo("flawed")


SCANNERS = """
version: 1
checks:
  sast: {uses: bandit, with: OPTIONS}
rules:
  - {id: no-findings, check: sast, findings: {severity: low, max: 0}}
"""


def scan(root: Path, cache: Path | None, options: str = "{paths: [app]}", body: str = SCANNERS) -> Verdict:
    (root / "gatekeeper.yaml").write_text(body.replace("OPTIONS", options))
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=TODAY, cache=cache)


@pytest.fixture
def bandit_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every bandit command the checker starts (the side effect that tells a hit from a run)."""
    from gatekeeper.checkers import bandit

    started: list[list[str]] = []
    real = bandit.run_tool

    def spy(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        if "--version" not in argv:
            started.append(argv)
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(bandit, "run_tool", spy)
    yield started


def _bandit_edit_source(root: Path) -> str:
    (root / "app" / "extra.py").write_text("import subprocess\nsubprocess.call('ls', shell=True)\n")
    return "{paths: [app]}"


def _bandit_fix_source(root: Path) -> str:
    for path in (root / "app").rglob("*.py"):
        path.write_text("x = 1\n")
    return "{paths: [app]}"


def _bandit_option(root: Path) -> str:
    return "{paths: [app], skip: [B602, B605]}"


def _bandit_excluded_file(root: Path) -> str:
    (root / "app" / "build").mkdir()
    (root / "app" / "build" / "gen.py").write_text("eval(input())\n")
    return "{paths: [app], exclude: [build]}"  # bandit skips it: still the same answer


@pytest.mark.parametrize(
    ("edit", "reused"),
    [(_bandit_edit_source, False), (_bandit_fix_source, False), (_bandit_option, False)],
    ids=["new flawed file", "every file fixed", "skip option"],
)
def test_bandit_cached_and_uncached_agree_after_each_edit(
    edit: Callable[[Path], str], reused: bool, flawed: Path, tmp_path: Path, bandit_runs: list[list[str]]
) -> None:
    cache = tmp_path / "cache"
    first = scan(flawed, cache)
    assert first.checks[0].status == "ok" and first.outcome == "fail" and len(bandit_runs) == 1
    hit = scan(flawed, cache)
    assert hit.checks[0].cached is True and comparable(hit) == comparable(first) and len(bandit_runs) == 1
    options = edit(flawed)
    cached = scan(flawed, cache, options)
    uncached = scan(flawed, None, options)
    assert cached.checks[0].cached is reused
    assert comparable(cached) == comparable(uncached) != comparable(first)


def test_bandit_files_it_excludes_do_not_matter(flawed: Path, tmp_path: Path, bandit_runs: list[list[str]]) -> None:
    cache = tmp_path / "cache"
    options = "{paths: [app], exclude: [generated]}"
    first = scan(flawed, cache, options)
    (flawed / "app" / "generated").mkdir()
    (flawed / "app" / "generated" / "gen.py").write_text("eval(input())\n")
    (flawed / "app" / "notes.txt").write_text("not python\n")
    again = scan(flawed, cache, options)
    assert again.checks[0].cached is True and comparable(again) == comparable(first)
    assert comparable(again) == comparable(scan(flawed, None, options))


def test_bandit_a_new_tool_version_is_a_miss(
    flawed: Path, tmp_path: Path, bandit_runs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    scan(flawed, cache)
    monkeypatch.setattr(_cache_keys, "tool_identity", lambda *args, **kwargs: "bandit 99.0 python 3.99")
    assert scan(flawed, cache).checks[0].cached is False
    assert len(bandit_runs) == 2


def test_bandit_a_ini_file_makes_it_read_more(flawed: Path, tmp_path: Path, bandit_runs: list[list[str]]) -> None:
    cache = tmp_path / "cache"
    scan(flawed, cache)
    (flawed / "app" / ".bandit").write_text("[bandit]\nskips: B602\n")
    assert scan(flawed, cache).checks[0].cached is False  # bandit reads it, so the key has it


def test_bandit_from_a_report_rereads_the_sources_its_fingerprints_came_from(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "a.py").write_text("import os\nos.system(cmd)\n")
    report = {
        "results": [
            {"filename": "app/a.py", "line_number": 2, "test_id": "B605", "issue_severity": "HIGH",
             "issue_confidence": "HIGH", "issue_text": "shell"}
        ],
        "errors": [],
        "metrics": {},
    }  # fmt: skip
    (root / "bandit.json").write_text(json.dumps(report))
    options = "{report: bandit.json}"
    cache = tmp_path / "cache"
    first = scan(root, cache, options)
    assert scan(root, cache, options).checks[0].cached is True
    (root / "app" / "a.py").write_text("import os\nos.system(other)\n")  # the flagged line's text: a new fingerprint
    cached, uncached = scan(root, cache, options), scan(root, None, options)
    assert cached.checks[0].cached is False and comparable(cached) == comparable(uncached)
    assert cached.checks[0].findings[0].fingerprint != first.checks[0].findings[0].fingerprint


def test_semgrep_is_cached_and_sees_its_rules_change(flawed: Path, tmp_path: Path) -> None:
    body = """
version: 1
checks:
  patterns: {uses: semgrep, with: OPTIONS}
rules:
  - {id: no-findings, check: patterns, findings: {severity: low, max: 0}}
"""
    rule = "rules:\n  - {id: no-eval, languages: [python], severity: ERROR, message: eval, pattern: 'eval(...)'}\n"
    (flawed / "rules.yaml").write_text(rule)
    options = "{paths: [app], config: [rules.yaml, 'builtin:python']}"
    cache = tmp_path / "cache"
    first = scan(flawed, cache, options, body)
    assert first.checks[0].status == "ok", first.checks[0].error
    second = scan(flawed, cache, options, body)
    assert second.checks[0].cached is True and comparable(second) == comparable(first)
    (flawed / "rules.yaml").write_text(rule.replace("eval", "exec"))
    cached, uncached = scan(flawed, cache, options, body), scan(flawed, None, options, body)
    assert cached.checks[0].cached is False and comparable(cached) == comparable(uncached)


def test_semgrep_is_cached_when_it_reads_files_of_no_rule_language_suffix(flawed: Path, tmp_path: Path) -> None:
    """Django ships conf/project_template/manage.py-tpl, which semgrep scans: a file it reads but the key
    left out would make every run a miss (the benchmark on Django found it)."""
    (flawed / "app" / "manage.py-tpl").write_text("import os\nos.system('x')\n")
    body = "version: 1\nchecks:\n  patterns: {uses: semgrep, with: OPTIONS}\nrules:\n  - {id: r, check: patterns, findings: {max: 99}}\n"
    options = "{paths: [app]}"
    cache = tmp_path / "cache"
    first = scan(flawed, cache, options, body)
    assert first.checks[0].status == "ok", first.checks[0].error
    assert scan(flawed, cache, options, body).checks[0].cached is True
    (flawed / "app" / "manage.py-tpl").write_text("import os\n")
    assert scan(flawed, cache, options, body).checks[0].cached is False  # and its content is in the key


def test_a_check_scoped_to_changed_files_is_not_cached(flawed: Path, tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=flawed, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "start")
    (flawed / "gatekeeper.yaml").write_text(SCANNERS.replace("OPTIONS", "{paths: [app]}"))
    policy = load_policy(flawed / "gatekeeper.yaml", entry_points=False)
    cache = ResultCache(tmp_path / "cache")
    for _ in range(2):
        verdict = evaluate(policy, flawed, today=TODAY, cache=cache, changed_since="HEAD")
        assert verdict.checks[0].cached is False
    assert cache.stored == 0 and cache.hits == 0


def test_pip_audit_asks_the_service_again_only_after_the_ttl(
    tmp_path: Path, osv_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.19.0\n")
    body = f"""
version: 1
checks:
  deps: {{uses: pip-audit, with: {{osv_url: "{osv_server.url}"}}}}
rules:
  - {{id: no-known-vulnerabilities, check: deps, findings: {{severity: low, max: 0}}}}
"""
    cache = tmp_path / "cache"
    _at(monkeypatch, T0)
    first = scan(root, cache, body=body)
    asked = len(osv_server.queries)
    assert first.checks[0].status == "ok" and first.outcome == "fail" and asked > 0
    _at(monkeypatch, T0 + timedelta(minutes=30))
    hit = scan(root, cache, body=body)
    assert hit.checks[0].cached is True and len(osv_server.queries) == asked
    assert comparable(hit) == comparable(first)
    _at(monkeypatch, T0 + timedelta(hours=2))
    expired = scan(root, cache, body=body)
    assert expired.checks[0].cached is False and len(osv_server.queries) > asked
    assert comparable(expired) == comparable(first)


def test_an_entry_whose_age_cannot_be_told_is_a_miss_not_an_error(
    work: Path, cache_dir: Path, runs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _at(monkeypatch, T0)
    cache = ResultCache(cache_dir)
    gate(work, EXTERNAL, cache)
    [entry] = entries(cache_dir)
    data = json.loads(entry.read_text())
    data["created_at"] = "2026-05-01T12:00:00"  # no time zone: cannot be compared with the clock
    entry.write_text(json.dumps(data))
    verdict = gate(work, EXTERNAL, cache)
    assert verdict.checks[0].status == "ok" and verdict.checks[0].cached is False
    assert runs() == ["c", "c"] and any("not usable" in p for p in cache.problems), cache.problems


def test_editing_an_in_house_checker_is_a_miss(work: Path, cache_dir: Path, runs: Callable[[], list[str]]) -> None:
    plugin = work / "ci" / "counter_copy.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN.read_text())
    (work / "gatekeeper.yaml").write_text(f"version: 1\nplugins: [ci/counter_copy.py]\n{textwrap.dedent(ONE_CHECK)}")
    policy = load_policy(work / "gatekeeper.yaml", entry_points=False)
    evaluate(policy, work, today=TODAY, cache=cache_dir)
    assert evaluate(policy, work, today=TODAY, cache=cache_dir).checks[0].cached is True
    plugin.write_text(plugin.read_text() + "\n# a change to the checker's code\n")
    assert evaluate(policy, work, today=TODAY, cache=cache_dir).checks[0].cached is False
