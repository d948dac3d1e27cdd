"""Real runs for the history store tests: a repository, a policy on the fake checker, parallel writers.

The verdicts come from ``gatekeeper.evaluate`` on a real policy, so the store is tested with what
``gatekeeper run`` records: findings with fingerprints, metrics, a failing and a passing rule.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

from gatekeeper import ResolvedPolicy, Verdict, evaluate, load_policy

DATA = Path(__file__).resolve().parents[1] / "data"
FAKE_PLUGIN = DATA / "plugins" / "fake_checkers.py"

POLICY = f"""
version: 1
name: store-test
plugins: ["{FAKE_PLUGIN}"]
checks:
  tests: {{uses: fake, with: {{metrics: {{failed: 2, total: 40}}}}}}
  sast:
    uses: fake
    with:
      findings:
        - {{id: B602, severity: high, path: input.txt, line: 1, message: shell call}}
        - {{id: B101, severity: low, path: input.txt, line: 3}}
rules:
  - {{id: tests-green, check: tests, require: ["failed == 0"]}}
  - {{id: no-critical, check: sast, findings: {{severity: critical, max: 0}}}}
"""


def make_repo(folder: Path, policy: str = POLICY) -> Path:
    """A repository folder with the fake checker's input file and ``gatekeeper.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.txt").write_text("evidence\n")
    (folder / "gatekeeper.yaml").write_text(textwrap.dedent(policy))
    return folder


def real_run(root: Path) -> tuple[Verdict, ResolvedPolicy]:
    """Load the repository's policy and decide it, as ``gatekeeper run`` does (without recording)."""
    policy = load_policy(root / "gatekeeper.yaml", entry_points=False)
    return evaluate(policy, root, today=date(2026, 5, 1)), policy


WRITER = """
import sys, time
from pathlib import Path
from gatekeeper.history import open_store
from gatekeeper.models import Verdict

url, root, worker, count, go, saved = sys.argv[1:7]
verdict = Verdict.model_validate_json(Path(saved, "verdict.json").read_text())


class SavedPolicy:  # the resolved policy's canonical JSON, as the parent's real run produced it
    def canonical_json(self):
        return Path(saved, "policy.json").read_text()


while not Path(go).exists():  # every writer opens the store and writes at the same moment
    time.sleep(0.005)
with open_store(url, Path(root)) as store:
    for i in range(int(count)):
        store.record(verdict.model_copy(update={"summary": f"{worker}-{i}"}), SavedPolicy())
"""


def run_writers(url: str, root: Path, workers: int, per_worker: int) -> list[subprocess.CompletedProcess[str]]:
    """``workers`` processes opening the store at once (a fresh one: its creation races too), each recording
    ``per_worker`` copies of one real run, tagged ``summary="<worker>-<i>"``."""
    verdict, policy = real_run(root)
    saved = root / "saved"
    saved.mkdir()
    (saved / "verdict.json").write_text(verdict.model_dump_json())
    (saved / "policy.json").write_text(policy.canonical_json())
    go = root / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(root), f"w{n}", str(per_worker), str(go), str(saved)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    time.sleep(1.0)  # let them start, then release them together
    go.write_text("go")
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done
