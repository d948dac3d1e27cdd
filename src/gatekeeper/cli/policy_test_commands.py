"""``gatekeeper policy test [PATH...]``: run policy test files, pytest-style output, optional JUnit XML.

Exit codes: 0 every case passed, 1 a case failed, 2 a bad test file (file:line), no test file
found, or a bad argument.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from gatekeeper.errors import UsageError

if TYPE_CHECKING:
    from lxml import etree

    from gatekeeper.policy.policytest import CaseResult

WIDTH = 80
FORMATS = ("text", "junit")


def add_policy_test_parser(policy_sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    test: argparse.ArgumentParser = policy_sub.add_parser(
        "test", help="run policy test files (*.gatekeeper-test.yaml): exit 0 all pass, 1 any fail, 2 a bad file"
    )
    test.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="test files or folders (default: .)")
    test.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="NAME[=FILE]",
        help="text (the default, stdout) or junit=FILE (one test case per policy test case), repeatable",
    )
    return test


def _formats(values: list[str]) -> list[tuple[str, str | None]]:
    from gatekeeper.cli.commands import parse_formats

    formats = parse_formats(values)
    for name, _ in formats:
        if name not in FORMATS:
            raise UsageError(f"unknown format {name!r} for policy test; available: {', '.join(FORMATS)}")
    if all(target is not None for _, target in formats):
        formats.insert(0, ("text", None))  # a report file goes with, not instead of, the terminal output
    return formats


def cmd_policy_test(args: argparse.Namespace) -> int:
    from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS, disabled_plugins
    from gatekeeper.cli.terminal import use_color
    from gatekeeper.policy.policytest import run_policy_tests
    from gatekeeper.reporters import write_report

    formats = _formats(args.format)
    started = datetime.now(timezone.utc)
    cases = run_policy_tests(args.paths, disabled_plugins=disabled_plugins(args))
    elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    for name, target in formats:
        text = render_text(cases, elapsed, color=use_color(sys.stdout)) if name == "text" else render_junit(cases)
        if target is None:
            _write(sys.stdout, text)
        else:
            write_report(target, render_text(cases, elapsed, color=False) if name == "text" else text)
    return EXIT_PASS if all(case.passed for case in cases) else EXIT_FAIL


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


def _rule(title: str, char: str) -> str:
    title = f" {title} "
    left = max(3, (WIDTH - len(title)) // 2)
    return f"{char * left}{title}{char * max(3, WIDTH - left - len(title))}"


def render_text(cases: list[CaseResult], elapsed: float, *, color: bool = False) -> str:
    """One line per case (``file::name PASSED``), the failing cases' tables, and a summary line."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    lines = [f"{case.nodeid} {paint('PASSED', '32') if case.passed else paint('FAILED', '31')}" for case in cases]
    failed = [case for case in cases if not case.passed]
    if failed:
        lines += ["", _rule("FAILURES", "=")]
        for case in failed:
            lines.append(_rule(case.nodeid, "_"))
            where = f"{case.file}:{case.line}" if case.line else case.file
            lines.append(f"{where}: policy {case.policy}, date {case.today.isoformat()}")
            lines.append(case.diff_table())
            lines.append("")
    passed = len(cases) - len(failed)
    counts = ", ".join(part for part in (f"{len(failed)} failed" if failed else "", f"{passed} passed") if part)
    summary = _rule(f"{counts} in {elapsed:.2f}s", "=")
    lines.append(paint(summary, "31" if failed else "32"))
    return "\n".join(lines) + "\n"


def build_junit(cases: list[CaseResult]) -> etree._Element:
    from lxml import etree

    from gatekeeper.reporters.junit_xml import _token, xml_text

    root = etree.Element("testsuites")
    files = list(dict.fromkeys(case.file for case in cases))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    for index, file in enumerate(files):
        mine = [case for case in cases if case.file == file]
        suite = etree.SubElement(
            root,
            "testsuite",
            name=_token(file),
            package="gatekeeper.policy-test",
            id=str(index),
            timestamp=stamp,
            hostname="localhost",
            tests=str(len(mine)),
            failures=str(sum(1 for case in mine if not case.passed)),
            errors="0",
            skipped="0",
            time=f"{sum(case.duration_s for case in mine):.3f}",
        )
        properties = etree.SubElement(suite, "properties")
        etree.SubElement(properties, "property", name="gatekeeper.test-file", value=xml_text(file))
        for case in mine:
            element = etree.SubElement(
                suite, "testcase", name=_token(case.name), classname=_token(file), time=f"{case.duration_s:.3f}"
            )
            if not case.passed:
                failure = etree.SubElement(
                    element, "failure", message=xml_text(case.failure_message()), type="gatekeeper.policy-test"
                )
                failure.text = xml_text(f"policy {case.policy}, date {case.today.isoformat()}\n{case.diff_table()}")
        etree.SubElement(suite, "system-out").text = ""
        etree.SubElement(suite, "system-err").text = ""
    return root


def render_junit(cases: list[CaseResult]) -> str:
    from lxml import etree

    body = etree.tostring(build_junit(cases), pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body
