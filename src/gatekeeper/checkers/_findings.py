"""Helpers every scanner checker shares: repository paths, fingerprints from source text, severity counts."""

from __future__ import annotations

from collections import Counter

from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import CheckError
from gatekeeper.models import Finding, Severity, fingerprint


def repo_path(ctx: CheckContext, name: str) -> str | None:
    """A tool's path as a repository-relative one, or None for a path outside the repository.

    Reports made elsewhere may carry absolute paths or ``../``; those never become a
    finding's path (keep them in the finding's properties if they matter).
    """
    if not name:
        return None
    try:
        return ctx.relpath(name)
    except CheckError:
        return None


def shown_path(ctx: CheckContext, name: str) -> str:
    """A path for a message: repository-relative when it can be, else as the tool wrote it."""
    return repo_path(ctx, name) or name


class Fingerprinter:
    """Fingerprints from the text of the flagged line, so they survive code moving up or down.

    Identical lines flagged by the same rule in one file are told apart by their order.
    """

    def __init__(self, ctx: CheckContext, tool: str):
        self.ctx, self.tool = ctx, tool
        self._lines: dict[str, list[str]] = {}
        self._seen: Counter[tuple[str, str, str]] = Counter()

    def line_text(self, path: str | None, line: int | None) -> str:
        if path is None or line is None:
            return ""
        if path not in self._lines:
            try:
                self._lines[path] = self.ctx.resolve(path).read_text(encoding="utf-8", errors="replace").splitlines()
            except (OSError, CheckError):
                self._lines[path] = []
        lines = self._lines[path]
        return lines[line - 1].strip() if 0 < line <= len(lines) else f"line {line}"

    def __call__(self, rule: str, path: str | None, line: int | None) -> str:
        text = self.line_text(path, line)
        key = (rule, path or "", text)
        self._seen[key] += 1
        return fingerprint(self.tool, rule, path, text, self._seen[key])


def severity_metrics(findings: list[Finding]) -> dict[str, float]:
    """``findings`` and ``findings_<severity>`` counts, for ``require:`` rules."""
    totals = Counter(f.severity for f in findings)
    metrics = {"findings": float(len(findings))}
    metrics.update({f"findings_{s.value}": float(totals.get(s, 0)) for s in Severity})
    return metrics
