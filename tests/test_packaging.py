"""The wheel ships the built-in policy packs, the init template and py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_contains_policies_and_templates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("gatekeeper-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packs = {f"gatekeeper/policies/{p.name}" for p in (ROOT / "policies").glob("*.yaml")}
    assert packs and packs <= names
    assert {"gatekeeper/templates/starter.yaml", "gatekeeper/py.typed", "gatekeeper/hookspecs.py"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gatekeeper = gatekeeper.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
