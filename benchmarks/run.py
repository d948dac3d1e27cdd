"""Benchmarks that report ratios measured in the same run (never absolute targets in unit tests).

    python benchmarks/run.py                 # every benchmark
    python benchmarks/run.py security        # one of them
    python benchmarks/run.py security --lines 50000 --repeat 3

``security``: the gate running bandit + semgrep (built-in rules) on a generated
Python tree of about 50k lines, against running the same two tools by hand one after
the other, and against the slower of the two alone.
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


BENCHMARKS = {"security": bench_security}


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
