"""gatekeeper-webhook: post the verdict summary as JSON to a URL once the verdict is decided.

Two things, registered through the entry point ``webhook`` (group ``gatekeeper``):

- the reporter ``--format webhook[=FILE]``: the JSON payload that would be posted (pure, so
  it shows exactly what a receiver gets);
- the hook ``gatekeeper_verdict_ready``: posts that payload to ``$GATEKEEPER_WEBHOOK_URL``,
  else to ``settings.webhook.url`` of the policy. Without a URL it does nothing.

Posting uses the standard library only (``urllib.request``). It retries connection errors,
timeouts, 5xx and 429 answers with a doubling backoff, and never follows redirects. A failure
to post never changes the verdict or the exit code: it is one warning line on stderr, with the
URL's credentials, query and secret-looking path segments redacted.

Delivery is at least once: an attempt that timed out may still have arrived, and is sent again.
Every attempt carries the same ``Idempotency-Key`` header (``idempotency_key``), so a receiver
can drop the repeats.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper import GatekeeperError, RenderOptions, Reporter, ResolvedPolicy, Verdict, hookimpl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__version__ = "0.1.0"

__all__ = [
    "ENV_URL",
    "IDEMPOTENCY_HEADER",
    "MAX_RULES",
    "PLUGIN",
    "SCHEMA",
    "SCHEMA_VERSION",
    "PostResult",
    "WebhookSettings",
    "build_payload",
    "idempotency_key",
    "notify",
    "post",
    "redact_url",
    "render_payload",
    "url_problem",
]

#: The plugin's name: its entry point, its ``settings:`` key and its ``--disable-plugin`` name.
PLUGIN = "webhook"
#: The variable whose URL wins over the policy's ``settings.webhook.url``.
ENV_URL = "GATEKEEPER_WEBHOOK_URL"
SCHEMA = "gatekeeper-webhook/verdict"
SCHEMA_VERSION = 1
#: Failing and erroring rules listed in the payload; the rest are counted in ``more_failing_rules``.
MAX_RULES = 20
#: A rule's reason is cut to this many characters in the payload.
MAX_REASON = 1000
#: The longest ``Retry-After`` (seconds) that is honoured; a longer one is waited for this long.
RETRY_AFTER_CAP = 10.0
#: No single wait between two attempts is longer than this.
MAX_WAIT = 30.0
#: Path segments at least this long are shown as ``***`` in warnings (Slack, Discord and Teams
#: webhooks carry their secret in the path).
SECRET_SEGMENT = 16

Outcome = Literal["pass", "fail", "error"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "error")

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_HEADERS = {
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    "connection",
    "idempotency-key",
}
#: The header that lets a receiver drop a verdict it already has (delivery is at least once).
IDEMPOTENCY_HEADER = "Idempotency-Key"
_NUMBER = re.compile(r"^\d+(\.\d+)?$")

#: How the retry loop waits; a module attribute so tests can record the waits instead.
_sleep: Callable[[float], None] = time.sleep


# ---------------------------------------------------------------------------------------------
# settings


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be posted to (never quoting it), or None when it is a usable http(s) URL."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "it contains whitespace or control characters"
    if not url.isascii():
        return "it contains non-ASCII characters (percent-encode them; use the punycode form of the host)"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError as exc:  # its message may quote part of the URL: not repeated
        return "its port is not a number from 0 to 65535" if "port" in str(exc).lower() else "it cannot be parsed"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https URLs can be posted to" + (f", not {parts.scheme}" if parts.scheme else "")
    if not parts.hostname:
        return "it has no host"
    return None


def _printable_ascii(text: str, *, spaces: bool) -> bool:
    """What a header value can hold without being re-encoded or splitting the header (tabs never)."""
    return all(32 <= ord(ch) < 127 and (spaces or ch != " ") for ch in text)


class WebhookSettings(BaseModel):
    """``settings: {webhook: {...}}`` in a policy. Every key is optional."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    url: str | None = Field(
        default=None,
        description="Where to post (http or https). GATEKEEPER_WEBHOOK_URL, when set and not empty, wins.",
    )
    timeout: float = Field(default=5.0, gt=0, le=300, description="Seconds each attempt may take, in all.")
    retries: int = Field(default=2, ge=0, le=10, description="Attempts after the first one.")
    backoff: float = Field(
        default=0.5, ge=0, le=MAX_WAIT, description="Seconds before the first retry; doubles for each next one."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    token_env: str | None = Field(
        default=None, description="A variable whose value is sent as 'Authorization: Bearer VALUE'."
    )
    on: list[Outcome] = Field(
        default_factory=lambda: list(OUTCOMES),
        description="The verdict outcomes to post for (pass, fail, error); default all three.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            problem = url_problem(value)
            if problem is not None:
                raise ValueError(f"not a usable webhook URL: {problem}")
        return value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"{name!r} is set by the plugin and cannot be changed")
            if not _printable_ascii(text, spaces=True):
                raise ValueError(f"the value of {name!r} must be printable ASCII on one line")
        return value

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name (letters, digits, '_')")
        return value

    @model_validator(mode="after")
    def _one_authorization(self) -> WebhookSettings:
        if self.token_env is not None and any(name.lower() == "authorization" for name in self.headers):
            raise ValueError("set either token_env or an Authorization header, not both")
        return self


# ---------------------------------------------------------------------------------------------
# the payload (the reporter)


def build_payload(verdict: Verdict) -> dict[str, Any]:
    """The JSON object that is posted: a summary of the verdict, not the whole verdict."""
    counts = {"pass": 0, "fail": 0, "warn": 0, "waived": 0, "error": 0}
    for rule in verdict.rules:
        counts[rule.outcome] += 1
    # erroring rules first (nothing was decided for them), then failing ones, each in policy order
    problems = [r for r in verdict.rules if r.outcome == "error"] + [r for r in verdict.rules if r.outcome == "fail"]
    times = verdict.model_dump(mode="json", include={"finished_at"})
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "outcome": verdict.outcome,
        "enforced": verdict.enforced,
        "mode": verdict.mode,
        "summary": verdict.summary,
        "policy": {"name": verdict.policy.name, "digest": verdict.policy.digest},
        "subject": {
            "repository": verdict.subject.repository,
            "commit": verdict.subject.commit,
            "branch": verdict.subject.branch,
        },
        "counts": {
            "rules": len(verdict.rules),
            "passed": counts["pass"],
            "failed": counts["fail"],
            "error": counts["error"],
            "warned": counts["warn"],
            "waived": counts["waived"],
            "findings": sum(len(check.findings) for check in verdict.checks),
        },
        "failing_rules": [
            {
                "id": rule.id,
                "outcome": rule.outcome,
                "mode": rule.mode,
                "reason": _cut(rule.reason, MAX_REASON),
                "findings": len(rule.findings),
            }
            for rule in problems[:MAX_RULES]
        ],
        "more_failing_rules": max(0, len(problems) - MAX_RULES),
        "gatekeeper_version": verdict.gatekeeper_version,
        "finished_at": times["finished_at"],
    }


def idempotency_key(verdict: Verdict) -> str:
    """The ``Idempotency-Key`` sent with every attempt to post ``verdict``: the same for each retry.

    The hex sha256 of the policy digest, the subject's commit (empty when none) and ``finished_at``
    as the payload spells it, joined by newlines: one gate run, one key.
    """
    payload = build_payload(verdict)
    parts = (payload["policy"]["digest"], payload["subject"]["commit"] or "", payload["finished_at"])
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def render_payload(verdict: Verdict, options: RenderOptions | None = None) -> str:
    """``--format webhook``: the payload as posted, byte for byte."""
    return json.dumps(build_payload(verdict), indent=2, ensure_ascii=False) + "\n"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# posting


def redact_url(url: str) -> str:
    """``url`` as it may be printed: credentials, query and long path segments replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "<the webhook URL>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = "***@" if "@" in parts.netloc else ""
    netloc = f"{userinfo}{host}" + (f":{port}" if port is not None else "")
    path = "/".join("***" if len(segment) >= SECRET_SEGMENT else segment for segment in parts.path.split("/"))
    query = "?***" if parts.query else ""
    return f"{parts.scheme}://{netloc}{path}{query}"


@dataclass(frozen=True)
class PostResult:
    """How posting went: ``ok``, the attempts made, and (on failure) why, with secrets scrubbed."""

    ok: bool
    attempts: int
    reason: str = ""


@dataclass(frozen=True)
class _Attempt:
    ok: bool
    retry: bool = False
    reason: str = ""
    retry_after: float | None = None


@dataclass
class _Target:
    url: str  # without userinfo: urllib cannot send it, it becomes Basic authentication
    headers: dict[str, str]
    secrets: list[str] = field(default_factory=list)

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would resend (or drop) the payload and the credentials elsewhere: report it instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _target(url: str, headers: Mapping[str, str], token: str | None) -> _Target:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    bare = urllib.parse.urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    sent = {
        "Content-Type": "application/json",
        "User-Agent": f"gatekeeper-webhook/{__version__}",
        **headers,
    }
    secrets = list(headers.values())
    if parts.query:
        secrets.append(parts.query)
    user, password = parts.username, parts.password
    if user is not None or password is not None:
        user_text = urllib.parse.unquote(user or "")
        password_text = urllib.parse.unquote(password or "")
        secrets += [user or "", password or "", user_text, password_text]
        if not any(name.lower() == "authorization" for name in sent):
            credentials = base64.b64encode(f"{user_text}:{password_text}".encode()).decode("ascii")
            sent["Authorization"] = f"Basic {credentials}"
            secrets.append(credentials)
    if token is not None:
        sent = {name: value for name, value in sent.items() if name.lower() != "authorization"}
        sent["Authorization"] = f"Bearer {token}"
        secrets.append(token)
    return _Target(bare, sent, [s for s in secrets if len(s) >= 3])


def post(
    url: str,
    body: bytes,
    *,
    timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.5,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
) -> PostResult:
    """POST ``body`` (JSON) to ``url``, retrying transient failures. Never raises for a failure to post.

    Retried: connection errors, timeouts, 5xx and 429 answers (a numeric ``Retry-After`` of up
    to ``RETRY_AFTER_CAP`` seconds is honoured). Not retried: other 4xx answers, redirects
    (never followed), TLS certificate errors. Each attempt takes at most ``timeout`` seconds,
    so the whole call takes at most ``(retries + 1) * timeout`` plus the waits
    (``backoff``, doubling, each at most ``MAX_WAIT``).
    """
    problem = url_problem(url)
    if problem is not None:
        return PostResult(False, 0, f"not a usable webhook URL: {problem}")
    target = _target(url, headers or {}, token)
    attempts = retries + 1
    wait = backoff
    for number in range(1, attempts + 1):
        result = _attempt(target, body, timeout)
        if result.ok:
            return PostResult(True, number)
        if not result.retry or number == attempts:
            return PostResult(False, number, target.scrub(result.reason))
        pause = wait
        if result.retry_after is not None:
            pause = max(pause, min(result.retry_after, RETRY_AFTER_CAP))
        _sleep(min(pause, MAX_WAIT))
        wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(target: _Target, body: bytes, timeout: float) -> _Attempt:
    """One POST, in a daemon thread so that DNS or a server dripping bytes cannot exceed ``timeout``."""
    box: list[_Attempt] = []
    worker = threading.Thread(
        target=lambda: box.append(_send(target, body, timeout)), name="gatekeeper-webhook", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if not box:
        return _Attempt(False, retry=True, reason=f"timed out after {timeout:g}s")
    return box[0]


def _send(target: _Target, body: bytes, timeout: float) -> _Attempt:
    request = urllib.request.Request(target.url, data=body, headers=target.headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects())
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(65536)
        return _Attempt(True)
    except urllib.error.HTTPError as exc:
        status = exc.code
        reason = f"HTTP {status} {exc.reason}".rstrip()
        retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        exc.close()
        if 300 <= status < 400:
            return _Attempt(False, reason=f"{reason} (redirects are not followed; use the final URL)")
        return _Attempt(False, retry=status >= 500 or status == 429, reason=reason, retry_after=retry_after)
    except urllib.error.URLError as exc:
        cause = exc.reason
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _Attempt(False, reason=f"TLS certificate not accepted: {cause.verify_message}")
        if isinstance(cause, TimeoutError):
            return _Attempt(False, retry=True, reason=f"timed out after {timeout:g}s")
        if isinstance(cause, ConnectionRefusedError):
            return _Attempt(False, retry=True, reason="connection refused")
        return _Attempt(False, retry=True, reason=str(cause) if isinstance(cause, str) else _describe(cause))
    except TimeoutError:
        return _Attempt(False, retry=True, reason=f"timed out after {timeout:g}s")
    except OSError as exc:  # reset or closed connections, http.client errors while reading
        return _Attempt(False, retry=True, reason=_describe(exc))
    except Exception as exc:  # a garbled answer (http.client) is retried; anything else is reported at once
        retry = exc.__class__.__module__ == "http.client"
        return _Attempt(False, retry=retry, reason=_describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    if value is None or not _NUMBER.match(value.strip()):
        return None  # an HTTP date is not honoured: the backoff applies
    return float(value.strip())


# ---------------------------------------------------------------------------------------------
# hooks


def _warn(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # a closed stderr must not break the run either
        print(f"gatekeeper-webhook: warning: {message}", file=sys.stderr, flush=True)


def notify(verdict: Verdict, policy: ResolvedPolicy) -> PostResult | None:
    """Post ``verdict`` as the policy's settings and the environment say; None when nothing was posted.

    Failures become one warning line on stderr; nothing is raised for them.
    """
    settings = policy.plugin_settings(PLUGIN, WebhookSettings)
    env_url = os.environ.get(ENV_URL, "").strip()
    url = env_url or settings.url
    if not url or verdict.outcome not in settings.on:
        return None
    if env_url:
        problem = url_problem(env_url)
        if problem is not None:
            _warn(f"{ENV_URL} is not a usable webhook URL ({problem}); the verdict was not posted")
            return None
    token: str | None = None
    if settings.token_env is not None:
        value = os.environ.get(settings.token_env, "").strip()
        if not value:
            _warn(f"{settings.token_env} (token_env) is not set; posting without an Authorization header")
        elif not _printable_ascii(value, spaces=False):
            _warn(f"{settings.token_env} (token_env) is not a valid token; posting without an Authorization header")
        else:
            token = value
    result = post(
        url,
        render_payload(verdict).encode("utf-8"),
        timeout=settings.timeout,
        retries=settings.retries,
        backoff=settings.backoff,
        headers={**settings.headers, IDEMPOTENCY_HEADER: idempotency_key(verdict)},
        token=token,
    )
    if not result.ok:
        plural = "attempt" if result.attempts == 1 else "attempts"
        _warn(f"could not post the verdict to {redact_url(url)}: {result.reason} (after {result.attempts} {plural})")
    return result


@hookimpl
def gatekeeper_reporters() -> list[Reporter]:
    return [
        Reporter(
            PLUGIN,
            render_payload,
            "The JSON summary gatekeeper-webhook posts (schema gatekeeper-webhook/verdict, version 1).",
            "json",
        )
    ]


@hookimpl
def gatekeeper_policy_loaded(policy: ResolvedPolicy) -> None:
    """Validate ``settings.webhook`` now, so a bad block is a policy error (exit 2, file:line) before any check."""
    policy.plugin_settings(PLUGIN, WebhookSettings)


@hookimpl
def gatekeeper_verdict_ready(verdict: Verdict, policy: ResolvedPolicy) -> None:
    """Post the verdict. Never raises and never changes anything: a failure is one warning line."""
    try:
        notify(verdict, policy)
    except GatekeeperError as exc:  # e.g. the settings, when the policy was loaded without the hooks
        _warn(f"could not post the verdict: {exc}")
    except Exception as exc:  # a bug here: its message could hold a secret, so only its type
        _warn(f"could not post the verdict: unexpected {type(exc).__name__} in gatekeeper-webhook")
