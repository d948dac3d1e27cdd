"""The strict, library and service packs on fixture repositories: the verdicts docs/policies.md promises."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from importlib import metadata
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]


def _evidence(root: Path) -> None:
    """Everything the strict pack asks a release for, true for this small repository."""
    (root / "LICENSE").write_text("MIT License\n")
    (root / "README.md").write_text("# app\n")
    (root / "SECURITY.md").write_text("Report issues to security@example.com\n")
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text("* @acme/team\n")
    (root / "requirements.txt").write_text(f"pluggy=={metadata.version('pluggy')}\n")
    (root / "reports").mkdir()
    (root / "reports" / "junit.xml").write_text('<testsuite><testcase classname="t" name="test_token"/></testsuite>')
    lines = len((root / "app" / "handlers.py").read_text().splitlines())
    covered = "".join(f'<line number="{n}" hits="1"/>' for n in range(1, lines + 1))
    (root / "coverage.xml").write_text(
        '<?xml version="1.0"?><coverage line-rate="1" branch-rate="0" version="7"><sources><source>.</source></sources>'
        f'<packages><package name="app"><classes><class name="handlers.py" filename="app/handlers.py">'
        f"<lines>{covered}</lines></class></classes></package></packages></coverage>"
    )
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "release"], cwd=root, check=True)
    subprocess.run(["git", "update-ref", "refs/remotes/origin/main", "HEAD"], cwd=root, check=True)


@pytest.fixture
def offline_osv(osv_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip-audit in the packs asks the local OSV server with the recorded advisories, never the network."""
    monkeypatch.setenv("GATEKEEPER_OSV_URL", osv_server.url)


def _gate(pack: str, root: Path) -> Verdict:
    return evaluate(load_policy(f"builtin:{pack}", entry_points=False), root, today=date(2026, 1, 1))


def _outcomes(verdict: Verdict) -> dict[str, str]:
    return {r.id: r.outcome for r in verdict.rules}


@pytest.mark.parametrize("pack", ["strict", "library", "service"])
def test_a_repository_with_its_release_evidence_passes(pack: str, fixture_repo, offline_osv) -> None:
    root = fixture_repo("clean")
    _evidence(root)
    verdict = _gate(pack, root)
    assert verdict.outcome == "pass", [(r.id, r.reason) for r in verdict.rules if r.outcome != "pass"]
    assert _outcomes(verdict)["diff-coverage"] == "pass"  # nothing changed since origin/main: not applicable


def test_strict_without_evidence_is_an_error_not_a_pass(fixture_repo) -> None:
    verdict = _gate("strict", fixture_repo("clean"))
    outcomes = _outcomes(verdict)
    assert verdict.outcome == "error"
    assert outcomes["tests-pass"] == "error"  # no report: unlike default, strict does not let it through
    assert outcomes["line-coverage"] == "error"  # no coverage.xml
    assert outcomes["known-licenses"] == "error"  # no requirements.txt
    assert outcomes["required-files"] == "fail"
    assert outcomes["no-high-security-findings"] == "pass"


def test_strict_cannot_be_weakened_by_a_repository(tmp_path: Path) -> None:
    from gatekeeper import PolicyError

    (tmp_path / "gatekeeper.yaml").write_text("version: 1\nextends: [builtin:strict]\nmode: warn\n")
    with pytest.raises(PolicyError, match="mode: 'warn' is weaker than 'enforce' set by builtin:strict"):
        load_policy(tmp_path / "gatekeeper.yaml", entry_points=False)


@pytest.mark.parametrize(("pack", "outcome"), [("library", "fail"), ("service", "pass")])
def test_a_gpl_dependency_fails_a_library_but_not_a_service(
    pack: str, outcome: str, fixture_repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline_osv
) -> None:
    site = tmp_path / "site"
    info = site / "copyleftlib-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: copyleftlib\nVersion: 1.0\nLicense-Expression: GPL-3.0-only\n"
    )
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    root = fixture_repo("clean")
    _evidence(root)
    (root / "requirements.txt").write_text("copyleftlib==1.0\n")
    subprocess.run([*GIT, "commit", "-qam", "add a dependency"], cwd=root, check=True)
    subprocess.run(["git", "update-ref", "refs/remotes/origin/main", "HEAD"], cwd=root, check=True)
    assert _outcomes(_gate(pack, root))["known-licenses"] == outcome
