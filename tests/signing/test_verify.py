"""`verify`: round trips, the order of the checks, and its arguments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from signing_helpers import (
    COMMIT,
    FINISHED,
    OTHER_COMMIT,
    POLICY_HEX,
    REMOTE,
    WEAK_POLICY_HEX,
    check,
    join,
    lines,
    make_verdict,
    new_signer,
    rejected,
    signed_text,
    with_statement,
)

from gatekeeper.errors import UsageError
from gatekeeper.signing import Verification, sign_verdict, verify
from gatekeeper.signing.verify import CHECKS, format_duration, parse_duration, parse_policy_digest

KEY_TYPES = ["ecdsa-p256", "ed25519"]

# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_round_trip(key_type: str) -> None:
    signer = new_signer(key_type)
    result = check(
        signed_text(make_verdict(), signer), signer, policy_digests=[f"sha256:{POLICY_HEX}"], max_age=timedelta(hours=1)
    )
    assert result == Verification(
        accepted=True,
        signature_valid=True,
        keyid=signer.keyid(),
        verification_result="PASSED",
        policy_digest=f"sha256:{POLICY_HEX}",
        time_verified=FINISHED,
        subjects=(f"git+{REMOTE}",),
        detail_checked=True,
    )


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_failed_verdict_has_a_valid_signature_but_is_rejected(key_type: str) -> None:
    signer = new_signer(key_type)
    for outcome in ("fail", "error"):
        result = check(signed_text(make_verdict(outcome), signer), signer)
        assert result.signature_valid and result.keyid == signer.keyid()
        assert result.verification_result == "FAILED"
        assert rejected(result) == ("verificationResult", "verificationResult: 'FAILED', expected 'PASSED'")


def test_artifact_subject_round_trip(signer, tmp_path: Path) -> None:
    artifact = tmp_path / "shop.whl"
    artifact.write_bytes(b"wheel")
    text = signed_text(make_verdict(), signer, artifacts=[artifact])
    assert check(text, signer, artifacts=[artifact]).accepted
    assert check(text, signer, commit=None, artifacts=[artifact]).accepted


def test_without_the_detail_line_the_summary_alone_verifies(signer, good: str) -> None:
    result = check(good.splitlines()[0] + "\n", signer)
    assert result.accepted and not result.detail_checked


def test_a_pretty_printed_single_envelope_verifies(signer, good: str) -> None:
    assert check(json.dumps(lines(good)[0], indent=2), signer).accepted


def test_keyid_only_chooses_the_key(signer, good: str) -> None:
    other = new_signer("ed25519")
    vsa, detail = lines(good)
    for keyid in ("", "unknown"):  # a keyid naming no trusted key: every trusted key is tried
        vsa_hint = {**vsa, "signatures": [{**vsa["signatures"][0], "keyid": keyid}]}
        result = check(join([vsa_hint, detail]), signer, keys=[other.public_key, signer.public_key])
        assert result.accepted and result.keyid == signer.keyid()


def test_commit_is_compared_case_insensitively(signer, good: str) -> None:
    assert check(good, signer, commit=COMMIT.upper()).accepted


def test_resource_uri(signer, good: str) -> None:
    assert check(good, signer, resource_uri=f"git+{REMOTE}@{COMMIT}").accepted
    assert rejected(check(good, signer, resource_uri="pkg:pypi/shop@1.0")) == (
        "resourceUri",
        f"resourceUri: 'git+{REMOTE}@{COMMIT}', expected 'pkg:pypi/shop@1.0'",
    )


def test_checks_run_in_order_and_the_first_failure_is_named(signer) -> None:
    assert CHECKS == (
        "envelope", "signature", "payloadType", "payload", "_type", "predicateType", "subject",
        "resourceUri", "policy", "verificationResult", "timeVerified", "detail",
    )  # fmt: skip
    stale_failed_weak = signed_text(
        make_verdict("fail", policy_hex=WEAK_POLICY_HEX, finished_at=FINISHED - timedelta(days=9)), signer
    )
    options: dict[str, Any] = {"policy_digests": [f"sha256:{POLICY_HEX}"], "max_age": timedelta(days=1)}
    assert rejected(check(stale_failed_weak, signer, commit=OTHER_COMMIT, **options))[0] == "subject"
    assert rejected(check(stale_failed_weak, signer, **options))[0] == "policy"
    options["policy_digests"] = [f"sha256:{WEAK_POLICY_HEX}"]
    assert rejected(check(stale_failed_weak, signer, **options))[0] == "verificationResult"
    vsa, detail = lines(stale_failed_weak)
    forged = with_statement(vsa, lambda s: s["subject"][0]["digest"].update(gitCommit=OTHER_COMMIT))
    assert rejected(check(join([forged, detail]), signer, commit=OTHER_COMMIT, **options))[0] == "signature"


# --- arguments --------------------------------------------------------------------------------


def test_bad_arguments_are_usage_errors(signer, good: str, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"keys": []}, "no trusted public key given; verification needs at least one"),
        ({"commit": None}, "name what is being deployed (a commit or an artifact); otherwise any verdict would do"),
        ({"commit": "3f78685"}, "commit '3f78685': give the full 40 (or 64) hex digit commit id"),
        ({"policy_digests": ["md5:abc"]}, "policy digest 'md5:abc': write sha256:HEX, as `gatekeeper policy validate` prints it"),
        ({"artifacts": [tmp_path / "gone.whl"]}, f"cannot read artifact {tmp_path / 'gone.whl'}: No such file or directory"),
    ]  # fmt: skip
    for options, message in cases:
        with pytest.raises(UsageError) as caught:
            check(good, signer, **options)
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("30m", 1800), ("7d", 604800), ("1h30m", 5400), ("2w", 1209600), ("90s", 90)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "24", "h", "1.5h", "24 h", "-1h", "1y", "1h-"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)
    assert str(caught.value) == f"max age {text!r}: write a duration such as 24h, 30m, 7d or 1h30m"


def test_format_duration_and_policy_digest() -> None:
    assert format_duration(timedelta(days=1, hours=2, seconds=5)) == "1d2h5s"
    assert format_duration(timedelta(0)) == "0s"
    assert parse_policy_digest(f"sha256:{POLICY_HEX.upper()}") == POLICY_HEX


def test_now_defaults_to_the_real_clock(signer) -> None:
    fresh = signed_text(make_verdict(finished_at=datetime.now(timezone.utc)), signer)
    assert verify(fresh, [signer.public_key], commit=COMMIT, max_age=timedelta(minutes=5)).accepted
    assert not verify(
        signed_text(make_verdict(), signer), [signer.public_key], commit=COMMIT, max_age=timedelta(days=1)
    ).accepted


def test_sign_verdict_output_verifies_byte_for_byte(signer) -> None:
    signed = sign_verdict(make_verdict(), signer)
    assert check(signed.to_jsonl().encode(), signer).accepted  # bytes or text
