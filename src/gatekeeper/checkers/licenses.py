"""``uses: licenses``: the licences of the project's dependencies, against allow and deny lists.

Which distributions: every one installed in ``environment`` (a virtualenv folder in the
repository), or the ones named in the ``requirements`` files, looked up among the
distributions of ``environment`` when it is given, else of the Python running gatekeeper.
A requirement whose distribution is not installed there is an error (fail closed), and so
is a requirements line that names no distribution (an URL or ``-e`` line).

A distribution's licence is read from its metadata, in this order: ``License-Expression``
(PEP 639; authoritative, an invalid one is unknown), else the ``License`` field when it
names a licence, else the ``License ::`` trove classifiers (several are combined with AND,
since which of them applies is not stated). Common names ("MIT License", "Apache 2.0",
"BSD 3-Clause") are mapped to SPDX ids; the result is parsed and checked against the SPDX
list by the ``license-expression`` package. Anything else (no licence, a full licence text,
an ambiguous name such as "BSD") is *unknown*.

Evaluation: a licence id is acceptable when it is not denied and, with a non-empty
``allow`` list, is allowed (an empty ``allow`` accepts everything not denied; deny wins
over allow). ``A OR B`` is acceptable when at least one alternative is; ``A AND B`` when
every part is; ``A WITH exception`` as ``A`` (an exception only adds permissions).
Each unacceptable dependency is a high finding ``license:<name>``; each unknown licence is
a finding whose severity ``unknown`` chooses (fail: high, warn: low, pass: none).
Metrics: ``dependencies``, ``allowed``, ``denied`` (denied or not allowed), ``unknown``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from importlib.metadata import Distribution, PackageMetadata, PathDistribution, distributions
from pathlib import Path
from typing import Any, Literal

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gatekeeper.checkers.base import CheckContext, Checker
from gatekeeper.errors import CheckError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.models import CheckOutput, Finding, InputFile, Severity, fingerprint

LICENSING = get_spdx_licensing()

# Common free-text names (License field, last part of a trove classifier) -> SPDX; lower-case keys.
ALIASES: dict[str, str] = {
    "mit": "MIT", "mit license": "MIT", "the mit license": "MIT", "mit-0": "MIT-0", "mit no attribution": "MIT-0",
    "apache 2": "Apache-2.0", "apache 2.0": "Apache-2.0", "apache-2": "Apache-2.0", "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0", "apache license version 2.0": "Apache-2.0", "asl 2": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0", "apache software license": "Apache-2.0", "asl 2.0": "Apache-2.0",
    "bsd 2-clause": "BSD-2-Clause", "bsd-2": "BSD-2-Clause", "simplified bsd": "BSD-2-Clause",
    "bsd 3-clause": "BSD-3-Clause", "bsd-3": "BSD-3-Clause", "new bsd": "BSD-3-Clause", "modified bsd": "BSD-3-Clause",
    "bsd 3-clause license": "BSD-3-Clause", "bsd 2-clause license": "BSD-2-Clause", "new bsd license": "BSD-3-Clause",
    "isc": "ISC", "isc license": "ISC", "isc license (iscl)": "ISC", "python software foundation license": "PSF-2.0",
    "psf": "PSF-2.0", "psf license": "PSF-2.0", "psf-2.0": "PSF-2.0", "zope public license": "ZPL-2.1",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mpl 2.0": "MPL-2.0", "mpl-2.0": "MPL-2.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only", "gplv2": "GPL-2.0-only",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only", "gplv3": "GPL-3.0-only",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later", "gplv2+": "GPL-2.0-or-later",
    "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later", "gplv3+": "GPL-3.0-or-later",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0-only",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only", "lgplv3": "LGPL-3.0-only",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later", "lgplv3+": "LGPL-3.0-or-later",
    "gnu affero general public license v3": "AGPL-3.0-only",
    "gnu affero general public license v3 or later (agplv3+)": "AGPL-3.0-or-later",
    "the unlicense (unlicense)": "Unlicense", "unlicense": "Unlicense", "cc0 1.0 universal (cc0 1.0) public domain "
    "dedication": "CC0-1.0", "boost software license 1.0 (bsl-1.0)": "BSL-1.0", "eclipse public license 2.0 (epl-2.0)":
    "EPL-2.0", "historical permission notice and disclaimer (hpnd)": "HPND", "zlib/libpng license": "Zlib",
    "universal permissive license (upl)": "UPL-1.0", "artistic license": "Artistic-2.0",
}  # fmt: skip
_NOT_A_LICENSE = {"", "unknown", "none", "n/a", "other/proprietary license", "osi approved", "dfsg approved"}


class LicensesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str | None = Field(
        default=None, description="A virtualenv folder in the repository whose installed distributions are checked."
    )
    requirements: list[str] = Field(
        default_factory=list,
        description="Requirements files in the repository: the distributions they name are checked, looked up in "
        "'environment' when given, else in the Python running gatekeeper.",
    )
    allow: list[str] = Field(
        default_factory=list, description="SPDX ids (or expressions) allowed; empty: everything not denied."
    )
    deny: list[str] = Field(default_factory=list, description="SPDX ids (or expressions) denied; deny wins over allow.")
    unknown: Literal["fail", "warn", "pass"] = Field(
        default="fail", description="A licence that cannot be read or mapped to SPDX: high, low or no finding."
    )
    ignore: list[str] = Field(default_factory=list, description="Distribution names not checked (e.g. the project).")

    @field_validator("allow", "deny")
    @classmethod
    def _spdx(cls, values: list[str]) -> list[str]:
        keys: list[str] = []
        for value in values:
            parsed = _parse(value)
            if parsed is None:
                raise ValueError(f"{value!r} is not an SPDX licence id or expression")
            keys += [k for k in _keys(parsed) if k not in keys]
        return keys

    @model_validator(mode="after")
    def _a_source(self) -> LicensesOptions:
        if self.environment is None and not self.requirements:
            raise ValueError("set 'environment' (a virtualenv folder) or 'requirements' (files), or both")
        return self


def _known(key: str) -> bool:
    return key.startswith("LicenseRef-") or not LICENSING.unknown_license_keys(key)


def _parse(text: str) -> Any | None:
    """An SPDX expression, or None when it does not parse or names a licence SPDX does not know."""
    try:
        parsed = LICENSING.parse(text, validate=False)
    except (ExpressionError, TypeError, ValueError):
        return None
    if parsed is None or not all(_known(s.key) for s in LICENSING.license_symbols(parsed, decompose=True)):
        return None
    return parsed


def _keys(parsed: Any) -> list[str]:
    return [str(s.key) for s in LICENSING.license_symbols(parsed, decompose=True)]


def _from_name(text: str) -> Any | None:
    """A free-text licence name (License field, classifier) as an SPDX expression, or None."""
    name = " ".join(text.split())
    alias = ALIASES.get(name.lower())
    return _parse(alias) if alias else _parse(name)


def _field(metadata: PackageMetadata, name: str) -> str:
    values: list[str] = metadata.get_all(name) or []
    return str(values[0]).strip() if values else ""


def license_of(metadata: PackageMetadata) -> tuple[Any | None, str, str]:
    """(SPDX expression or None, where it came from, the raw text) for one distribution's metadata."""
    expression = _field(metadata, "License-Expression")
    if expression:
        return _parse(expression), "License-Expression", expression
    raw = _field(metadata, "License")
    first = raw.splitlines()[0].strip() if raw else ""
    if first.lower() not in _NOT_A_LICENSE:
        found = _from_name(first)
        if found is not None:
            return found, "License", first
    classifiers = [
        c.split("::")[-1].strip() for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    classifiers = [c for c in classifiers if c.lower() not in _NOT_A_LICENSE]
    if classifiers:
        names = [_from_name(c) for c in classifiers]
        joined = " AND ".join(f"({n})" for n in names if n is not None)
        return (_parse(joined) if None not in names else None), "Classifier", "; ".join(classifiers)
    return None, "License" if raw else "none", first


def _acceptable(node: Any, allow: set[str], deny: set[str]) -> bool:
    if isinstance(node, LicenseWithExceptionSymbol):
        return _acceptable(node.license_symbol, allow, deny)
    if isinstance(node, LicenseSymbol):
        return node.key not in deny and (not allow or node.key in allow)
    parts = [_acceptable(arg, allow, deny) for arg in node.args]
    return any(parts) if isinstance(node, LICENSING.OR) else all(parts)


def _site_packages(ctx: CheckContext, environment: str) -> Path:
    folder = ctx.resolve(environment)
    site = sorted(folder.glob("lib/python*/site-packages")) + sorted(folder.glob("Lib/site-packages"))
    if not site:
        raise CheckError(f"environment {environment}: no lib/python*/site-packages inside; is it a virtualenv?")
    return site[0]


def _installed(site: Path | None) -> dict[str, tuple[Distribution, Path | None]]:
    """Distributions by canonical name, with their metadata file when read from ``site``."""
    found: dict[str, tuple[Distribution, Path | None]] = {}
    if site is None:
        for dist in distributions():
            name = _field(dist.metadata, "Name")
            if name:
                found.setdefault(canonicalize_name(name), (dist, None))
        return found
    for folder in sorted([*site.glob("*.dist-info"), *site.glob("*.egg-info")]):
        file = folder / ("METADATA" if folder.suffix == ".dist-info" else "PKG-INFO")
        dist = PathDistribution(folder)
        named = _field(dist.metadata, "Name") if file.is_file() else ""
        if named:
            found.setdefault(canonicalize_name(named), (dist, file))
    return found


def _requirement_names(ctx: CheckContext, path: str, inputs: list[InputFile], seen: set[Path]) -> list[str]:
    file = ctx.resolve(path)
    if file in seen:
        return []
    seen.add(file)
    inputs.append(ctx.input_file(file))
    text = file.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
    names: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if not line:
            continue
        include = re.match(r"(-r|--requirement)[\s=]+(\S+)", line)
        if include:
            names += _requirement_names(ctx, str(file.parent / include.group(2)), inputs, seen)
            continue
        if line.startswith("-") and not line.startswith(("-e", "--editable")):
            continue  # -c constraints, --index-url, ...: no dependency named
        try:
            names.append(canonicalize_name(Requirement(re.split(r"\s+-", line)[0]).name))
        except InvalidRequirement:
            raise CheckError(
                f"{ctx.relpath(file)}:{number}: {line!r} names no distribution whose licence can be checked"
            ) from None
    return names


def run(ctx: CheckContext, options: LicensesOptions) -> CheckOutput:
    site = _site_packages(ctx, options.environment) if options.environment is not None else None
    installed = _installed(site)
    inputs: list[InputFile] = []
    if options.requirements:
        names: list[str] = []
        seen: set[Path] = set()
        for path in options.requirements:
            if not ctx.resolve(path).is_file():
                raise CheckError(f"requirements file {path} does not exist")
            names += _requirement_names(ctx, path, inputs, seen)
        names = list(dict.fromkeys(names))
        where = f"environment {options.environment}" if site else f"the running Python ({sys.executable})"
        missing = [n for n in names if n not in installed]
        if missing:
            raise CheckError(f"not installed in {where}, so their licences cannot be read: {', '.join(missing)}")
    else:
        names = sorted(installed)
    ignored = {canonicalize_name(n) for n in options.ignore}
    names = [n for n in names if n not in ignored]
    allow, deny = set(options.allow), set(options.deny)
    counts = dict.fromkeys(("dependencies", "allowed", "denied", "unknown"), 0.0)
    findings: list[Finding] = []
    for key in names:
        dist, metadata_file = installed[key]
        name = _field(dist.metadata, "Name")
        if metadata_file is not None and ctx.root.resolve() in metadata_file.resolve().parents:
            inputs.append(ctx.input_file(metadata_file))
        parsed, source, raw = license_of(dist.metadata)
        counts["dependencies"] += 1
        props = {"distribution": name, "version": dist.version or "", "source": source}
        if parsed is None:
            counts["unknown"] += 1
            if options.unknown != "pass":
                why = f"{source} {raw!r} is not a known SPDX licence" if raw else "no licence in its metadata"
                findings.append(
                    _finding(name, "high" if options.unknown == "fail" else "low", f"unknown: {why}", props)
                )
            continue
        rendered = str(parsed)
        if _acceptable(parsed, allow, deny):
            counts["allowed"] += 1
            continue
        counts["denied"] += 1
        denied = [k for k in _keys(parsed) if k in deny]
        why = f"denied: {', '.join(denied)}" if denied else "not in the allow list"
        findings.append(_finding(name, "high", f"{rendered} ({source}) is {why}", {**props, "license": rendered}))
    return CheckOutput(
        inputs=_unique(inputs),
        findings=findings,
        metrics=counts,
        notes=[
            f"{int(counts['dependencies'])} distribution(s) checked" + (f", {len(ignored)} ignored" if ignored else "")
        ],
    )


def _finding(name: str, severity: str, why: str, properties: dict[str, str]) -> Finding:
    return Finding(
        id=f"license:{name}",
        severity=Severity(severity),
        message=f"{name} {properties['version']}: licence {why}",
        fingerprint=fingerprint("licenses", canonicalize_name(name), why),
        properties=properties,
    )


def _unique(inputs: Iterable[InputFile]) -> list[InputFile]:
    return list({i.path: i for i in inputs}.values())


@hookimpl
def gatekeeper_checkers() -> list[Checker[Any]]:
    return [
        Checker(
            "licenses",
            run,
            LicensesOptions,
            "Licences of the installed or required distributions (package metadata, SPDX) against allow/deny lists.",
        )
    ]
