"""DSSE envelopes (https://github.com/secure-systems-lab/dsse): PAE, build, strict parse.

The signature is over the pre-authentication encoding
``DSSEv1 SP len(type) SP type SP len(body) SP body`` (lengths in bytes, ASCII decimal),
never over the JSON. Parsing is strict so that what is verified is exactly what was
signed: standard base64 with padding and nothing else (no URL-safe alphabet, no
whitespace, canonical trailing bits), no duplicate JSON keys, no unknown fields,
exactly one signature.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from gatekeeper.signing import Signer

__all__ = [
    "PAYLOAD_TYPE",
    "Envelope",
    "EnvelopeError",
    "b64decode_strict",
    "b64encode",
    "canonical_json",
    "loads_strict",
    "pae",
    "parse_envelope",
    "sign_envelope",
]

#: The DSSE payloadType of an in-toto Statement.
PAYLOAD_TYPE = "application/vnd.in-toto+json"


class EnvelopeError(ValueError):
    """An envelope (or a payload inside it) is not well-formed; the message says how."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of ``payload`` under ``payload_type``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 section 4) with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str, what: str) -> bytes:
    """Decode standard, padded, canonical base64; anything else is an ``EnvelopeError``."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EnvelopeError(f"{what} is not standard padded base64") from None
    if base64.b64encode(raw).decode("ascii") != text:  # non-zero trailing bits: two spellings of one value
        raise EnvelopeError(f"{what} is not canonical base64")
    return raw


def canonical_json(data: Any) -> bytes:
    """Compact JSON with sorted keys, UTF-8: the same value always gives the same bytes."""
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN or infinity has no JSON spelling
        raise EnvelopeError(f"cannot serialise as JSON: {exc}") from None
    return text.encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise EnvelopeError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise EnvelopeError(f"{name} is not JSON")


def loads_strict(data: bytes | str, what: str) -> Any:
    """Parse JSON strictly: UTF-8 only, one value, no duplicate keys, no NaN/Infinity."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise EnvelopeError(f"{what} is not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except EnvelopeError as exc:
        raise EnvelopeError(f"{what} is not valid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"{what} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise EnvelopeError(f"{what} is nested too deeply") from None


@dataclass(frozen=True)
class Envelope:
    """One DSSE envelope with its single signature. ``keyid`` is a hint, never trusted."""

    payload: bytes
    payload_type: str
    sig: bytes
    keyid: str = ""

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": self.keyid, "sig": b64encode(self.sig)}],
        }

    def to_json(self) -> str:
        """The envelope as one line of compact JSON with sorted keys."""
        return canonical_json(self.to_dict()).decode("utf-8")


def sign_envelope(payload: bytes, signer: Signer, payload_type: str = PAYLOAD_TYPE) -> Envelope:
    """Sign ``payload`` with ``signer`` over its PAE; the keyid is the signer's."""
    return Envelope(payload, payload_type, signer.sign(pae(payload_type, payload)), signer.keyid())


_ENVELOPE_KEYS = {"payload", "payloadType", "signatures"}
_SIGNATURE_KEYS = {"keyid", "sig"}


def parse_envelope(text: str | bytes, what: str = "envelope") -> Envelope:
    """A strictly parsed envelope; ``EnvelopeError`` says what is wrong with it."""
    data = loads_strict(text, what)
    if not isinstance(data, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    missing = sorted(_ENVELOPE_KEYS - set(data))
    if missing:
        raise EnvelopeError(f"{what} has no {', '.join(missing)}")
    unknown = sorted(set(data) - _ENVELOPE_KEYS)
    if unknown:
        raise EnvelopeError(f"{what} has unknown fields: {', '.join(unknown)}")
    if not isinstance(data["payloadType"], str):
        raise EnvelopeError(f"{what}: payloadType is not a string")
    if not isinstance(data["payload"], str):
        raise EnvelopeError(f"{what}: payload is not a string")
    signatures = data["signatures"]
    if not isinstance(signatures, list):
        raise EnvelopeError(f"{what}: signatures is not a list")
    if not signatures:
        raise EnvelopeError(f"{what} has no signatures")
    if len(signatures) > 1:
        raise EnvelopeError(f"{what} has {len(signatures)} signatures; gatekeeper expects exactly one")
    (signature,) = signatures
    if not isinstance(signature, dict):
        raise EnvelopeError(f"{what}: the signature is not a JSON object")
    unknown = sorted(set(signature) - _SIGNATURE_KEYS)
    if unknown:
        raise EnvelopeError(f"{what}: the signature has unknown fields: {', '.join(unknown)}")
    sig, keyid = signature.get("sig"), signature.get("keyid", "")
    if not isinstance(sig, str) or not sig:
        raise EnvelopeError(f"{what}: the signature has no sig")
    if not isinstance(keyid, str):
        raise EnvelopeError(f"{what}: the signature's keyid is not a string")
    payload = b64decode_strict(data["payload"], f"{what}: payload")
    raw_sig = b64decode_strict(sig, f"{what}: sig")
    return Envelope(payload, data["payloadType"], raw_sig, keyid)
