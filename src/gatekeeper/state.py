"""gatekeeper's local state in a repository: ``<root>/.gatekeeper/`` (the run history, later caches).

The folder ignores itself (a ``.gitignore`` of ``*``, as ``.pytest_cache`` does), so recording a
run never turns a clean git tree dirty and nobody commits a history database by accident.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["STATE_DIR", "state_dir"]

STATE_DIR = ".gatekeeper"
_GITIGNORE = "# Created by gatekeeper: local state (run history, caches), never committed.\n*\n"


def state_dir(root: Path) -> Path:
    """``<root>/.gatekeeper/``, created with its own ``.gitignore`` if needed. Raises ``OSError``."""
    folder = Path(root) / STATE_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        # Parallel runs may all get here: each writes a private file and renames it into place.
        handle, scratch = tempfile.mkstemp(prefix=".gitignore.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(_GITIGNORE)
            os.chmod(scratch, 0o644)  # mkstemp's 0600 would surprise: it is an ordinary file
            os.replace(scratch, ignore)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
    return folder
