"""Benchmarks that report ratios measured in the same run (never absolute targets in unit tests).

    python benchmarks/run.py                 # every benchmark
    python benchmarks/run.py security        # one of them
    python benchmarks/run.py security --lines 50000 --repeat 3

``security``: the gate running bandit + semgrep (built-in rules) on a generated
Python tree of about 50k lines, against running the same two tools by hand one after
the other, and against the slower of the two alone.

``junit``: the JUnit reader on generated reports of 50k and 500k test cases, against a
bare ``xml.etree.ElementTree.iterparse`` count of the same file: time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent

SECURITY_POLICY = """\
version: 1
name: bench-security
checks:
  bandit: {uses: bandit, with: {paths: ["."]}, timeout: 3600}
  semgrep: {uses: semgrep, with: {config: ["builtin:python"], paths: ["."]}, timeout: 3600}
rules:
  - {id: no-high, check: [bandit, semgrep], findings: {severity: high, max: 1000000}}
"""

_SNIPPETS = [
    "def f{n}(items):\n    total = 0\n    for item in items:\n        total += item * {n}\n    return total\n",
    "class C{n}:\n    def __init__(self, value):\n        self.value = value\n\n    def double(self):\n        return self.value * 2\n",
    "def g{n}(path):\n    with open(path) as handle:\n        return [line.strip() for line in handle if line]\n",
    "def h{n}(cmd):\n    import subprocess\n    return subprocess.call('run ' + cmd, shell=True)\n",
    "def k{n}(blob):\n    import pickle\n    return pickle.loads(blob)\n",
    "def m{n}(data):\n    import hashlib\n    return hashlib.md5(data).hexdigest()\n",
]


def generate_tree(root: Path, lines: int, seed: int = 7) -> int:
    """Write a Python package of about ``lines`` lines, a few percent of them flawed on purpose."""
    rng = random.Random(seed)
    written = module = 0
    while written < lines:
        package = root / f"pkg{module // 50}"
        package.mkdir(parents=True, exist_ok=True)
        body = ['"""Generated for the gatekeeper benchmark."""\n']
        for n in range(40):
            weights = [30, 30, 30, 1, 1, 1]
            body.append(rng.choices(_SNIPPETS, weights)[0].format(n=n) + "\n")
        text = "\n".join(body)
        (package / f"mod{module}.py").write_text(text)
        written += text.count("\n")
        module += 1
    return written


def timed(command: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{command[0]} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def median_of(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


def bench_security(lines: int, repeat: int) -> dict[str, float]:
    from gatekeeper.policy.resolve import packs_dir

    rules = packs_dir() / "semgrep" / "python.yaml"
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        tree = Path(tmp) / "tree"
        total = generate_tree(tree, lines)
        (Path(tmp) / "policy.yaml").write_text(SECURITY_POLICY)
        bandit = [str(BIN / "bandit"), "-r", ".", "-f", "json", "-q"]
        semgrep = [str(BIN / "semgrep"), "scan", "--metrics=off", "--disable-version-check", "--json",
                   "--x-ignore-semgrepignore-files", "--config", str(rules), "."]  # fmt: skip
        gate = [str(BIN / "gatekeeper"), "run", ".", "--policy", str(Path(tmp) / "policy.yaml"),
                "--format", f"json={Path(tmp) / 'verdict.json'}"]  # fmt: skip
        timed(semgrep, tree)  # warm caches once, so no side pays for the first start
        bandit_alone = median_of(repeat, lambda: timed(bandit, tree))
        semgrep_alone = median_of(repeat, lambda: timed(semgrep, tree))
        by_hand = median_of(repeat, lambda: timed(bandit, tree) + timed(semgrep, tree))
        gated = median_of(repeat, lambda: timed(gate, tree))
        verdict = json.loads((Path(tmp) / "verdict.json").read_text())
        assert all(c["status"] == "ok" for c in verdict["checks"]), verdict["checks"]
    slowest = max(bandit_alone, semgrep_alone)
    return {
        "lines": float(total),
        "bandit_alone_s": bandit_alone,
        "semgrep_alone_s": semgrep_alone,
        "by_hand_sequential_s": by_hand,
        "gate_s": gated,
        "gate_vs_by_hand": gated / by_hand,
        "gate_vs_slowest_alone": gated / slowest,
    }


_BASELINE_COUNT = """
import resource, sys, time, xml.etree.ElementTree as ET
started = time.perf_counter()
count = 0
for event, element in ET.iterparse(sys.argv[1], events=("end",)):
    if element.tag == "testcase":
        count += 1
        element.clear()
print(count, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

_GATE_COUNT = """
import resource, sys, time
from pathlib import Path
from gatekeeper.checkers.junit import Tally, read_report
started = time.perf_counter()
tally = Tally()
read_report(Path(sys.argv[1]), "report.xml", tally)
print(tally.counts["total"], time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def write_junit(path: Path, cases: int) -> None:
    """One <testsuite> of ``cases`` test cases, 1% failing, like a large CI report."""
    with path.open("w") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n<testsuite name="big" tests="%d">\n' % cases)
        for i in range(cases):
            name = f'classname="pkg.module{i % 1000}.TestCase" name="test_{i}_does_the_thing" time="0.00{i % 10}"'
            if i % 100 == 0:
                out.write(
                    f'  <testcase {name}><failure message="assert {i} == {i + 1}">Traceback ...</failure></testcase>\n'
                )
            else:
                out.write(f"  <testcase {name}/>\n")
        out.write("</testsuite>\n</testsuites>\n")


def _run_counter(code: str, report: Path) -> tuple[int, float, float]:
    done = subprocess.run([sys.executable, "-c", code, str(report)], capture_output=True, text=True, check=True)
    count, seconds, peak_mib = done.stdout.split()
    return int(count), float(seconds), float(peak_mib)


def bench_junit(lines: int, repeat: int) -> dict[str, float]:
    del lines
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        for cases in (50_000, 500_000):
            report = Path(tmp) / f"junit-{cases}.xml"
            write_junit(report, cases)
            base = [_run_counter(_BASELINE_COUNT, report) for _ in range(repeat)]
            gate = [_run_counter(_GATE_COUNT, report) for _ in range(repeat)]
            assert {b[0] for b in base} == {g[0] for g in gate} == {cases}
            tag = f"{cases // 1000}k"
            results[f"{tag}_file_mib"] = report.stat().st_size / 2**20
            results[f"{tag}_iterparse_s"] = statistics.median(b[1] for b in base)
            results[f"{tag}_gate_s"] = statistics.median(g[1] for g in gate)
            results[f"{tag}_time_ratio"] = results[f"{tag}_gate_s"] / results[f"{tag}_iterparse_s"]
            results[f"{tag}_iterparse_peak_mib"] = statistics.median(b[2] for b in base)
            results[f"{tag}_gate_peak_mib"] = statistics.median(g[2] for g in gate)
    results["gate_peak_500k_vs_50k"] = results["500k_gate_peak_mib"] / results["50k_gate_peak_mib"]
    return results


BENCHMARKS = {"security": bench_security, "junit": bench_junit}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    for name in args.names or list(BENCHMARKS):
        results = BENCHMARKS[name](args.lines, args.repeat)
        print(f"{name}:")
        for key, value in results.items():
            print(f"  {key:24} {value:10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
