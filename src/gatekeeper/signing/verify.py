"""Deploy-time verification of a signed verdict: the checks in order, and the first that fails.

The order is part of the contract (``CHECKS``): nothing in a payload is looked at
before its signature verified with a trusted key, and the payload parsed is exactly
the bytes that were verified. The envelope's ``keyid`` only chooses which trusted key
to try; it is never trusted itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from gatekeeper.digests import sha256_file
from gatekeeper.durations import format_duration, parse_duration
from gatekeeper.errors import UsageError
from gatekeeper.signing.attestation import DETAIL_PREDICATE_TYPE, STATEMENT_TYPE, VSA_PREDICATE_TYPE, format_time
from gatekeeper.signing.dsse import PAYLOAD_TYPE, Envelope, EnvelopeError, loads_strict, parse_envelope
from gatekeeper.signing.keys import PublicKey, keyid_of, verify_signature

__all__ = [
    "CHECKS",
    "DEFAULT_SKEW",
    "CheckName",
    "Verification",
    "format_duration",
    "parse_duration",
    "parse_policy_digest",
    "verify",
]

CheckName = Literal[
    "envelope", "signature", "payloadType", "payload", "_type", "predicateType", "subject",
    "resourceUri", "policy", "verificationResult", "timeVerified", "detail",
]  # fmt: skip
#: Every check, in the order they run.
CHECKS: tuple[CheckName, ...] = (
    "envelope", "signature", "payloadType", "payload", "_type", "predicateType", "subject",
    "resourceUri", "policy", "verificationResult", "timeVerified", "detail",
)  # fmt: skip
#: How far ahead of the verifier's clock ``timeVerified`` may be (clocks drift).
DEFAULT_SKEW = timedelta(minutes=5)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))", re.ASCII
)


@dataclass(frozen=True)
class Verification:
    """What ``verify`` decided. ``failed_check`` and ``reason`` name the first check that failed.

    ``signature_valid`` is True once a trusted key verified the summary's signature, so a
    FAILED verdict that is genuinely signed reads ``signature_valid=True, accepted=False``.
    """

    accepted: bool
    failed_check: CheckName | None = None
    reason: str = ""
    signature_valid: bool = False
    keyid: str | None = None
    verification_result: str | None = None
    policy_digest: str | None = None
    time_verified: datetime | None = None
    subjects: tuple[str, ...] = ()
    detail_checked: bool = False


class _Rejected(Exception):
    def __init__(self, check: CheckName, reason: str):
        super().__init__(reason)
        self.check = check
        self.reason = f"{check}: {reason}"


def parse_policy_digest(text: str) -> str:
    """``sha256:HEX`` (as ``gatekeeper policy validate`` prints it) to its lowercase hex."""
    algorithm, _, hexdigest = text.strip().partition(":")
    if algorithm != "sha256" or not _HEX64.fullmatch(hexdigest.lower()):
        raise UsageError(f"policy digest {text!r}: write sha256:HEX, as `gatekeeper policy validate` prints it")
    return hexdigest.lower()


def _parse_time(value: str) -> datetime | None:
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = (
            timezone.utc
            if zulu
            else timezone((1 if sign == "+" else -1) * timedelta(hours=int(off_h), minutes=int(off_m)))
        )
        micro = int((fraction or "0").ljust(6, "0")[:6])
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, offset)
    except ValueError:
        return None
    return moment.astimezone(timezone.utc)


def _split(data: bytes | str) -> list[Envelope]:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise _Rejected("envelope", "the file is not UTF-8") from None
    if not text.strip():
        raise _Rejected("envelope", "the file is empty")
    lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
    if len(lines) > 1:
        try:  # one pretty-printed envelope rather than JSON lines
            return [parse_envelope(text, "the file")]
        except EnvelopeError:
            pass
    if len(lines) > 2:
        raise _Rejected(
            "envelope", f"{len(lines)} lines; expected the verdict envelope and at most one detail envelope"
        )
    envelopes = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise _Rejected("envelope", f"line {number} is empty")
        try:
            envelopes.append(parse_envelope(line, f"line {number}"))
        except EnvelopeError as exc:
            raise _Rejected("envelope", str(exc)) from None
    return envelopes


def _check_signature(envelope: Envelope, trusted: dict[str, PublicKey]) -> str:
    named = trusted.get(envelope.keyid)
    candidates = [(envelope.keyid, named)] if named is not None else list(trusted.items())
    for keyid, key in candidates:
        if verify_signature(key, envelope.sig, envelope.pae()):
            return keyid
    if named is not None:
        raise _Rejected("signature", f"does not verify with trusted key {envelope.keyid} (the key its keyid names)")
    raise _Rejected("signature", f"no trusted key verifies it (its keyid is {envelope.keyid or 'empty'!r})")


def _statement(envelope: Envelope, predicate_type: str, check: CheckName | None = None) -> dict[str, Any]:
    def reject(name: CheckName, reason: str) -> _Rejected:
        return _Rejected(check or name, reason if check is None else f"{name}: {reason}")

    if envelope.payload_type != PAYLOAD_TYPE:
        raise reject("payloadType", f"{envelope.payload_type!r}, expected {PAYLOAD_TYPE!r}")
    try:
        statement = loads_strict(envelope.payload, "the payload")
    except EnvelopeError as exc:
        raise reject("payload", str(exc)) from None
    if not isinstance(statement, dict):
        raise reject("payload", "the payload is not a JSON object")
    if statement.get("_type") != STATEMENT_TYPE:
        raise reject("_type", f"{statement.get('_type')!r}, expected {STATEMENT_TYPE!r}")
    if statement.get("predicateType") != predicate_type:
        raise reject("predicateType", f"{statement.get('predicateType')!r}, expected {predicate_type!r}")
    if not isinstance(statement.get("predicate"), dict):
        raise reject("predicateType", "the statement has no predicate object")
    return statement


def _subjects(statement: dict[str, Any]) -> list[dict[str, str]]:
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise _Rejected("subject", "the statement has no subject")
    digests = []
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if not isinstance(digest, dict) or not digest or not all(isinstance(v, str) for v in digest.values()):
            raise _Rejected("subject", "a subject has no digest set")
        digests.append(digest)
    return digests


def _check_subject(statement: dict[str, Any], commit: str | None, artifacts: dict[str, str]) -> None:
    digests = _subjects(statement)
    if commit is not None and commit not in {d.get("gitCommit", "").lower() for d in digests}:
        others = ", ".join(sorted(d["gitCommit"] for d in digests if "gitCommit" in d)) or "none"
        raise _Rejected("subject", f"no subject has gitCommit {commit} (the verdict's commits: {others})")
    sha256s = {d.get("sha256", "").lower() for d in digests}
    for name, digest in artifacts.items():
        if digest not in sha256s:
            raise _Rejected("subject", f"no subject has the sha256 of artifact {name} ({digest})")


def _check_time(predicate: dict[str, Any], now: datetime, max_age: timedelta | None, skew: timedelta) -> datetime:
    value = predicate.get("timeVerified")
    if value is None:
        raise _Rejected("timeVerified", "missing")
    moment = _parse_time(value) if isinstance(value, str) else None
    if moment is None:
        raise _Rejected("timeVerified", f"{value!r} is not an RFC 3339 timestamp with a time zone")
    if moment > now + skew:
        raise _Rejected(
            "timeVerified", f"{value} is in the future (more than {format_duration(skew)} after {format_time(now)})"
        )
    if max_age is not None and now - moment > max_age:
        raise _Rejected(
            "timeVerified",
            f"{value} is older than the maximum age {format_duration(max_age)} (it is {format_duration(now - moment)} old)",
        )
    return moment


def _check_detail(detail: Envelope, keyid: str, key: PublicKey, vsa: dict[str, Any]) -> None:
    if not verify_signature(key, detail.sig, detail.pae()):
        raise _Rejected("detail", f"its signature does not verify with the key that signed the verdict ({keyid})")
    statement = _statement(detail, DETAIL_PREDICATE_TYPE, check="detail")
    if statement.get("subject") != vsa.get("subject"):
        raise _Rejected("detail", "its subject is not the verdict's subject")
    entries = vsa["predicate"].get("inputAttestations")
    bound = [
        e
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and e.get("mediaType") == PAYLOAD_TYPE
    ]
    if len(bound) != 1:
        raise _Rejected("detail", f"the verdict's inputAttestations name {len(bound)} detail statements, expected 1")
    expected = bound[0].get("digest", {}).get("sha256") if isinstance(bound[0].get("digest"), dict) else None
    actual = hashlib.sha256(detail.payload).hexdigest()
    if actual != expected:
        raise _Rejected(
            "detail", f"its sha256 {actual} is not the one the verdict's inputAttestations name ({expected})"
        )


def _artifact_digests(artifacts: Iterable[str | Path]) -> dict[str, str]:
    digests = {}
    for artifact in artifacts:
        path = Path(artifact)
        try:
            digests[str(path)] = sha256_file(path)
        except OSError as exc:
            raise UsageError(f"cannot read artifact {path}: {exc.strerror or exc}") from None
    return digests


def verify(
    data: bytes | str,
    keys: Sequence[PublicKey],
    *,
    commit: str | None = None,
    artifacts: Sequence[str | Path] = (),
    policy_digests: Iterable[str] = (),
    resource_uri: str | None = None,
    max_age: timedelta | None = None,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> Verification:
    """Verify a signed verdict (the ``*.intoto.jsonl`` text) for deployment; never raises for a bad one.

    Checks, in order (``CHECKS``): the envelopes parse strictly; the summary's signature
    verifies with one of ``keys``; payloadType, ``_type`` and predicateType; the subject
    has ``commit`` and every artifact's sha256; ``resourceUri`` (when given); the policy
    digest is one of ``policy_digests`` (``sha256:HEX``; when given); the result is PASSED;
    ``timeVerified`` is present, not more than ``skew`` ahead of ``now`` and not older
    than ``max_age``; the detail envelope, when present, is signed by the same key, has the
    same subject and the sha256 the summary names. Raises ``UsageError`` only for bad
    arguments: no keys, a malformed commit or digest, no commit and no artifact (which
    would accept a verdict about anything), an unreadable artifact.
    """
    if not keys:
        raise UsageError("no trusted public key given; verification needs at least one")
    if commit is None and not artifacts:
        raise UsageError("name what is being deployed (a commit or an artifact); otherwise any verdict would do")
    if commit is not None and not _COMMIT.fullmatch(commit.lower()):
        raise UsageError(f"commit {commit!r}: give the full 40 (or 64) hex digit commit id")
    allowed = {parse_policy_digest(d) for d in policy_digests}
    wanted = _artifact_digests(artifacts)
    trusted = {keyid_of(key): key for key in keys}
    moment_now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    facts: dict[str, Any] = {}
    try:
        envelopes = _split(data)
        keyid = _check_signature(envelopes[0], trusted)
        facts.update(signature_valid=True, keyid=keyid)
        statement = _statement(envelopes[0], VSA_PREDICATE_TYPE)
        predicate = statement["predicate"]
        _check_subject(statement, commit.lower() if commit else None, wanted)
        facts["subjects"] = tuple(str(s.get("name", "")) for s in statement["subject"] if isinstance(s, dict))
        if resource_uri is not None and predicate.get("resourceUri") != resource_uri:
            raise _Rejected("resourceUri", f"{predicate.get('resourceUri')!r}, expected {resource_uri!r}")
        policy = predicate.get("policy")
        digest = policy.get("digest") if isinstance(policy, dict) else None
        found = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(found, str):
            raise _Rejected("policy", "the verdict names no policy.digest.sha256")
        facts["policy_digest"] = f"sha256:{found}"
        if allowed and found.lower() not in allowed:
            raise _Rejected("policy", f"digest sha256:{found} is not an allowed policy digest")
        result = predicate.get("verificationResult")
        facts["verification_result"] = result if isinstance(result, str) else None
        if result != "PASSED":
            raise _Rejected("verificationResult", f"{result!r}, expected 'PASSED'")
        facts["time_verified"] = _check_time(predicate, moment_now, max_age, skew)
        if len(envelopes) == 2:
            _check_detail(envelopes[1], keyid, trusted[keyid], statement)
            facts["detail_checked"] = True
    except _Rejected as rejected:
        return Verification(False, rejected.check, rejected.reason, **facts)
    return Verification(True, **facts)
