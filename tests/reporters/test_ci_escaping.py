"""The annotation formats (GitHub workflow commands, Azure logging commands) with hostile text.

Each parser below reads a line the way the runner or agent does, so a round trip proves
that no text from a finding can end the line, add a property or start another command.
"""

from __future__ import annotations

import re

import pytest
from reporters_support import HOSTILE

from gatekeeper import Finding, Severity, Verdict
from gatekeeper.models import CheckResult, InputFile, RuleResult
from gatekeeper.reporters import azure, github
from gatekeeper.reporters.base import RenderOptions

HOSTILE_STRINGS = [
    "100%",
    "%25 already escaped",
    "%0A not a newline",
    "%AZP25",
    "line1\nline2",
    "cr\rlf\r\n",
    "::error::injected",
    "::stop-commands::token",
    "a]b",
    "key=value;other=1",
    "##vso[task.complete result=Succeeded]done",
    "a,b:c",
    "trailing %",
    HOSTILE,
]


def parse_github(line: str) -> tuple[str, dict[str, str], str]:
    """Split ``::cmd k=v,k=v::message`` as the Actions runner does, and unescape it."""
    assert line.startswith("::") and "\n" not in line and "\r" not in line
    end = line.index("::", 2)
    info, message = line[2:end], line[end + 2 :]
    name, _, props = info.partition(" ")
    properties = {}
    for pair in filter(None, props.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = (
            value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
        )
    return name, properties, message.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def parse_azure(line: str) -> tuple[str, dict[str, str], str]:
    """Split ``##vso[area.action k=v;k=v;]message`` as the agent does, and unescape it."""
    assert line.startswith("##vso[") and "\n" not in line and "\r" not in line
    end = line.index("]")
    info, message = line[len("##vso[") : end], line[end + 1 :]
    name, _, props = info.partition(" ")
    properties = {}
    for pair in filter(None, props.split(";")):
        key, _, value = pair.partition("=")
        properties[key] = (
            value.replace("%3B", ";")
            .replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%5D", "]")
            .replace("%AZP25", "%")
        )
    return name, properties, message.replace("%0D", "\r").replace("%0A", "\n").replace("%AZP25", "%")


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_github_escaping_round_trips(text: str) -> None:
    line = github.command("error", text, file=text, line=3, col=4, title=text)
    name, properties, message = parse_github(line)
    assert (name, message) == ("error", text)
    assert properties == {"file": text, "line": "3", "col": "4", "title": text}


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_azure_escaping_round_trips(text: str) -> None:
    line = azure.logissue("warning", text, sourcepath=text, linenumber=3, code=text)
    name, properties, message = parse_azure(line)
    assert (name, message) == ("task.logissue", text)
    assert properties == {"type": "warning", "sourcepath": text, "linenumber": "3", "code": text}


def test_the_toolkit_escapes_exactly() -> None:
    assert github.escape_data("100%\r\n:,") == "100%25%0D%0A:,"
    assert github.escape_property("100%\r\n:,") == "100%25%0D%0A%3A%2C"
    assert azure.escape_data("100%\r\n];") == "100%AZP25%0D%0A];"
    assert azure.escape_property("100%\r\n];") == "100%AZP25%0D%0A%5D%3B"


def _hostile_verdict(base: Verdict) -> Verdict:
    findings = [
        Finding(id=f"X{n}::,", severity=Severity.HIGH, message=text, path=f"src/{n}, a:b;c].py", line=n + 1, column=2)
        for n, text in enumerate(HOSTILE_STRINGS)
    ]
    check = CheckResult(
        name="c,:;]", uses="semgrep", status="ok", inputs=[InputFile(path="x.py", sha256="0" * 64)], findings=findings
    )
    rule = RuleResult(id="r", outcome="fail", reason="a\nb::c%]", checks=[check.name], findings=findings)
    return base.model_copy(update={"checks": [check], "rules": [rule]})


def test_every_github_line_is_one_command_that_round_trips(failing_verdict: Verdict) -> None:
    verdict = _hostile_verdict(failing_verdict)
    lines = github.render_github(verdict, RenderOptions()).splitlines()
    assert len(lines) == 1 + len(HOSTILE_STRINGS)
    rule = parse_github(lines[0])
    assert rule == ("error", {"title": "gatekeeper rule r: fail"}, "a\nb::c%]")
    parsed = [parse_github(line) for line in lines[1:]]
    by_line = {int(p["line"]): (p, m) for _, p, m in parsed}
    for n, text in enumerate(HOSTILE_STRINGS):
        properties, message = by_line[n + 1]
        assert message == text.strip()
        assert properties["file"] == f"src/{n}, a:b;c].py"
        assert properties["title"].startswith(f"X{n}::, [high] (c,:;]; rule r)")


def test_every_azure_line_is_one_command_that_round_trips(failing_verdict: Verdict) -> None:
    verdict = _hostile_verdict(failing_verdict)
    lines = azure.render_azure(verdict, RenderOptions()).splitlines()
    assert len(lines) == 1 + len(HOSTILE_STRINGS)
    assert parse_azure(lines[0]) == (
        "task.logissue",
        {"type": "error", "code": "gatekeeper/r"},
        "gatekeeper rule r: fail: a\nb::c%]",
    )
    for line in lines[1:]:
        _, properties, message = parse_azure(line)
        n = int(properties["linenumber"]) - 1
        assert properties["sourcepath"] == f"src/{n}, a:b;c].py"
        assert properties["code"] == f"semgrep/X{n}::,"
        assert message.startswith(f"X{n}::, [high] {HOSTILE_STRINGS[n].strip()}")


def test_github_annotations_are_most_severe_first(ci_verdict: Verdict) -> None:
    lines = github.render_github(ci_verdict, RenderOptions()).splitlines()
    levels = [parse_github(line)[0] for line in lines]
    assert levels == sorted(levels, key=["error", "warning", "notice"].index)
    findings = [parse_github(line) for line in lines if "file" in parse_github(line)[1]]
    severities = [re.search(r"\[(\w+)\]", p["title"]).group(1) for _, p, _ in findings]  # type: ignore[union-attr]
    rank = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
    assert severities == sorted(severities, key=rank.index)
    assert severities[0] == "critical"
    assert not any("B105" in line for line in lines), "waived findings are not annotated"
    assert parse_github(lines[0])[1] == {"title": "gatekeeper rule secrets-scan: error"}


def test_rules_not_enforced_are_notices(ci_verdict: Verdict) -> None:
    audit = ci_verdict.model_copy(update={"enforced": False, "mode": "audit"})
    rule_lines = [parse_github(line) for line in github.render_github(audit, RenderOptions()).splitlines()]
    assert {name for name, props, _ in rule_lines if "file" not in props} == {"notice"}
    azure_rules = [parse_azure(line) for line in azure.render_azure(audit, RenderOptions()).splitlines()]
    assert {p["type"] for _, p, _ in azure_rules if "sourcepath" not in p} == {"warning"}


def test_a_passing_verdict_without_findings_writes_nothing(failing_verdict: Verdict) -> None:
    clean = failing_verdict.model_copy(update={"outcome": "pass", "rules": failing_verdict.rules[:1], "checks": []})
    assert github.render_github(clean, RenderOptions()) == ""
    assert azure.render_azure(clean, RenderOptions()) == ""
