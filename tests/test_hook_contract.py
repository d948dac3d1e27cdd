"""The plugin contract stays honest: every hook is documented with its exact signature and tested.

Read from the source text (``ast``), so a changed parameter or return type in ``hookspecs.py``
fails here until ``docs/plugins.md`` says the same.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gatekeeper import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "plugins.md"


def _hookspecs() -> dict[str, str]:
    """Hook name -> ``def name(args) -> returns:`` as written in hookspecs.py."""
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    specs = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(ast.unparse(d) == "hookspec" for d in node.decorator_list):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            specs[node.name] = f"def {node.name}({ast.unparse(node.args)}){returns}:"
    return specs


def _documented() -> dict[str, str]:
    """Hook name -> the first line of the python block under its ``### `name` `` heading."""
    text = DOC.read_text(encoding="utf-8")
    found = {}
    for match in re.finditer(r"^### `(gatekeeper_\w+)`\n+```python\n(.+?)\n", text, re.MULTILINE):
        found[match.group(1)] = match.group(2).strip()
    return found


SPECS = _hookspecs()


def test_the_contract_module_is_read() -> None:
    assert set(SPECS) == {
        name for name in dir(hookspecs) if name.startswith("gatekeeper_") and callable(getattr(hookspecs, name))
    }
    assert len(SPECS) >= 5


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_is_documented_with_its_exact_signature(hook: str) -> None:
    documented = _documented()
    assert hook in documented, f"docs/plugins.md has no '### `{hook}`' section with a python signature block"
    assert documented[hook] == SPECS[hook]


def test_the_docs_describe_no_hook_that_does_not_exist() -> None:
    assert set(_documented()) <= set(SPECS)


def _implementations() -> dict[str, list[Path]]:
    """Which test files (and the test plugins under tests/data) implement each hook."""
    places = [ROOT / "tests", *(ROOT / "plugins").glob("*/tests")]
    where: dict[str, list[Path]] = {hook: [] for hook in SPECS}
    for folder in places:
        for path in folder.rglob("*.py"):
            if "build" in path.relative_to(folder).parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for hook in SPECS:
                if re.search(rf"def {hook}\(", text) or re.search(rf"\b{hook}\s*=", text):
                    where[hook].append(path)
    return where


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_has_a_test_plugin_implementing_it(hook: str) -> None:
    assert _implementations()[hook], f"no test or example plugin implements {hook}; add one with a test"
