"""The pip-audit checker: the real pip-audit against a local OSV server with recorded advisories."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import Verdict, evaluate, load_policy

DATA = Path(__file__).parents[1] / "data"
VULNERABLE = "requests==2.19.0\njinja2==2.10\npyyaml==5.3\n"
CLEAN = "requests==2.32.3\njinja2==3.1.6\npyyaml==6.0.2\n"


def _gate(root: Path, with_: str = "{}", env_url: str | None = None) -> Verdict:
    (root / "gatekeeper.yaml").write_text(
        f"""
version: 1
checks:
  deps: {{uses: pip-audit, with: {with_}}}
rules:
  - {{id: no-known-vulnerabilities, check: deps, findings: {{severity: low, max: 0}}}}
"""
    )
    return evaluate(load_policy(root / "gatekeeper.yaml", entry_points=False), root, today=date(2026, 1, 1))


def _with_server(url: str, extra: str = "") -> str:
    return f'{{osv_url: "{url}"{", " + extra if extra else ""}}}'


def test_vulnerable_pins_fail_with_each_advisory(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements.txt").write_text(VULNERABLE)
    verdict = _gate(tmp_path, _with_server(osv_server.url))
    check = verdict.checks[0]
    assert check.status == "ok", check.error
    by_package: dict[str, set[str]] = {}
    for finding in check.findings:
        by_package.setdefault(finding.properties["package"], set()).add(finding.id)
    assert by_package["requests"] == {"PYSEC-2018-28", "PYSEC-2023-74"}
    assert "PYSEC-2019-217" in by_package["jinja2"]
    assert {"PYSEC-2020-96", "PYSEC-2021-142"} <= by_package["pyyaml"]
    redirect = next(f for f in check.findings if f.id == "PYSEC-2018-28")
    assert (redirect.path, redirect.line) == ("requirements.txt", 1)
    assert redirect.severity.value == "high" and redirect.properties["severity_source"] == "policy"
    assert "CVE-2018-18074" in redirect.properties["aliases"].split(",")
    assert redirect.properties["fix_versions"] == "2.20.0"
    assert redirect.message.startswith("requests 2.19.0: PYSEC-2018-28 (fixed in 2.20.0).")
    assert check.metrics["vulnerable_dependencies"] == 3 and check.metrics["dependencies"] == 3
    assert [i.path for i in check.inputs] == ["requirements.txt"]
    assert check.tool is not None and check.tool.name == "pip-audit" and check.tool.version
    assert verdict.outcome == "fail"
    assert {q["package"]["name"] for q in osv_server.queries} == {"requests", "jinja2", "pyyaml"}


def test_fingerprint_is_stable_per_package_and_advisory(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements.txt").write_text(VULNERABLE)
    first = {f.id: f.fingerprint for f in _gate(tmp_path, _with_server(osv_server.url)).checks[0].findings}
    (tmp_path / "requirements.txt").write_text("# pinned for the old API\n" + VULNERABLE.replace("2.19.0", "2.19.1"))
    second = {f.id: f.fingerprint for f in _gate(tmp_path, _with_server(osv_server.url)).checks[0].findings}
    assert first["PYSEC-2018-28"] == second["PYSEC-2018-28"]


def test_clean_pins_pass(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements.txt").write_text(CLEAN)
    verdict = _gate(tmp_path, _with_server(osv_server.url))
    assert verdict.checks[0].status == "ok", verdict.checks[0].error
    assert verdict.checks[0].findings == []
    assert verdict.outcome == "pass"


def test_osv_url_from_the_environment(tmp_path: Path, osv_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKEEPER_OSV_URL", osv_server.url)
    (tmp_path / "requirements.txt").write_text(VULNERABLE)
    assert _gate(tmp_path).outcome == "fail"
    assert osv_server.queries


def test_server_down_is_an_error(tmp_path: Path, osv_server) -> None:
    url = osv_server.url
    osv_server.__exit__(None, None, None)
    (tmp_path / "requirements.txt").write_text(VULNERABLE)
    verdict = _gate(tmp_path, _with_server(url, "request_timeout: 5"))
    assert verdict.checks[0].status == "error"
    assert "pip-audit failed:" in (verdict.checks[0].error or "")
    assert "Connection refused" in (verdict.checks[0].error or "")
    assert verdict.outcome == "error"


@pytest.mark.parametrize("mode", ["garbage", "error"])
def test_server_answering_garbage_is_an_error(mode: str, tmp_path: Path, osv_server) -> None:
    osv_server.mode = mode
    (tmp_path / "requirements.txt").write_text(VULNERABLE)
    verdict = _gate(tmp_path, _with_server(osv_server.url))
    assert verdict.checks[0].status == "error"
    assert (verdict.checks[0].error or "").startswith("pip-audit failed: ")
    assert verdict.outcome == "error"


def test_unaudited_dependency_is_an_error_not_a_pass(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements.txt").write_text(
        "somepkg @ https://files.example.invalid/somepkg-1.0.tar.gz\nrequests==2.32.3\n"
    )
    verdict = _gate(tmp_path, _with_server(osv_server.url))
    assert verdict.checks[0].status == "error"
    assert verdict.checks[0].error == (
        "pip-audit could not audit 1 of 2 dependencies (somepkg: URL requirements cannot be pinned to a specific "
        "package version) (set unaudited: warn to accept the gap)"
    )
    accepted = _gate(tmp_path, _with_server(osv_server.url, "unaudited: warn")).checks[0]
    assert accepted.status == "ok" and accepted.metrics["unaudited"] == 1
    assert accepted.notes[0].startswith("pip-audit could not audit 1 of 2 dependencies")


def test_empty_requirements_file_is_an_error(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements.txt").write_text("# nothing yet\n")
    verdict = _gate(tmp_path, _with_server(osv_server.url))
    assert (
        verdict.checks[0].error
        == "pip-audit audited no dependencies; an empty audit is no evidence (is the file empty?)"
    )


def test_unpinned_requirement_is_an_error_with_pip_audits_reason(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements.txt").write_text("flask\n")
    error = _gate(tmp_path, _with_server(osv_server.url)).checks[0].error or ""
    assert error.startswith("pip-audit failed: ") and "requirement flask is not pinned" in error


def test_missing_named_file_is_an_error(tmp_path: Path, osv_server) -> None:
    verdict = _gate(tmp_path, _with_server(osv_server.url, "requirements: [deps/prod.txt]"))
    assert verdict.checks[0].error == "requirements 'deps/prod.txt' matches no file in the repository"


def test_no_dependency_files_is_an_error_or_a_skip(tmp_path: Path, osv_server) -> None:
    error = _gate(tmp_path, _with_server(osv_server.url)).checks[0]
    assert error.status == "error" and (error.error or "").startswith("no dependency files found")
    skipped = _gate(tmp_path, _with_server(osv_server.url, "missing: skip")).checks[0]
    assert skipped.status == "skipped"
    assert not osv_server.queries


def test_requirements_found_automatically_in_a_folder(tmp_path: Path, osv_server) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.txt").write_text("requests==2.19.0\n")
    (tmp_path / "requirements-dev.txt").write_text("pyyaml==5.3\n")
    check = _gate(tmp_path, _with_server(osv_server.url)).checks[0]
    assert sorted(i.path for i in check.inputs) == ["requirements-dev.txt", "requirements/prod.txt"]
    assert {(f.properties["package"], f.path) for f in check.findings} == {
        ("requests", "requirements/prod.txt"),
        ("pyyaml", "requirements-dev.txt"),
    }


def test_real_pip_audit_report_ingests(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pip-audit" / "gdown-pip-audit-clean.json"
    local = DATA / "pip-audit" / "gdown-pip-audit-clean.json"
    shutil.copy(local if local.is_file() else source, tmp_path / "audit.json")
    check = _gate(tmp_path, "{report: audit.json}").checks[0]
    assert check.status == "ok", check.error
    assert check.metrics["dependencies"] == 32 and check.findings == []


def test_shared_corpus_report_with_vulnerabilities(tmp_path: Path) -> None:
    source = (
        Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pip-audit" / "vulnflask-pip-audit-with-vulns.json"
    )
    if not source.is_file():
        pytest.skip("../shared/corpus is not beside this checkout")
    shutil.copy(source, tmp_path / "audit.json")
    check = _gate(tmp_path, "{report: audit.json}").checks[0]
    expected = sum(len(d.get("vulns", [])) for d in json.loads(source.read_text())["dependencies"])
    assert check.status == "ok" and len(check.findings) == expected == 4
    assert any(f.properties["fix_versions"] == "" and "no fixed version yet" in f.message for f in check.findings)


def _installed(site: Path, name: str, version: str) -> None:
    """An installed distribution as pip leaves it: a .dist-info folder with METADATA."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_environment_is_audited(tmp_path: Path, osv_server) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    _installed(site, "urllib3", "1.24.1")
    _installed(site, "requests", "2.32.3")
    check = _gate(tmp_path, _with_server(osv_server.url, "environment: venv")).checks[0]
    assert check.status == "ok", check.error
    assert {f.properties["package"] for f in check.findings} == {"urllib3"}
    assert "PYSEC-2019-132" in {f.id for f in check.findings}
    assert all(f.path is None for f in check.findings)
    assert sorted(i.path for i in check.inputs) == [
        "venv/lib/python3.11/site-packages/requests-2.32.3.dist-info/METADATA",
        "venv/lib/python3.11/site-packages/urllib3-1.24.1.dist-info/METADATA",
    ]


def test_environment_that_is_not_a_virtualenv_is_an_error(tmp_path: Path, osv_server) -> None:
    (tmp_path / "venv").mkdir()
    check = _gate(tmp_path, _with_server(osv_server.url, "environment: venv")).checks[0]
    assert check.error == "environment venv: no lib/python*/site-packages inside; is it a virtualenv?"


PYPROJECT = """\
[project]
name = "demo"
version = "1.0"
dependencies = [
    "requests==2.19.0",
    "PyYAML == 5.3 ; python_version >= '3'",
]
"""


def test_pinned_project_dependencies_are_audited_without_an_index(tmp_path: Path, osv_server) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    check = _gate(tmp_path, _with_server(osv_server.url, "project: true")).checks[0]
    assert check.status == "ok", check.error
    where = {(f.properties["package"].lower(), f.path, f.line) for f in check.findings}
    assert where == {("requests", "pyproject.toml", 5), ("pyyaml", "pyproject.toml", 6)}
    assert [i.path for i in check.inputs] == ["pyproject.toml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gatekeeper.yaml", "pyproject.toml"]  # no scratch left


def test_unpinned_project_dependency_asks_for_resolve(tmp_path: Path, osv_server) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.replace('"requests==2.19.0"', '"requests>=2.19"'))
    check = _gate(tmp_path, _with_server(osv_server.url, "project: true")).checks[0]
    assert check.error == (
        "pyproject.toml: dependency 'requests>=2.19' is not pinned with ==; pin it, or set resolve: true "
        "to let pip-audit resolve the project through a package index"
    )
    assert not osv_server.queries


def test_only_one_source_per_check(tmp_path: Path) -> None:
    from gatekeeper import PolicyError

    (tmp_path / "gatekeeper.yaml").write_text(
        "version: 1\nchecks: {deps: {uses: pip-audit, with: {project: true, requirements: [r.txt]}}}\n"
        "rules: [{id: r, check: deps, findings: {max: 0}}]\n"
    )
    with pytest.raises(
        PolicyError, match=r"choose one of requirements, project and environment \(got requirements and project\)"
    ):
        load_policy(tmp_path / "gatekeeper.yaml", entry_points=False)
