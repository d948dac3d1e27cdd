"""Turn pydantic validation errors into one ``file:line:col: where: what`` line."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from gatekeeper.errors import PolicyError
from gatekeeper.policy.source import Loc, PolicySource


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc``, to suggest its keys."""
    current: Any = model
    parts = list(loc)
    while parts:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        part = parts.pop(0)
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        if part not in fields:
            return None
        current = _unwrap(fields[part].annotation)
        # dict[str, X] and list[X] consume one more part (the key or index)
        while typing.get_origin(current) in (dict, list) and parts:
            parts.pop(0)
            current = _unwrap(typing.get_args(current)[-1])
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if models else members[0]
    return annotation


def policy_error_from(
    exc: ValidationError, source: PolicySource, model: type[BaseModel], prefix: Loc = ()
) -> PolicyError:
    """The first validation error, located in the file, with a suggestion for unknown keys."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc: Loc = (*prefix, *tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))))
    local = loc[len(prefix) :]
    kind = first["type"]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    if kind == "extra_forbidden":
        owner = _model_at(model, local[:-1])
        known = sorted(f.alias or n for n, f in owner.model_fields.items()) if owner else []
        close = difflib.get_close_matches(str(local[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else (f" (known keys: {', '.join(known)})" if known else "")
        message = f"unknown key{hint}"
        return PolicyError(f"{format_loc(loc)}: {message}{more}", source.locate(loc, key=True))
    if kind == "missing":
        return PolicyError(f"{format_loc(loc)}: missing required key{more}", source.locate(loc[:-1]))
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return PolicyError(f"{format_loc(loc)}: {message}{more}", source.locate(loc))
