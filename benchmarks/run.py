"""Benchmarks that report ratios measured in the same run (never absolute targets in unit tests).

    python benchmarks/run.py                            # every benchmark, on generated data
    python benchmarks/run.py security                   # one of them
    python benchmarks/run.py security --lines 50000 --repeat 3
    python benchmarks/run.py security warm changed --django    # on the Django source (PyPI sdist)
    python benchmarks/run.py security --tree ~/src/project     # on any tree (copied first)

``security``: a cold gate (bandit + semgrep with the built-in rules, ``--no-cache``) against
the same two tools run by hand one after the other, and against the slower of the two alone.

``warm``: a cold run into an empty ``GATEKEEPER_CACHE_DIR`` against a second run with
nothing changed (result cache hits).

``changed``: a git copy of the tree with one file edited after the commit:
``--changed-since`` the commit against a full cold ``--no-cache`` run.

``junit``: the JUnit reader on generated reports of 50k and 500k test cases, against a
bare ``xml.etree.ElementTree.iterparse`` count of the same file: time and peak memory.

``startup``: ``gatekeeper --version`` against ``python -c "import gatekeeper"`` and
``python -c pass``.

The tree of ``security``, ``warm`` and ``changed`` is generated (``--lines``), or the
``django/`` package of the Django sdist (``--django``, downloaded once into
``--cache-dir``), or any folder (``--tree``). It is copied into a temporary folder first,
so the gate never writes into it. Every figure comes from the real CLI and the real tools.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path

BIN = Path(sys.executable).parent
PYTHON = sys.executable
GATEKEEPER = [PYTHON, "-m", "gatekeeper"]
DJANGO_VERSION = "5.2.19"
DEFAULT_CACHE = Path.home() / ".cache" / "gatekeeper-benchmarks"
# What the copy of a --tree leaves out: folders bandit's default exclude skips anyway, and
# gatekeeper's own state.
COPY_IGNORE = shutil.ignore_patterns(".git", ".gatekeeper", ".venv", "venv", ".tox", ".nox", "node_modules",
                                     "__pycache__")  # fmt: skip

# The bandit and semgrep checks of policies/default.yaml (same names, options and rule pack),
# with a rule that never fails so that a tree full of findings still exits 0.
SECURITY_POLICY = """\
version: 1
name: bench-security
checks:
  python-security: {uses: bandit, with: {paths: ["."]}, timeout: 3600}
  python-patterns: {uses: semgrep, with: {config: ["builtin:python"], paths: ["."]}, timeout: 3600}
rules:
  - {id: no-high, check: [python-security, python-patterns], findings: {severity: high, max: 1000000}}
"""

_SNIPPETS = [
    "def f{n}(items):\n    total = 0\n    for item in items:\n        total += item * {n}\n    return total\n",
    "class C{n}:\n    def __init__(self, value):\n        self.value = value\n\n    def double(self):\n        return self.value * 2\n",
    "def g{n}(path):\n    with open(path) as handle:\n        return [line.strip() for line in handle if line]\n",
    "def h{n}(cmd):\n    import subprocess\n    return subprocess.call('run ' + cmd, shell=True)\n",
    "def k{n}(blob):\n    import pickle\n    return pickle.loads(blob)\n",
    "def m{n}(data):\n    import hashlib\n    return hashlib.md5(data).hexdigest()\n",
]


@dataclass
class Options:
    lines: int = 50_000
    repeat: int = 3
    startup_repeat: int = 20
    tree: Path | None = None
    django: bool = False
    django_version: str = DJANGO_VERSION
    cache_dir: Path = DEFAULT_CACHE


@dataclass
class Target:
    name: str
    value: float
    limit: float

    @property
    def met(self) -> bool:
        return self.value <= self.limit


@dataclass
class Result:
    figures: dict[str, float] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    source: str = ""


# ---------------------------------------------------------------------------- trees


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


def django_source(version: str, cache_dir: Path) -> Path:
    """The ``django/`` package of the Django sdist, downloaded from PyPI and extracted once."""
    extracted = cache_dir / f"django-{version}-src"
    package = extracted / f"django-{version}" / "django"
    if package.is_dir():
        return package
    cache_dir.mkdir(parents=True, exist_ok=True)
    sdist = cache_dir / f"django-{version}.tar.gz"
    if not sdist.is_file():
        print(f"downloading the Django {version} sdist into {cache_dir} ...", file=sys.stderr)
        subprocess.run([PYTHON, "-m", "pip", "download", f"django=={version}", "--no-deps", "--no-binary", ":all:",
                        "--quiet", "-d", str(cache_dir)], check=True)  # fmt: skip
    partial = Path(tempfile.mkdtemp(prefix=".extract-", dir=cache_dir))
    if not hasattr(tarfile, "data_filter"):
        raise SystemExit("extracting the sdist safely needs Python 3.10.12+ or 3.11.4+ (tarfile's 'data' filter)")
    with tarfile.open(sdist) as archive:
        archive.extractall(partial, filter="data")  # nothing lands outside, no links, no devices
    if extracted.exists():
        shutil.rmtree(extracted)
    partial.rename(extracted)
    if not package.is_dir():
        raise SystemExit(f"{sdist} has no django/ package")
    return package


def count_lines(root: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in root.rglob("*.py"))


def prepare_tree(opts: Options, dest: Path) -> str:
    """Put the tree under test at ``dest`` and say what it is."""
    if opts.tree is not None:
        shutil.copytree(opts.tree, dest, ignore=COPY_IGNORE)
        label = str(opts.tree)
    elif opts.django:
        shutil.copytree(django_source(opts.django_version, opts.cache_dir), dest, ignore=COPY_IGNORE)
        label = f"Django {opts.django_version} sdist, django/"
    else:
        generate_tree(dest, opts.lines)
        label = "generated"
    files = sum(1 for _ in dest.rglob("*.py"))
    return f"{label} ({files} .py files, {count_lines(dest):,} lines)"


# ---------------------------------------------------------------------------- running


def measured(command: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1), env: dict[str, str] | None = None) -> tuple[float, float]:  # fmt: skip
    """Run ``command``; its wall time and the CPU time (user + system) of it and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(command[:3])} exited {done.returncode}: {done.stderr[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def timed(command: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1), env: dict[str, str] | None = None) -> float:
    return measured(command, cwd, ok, env)[0]


def median_of(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


def gate_command(tree: Path, policy: Path, verdict: Path, *extra: str) -> list[str]:
    """The gate on ``tree``; run it from outside the tree (``python -m`` puts its cwd on sys.path)."""
    return [*GATEKEEPER, "run", str(tree), "--policy", str(policy), "--format", f"json={verdict}", *extra]


def read_checks(verdict: Path) -> list[dict[str, object]]:
    checks: list[dict[str, object]] = json.loads(verdict.read_text())["checks"]
    bad = [(c["name"], c["status"], c.get("error")) for c in checks if c["status"] != "ok"]
    if bad:
        raise SystemExit(f"the gate's checks did not all run: {bad}")
    return checks


def check_duration(checks: list[dict[str, object]], uses: str) -> float:
    return sum(float(str(c["duration_s"])) for c in checks if c["uses"] == uses)


def load() -> float:
    return os.getloadavg()[0]


# ---------------------------------------------------------------------------- security


def bench_security(opts: Options) -> Result:
    from gatekeeper.policy.resolve import packs_dir

    rules = packs_dir() / "semgrep" / "python.yaml"
    result = Result()
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        tree, policy, verdict = Path(tmp) / "tree", Path(tmp) / "policy.yaml", Path(tmp) / "verdict.json"
        result.source = prepare_tree(opts, tree)
        policy.write_text(SECURITY_POLICY)
        bandit = [str(BIN / "bandit"), "-r", ".", "-f", "json", "-q"]
        semgrep = [str(BIN / "semgrep"), "scan", "--metrics=off", "--disable-version-check", "--json",
                   "--config", str(rules), "."]  # fmt: skip
        if not (tree / ".semgrepignore").exists():  # as the gate does, so semgrep scans the same files
            semgrep.insert(-1, "--x-ignore-semgrepignore-files")
        gate = gate_command(tree, policy, verdict, "--no-cache", "--no-history")
        outside = Path(tmp)  # `python -m` puts its cwd first on sys.path: django/http/ would shadow http
        timed(semgrep, tree)  # warm the disk cache once, so no side pays for the first read
        samples: dict[str, list[float]] = {}
        load_start = load()
        for _ in range(opts.repeat):  # interleaved, so a change in the machine's load hits every side
            for name, command, cwd in (("bandit", bandit, tree), ("semgrep", semgrep, tree), ("gate", gate, outside)):
                wall, cpu = measured(command, cwd)
                samples.setdefault(f"{name}_s", []).append(wall)
                samples.setdefault(f"{name}_cpu_s", []).append(cpu)
            checks = read_checks(verdict)
            samples.setdefault("gate_bandit_check_s", []).append(check_duration(checks, "bandit"))
            samples.setdefault("gate_semgrep_check_s", []).append(check_duration(checks, "semgrep"))
            samples.setdefault("by_hand_s", []).append(samples["bandit_s"][-1] + samples["semgrep_s"][-1])
    med = {key: statistics.median(values) for key, values in samples.items()}
    slowest = max(med["bandit_s"], med["semgrep_s"])
    cores = os.cpu_count() or 1
    floor = (med["bandit_cpu_s"] + med["semgrep_cpu_s"]) / cores
    result.figures = {
        "bandit alone (s)": med["bandit_s"],
        "semgrep alone (s)": med["semgrep_s"],
        "by hand, one after the other (s)": med["by_hand_s"],
        "gate cold, --no-cache (s)": med["gate_s"],
        "  its bandit check (s)": med["gate_bandit_check_s"],
        "  its semgrep check (s)": med["gate_semgrep_check_s"],
        "CPU: bandit alone (s)": med["bandit_cpu_s"],
        "CPU: semgrep alone (s)": med["semgrep_cpu_s"],
        "CPU: gate (s)": med["gate_cpu_s"],
        f"CPU floor, both tools' CPU / {cores} cores (s)": floor,
        "gate / by hand": med["gate_s"] / med["by_hand_s"],
        "gate / slowest alone": med["gate_s"] / slowest,
        "gate / CPU floor": med["gate_s"] / floor,
        "load avg 1 min, start": load_start,
        "load avg 1 min, end": load(),
    }
    result.targets = [
        Target("gate / slowest tool alone", med["gate_s"] / slowest, 1.15),
        Target("gate / by hand (beats it)", med["gate_s"] / med["by_hand_s"], 1.0),
    ]
    return result


# ---------------------------------------------------------------------------- warm


def bench_warm(opts: Options) -> Result:
    result = Result()
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        tree, policy, verdict = Path(tmp) / "tree", Path(tmp) / "policy.yaml", Path(tmp) / "verdict.json"
        result.source = prepare_tree(opts, tree)
        policy.write_text(SECURITY_POLICY)
        gate = gate_command(tree, policy, verdict, "--no-history")
        cold: list[float] = []
        warm: list[float] = []
        reused: list[int] = []  # checks answered from the cache in each warm run
        missed: set[str] = set()
        load_start = load()
        for i in range(opts.repeat):
            cache = Path(tmp) / f"cache-{i}"  # empty: a cold start every repetition
            env = {**os.environ, "GATEKEEPER_CACHE_DIR": str(cache)}
            cold.append(timed(gate, Path(tmp), env=env))
            if any(c.get("cached") for c in read_checks(verdict)):
                raise SystemExit("the cold run was answered from the cache")
            warm.append(timed(gate, Path(tmp), env=env))
            checks = read_checks(verdict)
            reused.append(sum(1 for c in checks if c.get("cached")))
            missed |= {str(c["name"]) for c in checks if not c.get("cached")}
    result.figures = {
        "cold, empty cache (s)": statistics.median(cold),
        "warm, nothing changed (s)": statistics.median(warm),
        "warm / cold": statistics.median(warm) / statistics.median(cold),
        "checks reused in the warm run (of 2)": float(min(reused)),
        "load avg 1 min, start": load_start,
        "load avg 1 min, end": load(),
    }
    result.targets = [Target("warm / cold", result.figures["warm / cold"], 0.1)]
    if missed:
        result.source += f"; NOT reused from the cache: {', '.join(sorted(missed))}"
    return result


# ---------------------------------------------------------------------------- changed


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false",
               *args]  # fmt: skip
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def bench_changed(opts: Options) -> Result:
    result = Result()
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        repo, policy, verdict = Path(tmp) / "repo", Path(tmp) / "policy.yaml", Path(tmp) / "verdict.json"
        result.source = prepare_tree(opts, repo)
        policy.write_text(SECURITY_POLICY)
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "base")
        base = _git(repo, "rev-parse", "HEAD")
        sources = sorted(repo.rglob("*.py"), key=lambda p: (p.stat().st_size, str(p)))
        edited = sources[len(sources) // 2]  # a file of median size
        with edited.open("a") as handle:
            handle.write(
                "\n\ndef benchmark_edit(cmd):\n    import subprocess\n    return subprocess.call(cmd, shell=True)\n"
            )
        scoped = gate_command(repo, policy, verdict, "--no-cache", "--no-history", "--changed-since", base)
        full = gate_command(repo, policy, verdict, "--no-cache", "--no-history")
        scoped_s: list[float] = []
        full_s: list[float] = []
        load_start = load()
        for _ in range(opts.repeat):
            scoped_s.append(timed(scoped, Path(tmp)))
            changed = {str(c["name"]): c["metrics"] for c in read_checks(verdict)}
            if any(m["files_changed"] != 1 for m in changed.values()):  # type: ignore[index]
                raise SystemExit(f"expected one changed file per check: {changed}")
            full_s.append(timed(full, Path(tmp)))
            read_checks(verdict)
    result.figures = {
        "one file changed, --changed-since (s)": statistics.median(scoped_s),
        "full cold run, --no-cache (s)": statistics.median(full_s),
        "changed / full": statistics.median(scoped_s) / statistics.median(full_s),
        "load avg 1 min, start": load_start,
        "load avg 1 min, end": load(),
    }
    result.source += f"; edited {edited.relative_to(repo)}"
    return result


# ---------------------------------------------------------------------------- junit

# The peak is VmHWM, which exec resets: ru_maxrss would carry over the peak of the runner that
# started the process (forked from it), hiding the counter's own when the runner is bigger.
_PEAK = """
import resource
def peak_mib():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_BASELINE_COUNT = (
    _PEAK
    + """
import sys, time, xml.etree.ElementTree as ET
started = time.perf_counter()
count = 0
for event, element in ET.iterparse(sys.argv[1], events=("end",)):
    if element.tag == "testcase":
        count += 1
        element.clear()
print(count, time.perf_counter() - started, peak_mib())
"""
)

_GATE_COUNT = (
    _PEAK
    + """
import sys, time
from pathlib import Path
from gatekeeper.checkers.junit import Tally, read_report
started = time.perf_counter()
tally = Tally()
read_report(Path(sys.argv[1]), "report.xml", tally)
print(tally.counts["total"], time.perf_counter() - started, peak_mib())
"""
)


def write_junit(path: Path, cases: int) -> None:
    """One <testsuite> of ``cases`` test cases, 1% failing, like a large CI report."""
    with path.open("w") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n<testsuite name="big" tests="{cases}">\n')
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
    done = subprocess.run([PYTHON, "-c", code, str(report)], capture_output=True, text=True, check=True)
    count, seconds, peak_mib = done.stdout.split()
    return int(count), float(seconds), float(peak_mib)


def bench_junit(opts: Options) -> Result:
    figures: dict[str, float] = {}
    load_start = load()
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        for cases in (50_000, 500_000):
            report = Path(tmp) / f"junit-{cases}.xml"
            write_junit(report, cases)
            base = [_run_counter(_BASELINE_COUNT, report) for _ in range(opts.repeat)]
            gate = [_run_counter(_GATE_COUNT, report) for _ in range(opts.repeat)]
            assert {b[0] for b in base} == {g[0] for g in gate} == {cases}
            tag = f"{cases // 1000}k"
            figures[f"{tag}: file (MiB)"] = report.stat().st_size / 2**20
            figures[f"{tag}: iterparse count (s)"] = statistics.median(b[1] for b in base)
            figures[f"{tag}: gatekeeper's reader (s)"] = statistics.median(g[1] for g in gate)
            figures[f"{tag}: time ratio"] = figures[f"{tag}: gatekeeper's reader (s)"] / figures[f"{tag}: iterparse count (s)"]  # fmt: skip
            figures[f"{tag}: iterparse peak (MiB)"] = statistics.median(b[2] for b in base)
            figures[f"{tag}: reader peak (MiB)"] = statistics.median(g[2] for g in gate)
    figures["reader peak 500k / 50k"] = figures["500k: reader peak (MiB)"] / figures["50k: reader peak (MiB)"]
    figures["load avg 1 min, start"] = load_start
    figures["load avg 1 min, end"] = load()
    return Result(
        figures,
        [
            Target("500k: time / iterparse count", figures["500k: time ratio"], 1.5),
            Target("reader peak memory 500k / 50k (flat)", figures["reader peak 500k / 50k"], 1.1),
        ],
        "generated JUnit XML, one <testsuite>, 1% failing",
    )


# ---------------------------------------------------------------------------- startup


def bench_startup(opts: Options) -> Result:
    commands = {
        "gatekeeper --version (console script)": [str(BIN / "gatekeeper"), "--version"],
        "python -m gatekeeper --version": [*GATEKEEPER, "--version"],
        'python -c "import gatekeeper"': [PYTHON, "-c", "import gatekeeper"],
        "python -c pass": [PYTHON, "-c", "pass"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cwd = Path(tempfile.gettempdir())
    load_start = load()
    for command in commands.values():  # once each, so no side pays for the first read from disk
        timed(command, cwd, ok=(0,))
    for _ in range(opts.startup_repeat):  # interleaved
        for name, command in commands.items():
            samples[name].append(timed(command, cwd, ok=(0,)))
    med = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    version, module, imported, bare = med.values()
    figures = {f"{name} (ms)": value for name, value in med.items()}
    figures |= {
        "--version / import gatekeeper": version / imported,
        "--version / python -c pass": version / bare,
        "import gatekeeper / python -c pass": imported / bare,
        "python -m --version / console script": module / version,
        "load avg 1 min, start": load_start,
        "load avg 1 min, end": load(),
    }
    return Result(figures, [], f"median of {opts.startup_repeat}, interleaved")


BENCHMARKS: dict[str, Callable[[Options], Result]] = {
    "security": bench_security,
    "warm": bench_warm,
    "changed": bench_changed,
    "junit": bench_junit,
    "startup": bench_startup,
}


def print_result(name: str, result: Result) -> None:
    print(f"\n## {name}: {result.source}")
    width = max(len(key) for key in result.figures)
    print(f"| {'figure':{width}} | {'value':>10} |")
    print(f"|{'-' * (width + 2)}|{'-' * 11}:|")
    for key, value in result.figures.items():
        print(f"| {key:{width}} | {value:10.3f} |")
    for target in result.targets:
        print(f"target {target.name}: {target.value:.2f}× (≤ {target.limit}×) {'met' if target.met else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--lines", type=int, default=50_000, help="lines of the generated tree")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each side (the median is shown)")
    parser.add_argument("--startup-repeat", type=int, default=20, help="repetitions for startup")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--tree", type=Path, help="benchmark this folder (copied first) instead of a generated one")
    source.add_argument("--django", action="store_true", help="benchmark the django/ package of the Django sdist")
    parser.add_argument("--django-version", default=DJANGO_VERSION)
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"download cache (default {DEFAULT_CACHE})"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.tree is not None and not args.tree.is_dir():
        parser.error(f"--tree {args.tree} is not a folder")
    opts = Options(args.lines, args.repeat, args.startup_repeat, args.tree, args.django, args.django_version,
                   args.cache_dir.expanduser())  # fmt: skip
    tools = ", ".join(f"{tool} {metadata.version(tool)}" for tool in ("gatekeeper", "bandit", "semgrep"))
    print(f"# {date.today()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, {tools}, repeat {opts.repeat}")
    for name in args.names or list(BENCHMARKS):
        print_result(name, BENCHMARKS[name](opts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
