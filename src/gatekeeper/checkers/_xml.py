"""Reading XML reports safely and in constant memory.

lxml's iterparse with entity resolution, DTD loading and network access off: a
report cannot make the parser read a file or a URL, and elements are freed as soon
as they are handled, so a 500k-testcase JUnit file needs no whole DOM. A document
that declares entities or a DTD internal subset is refused outright, as defusedxml
does: test reports have no use for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from gatekeeper.errors import CheckError

_PROLOG_BYTES = 64 * 1024
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)\b", re.IGNORECASE)
# A DOCTYPE that only names an external DTD (no internal subset, so no entity declared
# here), as Cobertura writers emit. With DTD loading and network off it is never read.
_EXTERNAL_DOCTYPE = re.compile(
    rb"""<!DOCTYPE\s+[\w:.-]+\s+(?:SYSTEM|PUBLIC\s+(?:"[^"]*"|'[^']*'))\s+(?:"[^"]*"|'[^']*')\s*>""",
    re.IGNORECASE,
)


def _check_prolog(path: Path, shown: str, external_dtd: bool = False) -> None:
    with path.open("rb") as handle:
        head = handle.read(_PROLOG_BYTES)
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise CheckError(f"{shown}: the file is empty")
    # Everything before the root element: processing instructions, a DOCTYPE (comments removed
    # first, so a '<' inside one cannot end the prolog early).
    head = re.sub(rb"<!--.*?-->", b"", head, flags=re.DOTALL)
    root = re.search(rb"<(?![?!])", head)
    prolog = head[: root.start()] if root else head
    if external_dtd:
        prolog = _EXTERNAL_DOCTYPE.sub(b"", prolog, count=1)
    if _DECLARATION.search(prolog):
        raise CheckError(f"{shown}: declares a DTD or entities; refusing it (reports have no use for them)")


def local_name(tag: Any) -> str:
    """The tag without its namespace; comments and processing instructions have none."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def iterparse(
    path: Path,
    shown: str,
    events: tuple[str, ...] = ("start", "end"),
    tags: tuple[str, ...] | None = None,
    *,
    external_dtd: bool = False,
) -> Iterator[tuple[str, Any]]:
    """``(event, element)`` for ``events`` on ``tags`` (all by default); free handled elements with ``release``.

    ``external_dtd``: accept a DOCTYPE that only names an external DTD (never loaded).
    """
    _check_prolog(path, shown, external_dtd)
    try:
        yield from etree.iterparse(
            str(path),
            events=events,
            tag=tags,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
    except etree.XMLSyntaxError as exc:
        number, text = exc.lineno, str(exc.msg or exc)
        last = getattr(exc.error_log, "last_error", None)  # not in lxml-stubs
        if not number and last is not None:  # with entities off, lxml sometimes says only "no element found"
            number, text = last.line, last.message
        line = f" at line {number}" if number else ""
        raise CheckError(f"{shown}: not well-formed XML{line}: {text.split(', line ')[0].strip()}") from None
    except OSError as exc:
        raise CheckError(f"{shown}: cannot read: {exc}") from None


def root_tag(path: Path, shown: str) -> str:
    """The root element's tag, read without parsing the rest of the file."""
    for _, element in iterparse(path, shown, events=("start",)):
        return str(element.tag)
    raise CheckError(f"{shown}: no root element")


def release(element: Any) -> None:
    """Free a handled element and the siblings before it, so memory stays flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
