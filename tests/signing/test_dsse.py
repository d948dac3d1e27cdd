"""DSSE: the PAE bytes, the envelope's JSON, and a parser that accepts exactly one spelling."""

from __future__ import annotations

import base64
import json

import pytest
from signing_helpers import new_signer

from gatekeeper.signing.dsse import (
    PAYLOAD_TYPE,
    Envelope,
    EnvelopeError,
    b64decode_strict,
    canonical_json,
    loads_strict,
    pae,
    parse_envelope,
    sign_envelope,
)
from gatekeeper.signing.keys import verify_signature


def test_pae_matches_the_dsse_spec_example() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("tÿpe", "ünï".encode()) == "DSSEv1 5 tÿpe 5 ünï".encode()
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_envelope_json_is_compact_sorted_standard_base64() -> None:
    envelope = Envelope(b"\xfb\xff{}", PAYLOAD_TYPE, b"\xfe\xff", "ab" * 32)
    assert envelope.to_json() == (
        '{"payload":"+/97fQ==","payloadType":"application/vnd.in-toto+json",'
        '"signatures":[{"keyid":"' + "ab" * 32 + '","sig":"/v8="}]}'
    )
    assert parse_envelope(envelope.to_json()) == envelope


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_sign_envelope_signs_the_pae_with_the_signers_keyid(key_type: str) -> None:
    signer = new_signer(key_type)
    envelope = sign_envelope(b'{"a":1}', signer)
    assert envelope.keyid == signer.keyid() and envelope.payload_type == PAYLOAD_TYPE
    assert verify_signature(signer.public_key, envelope.sig, pae(PAYLOAD_TYPE, b'{"a":1}'))
    assert not verify_signature(signer.public_key, envelope.sig, b'{"a":1}')  # never over the bare payload


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("+/97fQ==", None),
        ("-_97fQ==", "x is not standard padded base64"),  # URL-safe alphabet
        ("+/97fQ", "x is not standard padded base64"),  # padding dropped
        ("+/97 fQ==", "x is not standard padded base64"),  # whitespace
        ("+/97fQ==\n", "x is not standard padded base64"),
        ("+/97fR==", "x is not canonical base64"),  # same bytes, non-zero trailing bits
        ("+/97fQ===", "x is not standard padded base64"),
        ("é", "x is not standard padded base64"),
    ],
)
def test_base64_is_strict(text: str, message: str | None) -> None:
    if message is None:
        assert b64decode_strict(text, "x") == b"\xfb\xff{}"
    else:
        with pytest.raises(EnvelopeError) as caught:
            b64decode_strict(text, "x")
        assert str(caught.value) == message


def _envelope(**changes: object) -> str:
    data: dict[str, object] = {
        "payload": base64.b64encode(b"{}").decode(),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"keyid": "k", "sig": base64.b64encode(b"sig").decode()}],
    }
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1 is not valid JSON: Expecting value at position 0"),
        (_envelope()[:-10], "line 1 is not valid JSON: Expecting value at position"),
        (_envelope() + _envelope(), "line 1 is not valid JSON: Extra data at position"),
        ("[]", "line 1 is not a JSON object"),
        (_envelope(payload=None), "line 1 has no payload"),
        (_envelope(signatures=None, payloadType=None), "line 1 has no payloadType, signatures"),
        (_envelope(extra=1), "line 1 has unknown fields: extra"),
        (_envelope(payloadType=1), "line 1: payloadType is not a string"),
        (_envelope(payload=["e30="]), "line 1: payload is not a string"),
        (_envelope(signatures={}), "line 1: signatures is not a list"),
        (_envelope(signatures=[]), "line 1 has no signatures"),
        (_envelope(signatures=[{"sig": "c2ln"}, {"sig": "c2ln"}]), "line 1 has 2 signatures; gatekeeper expects exactly one"),
        (_envelope(signatures=["c2ln"]), "line 1: the signature is not a JSON object"),
        (_envelope(signatures=[{"keyid": "k"}]), "line 1: the signature has no sig"),
        (_envelope(signatures=[{"sig": ""}]), "line 1: the signature has no sig"),
        (_envelope(signatures=[{"sig": "c2ln", "cert": "x"}]), "line 1: the signature has unknown fields: cert"),
        (_envelope(signatures=[{"sig": "c2ln", "keyid": 7}]), "line 1: the signature's keyid is not a string"),
        (_envelope(payload="e30"), "line 1: payload is not standard padded base64"),
        (_envelope(payload="e3-="), "line 1: payload is not standard padded base64"),
        (_envelope(signatures=[{"sig": "c2ln_"}]), "line 1: sig is not standard padded base64"),
        ('{"payload": "e30=", "payload": "e30=", "payloadType": "t", "signatures": []}', "line 1 is not valid JSON: duplicate key 'payload'"),
    ],
)  # fmt: skip
def test_parse_rejects_every_malformed_envelope(text: str, message: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_envelope(text, "line 1")
    assert str(caught.value).startswith(message)


def test_parse_accepts_a_missing_keyid() -> None:
    envelope = parse_envelope(_envelope(signatures=[{"sig": "c2ln"}]))
    assert envelope.keyid == "" and envelope.sig == b"sig" and envelope.payload == b"{}"


def test_canonical_json_is_deterministic_and_refuses_nan() -> None:
    assert canonical_json({"b": [1, "é"], "a": {"d": 1, "c": 2}}) == '{"a":{"c":2,"d":1},"b":[1,"é"]}'.encode()
    with pytest.raises(EnvelopeError, match="cannot serialise as JSON"):
        canonical_json({"x": float("nan")})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": NaN}', "p is not valid JSON: NaN is not JSON"),
        (b'{"a": 1, "a": 2}', "p is not valid JSON: duplicate key 'a'"),
        (b"\xef\xbb\xbf{}", "p is not valid JSON: Unexpected UTF-8 BOM"),
        (b"\xff{}", "p is not UTF-8"),
        ('{"a": 1}'.encode("utf-16"), "p is not UTF-8"),  # json.loads would guess the encoding; we do not
        (b"[" * 100000, "p is nested too deeply"),
    ],
)
def test_loads_strict(data: bytes, message: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        loads_strict(data, "p")
    assert str(caught.value).startswith(message)
