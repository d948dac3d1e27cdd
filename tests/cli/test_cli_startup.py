"""`gatekeeper --version` and building the parser import nothing heavy (issue 11: start-up cost).

Checked by what is imported, not by timing: a module-level import of pydantic, SQLAlchemy or a
checker in any command's parser module would put it back on every start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["pydantic", "sqlalchemy", "rich", "lxml", "ruamel", "pluggy", "gatekeeper.plugins", "gatekeeper.policy"]


def test_building_the_parser_and_version_import_nothing_heavy() -> None:
    script = (
        "import sys, json\n"
        "from gatekeeper.cli.main import build_parser\n"
        "build_parser()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_version_prints_without_loading_the_library() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gatekeeper", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("gatekeeper ")
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
