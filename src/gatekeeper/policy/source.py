"""Read a YAML policy file into plain data plus a map of where every value was written.

ruamel.yaml keeps line and column for each key and item, and rejects duplicate keys,
which is why it is used rather than PyYAML: a policy error must say ``file:line:col``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from gatekeeper.errors import Location, PolicyError

MAX_POLICY_BYTES = 1024 * 1024

Loc = tuple[str | int, ...]


@dataclass
class PolicySource:
    """A loaded policy file: its data, display name, and positions of every node."""

    name: str
    path: Path | None
    data: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Loc, *, key: bool = False) -> Location:
        """The closest written position for ``loc``; the key itself when ``key`` is set."""
        loc = tuple(loc)
        if key and loc in self.keys:
            line, col = self.keys[loc]
            return Location(self.name, line, col)
        while loc:
            if loc in self.values:
                line, col = self.values[loc]
                return Location(self.name, line, col)
            loc = loc[:-1]
        return Location(self.name, 1, 1)


def read_policy_file(path: Path, display: str | None = None) -> PolicySource:
    name = display or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {name}") from None
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {name}: {exc.strerror}") from None
    if path.is_dir():
        raise PolicyError(f"{name} is a directory; name the policy file inside it")
    if size > MAX_POLICY_BYTES:
        raise PolicyError(f"{name}: policy file is {size} bytes; the limit is {MAX_POLICY_BYTES}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return parse_policy_text(text, name, path)


def parse_policy_text(text: str, name: str, path: Path | None = None) -> PolicySource:
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except DuplicateKeyError as exc:
        raise _duplicate_key_error(exc, text, name) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if mark is not None:
            raise PolicyError(f"invalid YAML: {problem}", Location(name, mark.line + 1, mark.column + 1)) from None
        raise PolicyError(f"invalid YAML: {problem}", Location(name)) from None
    except YAMLError as exc:
        raise PolicyError(f"invalid YAML: {exc}", Location(name)) from None
    except ValueError as exc:  # a constructor rejected a value, e.g. the date 2030-13-01
        raise PolicyError(f"invalid YAML: {exc}", Location(name)) from None
    except RecursionError:
        raise PolicyError("invalid YAML: nested too deeply", Location(name)) from None
    except TypeError as exc:  # a mapping or list used as a key, e.g. `{a: 1}, {b: 2}` inside a flow mapping
        raise PolicyError(f"invalid YAML: a key must be plain text ({exc})", Location(name)) from None
    if raw is None:
        raise PolicyError("the policy file is empty; start from `gatekeeper init`", Location(name))
    source = PolicySource(name=name, path=path, data=None)
    source.values[()] = (1, 1)
    source.data = _plain(raw, (), source)
    if not isinstance(source.data, dict):
        raise PolicyError("a policy must be a mapping (key: value) at the top level", Location(name, 1, 1))
    return source


def _plain(node: Any, loc: Loc, source: PolicySource) -> Any:
    """Convert ruamel's round-trip nodes to plain Python, recording positions."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            child = (*loc, str(key))
            if not isinstance(key, (str, int, float, bool)):
                line, col = node.lc.key(key) if key in node.lc.data else source.values.get(loc, (1, 1))
                raise PolicyError(
                    "invalid YAML: a key must be plain text, not a mapping or list",
                    Location(source.name, line + 1, col + 1),
                )
            try:
                kline, kcol = node.lc.key(key)
                vline, vcol = node.lc.value(key)
                if node[key] is None and vline != kline:  # an empty value: ruamel gives the next token's place
                    vline, vcol = kline, kcol
                source.keys[child] = (kline + 1, kcol + 1)
                source.values[child] = (vline + 1, vcol + 1)
            except (KeyError, TypeError):  # merged keys (<<) carry no position of their own
                pass
            out[str(key)] = _plain(node[key], child, source)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            child = (*loc, index)
            try:
                line, col = node.lc.item(index)
                source.values[child] = (line + 1, col + 1)
            except (KeyError, TypeError):
                pass
            items.append(_plain(item, child, source))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (_dt.date, _dt.datetime)):
        return node
    return str(node)


def _duplicate_key_error(exc: DuplicateKeyError, text: str, name: str) -> PolicyError:
    """Name both lines of a repeated key: a later ``mode: audit`` must never quietly win over ``mode: enforce``."""
    second = exc.problem_mark
    line = second.line + 1 if second is not None else None
    column = second.column + 1 if second is not None else None
    first = _first_occurrence(YAML(typ="rt").compose(text), second.line if second is not None else -1)
    if first is None:
        return PolicyError(f"invalid YAML: {(exc.problem or 'duplicate key').strip()}", Location(name, line, column))
    key, first_line = first
    return PolicyError(
        f"duplicate key {key!r}: first on line {first_line}, again on line {line}; keep one of them",
        Location(name, line, column),
    )


def _first_occurrence(node: Node | None, line: int) -> tuple[str, int] | None:
    """The key repeated on ``line`` (0-based) and the 1-based line of its first occurrence."""
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            label = str(key.value)
            if key.start_mark.line == line and label in seen:
                return label, seen[label] + 1
            seen.setdefault(label, key.start_mark.line)
            found = _first_occurrence(value, line)
            if found is not None:
                return found
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found = _first_occurrence(item, line)
            if found is not None:
                return found
    return None
