"""`verify` against attacks: each rejected, with its own reason, at the check that catches it."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from signing_helpers import (
    COMMIT,
    FINISHED,
    OTHER_COMMIT,
    POLICY_HEX,
    WEAK_POLICY_HEX,
    check,
    join,
    lines,
    make_verdict,
    new_signer,
    rejected,
    resign_vsa,
    resigned,
    signed_text,
    statement_of,
    with_statement,
)

VSA = "https://slsa.dev/verification_summary/v1"


def test_flipping_failed_to_passed_under_the_old_signature(signer) -> None:
    vsa, detail = lines(signed_text(make_verdict("fail"), signer))

    def flip(statement: dict[str, Any]) -> None:
        statement["predicate"]["verificationResult"] = "PASSED"
        statement["predicate"]["verifiedLevels"] = ["GATEKEEPER_POLICY_PASSED"]

    result = check(join([with_statement(vsa, flip), detail]), signer)
    assert not result.signature_valid
    assert rejected(result) == (
        "signature",
        f"signature: does not verify with trusted key {signer.keyid()} (the key its keyid names)",
    )


def test_payload_type_changed(signer, good: str) -> None:
    vsa, detail = lines(good)
    tampered = {**vsa, "payloadType": "application/json"}  # the PAE covers the type: the old signature breaks
    assert rejected(check(join([tampered, detail]), signer))[0] == "signature"
    # signed by the trusted key under another type (a key shared with another tool): still not a verdict
    other_type = resigned(statement_of(vsa), signer, payload_type="application/json")
    assert rejected(check(join([other_type, detail]), signer)) == (
        "payloadType",
        "payloadType: 'application/json', expected 'application/vnd.in-toto+json'",
    )


def test_untrusted_key_with_a_lying_keyid(signer, good: str) -> None:
    attacker = new_signer()
    statement = statement_of(lines(good)[0])
    forged = resigned(statement, attacker, keyid=signer.keyid())
    assert rejected(check(join([forged]), signer)) == (
        "signature",
        f"signature: does not verify with trusted key {signer.keyid()} (the key its keyid names)",
    )
    honest = resigned(statement, attacker)
    assert rejected(check(join([honest]), signer)) == (
        "signature",
        f"signature: no trusted key verifies it (its keyid is {attacker.keyid()!r})",
    )


def test_replay_for_another_commit(signer, good: str) -> None:
    assert rejected(check(good, signer, commit=OTHER_COMMIT)) == (
        "subject",
        f"subject: no subject has gitCommit {OTHER_COMMIT} (the verdict's commits: {COMMIT})",
    )


def test_artifact_digest_mismatch(signer, tmp_path: Path) -> None:
    artifact = tmp_path / "shop.whl"
    artifact.write_bytes(b"the wheel that was gated")
    text = signed_text(make_verdict(), signer, artifacts=[artifact])
    artifact.write_bytes(b"a wheel with a backdoor")
    digest = hashlib.sha256(b"a wheel with a backdoor").hexdigest()
    assert rejected(check(text, signer, artifacts=[artifact])) == (
        "subject",
        f"subject: no subject has the sha256 of artifact {artifact} ({digest})",
    )


def test_policy_digest_not_allowed(signer) -> None:
    weakened = signed_text(make_verdict(policy_hex=WEAK_POLICY_HEX), signer)  # a PASS under a weakened policy
    result = check(weakened, signer, policy_digests=[f"sha256:{POLICY_HEX}", "sha256:" + "e" * 64])
    assert result.signature_valid and result.verification_result is None  # rejected before the result is read
    assert rejected(result) == ("policy", f"policy: digest sha256:{WEAK_POLICY_HEX} is not an allowed policy digest")
    assert check(weakened, signer, policy_digests=[f"SHA256:{WEAK_POLICY_HEX}".lower()]).accepted


def test_stale_verdict(signer) -> None:
    text = signed_text(make_verdict(finished_at=FINISHED - timedelta(days=2)), signer)
    assert rejected(check(text, signer, max_age=timedelta(hours=24))) == (
        "timeVerified",
        "timeVerified: 2025-02-27T12:00:00Z is older than the maximum age 1d (it is 2d10m old)",
    )
    assert check(text, signer).accepted  # no --max-age: age is not checked


def test_verdict_from_the_future(signer, good: str) -> None:
    assert rejected(check(good, signer, now=FINISHED - timedelta(hours=1))) == (
        "timeVerified",
        "timeVerified: 2025-03-01T12:00:00Z is in the future (more than 5m after 2025-03-01T11:00:00Z)",
    )
    assert check(good, signer, now=FINISHED - timedelta(minutes=4)).accepted  # within the clock skew
    assert rejected(check(good, signer, now=FINISHED - timedelta(minutes=4), skew=timedelta(0)))[0] == "timeVerified"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "timeVerified: missing"),
        ("yesterday", "timeVerified: 'yesterday' is not an RFC 3339 timestamp with a time zone"),
        ("2025-03-01T12:00:00", "timeVerified: '2025-03-01T12:00:00' is not an RFC 3339 timestamp with a time zone"),
        ("2025-02-30T12:00:00Z", "timeVerified: '2025-02-30T12:00:00Z' is not an RFC 3339 timestamp with a time zone"),
        (1740830400, "timeVerified: 1740830400 is not an RFC 3339 timestamp with a time zone"),
    ],
)
def test_missing_or_malformed_time_verified(signer, good: str, value: object, reason: str) -> None:
    def change(statement: dict[str, Any]) -> None:
        if value is None:
            del statement["predicate"]["timeVerified"]
        else:
            statement["predicate"]["timeVerified"] = value

    assert rejected(check(resign_vsa(good, signer, change), signer)) == ("timeVerified", reason)


@pytest.mark.parametrize(
    "value", ["2025-03-01T13:00:00+01:00", "2025-03-01T12:00:00.123456789Z", "2025-03-01t12:00:00z"]
)
def test_rfc3339_spellings_are_accepted(signer, good: str, value: str) -> None:
    text = resign_vsa(good, signer, lambda s: s["predicate"].__setitem__("timeVerified", value))
    result = check(text, signer)
    assert result.accepted and abs(result.time_verified - FINISHED) < timedelta(seconds=1)  # type: ignore[operator]


def test_truncated_and_garbage_files(signer, good: str) -> None:
    first = good.splitlines()[0]
    assert rejected(check(first[:-1], signer)) == (
        "envelope",
        f"envelope: line 1 is not valid JSON: Expecting ',' delimiter at position {len(first) - 1}",
    )
    assert rejected(check(good[: len(first) // 2], signer))[1].startswith("envelope: line 1 is not valid JSON: ")
    assert rejected(check("not json\n", signer)) == (
        "envelope",
        "envelope: line 1 is not valid JSON: Expecting value at position 0",
    )
    assert rejected(check(b"\xff\xfe\x00", signer)) == ("envelope", "envelope: the file is not UTF-8")
    assert rejected(check("\n", signer)) == ("envelope", "envelope: the file is empty")
    assert rejected(check("\n" + first[:-1], signer)) == ("envelope", "envelope: line 1 is empty")
    assert check(f"\n{first}\n\n", signer).accepted  # one envelope, blank lines around it: harmless


def test_url_safe_base64_payload(signer) -> None:
    # '?' is 0x3f: of three in a row, one ends a 3-byte group and encodes as '/'
    vsa, detail = lines(signed_text(make_verdict(), signer, resource_uri="pkg:generic/shop???"))
    url_safe = vsa["payload"].replace("+", "-").replace("/", "_")
    assert url_safe != vsa["payload"]
    assert base64.urlsafe_b64decode(url_safe) == base64.b64decode(vsa["payload"])  # a lenient decoder would agree
    assert rejected(check(join([{**vsa, "payload": url_safe}, detail]), signer)) == (
        "envelope",
        "envelope: line 1: payload is not standard padded base64",
    )


def test_unpadded_base64_signature() -> None:
    signer = new_signer("ed25519")  # 64-byte signatures: always "==" padding
    vsa, detail = lines(signed_text(make_verdict(), signer))
    signature = vsa["signatures"][0]
    assert signature["sig"].endswith("==")
    unpadded = {**vsa, "signatures": [{**signature, "sig": signature["sig"].rstrip("=")}]}
    assert rejected(check(join([unpadded, detail]), signer)) == (
        "envelope",
        "envelope: line 1: sig is not standard padded base64",
    )


def test_empty_signatures_list(signer, good: str) -> None:
    vsa, detail = lines(good)
    assert rejected(check(join([{**vsa, "signatures": []}, detail]), signer)) == (
        "envelope",
        "envelope: line 1 has no signatures",
    )


def test_an_extra_signature_is_not_accepted(signer, good: str) -> None:
    vsa, detail = lines(good)
    doubled = {**vsa, "signatures": vsa["signatures"] * 2}
    assert rejected(check(join([doubled, detail]), signer)) == (
        "envelope",
        "envelope: line 1 has 2 signatures; gatekeeper expects exactly one",
    )


def test_two_envelopes_concatenated(signer, good: str) -> None:
    first, second = good.splitlines()
    assert rejected(check(first + first + "\n", signer)) == (
        "envelope",
        f"envelope: line 1 is not valid JSON: Extra data at position {len(first)}",
    )
    assert rejected(check(f"{first}\n{first}\n", signer)) == (
        "detail",
        f"detail: predicateType: {VSA!r}, expected 'urn:gatekeeper:verdict:v1'",
    )
    assert rejected(check(f"{first}\n{second}\n{second}\n", signer)) == (
        "envelope",
        "envelope: 3 lines; expected the verdict envelope and at most one detail envelope",
    )


def test_detail_envelope_swapped(signer, good: str) -> None:
    vsa, detail = lines(good)
    other_run = lines(signed_text(make_verdict(finished_at=FINISHED - timedelta(hours=1)), signer))[1]
    expected = statement_of(vsa)["predicate"]["inputAttestations"][-1]["digest"]["sha256"]
    actual = hashlib.sha256(base64.b64decode(other_run["payload"])).hexdigest()
    assert rejected(check(join([vsa, other_run]), signer)) == (
        "detail",
        f"detail: its sha256 {actual} is not the one the verdict's inputAttestations name ({expected})",
    )
    other_commit = lines(signed_text(make_verdict(commit=OTHER_COMMIT), signer))[1]
    assert rejected(check(join([vsa, other_commit]), signer)) == (
        "detail",
        "detail: its subject is not the verdict's subject",
    )
    by_another_key = resigned(statement_of(detail), new_signer())
    assert rejected(check(join([vsa, by_another_key]), signer)) == (
        "detail",
        f"detail: its signature does not verify with the key that signed the verdict ({signer.keyid()})",
    )
    assert (
        rejected(check(join([vsa, with_statement(detail, lambda s: s["predicate"].update(outcome="fail"))]), signer))[0]
        == "detail"
    )


def test_the_detail_presented_as_the_verdict(signer, good: str) -> None:
    detail = lines(good)[1]
    assert rejected(check(join([detail]), signer)) == (
        "predicateType",
        f"predicateType: 'urn:gatekeeper:verdict:v1', expected {VSA!r}",
    )


@pytest.mark.parametrize(
    ("change", "failed", "reason"),
    [
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "_type",
         "_type: 'https://in-toto.io/Statement/v0.1', expected 'https://in-toto.io/Statement/v1'"),
        (lambda s: s.update(predicateType="https://slsa.dev/provenance/v1"), "predicateType",
         f"predicateType: 'https://slsa.dev/provenance/v1', expected {VSA!r}"),
        (lambda s: s.update(predicate="PASSED"), "predicateType", "predicateType: the statement has no predicate object"),
        (lambda s: s.pop("subject"), "subject", "subject: the statement has no subject"),
        (lambda s: s.update(subject=[{"name": "x"}]), "subject", "subject: a subject has no digest set"),
        (lambda s: s["predicate"].pop("policy"), "policy", "policy: the verdict names no policy.digest.sha256"),
        (lambda s: s["predicate"].update(verificationResult="passed"), "verificationResult",
         "verificationResult: 'passed', expected 'PASSED'"),
    ],
)  # fmt: skip
def test_statement_checks(signer, good: str, change, failed: str, reason: str) -> None:
    assert rejected(check(resign_vsa(good, signer, change), signer)) == (failed, reason)


def test_a_signed_payload_that_is_not_json(signer) -> None:
    from gatekeeper.signing.dsse import PAYLOAD_TYPE, Envelope, pae

    envelope = Envelope(b"PASSED", PAYLOAD_TYPE, signer.sign(pae(PAYLOAD_TYPE, b"PASSED")), signer.keyid())
    assert rejected(check(envelope.to_json(), signer)) == (
        "payload",
        "payload: the payload is not valid JSON: Expecting value at position 0",
    )
