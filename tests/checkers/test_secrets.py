"""The secrets checker (detect-secrets as a library) on real git repositories and plain folders.

The fake credentials are assembled at test time and written only into tmp_path, so
this file holds no string that looks like a real secret.
"""

from __future__ import annotations

import locale
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy
from gatekeeper.checkers.secrets import slug
from gatekeeper.models import CheckResult
from git_helpers import git, write

AWS_KEY = "AKI" + "A" + "Z7QW3RTY5UIOPLKJ"
GITHUB_TOKEN = "gh" + "p_" + "q1R2s3T4u5" + "V6w7X8y9Z0" + "k1L2m3N4o5" + "P6q7R8"
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIabc\n-----END RSA " + "PRIVATE KEY-----\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(
        root,
        {
            "app/settings.py": f'import os\n\nAWS_KEY = "{AWS_KEY}"\nDEBUG = False\n',
            "deploy/key.pem": PRIVATE_KEY,
            "README.md": "# demo\nNothing secret here.\n",
            ".gitignore": "gatekeeper.yaml\nlocal.env\n",
        },
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def gate(root: Path, with_: str = "{}") -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"version: 1\nchecks:\n  secrets: {{uses: secrets, with: {with_}}}\n"
        "rules:\n  - {id: no-secrets, check: secrets, findings: {max: 0}}\n"
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def check_of(verdict: Verdict) -> CheckResult:
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    return check


def test_secrets_in_tracked_files_are_found_without_their_values(repo: Path) -> None:
    write(repo, {"local.env": f"TOKEN={GITHUB_TOKEN}\n"})  # ignored by git: not scanned
    verdict = gate(repo)
    check = check_of(verdict)
    assert [(f.id, f.severity.value, f.path, f.line) for f in check.findings] == [
        ("aws-access-key", "high", "app/settings.py", 3),
        ("private-key", "high", "deploy/key.pem", 1),
    ]
    aws = check.findings[0]
    assert aws.message == (
        "AWS Access Key found (value starts AKIA…): remove it from the repository, revoke it, "
        "and load it from the environment or a secret store"
    )
    aws_type = "AWS Access Key"
    assert aws.properties == {"secret_type": aws_type}
    assert check.metrics == {"files_scanned": 4.0, "secrets": 2.0}
    assert sorted(i.path for i in check.inputs) == [".gitignore", "README.md", "app/settings.py", "deploy/key.pem"]
    assert check.tool is not None and check.tool.name == "detect-secrets" and check.tool.version
    dumped = verdict.model_dump_json()
    assert AWS_KEY not in dumped and AWS_KEY[4:12] not in dumped
    assert "MIIabc" not in dumped and GITHUB_TOKEN not in dumped
    assert verdict.outcome == "fail"


def test_fingerprint_survives_lines_moving_and_changes_with_the_secret(repo: Path) -> None:
    before = {f.id: f for f in check_of(gate(repo)).findings}
    settings = repo / "app" / "settings.py"
    settings.write_text("# a comment\n# another\n" + settings.read_text())
    after = {f.id: f for f in check_of(gate(repo)).findings}
    assert after["aws-access-key"].line == 5
    assert after["aws-access-key"].fingerprint == before["aws-access-key"].fingerprint
    settings.write_text(settings.read_text().replace(AWS_KEY, AWS_KEY[:-1] + "X"))
    changed = {f.id: f for f in check_of(gate(repo)).findings}
    assert changed["aws-access-key"].fingerprint != before["aws-access-key"].fingerprint


def test_clean_repository_passes(repo: Path) -> None:
    verdict = gate(repo, "{exclude: [deploy, app/*.py]}")
    check = check_of(verdict)
    assert check.findings == []
    assert check.metrics == {"files_scanned": 2.0, "secrets": 0.0}
    assert verdict.outcome == "pass"


def test_paths_and_allowlist_pragma(repo: Path) -> None:
    check = check_of(gate(repo, "{paths: [app]}"))
    assert [f.id for f in check.findings] == ["aws-access-key"]
    assert [i.path for i in check.inputs] == ["app/settings.py"]
    settings = repo / "app" / "settings.py"
    settings.write_text(settings.read_text().replace(f'"{AWS_KEY}"', f'"{AWS_KEY}"  # pragma: allowlist secret'))
    assert check_of(gate(repo, "{paths: [app]}")).findings == []


def test_large_and_binary_files_are_skipped_with_a_note(repo: Path) -> None:
    (repo / "blob.bin").write_bytes(b"\x00\x01" + AWS_KEY.encode() + b"\x00")
    write(repo, {"big.txt": f"key = {AWS_KEY}\n" + "x" * 5000})
    git(repo, "add", "blob.bin", "big.txt")
    check = check_of(gate(repo, "{max_file_bytes: 4000}"))
    assert check.notes == [
        f"not scanned: 1 file(s) binary (not {locale.getpreferredencoding(False)} text)",
        "not scanned: 1 file(s) larger than max_file_bytes (4000)",
    ]
    assert check.metrics["files_scanned"] == 4
    assert {f.path for f in check.findings} == {"app/settings.py", "deploy/key.pem"}


def test_not_a_git_repository_walks_the_tree(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "conf/token.txt": f"github_token = {GITHUB_TOKEN}\n",
            "node_modules/dep/index.js": f'const k = "{AWS_KEY}";\n',
            ".venv/lib/x.py": f'K = "{AWS_KEY}"\n',
        },
    )
    check = check_of(gate(tmp_path))
    assert [f.id for f in check.findings] == ["github-token"]
    assert {f.path for f in check.findings} == {"conf/token.txt"}
    assert sorted(i.path for i in check.inputs) == ["conf/token.txt", "gatekeeper.yaml"]


def test_nothing_scanned_is_an_error(repo: Path) -> None:
    verdict = gate(repo, "{exclude: ['*']}")
    assert verdict.checks[0].status == "error"
    assert "read no input" in (verdict.checks[0].error or "")
    assert verdict.outcome == "error"


def test_missing_path_is_an_error(repo: Path) -> None:
    verdict = gate(repo, "{paths: [nope]}")
    assert verdict.checks[0].error == "path 'nope' does not exist in the repository (secrets 'paths' option)"


def test_slug() -> None:
    assert slug("AWS Access Key") == "aws-access-key"
    assert slug("Public IP (ipv4)") == "public-ip-ipv4"
    assert slug("???") == "secret"
