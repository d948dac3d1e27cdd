from __future__ import annotations

import json

from gatekeeper import Verdict
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.json_report import render_json


def test_json_round_trips_to_the_same_verdict(failing_verdict: Verdict) -> None:
    text = render_json(failing_verdict, RenderOptions())
    assert Verdict.model_validate_json(text) == failing_verdict


def test_json_is_stable_and_ends_with_newline(failing_verdict: Verdict) -> None:
    first = render_json(failing_verdict, RenderOptions())
    assert first == render_json(failing_verdict, RenderOptions())
    assert first.endswith("}\n")
    data = json.loads(first)
    assert list(data)[:3] == ["schema_version", "outcome", "enforced"]
    assert data["policy"]["digest"] == "sha256:" + "ab" * 32
