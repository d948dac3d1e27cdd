"""Builders for the signing tests: verdicts, keys, signed files, and ways to tamper with them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from gatekeeper.models import CheckResult, InputFile, PolicyRef, RuleResult, Subject, ToolInfo, Verdict
from gatekeeper.signing import Verification, sign_verdict, verify
from gatekeeper.signing.dsse import PAYLOAD_TYPE, Envelope, canonical_json, pae
from gatekeeper.signing.keys import KeySigner, generate_private_key

COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
OTHER_COMMIT = "89e6c98d92887913cadf06b2adb97f26cde4849b"
REMOTE = "https://git.example.com/acme/shop.git"
POLICY_HEX = "a" * 64
WEAK_POLICY_HEX = "b" * 64
FINISHED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
NOW = FINISHED + timedelta(minutes=10)
EVIDENCE = InputFile(path="reports/junit.xml", sha256="c" * 64)


def make_verdict(
    outcome: str = "pass",
    *,
    commit: str | None = COMMIT,
    policy_hex: str = POLICY_HEX,
    finished_at: datetime = FINISHED,
    repository: str | None = REMOTE,
) -> Verdict:
    rule_outcome = {"pass": "pass", "fail": "fail", "error": "error"}[outcome]
    return Verdict(
        outcome=outcome,
        summary=f"{outcome.upper()}: 1 rule(s)",
        policy=PolicyRef(name="shop", digest=f"sha256:{policy_hex}", sources=["builtin:default", "gatekeeper.yaml"]),
        subject=Subject(repository=repository, commit=commit, branch="main", dirty=False),
        rules=[RuleResult(id="tests-green", outcome=rule_outcome, reason="met: failed == 0", checks=["tests"])],
        checks=[
            CheckResult(
                name="tests",
                uses="junit",
                status="ok",
                tool=ToolInfo(name="junit", version="1.2"),
                inputs=[EVIDENCE],
                metrics={"failed": 0.0, "total": 3.0},
            ),
            CheckResult(
                name="sast",
                uses="bandit",
                status="ok",
                tool=ToolInfo(name="bandit", version="1.8.0"),
                inputs=[EVIDENCE, InputFile(path="src/app.py", sha256="d" * 64)],
            ),
        ],
        gatekeeper_version="0.1.0",
        started_at=finished_at - timedelta(seconds=30),
        finished_at=finished_at,
    )


def new_signer(key_type: str = "ecdsa-p256") -> KeySigner:
    return KeySigner(generate_private_key(key_type))  # type: ignore[arg-type]


def signed_text(verdict: Verdict | None = None, signer: KeySigner | None = None, **options: Any) -> str:
    """The ``*.intoto.jsonl`` text of a signed verdict."""
    return sign_verdict(verdict or make_verdict(), signer or new_signer(), **options).to_jsonl()


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def join(envelopes: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in envelopes)


def statement_of(envelope: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(envelope["payload"]))


def with_statement(envelope: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The envelope with its statement changed and the OLD signature kept (a forgery attempt)."""
    statement = statement_of(envelope)
    change(statement)
    return {**envelope, "payload": base64.b64encode(canonical_json(statement)).decode()}


def resigned(
    statement: dict[str, Any], signer: KeySigner, payload_type: str = PAYLOAD_TYPE, keyid: str | None = None
) -> dict[str, Any]:
    """A statement freshly signed (by a trusted key, or an attacker's one), as an envelope dict."""
    payload = canonical_json(statement)
    envelope = Envelope(payload, payload_type, signer.sign(pae(payload_type, payload)), keyid or signer.keyid())
    return envelope.to_dict()


def check(text: str | bytes, signer: KeySigner, **options: Any) -> Verification:
    """``verify`` with the test defaults: the signer's key trusted, COMMIT deployed, the clock at NOW."""
    keys = options.pop("keys", [signer.public_key])
    options.setdefault("commit", COMMIT)
    options.setdefault("now", NOW)
    return verify(text, keys, **options)


def rejected(result: Verification) -> tuple[str | None, str]:
    assert not result.accepted
    return result.failed_check, result.reason


def resign_vsa(text: str, signer: KeySigner, change: Callable[[dict[str, Any]], None]) -> str:
    """The summary's statement changed and signed again by ``signer`` (the detail line dropped)."""
    statement = statement_of(lines(text)[0])
    change(statement)
    return join([resigned(statement, signer)])
