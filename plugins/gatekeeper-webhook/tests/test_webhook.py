"""gatekeeper-webhook against a real HTTP server on 127.0.0.1, through gatekeeper's plugin test kit.

The plugin is used as users get it: installed, found through its entry point ``webhook``
(``pip install -e plugins/gatekeeper-webhook``). Policies use the built-in ``required-files``
checker, which needs no tool, so every gate run is fast.
"""

from __future__ import annotations

import hashlib
import json
import socket
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from gatekeeper import PolicyError, Verdict
from gatekeeper.testing import run_gate

import gatekeeper_webhook

if not any(ep.name == "webhook" for ep in entry_points(group="gatekeeper")):
    pytest.fail(
        "gatekeeper-webhook is importable but not installed: run `pip install -e plugins/gatekeeper-webhook`",
        pytrace=False,
    )

# ---------------------------------------------------------------------------------------------
# the receiving end


@dataclass(frozen=True)
class Answer:
    """How the server answers one request: a status, extra headers, and a delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookServer:
    """A threaded ``http.server`` on 127.0.0.1 that records every POST and answers as scripted.

    ``script(*answers, then=...)``: the next requests get ``answers`` in order, every later one
    gets ``then`` (default 200).
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._queue: list[Answer] = []
        self._then = Answer()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = server._record(Received(self.path, headers, body))
                if answer.delay and server._closing.wait(answer.delay):
                    return
                payload = b'{"ok": true}' if answer.status < 400 else b'{"error": "scripted"}'
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (the timeout tests) is expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.base}/hook"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def script(self, *answers: Answer, then: Answer | None = None) -> WebhookServer:
        with self._lock:
            self._queue = list(answers)
            if then is not None:
                self._then = then
        return self

    def _record(self, received: Received) -> Answer:
        with self._lock:
            self.requests.append(received)
            return self._queue.pop(0) if self._queue else self._then

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    hook = WebhookServer()
    yield hook
    hook.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No webhook, proxy or disabled plugins from the developer's or CI's environment."""
    for name in (gatekeeper_webhook.ENV_URL, "GATEKEEPER_DISABLE_PLUGINS", "WEBHOOK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(gatekeeper_webhook, "_sleep", recorded.append)
    return recorded


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


# ---------------------------------------------------------------------------------------------
# policies and verdicts

README_CHECK = {"readme": {"uses": "required-files", "with": {"files": ["README.md"]}}}
README_RULE = [{"id": "readme", "check": "readme", "findings": {"max": 0}}]


def policy_data(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "webhook-test", "checks": README_CHECK, "rules": README_RULE}
    if settings is not None:
        data["settings"] = {"webhook": settings}
    return data


def fast(url: str, **more: Any) -> dict[str, Any]:
    """Settings that retry without sleeping long."""
    return {"url": url, "backoff": 0.01, "timeout": 2, **more}


WARNING = "gatekeeper-webhook: warning: could not post the verdict to "


def deliver(verdict: Verdict, policy: Any) -> None:
    """What the engine does once the verdict is decided: call every plugin's hook."""
    policy.plugins.manager.hook.gatekeeper_verdict_ready(verdict=verdict, policy=policy)


# ---------------------------------------------------------------------------------------------
# registration and the reporter


def test_the_entry_point_registers_the_reporter(gk_cli: Callable[..., Any], tmp_path: Path) -> None:
    done = gk_cli("plugins", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.split()[:2] == ["reporter", "webhook"])
    assert "entry point" in line
    assert gatekeeper_webhook.__version__ in line


def test_the_payload_summarises_the_verdict(gk_verdict: Callable[..., Verdict], gk_render: Callable[..., str]) -> None:
    verdict = gk_verdict("fail")
    text = gk_render(verdict, "webhook")
    assert text == gk_render(verdict, "webhook")  # pure
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "schema": "gatekeeper-webhook/verdict",
        "schema_version": 1,
        "outcome": "fail",
        "enforced": True,
        "mode": "enforce",
        "summary": "fail: 1 rule",
        "policy": {"name": "plugin-test", "digest": "sha256:" + "0" * 64},
        "subject": {"repository": "https://git.example.com/acme/app.git", "commit": "0" * 40, "branch": "main"},
        "counts": {"rules": 1, "passed": 0, "failed": 1, "error": 0, "warned": 0, "waived": 0, "findings": 1},
        "failing_rules": [
            {"id": "example", "outcome": "fail", "mode": "enforce", "reason": "1 finding(s) (max 0)", "findings": 1}
        ],
        "more_failing_rules": 0,
        "gatekeeper_version": verdict.gatekeeper_version,
        "finished_at": "2026-01-01T00:00:00Z",
    }


def test_the_payload_lists_at_most_20_rules_errors_first(
    gk_verdict: Callable[..., Verdict], gk_render: Callable[..., str]
) -> None:
    base = gk_verdict("fail")
    template = base.rules[0]
    rules = [template.model_copy(update={"id": f"rule-{i:02}", "reason": "x" * 5000}) for i in range(24)]
    rules.append(template.model_copy(update={"id": "broken", "outcome": "error", "findings": []}))
    rules.append(template.model_copy(update={"id": "fine", "outcome": "pass", "findings": []}))
    payload = json.loads(gk_render(base.model_copy(update={"rules": rules}), "webhook"))
    listed = payload["failing_rules"]
    assert len(listed) == 20
    assert [rule["id"] for rule in listed[:2]] == ["broken", "rule-00"]
    assert payload["more_failing_rules"] == 5
    assert payload["counts"] | {"findings": 0} == {
        "rules": 26, "passed": 1, "failed": 24, "error": 1, "warned": 0, "waived": 0, "findings": 0,
    }  # fmt: skip
    assert len(listed[1]["reason"]) == gatekeeper_webhook.MAX_REASON
    assert listed[1]["reason"].endswith("…")


# ---------------------------------------------------------------------------------------------
# posting


def test_a_verdict_is_posted_once_as_the_payload(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    gk_render: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdict = gk_verdict("fail")
    deliver(verdict, gk_policy(policy_data({"url": server.url, "headers": {"X-Team": "platform"}})))
    assert len(server.requests) == 1
    received = server.requests[0]
    assert received.path == "/hook"
    assert received.body.decode("utf-8") == gk_render(verdict, "webhook")
    assert received.json()["outcome"] == "fail"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == f"gatekeeper-webhook/{gatekeeper_webhook.__version__}"
    assert received.headers["x-team"] == "platform"
    assert "authorization" not in received.headers
    assert capsys.readouterr().err == ""
    payload = received.json()
    expected = "\n".join([payload["policy"]["digest"], payload["subject"]["commit"] or "", payload["finished_at"]])
    assert received.headers["idempotency-key"] == hashlib.sha256(expected.encode()).hexdigest()


def test_the_idempotency_key_is_one_per_gate_run(gk_verdict: Callable[..., Verdict]) -> None:
    verdict = gk_verdict("pass")
    key = gatekeeper_webhook.idempotency_key(verdict)
    assert len(key) == 64 and int(key, 16) >= 0
    assert gatekeeper_webhook.idempotency_key(verdict.model_copy()) == key
    later = verdict.model_copy(update={"finished_at": verdict.finished_at + timedelta(seconds=1)})
    assert gatekeeper_webhook.idempotency_key(later) != key
    other = verdict.model_copy(update={"subject": verdict.subject.model_copy(update={"commit": "f" * 40})})
    assert gatekeeper_webhook.idempotency_key(other) != key


def test_a_500_then_a_200_is_two_requests_and_a_success(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(Answer(500))
    verdict = gk_verdict("pass")
    deliver(verdict, gk_policy(policy_data({"url": server.url, "backoff": 0.25})))
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    key = gatekeeper_webhook.idempotency_key(verdict)
    assert [r.headers["idempotency-key"] for r in server.requests] == [key, key]
    assert waits == [0.25]
    assert capsys.readouterr().err == ""


def test_always_500_retries_then_warns_and_the_verdict_stands(
    server: WebhookServer,
    gk_repo: Any,
    gk_policy: Callable[..., Any],
    waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(then=Answer(500))
    gk_repo.write({"README.md": "hello\n"}).commit("readme")
    policy = gk_policy(policy_data({"url": server.url, "retries": 3, "backoff": 0.5}))
    verdict = run_gate(policy, gk_repo.root)  # through the engine: the hook must not raise
    assert verdict.outcome == "pass"
    assert len(server.requests) == 4
    assert waits == [0.5, 1.0, 2.0]  # doubling
    err = capsys.readouterr().err
    assert err.count("gatekeeper-webhook: warning:") == 1
    assert f"{WARNING}{server.url}: HTTP 500 Internal Server Error (after 4 attempts)\n" in err


def test_a_404_is_not_retried(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(then=Answer(404))
    deliver(gk_verdict("pass"), gk_policy(policy_data({"url": server.url, "retries": 5})))
    assert len(server.requests) == 1
    assert waits == []
    assert capsys.readouterr().err == f"{WARNING}{server.url}: HTTP 404 Not Found (after 1 attempt)\n"


def test_a_redirect_is_not_followed(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(then=Answer(307, {"Location": f"{server.base}/elsewhere"}))
    deliver(gk_verdict("pass"), gk_policy(policy_data(fast(server.url))))
    assert [r.path for r in server.requests] == ["/hook"]
    assert "HTTP 307 Temporary Redirect (redirects are not followed" in capsys.readouterr().err


def test_a_429_honours_a_small_retry_after_and_caps_a_large_one(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(Answer(429, {"Retry-After": "3"}), Answer(429, {"Retry-After": "3600"}), Answer(429))
    deliver(gk_verdict("pass"), gk_policy(policy_data({"url": server.url, "retries": 3, "backoff": 0.1})))
    assert len(server.requests) == 4
    assert waits == [3.0, gatekeeper_webhook.RETRY_AFTER_CAP, pytest.approx(0.4)]
    assert capsys.readouterr().err == ""


def test_a_server_slower_than_the_timeout_is_a_warning(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(then=Answer(200, delay=5))
    verdict = gk_verdict("pass")
    deliver(verdict, gk_policy(policy_data({"url": server.url, "timeout": 0.3, "retries": 1, "backoff": 0.1})))
    # Bounded by attempts x timeout + the waits: asserted through what was waited, not the wall clock.
    assert waits == [0.1]
    assert len(server.requests) == 2
    assert capsys.readouterr().err == f"{WARNING}{server.url}: timed out after 0.3s (after 2 attempts)\n"
    # The timed-out attempt did arrive: the retry carries the same key, so the receiver can drop it.
    keys = [received.headers["idempotency-key"] for received in server.requests]
    assert keys == [gatekeeper_webhook.idempotency_key(verdict)] * 2


def test_a_refused_connection_is_a_warning(
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = closed_port_url()
    deliver(gk_verdict("error"), gk_policy(policy_data({"url": url, "retries": 1})))
    assert waits == [0.5]
    assert capsys.readouterr().err == f"{WARNING}{url}: connection refused (after 2 attempts)\n"


def test_the_environment_url_wins_over_the_policy(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = gk_policy(policy_data({"url": f"{server.base}/from-policy"}))
    monkeypatch.setenv("GATEKEEPER_WEBHOOK_URL", f"{server.base}/from-env")
    deliver(gk_verdict("pass"), policy)
    monkeypatch.setenv("GATEKEEPER_WEBHOOK_URL", "")  # empty, as for a secret a fork does not get: not set
    deliver(gk_verdict("pass"), policy)
    assert [r.path for r in server.requests] == ["/from-env", "/from-policy"]


def test_the_environment_url_alone_is_enough(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEKEEPER_WEBHOOK_URL", server.url)
    deliver(gk_verdict("pass"), gk_policy(policy_data()))
    assert len(server.requests) == 1


def test_a_bad_environment_url_is_a_warning_that_does_not_quote_it(
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GATEKEEPER_WEBHOOK_URL", "ftp://user:hunter2@files.example.com/drop")
    deliver(gk_verdict("pass"), gk_policy(policy_data()))
    err = capsys.readouterr().err
    assert err.startswith("gatekeeper-webhook: warning: GATEKEEPER_WEBHOOK_URL is not a usable webhook URL")
    assert "hunter2" not in err
    assert "files.example.com" not in err


def test_token_env_sends_a_bearer_token_that_is_never_printed(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "s3cr3t-t0ken-value"
    monkeypatch.setenv("WEBHOOK_TOKEN", token)
    server.script(then=Answer(401))
    deliver(gk_verdict("pass"), gk_policy(policy_data(fast(server.url, token_env="WEBHOOK_TOKEN"))))
    assert server.requests[0].headers["authorization"] == f"Bearer {token}"
    err = capsys.readouterr().err
    assert err == f"{WARNING}{server.url}: HTTP 401 Unauthorized (after 1 attempt)\n"
    assert token not in err


def test_a_missing_token_is_a_warning_and_no_authorization_is_sent(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    capsys: pytest.CaptureFixture[str],
) -> None:
    deliver(gk_verdict("pass"), gk_policy(policy_data(fast(server.url, token_env="WEBHOOK_TOKEN"))))
    assert len(server.requests) == 1
    assert "authorization" not in server.requests[0].headers
    assert capsys.readouterr().err == (
        "gatekeeper-webhook: warning: WEBHOOK_TOKEN (token_env) is not set; posting without an Authorization header\n"
    )


def test_a_token_that_cannot_be_a_header_is_not_sent(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WEBHOOK_TOKEN", "two words\r\nX-Injected: yes")
    deliver(gk_verdict("pass"), gk_policy(policy_data(fast(server.url, token_env="WEBHOOK_TOKEN"))))
    assert len(server.requests) == 1
    assert "authorization" not in server.requests[0].headers
    assert "x-injected" not in server.requests[0].headers
    err = capsys.readouterr().err
    assert err == (
        "gatekeeper-webhook: warning: WEBHOOK_TOKEN (token_env) is not a valid token; "
        "posting without an Authorization header\n"
    )


def test_post_never_raises_for_a_bad_url() -> None:
    result = gatekeeper_webhook.post("http://example.com:99999/hook", b"{}")
    assert result == gatekeeper_webhook.PostResult(
        False, 0, "not a usable webhook URL: its port is not a number from 0 to 65535"
    )


def test_url_credentials_become_basic_auth_and_are_redacted_with_the_query(
    server: WebhookServer,
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script(then=Answer(503))
    port = server.httpd.server_address[1]
    url = f"http://robot:pa55word@127.0.0.1:{port}/hook?key=qu3rysecret"
    deliver(gk_verdict("pass"), gk_policy(policy_data(fast(url, retries=0))))
    received = server.requests[0]
    assert received.path == "/hook?key=qu3rysecret"
    assert received.headers["authorization"] == "Basic cm9ib3Q6cGE1NXdvcmQ="  # robot:pa55word
    err = capsys.readouterr().err
    assert err == f"{WARNING}http://***@127.0.0.1:{port}/hook?***: HTTP 503 Service Unavailable (after 1 attempt)\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX",
         "https://hooks.slack.com/services/T0000000/B0000000/***"),
        ("https://user@example.com:8443/ci/hook#frag", "https://***@example.com:8443/ci/hook"),
        ("http://[::1]:8080/h?a=1", "http://[::1]:8080/h?***"),
        ("https://example.com", "https://example.com"),
    ],
)  # fmt: skip
def test_urls_are_redacted_for_printing(url: str, shown: str) -> None:
    assert gatekeeper_webhook.redact_url(url) == shown


def test_on_limits_the_outcomes_posted(
    server: WebhookServer, gk_policy: Callable[..., Any], gk_verdict: Callable[..., Verdict]
) -> None:
    policy = gk_policy(policy_data({"url": server.url, "on": ["fail"]}))
    deliver(gk_verdict("pass"), policy)
    assert server.requests == []
    deliver(gk_verdict("fail"), policy)
    assert [r.json()["outcome"] for r in server.requests] == ["fail"]


def test_without_a_url_nothing_is_posted_and_nothing_is_said(
    server: WebhookServer,
    gk_repo: Any,
    gk_policy: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gk_repo.write({"README.md": "hello\n"}).commit("readme")
    for settings in (None, {"timeout": 1, "token_env": "WEBHOOK_TOKEN"}):
        verdict = run_gate(gk_policy(policy_data(settings)), gk_repo.root)
        assert verdict.outcome == "pass"
    assert server.requests == []
    assert capsys.readouterr().err == ""


def test_the_hook_never_raises(
    gk_policy: Callable[..., Any],
    gk_verdict: Callable[..., Verdict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("token=do-not-print-me")

    monkeypatch.setattr(gatekeeper_webhook, "post", explode)
    deliver(gk_verdict("pass"), gk_policy(policy_data({"url": "https://example.invalid/hook"})))
    err = capsys.readouterr().err
    assert (
        err
        == "gatekeeper-webhook: warning: could not post the verdict: unexpected RuntimeError in gatekeeper-webhook\n"
    )


# ---------------------------------------------------------------------------------------------
# settings are validated with the policy


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"url": "http://127.0.0.1/hook", "timeout": -1}, "settings.webhook.timeout: Input should be greater than 0"),
        ({"url": "http://127.0.0.1/hook", "retry": 3}, "settings.webhook.retry: unknown key (did you mean 'retries'?)"),
        ({"url": "ftp://example.com/x"}, "settings.webhook.url: not a usable webhook URL: only http and https"),
        ({"url": "http://127.0.0.1/hook", "on": ["passed"]}, "settings.webhook.on[0]: Input should be 'pass'"),
        ({"headers": {"Content-Type": "text/plain"}}, "'Content-Type' is set by the plugin"),
        ({"headers": {"Idempotency-Key": "mine"}}, "'Idempotency-Key' is set by the plugin"),
        ({"headers": {"X-Note": "line\nbreak"}}, "the value of 'X-Note' must be printable ASCII on one line"),
        ({"token_env": "MY TOKEN"}, "is not an environment variable name"),
        ({"token_env": "T", "headers": {"Authorization": "x"}}, "either token_env or an Authorization header"),
        ({"retries": "2"}, "settings.webhook.retries: Input should be a valid integer"),  # strict
    ],
)
def test_bad_settings_are_policy_errors(settings: dict[str, Any], message: str, gk_policy: Callable[..., Any]) -> None:
    with pytest.raises(PolicyError, match=r"gatekeeper\.yaml:\d+") as caught:
        gk_policy(policy_data(settings))
    assert message in str(caught.value)


def _write_policy(repo: Any, settings_yaml: str) -> None:
    body = textwrap.dedent(
        """\
        version: 1
        name: webhook-cli
        settings:
          webhook:
        {settings}
        checks:
          readme:
            uses: required-files
            with: {{files: [README.md]}}
        rules:
          - id: readme
            check: readme
            findings: {{max: 0}}
        """
    ).format(settings=textwrap.indent(textwrap.dedent(settings_yaml).strip(), "    "))
    repo.write({"gatekeeper.yaml": body})


@pytest.mark.parametrize(
    ("settings_yaml", "where"),
    [
        ("url: http://127.0.0.1:9/hook\ntimeout: -1", "gatekeeper.yaml:6:14: settings.webhook.timeout"),
        ("url: http://127.0.0.1:9/hook\ntimout: 2", "gatekeeper.yaml:6:5: settings.webhook.timout: unknown key"),
        ("url: ftp://127.0.0.1/hook", "gatekeeper.yaml:5:10: settings.webhook.url"),
    ],
)
def test_gatekeeper_run_exits_2_on_bad_settings_before_anything_runs(
    settings_yaml: str, where: str, server: WebhookServer, gk_repo: Any, gk_cli: Callable[..., Any]
) -> None:
    gk_repo.write({"README.md": "hello\n"})
    _write_policy(gk_repo, settings_yaml)
    done = gk_cli("run", ".", cwd=gk_repo.root)
    assert done.returncode == 2, done.stderr
    assert f"gatekeeper: error: {where}" in done.stderr, done.stderr
    assert "[1/1]" not in done.stderr  # no check ran
    assert server.requests == []


# ---------------------------------------------------------------------------------------------
# end to end: the real command


def test_gatekeeper_run_posts_what_format_webhook_prints(
    server: WebhookServer, gk_repo: Any, gk_cli: Callable[..., Any]
) -> None:
    gk_repo.write({"README.md": "hello\n"})
    _write_policy(gk_repo, f"url: {server.url}")
    gk_repo.commit("policy")
    done = gk_cli("run", ".", "--format", "webhook=out/payload.json", cwd=gk_repo.root)
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == 1
    written = (gk_repo.root / "out" / "payload.json").read_text(encoding="utf-8")
    assert server.requests[0].body.decode("utf-8") == written
    payload = json.loads(written)
    assert payload["outcome"] == "pass"
    assert payload["policy"]["name"] == "webhook-cli"
    assert payload["subject"]["commit"] == gk_repo.head()
    assert payload["subject"]["branch"] == "main"
    assert "gatekeeper-webhook" not in done.stderr


def _comparable(verdict_json: str) -> dict[str, Any]:
    """The verdict without what differs between two runs anyway: times, durations, the run's history record."""
    verdict: dict[str, Any] = json.loads(verdict_json)
    verdict.pop("started_at")
    verdict.pop("finished_at")
    verdict.pop("history", None)  # the second run gets the next run id
    for check in verdict["checks"]:
        check.pop("duration_s")
    return verdict


@pytest.mark.parametrize(("readme", "expected_exit"), [(True, 0), (False, 1)], ids=["passing", "failing"])
def test_a_failing_webhook_changes_neither_the_exit_code_nor_the_verdict(
    readme: bool, expected_exit: int, server: WebhookServer, gk_repo: Any, gk_cli: Callable[..., Any]
) -> None:
    server.script(then=Answer(500))
    if readme:
        gk_repo.write({"README.md": "hello\n"})
    _write_policy(gk_repo, f"url: {server.url}\nretries: 1\nbackoff: 0.01")
    gk_repo.commit("policy")

    posting = gk_cli("run", ".", "--format", "json", cwd=gk_repo.root)
    assert len(server.requests) == 2
    assert f"{WARNING}{server.url}: HTTP 500 Internal Server Error (after 2 attempts)" in posting.stderr

    disabled = gk_cli("run", ".", "--format", "json", "--disable-plugin", "webhook", cwd=gk_repo.root)
    assert len(server.requests) == 2  # the disabled plugin posted nothing
    assert "gatekeeper-webhook" not in disabled.stderr

    assert posting.returncode == disabled.returncode == expected_exit
    assert _comparable(posting.stdout) == _comparable(disabled.stdout)
    assert json.loads(posting.stdout)["outcome"] == ("pass" if readme else "fail")
