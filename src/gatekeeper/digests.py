"""File digests, read in blocks so a large report or artifact never sits in memory whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Lowercase hex sha256 of a file's bytes; ``OSError`` is left to the caller to word."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
