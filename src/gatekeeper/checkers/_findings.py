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
    """Fingerprints from the text of the flagged line, so they survive code moving up or down, and files moving.

    A fingerprint is the tool, the rule and the flagged line's text (whitespace runs collapsed), without the
    path or line number: the same code flagged by the same rule keeps its fingerprint when lines are added
    above it or its file is renamed or moved. Identical lines flagged by the same rule are told apart by their
    order in the scan (callers pass findings sorted by path and line), so fingerprints stay unique within a
    check. When the line's text cannot be read (or is blank), the path and line number stand in for it.
    """

    def __init__(self, ctx: CheckContext, tool: str):
        self.ctx, self.tool = ctx, tool
        self._lines: dict[str, list[str]] = {}
        self._seen: Counter[tuple[str, ...]] = Counter()

    def line_text(self, path: str | None, line: int | None) -> str | None:
        """The flagged line, stripped and with whitespace runs collapsed; None when it cannot be read."""
        if path is None or line is None:
            return None
        if path not in self._lines:
            try:
                self._lines[path] = self.ctx.resolve(path).read_text(encoding="utf-8", errors="replace").splitlines()
            except (OSError, CheckError):
                self._lines[path] = []
        lines = self._lines[path]
        return " ".join(lines[line - 1].split()) if 0 < line <= len(lines) else None

    def __call__(self, rule: str, path: str | None, line: int | None) -> str:
        text = self.line_text(path, line)
        if text:
            return self.numbered(rule, text)
        return self.numbered(rule, path or "", "" if line is None else f"line {line}")

    def numbered(self, *parts: str) -> str:
        """``fingerprint(tool, *parts, n)``, n counting the findings with the same parts so far."""
        self._seen[parts] += 1
        return fingerprint(self.tool, *parts, self._seen[parts])


def severity_metrics(findings: list[Finding]) -> dict[str, float]:
    """``findings`` and ``findings_<severity>`` counts, for ``require:`` rules."""
    totals = Counter(f.severity for f in findings)
    metrics = {"findings": float(len(findings))}
    metrics.update({f"findings_{s.value}": float(totals.get(s, 0)) for s in Severity})
    return metrics
