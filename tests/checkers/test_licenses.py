"""The licenses checker on fake site-packages built at test time."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gatekeeper import evaluate, load_policy
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.licenses import LicensesOptions, run
from gatekeeper.errors import CheckError
from gatekeeper.models import CheckOutput


def dist(root: Path, name: str, *headers: str, env: str = ".venv", version: str = "1.0") -> Path:
    """A ``name-version.dist-info/METADATA`` in ``root/env``'s site-packages, with extra header lines."""
    folder = root / env / "lib" / "python3.11" / "site-packages" / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    body = "\n".join(["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]) + "\n"
    (folder / "METADATA").write_text(body)
    return folder / "METADATA"


def check(root: Path, **options: Any) -> CheckOutput:
    options.setdefault("environment", ".venv")
    return run(CheckContext(root=root, check="licenses", timeout=60), LicensesOptions(**options))


def results(out: CheckOutput) -> list[tuple[str, str, str]]:
    return [(f.id, f.severity.value, f.message) for f in out.findings]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


def test_each_metadata_form_is_read_and_normalised_to_spdx(root: Path) -> None:
    dist(root, "expr", "License-Expression: mit OR apache-2.0", "License: GPL-3.0-only")
    dist(root, "field-apache", "License: Apache 2.0")
    dist(root, "field-mit", "License: MIT License", "Classifier: License :: OSI Approved :: GNU General Public "
         "License v3 (GPLv3)")  # fmt: skip
    dist(root, "classifier", "License: UNKNOWN", "Classifier: License :: OSI Approved :: BSD 3-Clause License",
         "Classifier: Programming Language :: Python")  # fmt: skip
    dist(root, "two-classifiers", "Classifier: License :: OSI Approved :: MIT License",
         "Classifier: License :: OSI Approved :: Apache Software License")  # fmt: skip
    out = check(root, allow=["MIT", "Apache-2.0", "BSD-3-Clause"])
    assert results(out) == []
    assert out.metrics == {"dependencies": 5.0, "allowed": 5.0, "denied": 0.0, "unknown": 0.0}
    assert sorted(i.path for i in out.inputs) == sorted(
        f".venv/lib/python3.11/site-packages/{n}-1.0.dist-info/METADATA"
        for n in ("expr", "field_apache", "field_mit", "classifier", "two_classifiers")
    )
    # What each normalised to shows when nothing is allowed but what was found.
    only_gpl = check(root, allow=["GPL-3.0-only"])
    assert results(only_gpl) == [
        ("license:classifier", "high", "classifier 1.0: licence BSD-3-Clause (Classifier) is not in the allow list"),
        ("license:expr", "high", "expr 1.0: licence MIT OR Apache-2.0 (License-Expression) is not in the allow list"),
        ("license:field-apache", "high", "field-apache 1.0: licence Apache-2.0 (License) is not in the allow list"),
        ("license:field-mit", "high", "field-mit 1.0: licence MIT (License) is not in the allow list"),
        ("license:two-classifiers", "high",
         "two-classifiers 1.0: licence MIT AND Apache-2.0 (Classifier) is not in the allow list"),
    ]  # fmt: skip
    assert only_gpl.metrics == {"dependencies": 5.0, "allowed": 0.0, "denied": 5.0, "unknown": 0.0}
    assert only_gpl.findings[1].properties == {
        "distribution": "expr", "version": "1.0", "source": "License-Expression", "license": "MIT OR Apache-2.0",
    }  # fmt: skip


def test_or_needs_one_acceptable_alternative_and_and_needs_all(root: Path) -> None:
    dist(root, "either", "License-Expression: MIT OR GPL-3.0-only")
    dist(root, "both", "License-Expression: MIT AND GPL-3.0-only")
    dist(root, "with-exception", "License-Expression: GPL-2.0-only WITH Classpath-exception-2.0")
    out = check(root, allow=["MIT", "GPL-2.0-only"], deny=["GPL-3.0-only"])
    assert results(out) == [
        ("license:both", "high", "both 1.0: licence MIT AND GPL-3.0-only (License-Expression) is denied: GPL-3.0-only")
    ]
    assert out.metrics == {"dependencies": 3.0, "allowed": 2.0, "denied": 1.0, "unknown": 0.0}
    # An empty allow list accepts everything not denied.
    assert check(root, deny=["GPL-3.0-only"]).metrics["denied"] == 1
    assert check(root).metrics == {"dependencies": 3.0, "allowed": 3.0, "denied": 0.0, "unknown": 0.0}
    # Nothing allowed for the OR: both alternatives rejected.
    assert check(root, allow=["Apache-2.0"], deny=["GPL-3.0-only"]).metrics["denied"] == 3


def test_deny_wins_over_allow(root: Path) -> None:
    dist(root, "mit", "License-Expression: MIT")
    out = check(root, allow=["MIT"], deny=["mit"])
    assert results(out) == [("license:mit", "high", "mit 1.0: licence MIT (License-Expression) is denied: MIT")]
    # An expression in a list counts every id in it.
    assert check(root, allow=["Apache-2.0 OR MIT"]).metrics["allowed"] == 1


@pytest.mark.parametrize(
    ("unknown", "expected"),
    [
        ("fail", [("license:bsd", "high"), ("license:full-text", "high"), ("license:nothing", "high"),
                  ("license:odd-expr", "high")]),
        ("warn", [("license:bsd", "low"), ("license:full-text", "low"), ("license:nothing", "low"),
                  ("license:odd-expr", "low")]),
        ("pass", []),
    ],
)  # fmt: skip
def test_unknown_licences_follow_the_unknown_policy(root: Path, unknown: str, expected: list[Any]) -> None:
    dist(root, "bsd", "License: BSD")  # ambiguous: which BSD?
    dist(root, "full-text", "License: Copyright (c) 2020 Someone", " Permission is hereby granted")
    dist(root, "nothing")
    dist(root, "odd-expr", "License-Expression: MIT OR Not-A-License", "License: MIT")  # invalid: no fallback
    out = check(root, unknown=unknown, allow=["MIT"])
    assert [(f.id, f.severity.value) for f in out.findings] == expected
    assert out.metrics == {"dependencies": 4.0, "allowed": 0.0, "denied": 0.0, "unknown": 4.0}
    if unknown == "fail":
        assert [f.message for f in out.findings] == [
            "bsd 1.0: licence unknown: License 'BSD' is not a known SPDX licence",
            "full-text 1.0: licence unknown: License 'Copyright (c) 2020 Someone' is not a known SPDX licence",
            "nothing 1.0: licence unknown: no licence in its metadata",
            "odd-expr 1.0: licence unknown: License-Expression 'MIT OR Not-A-License' is not a known SPDX licence",
        ]


def test_requirements_are_looked_up_in_the_environment(root: Path) -> None:
    dist(root, "Foo-Bar", "License-Expression: MIT")
    dist(root, "other", "License-Expression: GPL-3.0-only")
    (root / "requirements.txt").write_text(
        "# pinned\nfoo_bar==1.0 \\\n    --hash=sha256:abc  # comment\n--index-url https://example.invalid\n"
        "-r more.txt\n"
    )
    (root / "more.txt").write_text("Foo-Bar==1.0\n")
    out = check(root, requirements=["requirements.txt"], deny=["GPL-3.0-only"])
    assert out.metrics == {"dependencies": 1.0, "allowed": 1.0, "denied": 0.0, "unknown": 0.0}
    assert sorted(i.path for i in out.inputs) == [
        ".venv/lib/python3.11/site-packages/Foo_Bar-1.0.dist-info/METADATA", "more.txt", "requirements.txt",
    ]  # fmt: skip
    assert check(root, deny=["GPL-3.0-only"]).metrics["denied"] == 1  # the whole environment
    assert check(root, deny=["GPL-3.0-only"], ignore=["OTHER"]).metrics["dependencies"] == 1


def test_a_required_distribution_that_is_not_installed_is_an_error(root: Path) -> None:
    dist(root, "present", "License-Expression: MIT")
    (root / "requirements.txt").write_text("present==1.0\nabsent-pkg==2.0\n")
    with pytest.raises(CheckError, match=r"not installed in environment \.venv.*: absent-pkg$"):
        check(root, requirements=["requirements.txt"])
    (root / "requirements.txt").write_text("-e git+https://example.invalid/x.git\n")
    with pytest.raises(CheckError, match=r"requirements.txt:1: .* names no distribution"):
        check(root, requirements=["requirements.txt"])
    with pytest.raises(CheckError, match=r"requirements file nope\.txt does not exist"):
        check(root, requirements=["nope.txt"])
    with pytest.raises(CheckError, match=r"no lib/python.*site-packages"):
        check(root, environment="elsewhere")


def test_requirements_without_environment_use_the_running_python(root: Path) -> None:
    (root / "requirements.txt").write_text("pydantic\nunidiff\n")
    out = check(root, environment=None, requirements=["requirements.txt"], allow=["MIT"])
    assert out.metrics == {"dependencies": 2.0, "allowed": 2.0, "denied": 0.0, "unknown": 0.0}
    assert [i.path for i in out.inputs] == ["requirements.txt"]
    (root / "requirements.txt").write_text("surely-not-installed-gk==1\n")
    with pytest.raises(CheckError, match="not installed in the running Python"):
        check(root, environment=None, requirements=["requirements.txt"])


def test_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="set 'environment'"):
        LicensesOptions()
    with pytest.raises(ValidationError, match="'Not-A-License' is not an SPDX"):
        LicensesOptions(environment=".venv", allow=["Not-A-License"])
    with pytest.raises(ValidationError, match="Extra inputs"):
        LicensesOptions(environment=".venv", denied=["MIT"])  # type: ignore[call-arg]
    assert LicensesOptions(environment=".venv", allow=["mit", "GPL-2.0"]).allow == ["MIT", "GPL-2.0-only"]


def test_through_a_policy(root: Path) -> None:
    dist(root, "good", "License-Expression: MIT")
    dist(root, "bad", "License: GNU Affero General Public License v3")
    (root / "gatekeeper.yaml").write_text(
        "version: 1\nchecks:\n  lic: {uses: licenses, with: {environment: .venv, deny: [AGPL-3.0-only]}}\n"
        "rules:\n  - {id: licences, check: lic, findings: {severity: high, max: 0}, require: ['unknown == 0']}\n"
    )
    verdict = evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))
    result = verdict.checks[0]
    assert result.status == "ok", result.error
    assert [f.id for f in result.findings] == ["license:bad"]
    assert verdict.outcome == "fail"
