"""``--format gitlab``: a GitLab Code Quality report (``artifacts:reports:codequality``).

A JSON array with one issue per finding that is not waived: ``description``, ``check_name``
(``<checker>/<finding id>``), ``fingerprint``, ``severity`` and ``location`` (``path``
relative to the repository root, ``lines.begin``, 1-based).

- Severity: info -> info, low -> minor, medium -> major, high -> critical, critical -> blocker.
- Fingerprint: a hash of the checker, the finding's stable fingerprint (which leaves out line
  numbers, so it survives unrelated edits) and, for findings that share one, their rank among
  them. So it is unique in the report and the same across commits, which is how GitLab
  tells new issues from fixed ones in a merge request.
- A finding without a file is placed at its check's first input file, line 1. A finding
  that has neither cannot be placed and is left out (the JSON report keeps it).
- Waived findings are left out: GitLab has no notion of an accepted issue.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import Severity, Verdict
from gatekeeper.reporters._common import collect
from gatekeeper.reporters.base import RenderOptions, Reporter

SEVERITY = {
    Severity.INFO: "info",
    Severity.LOW: "minor",
    Severity.MEDIUM: "major",
    Severity.HIGH: "critical",
    Severity.CRITICAL: "blocker",
}


def build_gitlab(verdict: Verdict) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    occurrences: dict[tuple[str, str], int] = {}
    for item in collect(verdict):
        if item.suppressed or item.location is None:
            continue
        finding, loc = item.finding, item.location
        seen = occurrences.get((item.uses, finding.fingerprint), 0)
        occurrences[(item.uses, finding.fingerprint)] = seen + 1
        digest = hashlib.sha256(f"gatekeeper\x1f{item.uses}\x1f{finding.fingerprint}\x1f{seen}".encode()).hexdigest()
        description = finding.message.strip() or finding.id
        if not loc.exact:
            description += " (no file in the repository: shown at the check's input file)"
        issues.append(
            {
                "description": description,
                "check_name": f"{item.uses}/{finding.id}",
                "fingerprint": digest[:32],
                "severity": SEVERITY[finding.severity],
                "location": {"path": loc.path, "lines": {"begin": loc.line or 1}},
            }
        )
    return issues


def render_gitlab(verdict: Verdict, options: RenderOptions) -> str:
    return json.dumps(build_gitlab(verdict), indent=2, ensure_ascii=False) + "\n"


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [Reporter("gitlab", render_gitlab, "GitLab Code Quality JSON (artifacts:reports:codequality).", "json")]
