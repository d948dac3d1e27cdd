"""The run history: what every ``gatekeeper run`` decided, kept in a store to list and re-decide.

    from pathlib import Path
    from gatekeeper.history import open_store

    with open_store(None, Path(".")) as store:  # --history / GATEKEEPER_HISTORY / .gatekeeper/history.db
        failing = [r.id for r in store.runs(branch="main", limit=10) if r.verdict.outcome != "pass"]

``gatekeeper run`` records each verdict (``HistoryStore.record``); a store that cannot be
written never changes the verdict. See docs/history.md.
"""

from __future__ import annotations

from gatekeeper.history.records import RunRecord
from gatekeeper.history.replay import Replay, load_replay_input, replay
from gatekeeper.history.simulate import Simulation, simulate
from gatekeeper.history.store import HistoryStore, open_store

__all__ = [
    "HistoryStore",
    "Replay",
    "RunRecord",
    "Simulation",
    "load_replay_input",
    "open_store",
    "replay",
    "simulate",
]
