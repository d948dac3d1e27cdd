"""The policy digest: a fingerprint of what the resolved policy means, not of how its YAML is written."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from gatekeeper.policy import load_policy

POLICY = """\
version: 1
name: digest-test
checks:
  sast:
    uses: bandit
    with: {paths: [src], skip: [B101]}
rules:
  - id: no-high
    check: sast
    findings: {severity: high, max: 0}
  - id: few-medium
    check: sast
    findings: {severity: medium, max: 3}
    mode: warn
waivers:
  - {rule: no-high, reason: reviewed, owner: security, expires: 2030-01-01}
"""

# The same policy: comments, blank lines, key order, flow vs block style, quoting,
# one-item lists written as strings, and defaults written out explicitly.
SAME_POLICY_RESTYLED = """\
# A comment at the top.
name: "digest-test"     # quoted this time
version: 1
mode: enforce           # the default, written out
allow_weaker_mode: false

rules:
  - findings:
      max: 0
      severity: high
    check: [sast]
    id: no-high

  - {mode: warn, id: few-medium, findings: {max: 3, severity: medium}, check: 'sast'}
checks:
  sast: {with: {skip: ["B101"], paths: ["src"]}, uses: bandit, timeout: 600}
waivers:
  - owner: security
    expires: 2030-01-01
    reason: reviewed
    rule: no-high
"""


def digest_of(path: Path) -> str:
    return load_policy(path, entry_points=False).digest


def test_digest_format(write_policy) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest_of(write_policy(POLICY)))


def test_digest_is_the_sha256_of_the_canonical_json(write_policy) -> None:
    resolved = load_policy(write_policy(POLICY), entry_points=False)
    assert resolved.digest == "sha256:" + hashlib.sha256(resolved.canonical_json().encode()).hexdigest()
    assert '"extends"' not in resolved.canonical_json()


def test_same_policy_loaded_twice(write_policy) -> None:
    path = write_policy(POLICY)
    assert digest_of(path) == digest_of(path)


def test_same_policy_copied_to_another_folder(write_policy, tmp_path: Path) -> None:
    path = write_policy(POLICY)
    other = tmp_path / "elsewhere" / "deeper"
    other.mkdir(parents=True)
    shutil.copy(path, other / path.name)
    assert digest_of(other / path.name) == digest_of(path)


def test_same_policy_named_relatively(write_policy, repo: Path, monkeypatch) -> None:
    path = write_policy(POLICY)
    monkeypatch.chdir(repo)
    assert digest_of(Path(path.name)) == digest_of(path)


def test_unchanged_by_comments_whitespace_key_order_and_style(write_policy) -> None:
    original = digest_of(write_policy(POLICY, name="a.yaml"))
    assert digest_of(write_policy(SAME_POLICY_RESTYLED, name="b.yaml")) == original


def test_unchanged_by_splitting_the_policy_with_extends(write_policy) -> None:
    original = digest_of(write_policy(POLICY))
    parent, _, rest = POLICY.partition("waivers:\n")
    write_policy(parent, name="shared/base.yaml")
    child = write_policy("version: 1\nextends: shared/base.yaml\nwaivers:\n" + rest, name="child.yaml")
    assert digest_of(child) == original


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("max: 0}", "max: 1}"),
        ("{severity: high", "{severity: critical"),
        ("{severity: medium, max: 3}", "{severity: medium, max: 3, ids: [B6*]}"),
        ("    mode: warn\n", "    mode: audit\n"),
        ("    mode: warn\n", ""),
        ("    mode: warn\n", "    mode: warn\n    on_error: pass\n"),
        ("  - id: few-medium\n", "  - id: few-medium\n    description: now documented\n"),
        (
            "check: sast\n    findings: {severity: medium",
            "check: sast\n    require: 'x == 0'\n    findings: {severity: medium",
        ),
        ("with: {paths: [src], skip: [B101]}", "with: {paths: [src]}"),
        ("uses: bandit\n", "uses: bandit\n    timeout: 60\n"),
        ("expires: 2030-01-01", "expires: 2030-01-02"),
        ("name: digest-test", "name: digest-test-2"),
        ("name: digest-test\n", "name: digest-test\nmode: warn\n"),
        ("name: digest-test\n", "name: digest-test\ndescription: new\n"),
    ],
)
def test_any_change_in_meaning_changes_the_digest(write_policy, old: str, new: str) -> None:
    assert POLICY.count(old) == 1
    original = digest_of(write_policy(POLICY, name="a.yaml"))
    assert digest_of(write_policy(POLICY.replace(old, new), name="b.yaml")) != original


def test_adding_a_rule_changes_the_digest(write_policy) -> None:
    original = digest_of(write_policy(POLICY, name="a.yaml"))
    extra = POLICY.replace("waivers:", "  - {id: extra, check: sast, findings: {severity: low, max: 50}}\nwaivers:")
    assert digest_of(write_policy(extra, name="b.yaml")) != original


def test_a_change_in_a_parent_changes_the_childs_digest(write_policy) -> None:
    write_policy(POLICY, name="base.yaml")
    child = write_policy("version: 1\nextends: base.yaml\n")
    before = digest_of(child)
    write_policy(POLICY.replace("max: 3", "max: 4"), name="base.yaml")
    assert digest_of(child) != before


def test_a_default_name_follows_the_file_name(write_policy) -> None:
    unnamed = POLICY.replace("name: digest-test\n", "")
    assert digest_of(write_policy(unnamed, name="one.yaml")) != digest_of(write_policy(unnamed, name="two.yaml"))
