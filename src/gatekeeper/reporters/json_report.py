"""``--format json``: the whole verdict, deterministic apart from times and durations."""

from __future__ import annotations

import json

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import Verdict
from gatekeeper.reporters.base import RenderOptions, Reporter


def render_json(verdict: Verdict, options: RenderOptions) -> str:
    return json.dumps(verdict.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("json", render_json, "The full verdict as JSON (schema_version 1).", "json")]
