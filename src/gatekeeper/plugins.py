"""The pluggy manager: finds built-in, entry-point and local plugins and collects what they register."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, cast

import pluggy

from gatekeeper import hookspecs
from gatekeeper.checkers.base import AnyChecker, Checker
from gatekeeper.errors import PluginError
from gatekeeper.reporters.base import Reporter
from gatekeeper.signing import SignerType

ENTRY_POINT_GROUP = "gatekeeper"

#: Built-in plugins, registered through the same hooks as everyone else's.
BUILTIN_MODULES = (
    "gatekeeper.checkers.bandit",
    "gatekeeper.checkers.codeowners",
    "gatekeeper.checkers.coverage",
    "gatekeeper.checkers.diff_coverage",
    "gatekeeper.checkers.git_hygiene",
    "gatekeeper.checkers.junit",
    "gatekeeper.checkers.licenses",
    "gatekeeper.checkers.pip_audit",
    "gatekeeper.checkers.required_files",
    "gatekeeper.checkers.sarif",
    "gatekeeper.checkers.secrets",
    "gatekeeper.checkers.semgrep",
    "gatekeeper.reporters.azure",
    "gatekeeper.reporters.github",
    "gatekeeper.reporters.gitlab",
    "gatekeeper.reporters.html",
    "gatekeeper.reporters.json_report",
    "gatekeeper.reporters.junit_xml",
    "gatekeeper.reporters.markdown",
    "gatekeeper.reporters.sarif",
    "gatekeeper.reporters.text",
    "gatekeeper.signing.keys",
)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: Literal["builtin", "entry point", "local", "in-process"]
    version: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Registered:
    """Something a plugin registered, and which plugin it came from."""

    kind: Literal["checker", "reporter", "signer"]
    name: str
    description: str
    plugin: PluginInfo


@dataclass
class Plugins:
    """The loaded plugins and everything they registered, by name."""

    manager: pluggy.PluginManager
    infos: list[PluginInfo] = field(default_factory=list)
    checkers: dict[str, AnyChecker] = field(default_factory=dict)
    reporters: dict[str, Reporter] = field(default_factory=dict)
    signers: dict[str, SignerType] = field(default_factory=dict)
    provided_by: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)

    def listing(self) -> list[Registered]:
        rows: list[Registered] = []
        tables: list[tuple[Literal["checker", "reporter", "signer"], dict[str, Any]]] = [
            ("checker", self.checkers),
            ("reporter", self.reporters),
            ("signer", self.signers),
        ]
        for kind, table in tables:
            for name, item in sorted(table.items()):
                rows.append(Registered(kind, name, item.description, self.provided_by[(kind, name)]))
        return rows


def load_plugins(
    local: Sequence[Path] = (),
    *,
    entry_points: bool = True,
    disabled: Iterable[str] = (),
    extra: Sequence[object | tuple[str, object]] = (),
) -> Plugins:
    """Load every plugin and collect its checkers, reporters and signers.

    ``extra`` are plugin objects (modules, classes, instances) registered after all others,
    for tests and for programs that embed gatekeeper; each is named by its ``__name__``, or
    given as ``(name, plugin)`` to take the name its ``settings:`` block uses (e.g. its
    entry-point name). One that is already registered (through its entry point) is skipped.

    Raises ``PluginError`` naming the plugin when one fails to import, implements
    an unknown hook, or registers a name another plugin already has.
    """
    skip = set(disabled)
    manager = _Manager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)

    for module_name in BUILTIN_MODULES:
        _register(plugins, importlib.import_module(module_name), PluginInfo(module_name, "builtin", _own_version()))

    if entry_points:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in skip:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, "entry point", dist.version if dist else None, ep.value)
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must name itself, not traceback
                raise PluginError(
                    f"plugin {ep.name!r} (entry point {ep.value}) failed to import: {type(exc).__name__}: {exc}; "
                    f"fix or uninstall it, or disable it with --disable-plugin {ep.name}"
                ) from exc
            _register(plugins, obj, info)

    for path in local:
        if _disabled(path, skip):
            continue
        module = _import_local(path)
        _register(plugins, module, PluginInfo(path.stem, "local", None, str(path)), register_as=str(path))

    for item in extra:
        name, obj = item if isinstance(item, tuple) else (str(getattr(item, "__name__", type(item).__name__)), item)
        if manager.is_registered(obj):  # e.g. a test passing the module its installed entry point already loaded
            continue
        _register(plugins, obj, PluginInfo(name, "in-process"))

    return plugins


class _Manager(pluggy.PluginManager):
    """Treats any ``gatekeeper_*`` function as a hook implementation, marked or not.

    So a plugin that forgets ``@hookimpl`` still works, and one that misspells a hook
    name is rejected by ``check_pending`` instead of being silently ignored.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(f"{hookspecs.PROJECT}_") and callable(getattr(plugin, name, None)):
            opts = {
                "wrapper": False, "hookwrapper": False, "optionalhook": False,
                "tryfirst": False, "trylast": False, "specname": None,
            }  # fmt: skip
        return opts


def _disabled(path: Path, skip: set[str]) -> bool:
    """A local plugin is disabled by its module name, its file name, or its path as written."""
    return bool(skip & {path.stem, path.name, str(path)}) or any(
        entry.endswith((".py",)) and str(path).endswith("/" + entry.lstrip("./")) for entry in skip
    )


def _own_version() -> str:
    from gatekeeper import __version__

    return __version__


def _import_local(path: Path) -> ModuleType:
    if not path.is_file():
        raise PluginError(f"local plugin {path} not found; fix the path under 'plugins:' in the policy")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"gatekeeper_local_{path.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"local plugin {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise PluginError(f"local plugin {path} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def _register(plugins: Plugins, plugin: Any, info: PluginInfo, register_as: str | None = None) -> None:
    manager = plugins.manager
    if manager.has_plugin(register_as or info.name):
        raise PluginError(f"two plugins are named {info.name!r}; rename one of them or disable it")
    try:
        manager.register(plugin, name=register_as or info.name)
        manager.check_pending()
    except (ValueError, pluggy.PluginValidationError) as exc:
        if manager.is_registered(plugin):
            manager.unregister(plugin)
        raise PluginError(f"plugin {info.name!r} is not valid: {exc}") from exc
    plugins.infos.append(info)

    def collect(hook: str, kind: Literal["checker", "reporter", "signer"], table: dict[str, Any], cls: type) -> None:
        impls = [i for i in getattr(manager.hook, hook).get_hookimpls() if i.plugin is plugin]
        if not impls:
            return
        caller: Callable[..., Any] = impls[0].function
        try:
            items = caller()
        except Exception as exc:
            raise PluginError(f"plugin {info.name!r} raised in {hook}: {type(exc).__name__}: {exc}") from exc
        if items is None:
            items = []
        if not isinstance(items, (list, tuple)):
            raise PluginError(f"plugin {info.name!r}: {hook} must return a list, not {type(items).__name__}")
        for item in items:
            if not isinstance(item, cls):
                raise PluginError(f"plugin {info.name!r}: {hook} returned {item!r}, not a {cls.__name__}")
            name = cast(Any, item).name
            if name in table:
                other = plugins.provided_by[(kind, name)]
                raise PluginError(
                    f"{kind} {name!r} is registered by both {other.name!r} and {info.name!r}; "
                    f"uninstall or disable one of them"
                )
            table[name] = item
            plugins.provided_by[(kind, name)] = info

    collect("gatekeeper_checkers", "checker", plugins.checkers, Checker)
    collect("gatekeeper_reporters", "reporter", plugins.reporters, Reporter)
    collect("gatekeeper_signers", "signer", plugins.signers, SignerType)
