"""gatekeeper-changelog on real git repositories, through gatekeeper's plugin test kit.

The plugin is used as users get it: installed, found through its entry point ``changelog``
(``pip install -e plugins/gatekeeper-changelog``). Each repository starts with a commit on
``main`` and the change under test on a branch ``feature``, compared with ``base: main``;
one test compares with the default ``origin/main`` of a real (local, bare) remote.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import gatekeeper_changelog
import pytest
from gatekeeper_changelog import ChangelogOptions

import gatekeeper
from gatekeeper import CheckContext, CheckError, PolicyError, fingerprint
from gatekeeper.testing import GitRepo

if not any(ep.name == "changelog" for ep in entry_points(group="gatekeeper")):
    pytest.fail(
        "gatekeeper-changelog is importable but not installed: run `pip install -e plugins/gatekeeper-changelog`",
        pytrace=False,
    )

RunChecker = Callable[..., gatekeeper.CheckResult]
Cli = Callable[..., "subprocess.CompletedProcess[str]"]

#: What the checker reads from the environment, and what would change a gate run: never inherited from CI.
ENVIRONMENT = (
    "GATEKEEPER_PR_LABELS",
    "CI_MERGE_REQUEST_LABELS",
    "GITHUB_EVENT_PATH",
    "GATEKEEPER_DISABLE_PLUGINS",
    "GATEKEEPER_HISTORY",
    "GATEKEEPER_SIGNING_KEY",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def start(repo: GitRepo, files: dict[str, str] | None = None) -> GitRepo:
    """``main`` with a changelog and some source, then switch to a new branch ``feature``."""
    repo.write({"CHANGELOG.md": "# Changes\n\n", "src/app.py": "x = 1\n", "docs/index.md": "# Docs\n", **(files or {})})
    repo.commit("start")
    return repo.branch("feature")


def check(run_checker: RunChecker, repo: GitRepo, **options: Any) -> gatekeeper.CheckResult:
    return run_checker("changelog", repo.root, {"base": "main", **options})


# ---------------------------------------------------------------------------------------------
# the requirement


def test_source_change_with_an_entry_passes(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n", "CHANGELOG.md": "# Changes\n\n- x is 2 now\n"}).commit("x is 2")

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics == {
        "changelog_lines_added": 1,
        "missing_entries": 0,
        "skipped": 0,
        "source_files_changed": 1,
    }
    assert result.findings == []
    assert [i.path for i in result.inputs] == ["CHANGELOG.md"]
    assert result.tool is not None and result.tool.name == "git" and result.tool.version
    assert any("merge-base of main and HEAD" in note for note in result.notes)


def test_source_change_without_an_entry_is_a_finding(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n", "src/util.py": "y = 1\n"}).commit("x is 2")

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics["missing_entries"] == 1
    assert result.metrics["skipped"] == 0
    assert result.metrics["source_files_changed"] == 2
    assert result.metrics["changelog_lines_added"] == 0
    [finding] = result.findings
    assert finding.id == "CHANGELOG001"
    assert finding.severity == gatekeeper.Severity.MEDIUM
    assert finding.path == "CHANGELOG.md"
    assert "src/app.py, src/util.py" in finding.message
    assert "label the pull/merge request 'no-changelog'" in finding.message
    assert "'No-Changelog: <reason>' trailer" in finding.message
    assert finding.fingerprint == fingerprint("CHANGELOG001", "CHANGELOG.md", "src/app.py", "src/util.py")
    assert finding.properties["base"] == "main"
    assert finding.properties["merge_base"] == gk_repo.git("rev-parse", "main")


def test_the_gate_fails_on_a_missing_entry_and_passes_with_one(
    gk_repo: GitRepo, gk_policy: Callable[..., gatekeeper.ResolvedPolicy]
) -> None:
    policy = gk_policy(
        {
            "name": "changelog-gate",
            "checks": {"changelog": {"uses": "changelog", "with": {"base": "main"}}},
            "rules": [{"id": "changelog-entry", "check": "changelog", "require": ["missing_entries == 0"]}],
        }
    )
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")

    failed = gatekeeper.evaluate(policy, gk_repo.root, jobs=1)
    assert failed.outcome == "fail"
    assert failed.rules[0].outcome == "fail"

    gk_repo.write({"CHANGELOG.md": "# Changes\n\n- x is 2 now\n"}).commit("changelog")
    passed = gatekeeper.evaluate(policy, gk_repo.root, jobs=1)
    assert passed.outcome == "pass"
    assert passed.checks[0].inputs[0].path == "CHANGELOG.md"


def test_the_message_names_at_most_five_files(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({f"src/m{i}.py": "" for i in range(7)}).commit("seven modules")

    [finding] = check(gk_run_checker, gk_repo).findings

    assert "7 file(s) matching src/**" in finding.message
    assert "src/m0.py, src/m1.py, src/m2.py, src/m3.py, src/m4.py and 2 more" in finding.message
    assert "src/m5.py" not in finding.message


def test_a_docs_only_change_needs_no_entry(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"docs/index.md": "# Docs\n\nMore.\n", "README.md": "hello\n"}).commit("docs")

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics == {
        "changelog_lines_added": 0,
        "missing_entries": 0,
        "skipped": 0,
        "source_files_changed": 0,
    }
    assert result.findings == []
    assert any("no changed file matches src/**" in note for note in result.notes)


def test_no_commit_since_the_base_needs_no_entry(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)  # HEAD is main: the change is empty

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics["missing_entries"] == 0
    assert result.metrics["source_files_changed"] == 0


def test_only_committed_changes_count(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")
    gk_repo.write({"CHANGELOG.md": "# Changes\n\n- not committed yet\n"})  # in the working tree only

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["changelog_lines_added"] == 0
    assert result.metrics["missing_entries"] == 1


def test_the_change_starts_at_the_merge_base_not_at_the_tip_of_base(
    gk_repo: GitRepo, gk_run_checker: RunChecker
) -> None:
    start(gk_repo)
    gk_repo.write({"docs/index.md": "# Docs v2\n"}).commit("docs only on the branch")
    gk_repo.git("checkout", "-q", "main")
    gk_repo.write({"src/app.py": "x = 3\n"}).commit("main moved on (its own source change)")
    gk_repo.git("checkout", "-q", "feature")

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["source_files_changed"] == 0  # main's src/ change is not part of this change
    assert result.metrics["missing_entries"] == 0


def test_deleted_and_renamed_source_files_count(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo, {"src/old.py": "import os\n\nprint(os.sep)\n", "src/gone.py": "gone = True\n"})
    gk_repo.write({"lib/new.py": "import os\n\nprint(os.sep)\n"})  # renamed out of src/: the old name matches
    gk_repo.remove("src/old.py", "src/gone.py").commit("move one, delete one")

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["source_files_changed"] == 2
    [finding] = result.findings
    assert "src/gone.py, src/old.py -> lib/new.py" in finding.message


def test_a_rename_into_the_paths_counts(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo, {"scripts/tool.py": "import sys\n\nprint(sys.argv)\n"})
    gk_repo.write({"src/tool.py": "import sys\n\nprint(sys.argv)\n"}).remove("scripts/tool.py")
    gk_repo.commit("move the tool into the package")

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["source_files_changed"] == 1
    assert "scripts/tool.py -> src/tool.py" in result.findings[0].message


def test_the_changelog_itself_is_never_a_source_file(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"CHANGELOG.md": "# Changelog\n"}).commit("retitle: a line removed, a line added")

    result = check(gk_run_checker, gk_repo, paths=["**"])

    assert result.metrics["source_files_changed"] == 0
    assert result.metrics["changelog_lines_added"] == 1


def test_custom_paths_and_changelog(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo, {"docs/CHANGES.rst": "Changes\n=======\n"})
    gk_repo.write({"lib/core/api/v1.py": "v = 1\n", "docs/CHANGES.rst": "Changes\n=======\n\n* v1\n"}).commit("v1")

    result = check(gk_run_checker, gk_repo, paths=["lib/**/api/*.py"], changelog="./docs/CHANGES.rst")

    assert result.metrics["source_files_changed"] == 1
    assert result.metrics["changelog_lines_added"] == 2
    assert result.metrics["missing_entries"] == 0
    assert [i.path for i in result.inputs] == ["docs/CHANGES.rst"]


def test_a_missing_changelog_file_is_a_missing_entry(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    gk_repo.write({"src/app.py": "x = 1\n"}).commit("start, without a changelog")
    gk_repo.branch("feature").write({"src/app.py": "x = 2\n"}).commit("x is 2")

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics["missing_entries"] == 1
    assert result.inputs == []
    assert any("CHANGELOG.md does not exist" in note for note in result.notes)


def test_a_checked_subfolder_has_its_own_paths_and_changelog(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    gk_repo.write({"services/api/CHANGELOG.md": "# API\n", "services/api/src/app.py": "x = 1\n", "src/root.py": ""})
    gk_repo.commit("start a monorepo")
    gk_repo.branch("feature").write({"src/root.py": "changed = True\n"}).commit("outside the checked folder")

    result = gk_run_checker("changelog", gk_repo.root / "services" / "api", {"base": "main"})

    assert result.status == "ok", result.error
    assert result.metrics["source_files_changed"] == 0

    gk_repo.write({"services/api/src/app.py": "x = 2\n"}).commit("inside it")
    result = gk_run_checker("changelog", gk_repo.root / "services" / "api", {"base": "main"})
    assert result.metrics["source_files_changed"] == 1
    assert result.findings[0].path == "CHANGELOG.md"
    assert "src/app.py" in result.findings[0].message


# ---------------------------------------------------------------------------------------------
# globs


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("src/**", "src/app.py", True),
        ("src/**", "src/pkg/deep/mod.py", True),
        ("src/**", "src", False),  # a trailing /** matches what is inside, not the name itself
        ("src/**", "lib/src/app.py", False),  # anchored: has a '/'
        ("src/**", "srcx/app.py", False),
        ("/src/**", "src/app.py", True),
        ("**/*.py", "app.py", True),  # **/ matches zero folders too
        ("**/*.py", "a/b/c/app.py", True),
        ("**/*.py", "a/b/c/app.pyc", False),
        ("lib/**/api/*.py", "lib/api/v1.py", True),
        ("lib/**/api/*.py", "lib/x/y/api/v1.py", True),
        ("lib/**/api/*.py", "lib/x/y/api/sub/v1.py", False),  # '*' never crosses '/'
        ("lib/*.py", "lib/sub/mod.py", False),
        ("*.py", "deep/down/mod.py", True),  # no '/': any depth, like .gitignore
        ("*.py", "deep/down/mod.txt", False),
        ("src", "src/app.py", True),  # a matching folder covers what is below it
        ("src", "lib/src/app.py", True),
        ("src/", "src/app.py", True),
        ("src/", "src", False),  # a trailing '/' matches folders only
        ("src/pkg", "src/pkg/mod.py", True),
        ("a/**/b/**", "a/b/c", True),
        ("a/**/**/b", "a/x/b", True),
        ("m?d.py", "src/mod.py", True),
        ("m?d.py", "src/mood.py", False),
        ("[mn]od.py", "nod.py", True),
        ("[!m]od.py", "mod.py", False),
        ("[^m]od.py", "nod.py", True),
        ("[^m]od.py", "mod.py", False),
        ("[]]x", "]x", True),
        ("SRC/**", "src/app.py", False),  # case-sensitive, as git is
        (".github/**", ".github/workflows/ci.yml", True),
        ("*", ".hidden", True),
    ],
)
def test_glob_matching(pattern: str, path: str, expected: bool) -> None:
    assert ChangelogOptions(paths=[pattern]).path_spec().match_file(path) is expected


@pytest.mark.parametrize(
    ("paths", "path", "expected"),
    [
        (["src/**", "!src/keep.py"], "src/keep.py", False),
        (["src/**", "!src/keep.py"], "src/other.py", True),
        (["src/**", "!**/*.md"], "src/readme.md", False),
        (["src/**", "!src/gen/", "!src/gen/**"], "src/gen/deep/x.py", False),
        (["src/**", "!src/gen/**", "src/gen/keep.py"], "src/gen/keep.py", True),  # the last match decides
        # git would still ignore this file (its folder src/gen matches src/**, and git cannot re-include a
        # file whose folder is excluded); pathspec takes it back, as documented in the README
        (["src/**", "!src/gen/**"], "src/gen/x.py", False),
    ],
)
def test_negation_takes_back_what_an_earlier_glob_matched(paths: list[str], path: str, expected: bool) -> None:
    assert ChangelogOptions(paths=paths).path_spec().match_file(path) is expected


def test_double_star_in_a_policy(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"pkg/a/b/c/deep.py": "", "pkg/a/b/c/deep.txt": "", "notes.txt": ""}).commit("deep")

    result = check(gk_run_checker, gk_repo, paths=["pkg/**/*.py"])

    assert result.metrics["source_files_changed"] == 1
    assert "pkg/a/b/c/deep.py)" in result.findings[0].message


def test_negation_in_a_policy(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/generated/schema.py": "", "src/generated/deep/api.py": ""}).commit("regenerate")

    result = check(gk_run_checker, gk_repo, paths=["src/**", "!src/generated/**"])

    assert result.status == "ok", result.error
    assert result.metrics["source_files_changed"] == 0
    assert result.metrics["missing_entries"] == 0

    gk_repo.write({"src/app.py": "x = 2\n"}).commit("hand-written")
    result = check(gk_run_checker, gk_repo, paths=["src/**", "!src/generated/**"])
    assert result.metrics["source_files_changed"] == 1
    assert "(src/app.py)" in result.findings[0].message


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"paths": ["!src/**"]}, "so it cannot come first"),
        ({"paths": ["!src/gen/**", "src/**"]}, "so it cannot come first"),
        ({"paths": ["src/../lib"]}, "'..' segments are not allowed"),
        ({"paths": ["src//app.py"]}, "empty, '.' and '..' segments are not allowed"),
        ({"paths": []}, "at least 1 item"),
        ({"paths": [""]}, "must not be empty"),
        ({"paths": ["src/**", "!"]}, "must not be empty"),
        ({"paths": ["src\\*.py"]}, "is not supported"),
        ({"paths": ["[[:alpha:]]*.py"]}, "POSIX classes"),
        ({"paths": ["[z-a].py"]}, "not a valid .gitignore pattern"),
        ({"paths": ["# src/**"]}, "matches nothing"),
        ({"paths": ["a[b"]}, "matches nothing"),  # git drops a pattern with an unclosed '['
        ({"changelog": "../CHANGELOG.md"}, "relative to the repository root"),
        ({"changelog": "/etc/CHANGELOG.md"}, "relative to the repository root"),
        ({"base": "--output=x"}, "must name a branch"),
        ({"skip_label": "a,b"}, "must be a label name"),
        ({"skip_trailer": "No Changelog"}, "must be a git trailer key"),
        ({"skip": "no-changelog"}, "skip"),  # unknown option: extra="forbid"
    ],
)
def test_bad_options_are_a_policy_error(
    gk_policy: Callable[..., gatekeeper.ResolvedPolicy], options: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(PolicyError, match=re.escape(complaint)):
        gk_policy(
            {
                "checks": {"changelog": {"uses": "changelog", "with": options}},
                "rules": [{"id": "entry", "check": "changelog", "require": ["missing_entries == 0"]}],
            }
        )


def test_the_options_model_is_strict_and_documented() -> None:
    assert ChangelogOptions.model_config.get("extra") == "forbid"
    assert ChangelogOptions.model_config.get("frozen") is True
    defaults = ChangelogOptions()
    assert defaults.paths == ["src/**"]
    assert defaults.changelog == "CHANGELOG.md"
    assert defaults.base == "origin/main"
    assert defaults.skip_label == "no-changelog"
    assert defaults.skip_trailer == "No-Changelog"
    assert all(field.description for field in ChangelogOptions.model_fields.values())


# ---------------------------------------------------------------------------------------------
# skipping


def test_a_trailer_skips_the_requirement(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 1  # typo fixed\n"}).commit("fix a typo\n\nNo-Changelog: typo fix")
    gk_repo.write({"src/app.py": "x = 1  # typo fixed again\n"}).commit("another commit without the trailer")

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics["skipped"] == 1
    assert result.metrics["missing_entries"] == 0
    assert result.findings == []
    assert any("waived by trailer 'No-Changelog: typo fix' in commit" in note for note in result.notes)


def test_the_trailer_key_is_case_insensitive_and_configurable(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("refactor\n\nSigned-off-by: A <a@example.com>\nskip-news: internal")

    assert check(gk_run_checker, gk_repo).metrics["skipped"] == 0
    assert check(gk_run_checker, gk_repo, skip_trailer="Skip-News").metrics["skipped"] == 1


@pytest.mark.parametrize(
    "message",
    [
        "fix a typo\n\nno-changelog",  # a bare line is not a trailer
        "No-Changelog: only a subject",  # git never reads the subject line as a trailer
        "fix\n\nNo-Changelog: typo\nbut the last paragraph goes on in prose",  # not a trailer block
        "remove the no-changelog label from the docs",
    ],
)
def test_only_a_real_trailer_skips(gk_repo: GitRepo, gk_run_checker: RunChecker, message: str) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit(message)

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["skipped"] == 0
    assert result.metrics["missing_entries"] == 1


def test_a_trailer_outside_the_change_does_not_skip(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    gk_repo.write({"CHANGELOG.md": "# Changes\n", "src/app.py": ""}).commit("start\n\nNo-Changelog: initial commit")
    gk_repo.branch("feature").write({"src/app.py": "x = 2\n"}).commit("x is 2")

    assert check(gk_run_checker, gk_repo).metrics["missing_entries"] == 1


def test_gatekeeper_pr_labels_skip_the_requirement(
    gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")
    monkeypatch.setenv("GATEKEEPER_PR_LABELS", "bug, No-Changelog ,ci")

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["skipped"] == 1
    assert result.metrics["missing_entries"] == 0
    assert any("waived by label 'No-Changelog' (GATEKEEPER_PR_LABELS)" in note for note in result.notes)


def test_gitlab_merge_request_labels_skip_the_requirement(
    gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")
    monkeypatch.setenv("CI_MERGE_REQUEST_LABELS", "backend,no-changelog")

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["skipped"] == 1
    assert any("(CI_MERGE_REQUEST_LABELS)" in note for note in result.notes)


def test_other_labels_and_a_custom_label(
    gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")
    monkeypatch.setenv("GATEKEEPER_PR_LABELS", "bug,changelog-not-needed")

    assert check(gk_run_checker, gk_repo).metrics["missing_entries"] == 1
    assert check(gk_run_checker, gk_repo, skip_label="changelog-not-needed").metrics["skipped"] == 1


def test_skipping_can_be_turned_off(
    gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2\n\nNo-Changelog: please")
    monkeypatch.setenv("GATEKEEPER_PR_LABELS", "no-changelog")

    result = check(gk_run_checker, gk_repo, skip_label=None, skip_trailer=None)

    assert result.metrics["skipped"] == 0
    assert result.metrics["missing_entries"] == 1
    assert "(skipping is turned off)" in result.findings[0].message


def test_a_waiver_is_not_counted_when_an_entry_was_added(
    gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n", "CHANGELOG.md": "# Changes\n\n- x\n"}).commit("x is 2")
    monkeypatch.setenv("GATEKEEPER_PR_LABELS", "no-changelog")

    result = check(gk_run_checker, gk_repo)

    assert result.metrics["skipped"] == 0
    assert result.metrics["missing_entries"] == 0
    assert any("waiver present but not needed" in note for note in result.notes)


def github_event(folder: Path, labels: list[str] | None) -> Path:
    event: dict[str, Any] = {"action": "synchronize", "number": 7}
    if labels is not None:
        event["pull_request"] = {"number": 7, "labels": [{"id": i, "name": name} for i, name in enumerate(labels)]}
    path = folder / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


def test_a_github_pull_request_label_skips_the_requirement(
    gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(github_event(tmp_path, ["enhancement", "no-changelog"])))

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics["skipped"] == 1
    assert any("label 'no-changelog' (GITHUB_EVENT_PATH)" in note for note in result.notes)


@pytest.mark.parametrize("labels", [None, [], ["enhancement"]], ids=["push-event", "no-labels", "other-label"])
def test_a_github_event_without_the_label_does_not_skip(
    gk_repo: GitRepo,
    gk_run_checker: RunChecker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    labels: list[str] | None,
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(github_event(tmp_path, labels)))

    result = check(gk_run_checker, gk_repo)

    assert result.status == "ok", result.error
    assert result.metrics["missing_entries"] == 1


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"pull_request": {"labels": [', "not JSON"),
        ("[1, 2]", "not a GitHub event (a JSON list"),
        ('{"pull_request": {"number": 7}}', "pull_request.labels is missing or not a list"),
        ('{"pull_request": {"labels": [{"id": 1}]}}', "a pull_request.labels entry has no name"),
        ('{"pull_request": "7"}', "pull_request.labels is missing"),
        (None, "cannot read"),
    ],
    ids=["truncated", "array", "no-labels-key", "label-without-name", "bad-pull-request", "missing-file"],
)
def test_a_bad_github_event_file_is_an_error(
    gk_repo: GitRepo,
    gk_run_checker: RunChecker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    content: str | None,
    complaint: str,
) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n", "CHANGELOG.md": "# Changes\n\n- x\n"}).commit("even with an entry")
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content, encoding="utf-8")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))

    result = check(gk_run_checker, gk_repo)

    assert result.status == "error"
    assert result.error is not None
    assert result.error.startswith(f"GITHUB_EVENT_PATH {event}: ")
    assert complaint in result.error
    assert result.metrics == {}


# ---------------------------------------------------------------------------------------------
# failing closed


def test_an_unknown_base_is_an_error_that_says_what_to_fetch(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")

    default = gk_run_checker("changelog", gk_repo.root, {})  # origin/main, and there is no origin
    named = check(gk_run_checker, gk_repo, base="release/2.x")

    assert default.status == "error"
    assert default.error == (
        "base 'origin/main' not found in this repository: fetch it (e.g. `git fetch origin main`; "
        "in CI also fetch the history, e.g. fetch-depth: 0) or set `base:` on the check"
    )
    assert named.status == "error"
    assert named.error is not None and "`git fetch release 2.x`" in named.error


def test_not_a_git_repository_is_an_error(
    tmp_path: Path, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "CHANGELOG.md").write_text("# Changes\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    result = gk_run_checker("changelog", folder, {"base": "main"})

    assert result.status == "error"
    assert result.error == f"{folder} is not a git working tree; the changelog check reads the change from git history"


def test_a_repository_without_commits_is_an_error(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    result = check(gk_run_checker, gk_repo)

    assert result.status == "error"
    assert result.error is not None and result.error.startswith("HEAD is not a commit")


def test_no_common_history_is_an_error(gk_repo: GitRepo, gk_run_checker: RunChecker) -> None:
    start(gk_repo)
    gk_repo.git("checkout", "-q", "--orphan", "unrelated")
    gk_repo.write({"src/other.py": ""}).commit("a root of its own")

    result = check(gk_run_checker, gk_repo)

    assert result.status == "error"
    assert result.error is not None and "have no common history (no merge-base)" in result.error


def bare_origin(repo: GitRepo, folder: Path) -> Path:
    origin = folder / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    repo.git("remote", "add", "origin", str(origin))
    return origin


def test_the_default_base_is_origin_main_of_a_real_remote(
    gk_repo: GitRepo, gk_run_checker: RunChecker, tmp_path: Path
) -> None:
    bare_origin(gk_repo, tmp_path)
    gk_repo.write({"CHANGELOG.md": "# Changes\n", "src/app.py": "x = 1\n"}).commit("start")
    gk_repo.git("push", "-q", "origin", "main")
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("on main, not yet pushed")  # local main is ahead of origin
    gk_repo.branch("feature").write({"docs/x.md": "x\n"}).commit("docs")

    result = gk_run_checker("changelog", gk_repo.root, {})

    assert result.status == "ok", result.error
    assert result.metrics["source_files_changed"] == 1  # compared with origin/main, the unpushed commit counts
    assert result.findings[0].properties["merge_base"] == gk_repo.git("rev-parse", "origin/main")
    assert "since origin/main" in result.findings[0].message


def test_a_shallow_clone_without_the_merge_base_is_an_error(
    gk_repo: GitRepo, gk_run_checker: RunChecker, tmp_path: Path
) -> None:
    origin = bare_origin(gk_repo, tmp_path)
    gk_repo.write({"CHANGELOG.md": "# Changes\n", "src/app.py": "x = 1\n"}).commit("start")
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("main moves on")
    gk_repo.git("push", "-q", "origin", "main")
    gk_repo.git("checkout", "-q", "-b", "feature", "HEAD~1")
    gk_repo.write({"src/app.py": "x = 3\n"}).commit("the change")
    gk_repo.git("push", "-q", "origin", "feature")
    clone = tmp_path / "shallow"
    url = f"file://{origin}"  # a file:// URL, since a plain path clone ignores --depth
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", "-b", "feature", url, str(clone)], check=True
    )

    result = gk_run_checker("changelog", clone, {})

    assert result.status == "error"
    assert result.error == (
        "no merge-base of 'origin/main' and HEAD in this shallow clone: fetch more history "
        "(`git fetch --unshallow`, or fetch-depth: 0 in CI)"
    )


def test_git_missing_is_an_error(gk_repo: GitRepo, gk_run_checker: RunChecker, monkeypatch: pytest.MonkeyPatch) -> None:
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n", "CHANGELOG.md": "# Changes\n\n- x\n"}).commit("x is 2")
    monkeypatch.setenv("PATH", str(gk_repo.root / "no-such-folder"))

    result = check(gk_run_checker, gk_repo)

    assert result.status == "error"
    assert result.error == "git is not installed (or not on PATH); the changelog check reads the change from git"


def test_git_running_past_the_timeout_is_an_error(
    gk_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    start(gk_repo)
    fake = tmp_path / "bin"
    fake.mkdir()
    sleep = shutil.which("sleep")
    assert sleep is not None
    # a git that hangs, with a child process that holds the output pipes open: both must be killed
    (fake / "git").write_text(f"#!/bin/sh\n{sleep} 30 &\nwait\n", encoding="utf-8")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    ctx = CheckContext(root=gk_repo.root, check="changelog", timeout=0.5)

    started = time.monotonic()
    with pytest.raises(CheckError, match=r"^git rev-parse timed out after 0\.5s"):
        gatekeeper_changelog.run(ctx, ChangelogOptions(base="main"))
    assert time.monotonic() - started < 10


# ---------------------------------------------------------------------------------------------
# the console command


def write_policy(repo: GitRepo) -> None:
    repo.write(
        {
            "gatekeeper.yaml": textwrap.dedent(
                """\
                version: 1
                name: changelog
                checks:
                  changelog:
                    uses: changelog
                    with: {base: main}
                rules:
                  - id: changelog-entry
                    check: changelog
                    require: ["missing_entries == 0"]
                """
            )
        }
    )


def test_gatekeeper_run_exits_0_1_and_3(gk_repo: GitRepo, gk_cli: Cli) -> None:
    write_policy(gk_repo)
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")

    failed = gk_cli("run", ".", "--no-history", "--format", "json=out/verdict.json", cwd=gk_repo.root)
    assert failed.returncode == 1, failed.stderr
    verdict = json.loads((gk_repo.root / "out" / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["checks"][0]["findings"][0]["id"] == "CHANGELOG001"

    gk_repo.write({"CHANGELOG.md": "# Changes\n\n- x is 2 now\n"}).commit("changelog entry")
    passed = gk_cli("run", ".", "--no-history", cwd=gk_repo.root)
    assert passed.returncode == 0, passed.stdout + passed.stderr

    gk_repo.git("branch", "-D", "main")
    errored = gk_cli("run", ".", "--no-history", cwd=gk_repo.root)
    assert errored.returncode == 3, errored.stdout + errored.stderr
    assert "base 'main' not found in this repository" in errored.stdout + errored.stderr


def test_gatekeeper_run_skips_with_a_label_from_the_environment(gk_repo: GitRepo, gk_cli: Cli) -> None:
    write_policy(gk_repo)
    start(gk_repo)
    gk_repo.write({"src/app.py": "x = 2\n"}).commit("x is 2")

    done = gk_cli("run", ".", "--no-history", cwd=gk_repo.root, env={"GATEKEEPER_PR_LABELS": "no-changelog"})

    assert done.returncode == 0, done.stdout + done.stderr


def test_gatekeeper_plugins_lists_the_entry_point(gk_repo: GitRepo, gk_cli: Cli) -> None:
    done = gk_cli("plugins", cwd=gk_repo.root)

    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if line.split()[:2] == ["checker", "changelog"]]
    assert re.search(rf"\bchangelog\s+entry point\s+{re.escape(gatekeeper_changelog.__version__)}\s", row), row


def test_a_disabled_plugin_makes_a_policy_using_it_an_error(gk_repo: GitRepo, gk_cli: Cli) -> None:
    write_policy(gk_repo)
    start(gk_repo)

    done = gk_cli("run", ".", "--no-history", "--disable-plugin", "changelog", cwd=gk_repo.root)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "no checker 'changelog'" in done.stderr
