"""Every CI reporter on the fixed verdict, byte for byte.

To accept an intended change: ``GATEKEEPER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reporters -k golden``,
then review ``git diff tests/data/golden``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reporters_support import SOURCE_ROOT

from gatekeeper import Verdict
from gatekeeper.plugins import load_plugins
from gatekeeper.reporters import render
from gatekeeper.reporters.base import RenderOptions
from gatekeeper.reporters.github import render_summary

FORMATS = {
    "sarif": "report.sarif",
    "junit": "junit.xml",
    "github": "github-annotations.txt",
    "gitlab": "gl-code-quality-report.json",
    "azure": "azure-logissue.txt",
    "markdown": "comment.md",
    "html": "report.html",
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_golden(
    name: str, ci_verdict: Verdict, golden: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEKEEPER_SARIF_CATEGORY", raising=False)
    options = RenderOptions(source_root=SOURCE_ROOT) if name == "html" else RenderOptions()
    text = render(ci_verdict, name, load_plugins(entry_points=False), options)
    golden(FORMATS[name], text)
    assert text == render(ci_verdict, name, load_plugins(entry_points=False), options), "render is pure"


def test_golden_github_summary(ci_verdict: Verdict, golden: Callable[[str, str], None]) -> None:
    options = RenderOptions(link_base="https://github.com/acme/service/blob/89abcdef0123456789abcdef0123456789abcdef/")
    golden("github-step-summary.md", render_summary(ci_verdict, options))


def test_every_format_is_registered_as_a_builtin_plugin() -> None:
    plugins = load_plugins(entry_points=False)
    assert set(FORMATS) | {"json", "text"} <= set(plugins.reporters)
    for name in FORMATS:
        assert plugins.provided_by[("reporter", name)].source == "builtin"
        assert plugins.reporters[name].description
