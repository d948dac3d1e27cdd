"""``diff_policies``: a semantic diff of two resolved policies (issue 12)."""

from __future__ import annotations

from datetime import date

from gatekeeper.policy import load_policy
from gatekeeper.policy.diff import DiffItem, diff_policies

TODAY = date(2026, 5, 1)


def load(ref):  # type: ignore[no-untyped-def]
    return load_policy(ref, entry_points=False).policy


def items(diff) -> set[tuple[str, str, str, str | None]]:  # type: ignore[no-untyped-def]
    return {(i.kind, i.subject, i.change, i.aspect) for i in diff.items}


def test_default_to_strict_only_tightens() -> None:
    diff = diff_policies(load("builtin:default"), load("builtin:strict"), today=TODAY)
    got = items(diff)
    assert ("policy", "allow_weaker_mode", "tightened", None) in got
    assert ("policy", "max_waiver_days", "tightened", None) in got
    assert ("rule", "tests-pass", "tightened", "on_skipped") in got
    assert ("rule", "line-coverage", "added", None) in got and ("check", "coverage", "added", None) in got
    assert not diff.loosened


def test_strict_to_default_loosens_and_says_what() -> None:
    diff = diff_policies(load("builtin:strict"), load("builtin:default"), today=TODAY)
    got = items(diff)
    assert ("rule", "no-secrets", "removed", None) in got
    assert ("check", "secrets", "removed", None) in got
    assert ("rule", "tests-pass", "loosened", "on_skipped") in got
    assert diff.loosened
    assert all(i.loosens for i in diff.items if i.change in ("removed", "loosened"))


def test_identical_policies_have_no_differences() -> None:
    diff = diff_policies(load("builtin:strict"), load("builtin:strict"), today=TODAY)
    assert diff.items == [] and not diff.loosened
    assert "no differences" in diff.render_text("a", "b")


def test_edited_copy_thresholds_modes_and_waivers(write_policy) -> None:
    old = write_policy(
        """\
        version: 1
        extends: ["builtin:strict"]
        waivers:
          - {rule: line-coverage, reason: legacy, owner: team, expires: 2026-06-01}
          - {rule: diff-coverage, reason: legacy, owner: team, expires: 2026-06-01}
          - {rule: tests-pass, reason: flaky, owner: team, expires: 2026-04-01}
        """,
        name="old.yaml",
    )
    new = write_policy(
        """\
        version: 1
        extends: ["builtin:strict"]
        rules:
          - {id: line-coverage, check: coverage, require: ["line_rate >= 0.70"], on_error: warn}
          - {id: diff-coverage, check: diff-coverage, require: ["0.95 <= diff_line_rate"]}
        waivers:
          - {rule: line-coverage, reason: legacy, owner: team, expires: 2026-07-01}
          - {rule: tests-pass, reason: flaky, owner: team, expires: 2026-04-01}
          - {rule: known-licenses, match: {finding: foo}, reason: r, owner: o, expires: 2026-05-20}
        """,
        name="new.yaml",
    )
    diff = diff_policies(load(old), load(new), today=TODAY)
    by_key = {(i.subject, i.change, i.aspect): i for i in diff.items}
    loosened = by_key[("line-coverage", "loosened", "require")]
    assert (loosened.old, loosened.new, loosened.loosens) == ("'line_rate >= 0.80'", "'line_rate >= 0.70'", True)
    assert by_key[("line-coverage", "loosened", "on_error")].new == "'warn'"
    assert ("diff-coverage", "tightened", "require") in by_key  # parsed: 0.95 <= x is x >= 0.95
    assert by_key[("line-coverage (whole rule)", "extended", "expires")].new == "2026-07-01"
    assert ("diff-coverage (whole rule)", "removed", "expires") in by_key
    assert by_key[("known-licenses (finding=foo)", "added", "expires")].loosens
    assert ("tests-pass (whole rule)", "expired", "expires") in by_key
    assert diff.loosened
    text = diff.render_text("old.yaml", "new.yaml")
    assert "Rules:\n" in text and "Waivers:\n" in text
    assert "  ~ line-coverage: require loosened: 'line_rate >= 0.80' -> 'line_rate >= 0.70' [loosens]" in text


def test_a_changed_check_option_counts_as_loosened(write_policy) -> None:
    new = write_policy(
        'version: 1\nextends: ["builtin:default"]\nchecks:\n  python-security: {uses: bandit, with: {paths: [src]}, timeout: 900}\n'
    )
    diff = diff_policies(load("builtin:default"), load(new), today=TODAY)
    (item,) = diff.items
    assert item == DiffItem(
        "check", "python-security", "loosened", "with", '{"paths": ["."]}', '{"paths": ["src"]}', True
    )


def test_json_is_stable() -> None:
    diff = diff_policies(load("builtin:strict"), load("builtin:default"), today=TODAY)
    data = diff.to_json()
    assert set(data) == {"schema_version", "old", "new", "today", "loosened", "summary", "changes"}
    assert data["schema_version"] == 1 and data["loosened"] is True and data["today"] == "2026-05-01"
    assert set(data["changes"][0]) == {"kind", "subject", "change", "aspect", "old", "new", "loosens"}
    assert data == diff_policies(load("builtin:strict"), load("builtin:default"), today=TODAY).to_json()
