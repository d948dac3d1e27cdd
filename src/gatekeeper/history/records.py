"""What the history store keeps for one run: the verdict and the resolved policy that decided it.

The verdict already carries the normalised per-check results (findings, metrics, status, tool
versions, durations), and the policy is its canonical JSON (``ResolvedPolicy.canonical_json()``,
whose sha256 is ``verdict.policy.digest``): together they are enough to re-decide the verdict
later without running any tool (``gatekeeper replay``) or to decide it under another policy
(``gatekeeper simulate``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gatekeeper.models import Verdict


class RunRecord(BaseModel):
    """One recorded ``gatekeeper run``."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="The store's run id (what `gatekeeper replay RUN` takes).")
    recorded_at: datetime
    verdict: Verdict
    policy: dict[str, Any] = Field(description="The resolved policy's canonical JSON, parsed.")
