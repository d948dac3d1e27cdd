"""Where the history store is, and how it is shown: URLs resolved, checked before anything runs,
and never printed with a password in them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from gatekeeper.errors import UsageError
from gatekeeper.state import STATE_DIR

__all__ = ["ENV", "HISTORY_FILE", "check_history_url", "default_history_url", "redact_url", "resolve_history_url"]

#: Chooses the store when ``--history`` is not given.
ENV = "GATEKEEPER_HISTORY"
HISTORY_FILE = "history.db"
_SECRET_PARAM = re.compile(r"password|secret|key|token", re.IGNORECASE)


def default_history_url(root: Path) -> str:
    """``sqlite:///<root>/.gatekeeper/history.db``, with ``root`` made absolute."""
    return f"sqlite:///{(Path(root) / STATE_DIR / HISTORY_FILE).absolute()}"


def resolve_history_url(url: str | None, root: Path) -> str:
    """The SQLAlchemy URL of the store: ``url``, else ``GATEKEEPER_HISTORY``, else the SQLite default.

    A bare path is a SQLite file; ``postgresql://`` (or ``postgres://``) gets the psycopg v3
    driver. Any other scheme is a ``UsageError``, before anything runs.
    """
    chosen = url if url is not None else os.environ.get(ENV, "").strip() or None
    if chosen is None:
        return default_history_url(root)
    chosen = chosen.strip()
    if not chosen:
        raise UsageError("--history: give a store URL (sqlite:///PATH, a file path or postgresql://...)")
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen).expanduser().absolute()}"
    scheme, _, rest = chosen.partition("://")
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite" or scheme.startswith(("sqlite+", "postgresql+")):
        return f"{scheme}://{rest}"
    raise UsageError(
        f"history store {redact_url(chosen)}: unsupported URL scheme {scheme!r}; "
        "use sqlite:///PATH, a file path, or postgresql://USER@HOST/DATABASE"
    )


def redact_url(url: str) -> str:
    """``url`` without its password or secret query values, for messages; never raises.

    Works on the raw string, not a parse: everything between ``://`` and the last ``@`` before
    the path or query becomes ``user:***`` (or ``***``), and the value of every query parameter
    whose name contains password, secret, key or token becomes ``***``. A URL that cannot be
    taken apart at all is shown as ``scheme://***``.
    """
    try:
        return _redact(url)
    except Exception:
        scheme = url.partition("://")[0] if isinstance(url, str) and "://" in url else ""
        return f"{scheme}://***" if scheme else "***"


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # a bare file path: nothing secret in it
    head, qmark, query = rest.partition("?")
    # A URL with no authority (sqlite:///PATH) starts its path at once: an '@' in the path is no user.
    at = -1 if head.startswith("/") else head.rfind("@")
    if at >= 0:
        userinfo, hostpath = head[:at], head[at + 1 :]
        user, colon, _ = userinfo.partition(":")
        if colon:
            userinfo = f"{user}:***" if user else "***"
        head = f"{userinfo}@{hostpath}"
    if qmark:
        params = []
        for param in query.split("&"):
            name, equals, _ = param.partition("=")
            params.append(f"{name}=***" if equals and _SECRET_PARAM.search(name) else param)
        query = "&".join(params)
    return f"{scheme}://{head}{qmark}{query}"


def check_history_url(url: str) -> URL:
    """``url`` (as ``resolve_history_url`` returns it) parsed, or a ``UsageError`` saying what is wrong.

    Run before any check, so that ``--history postgresql://u@db:notaport/x`` stops ``gatekeeper run``
    at once rather than after every tool ran.
    """
    shown = redact_url(url)
    try:
        parsed = make_url(url)
        port = parsed.port
    except (sa_exc.ArgumentError, ValueError, TypeError) as exc:
        raise UsageError(f"history store {shown}: not a database URL ({_first_line(exc)})") from None
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"history store {shown}: port {port} is out of range (1-65535)")
    return parsed


def _first_line(exc: BaseException) -> str:
    text = redact_url(str(exc)) if "://" in str(exc) else str(exc)
    return next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
