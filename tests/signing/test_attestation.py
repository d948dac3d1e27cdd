"""What a signed verdict says: in-toto Statement v1, SLSA VSA v1, the detail, and how they bind."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from signing_helpers import COMMIT, EVIDENCE, POLICY_HEX, REMOTE, lines, make_verdict, statement_of

from gatekeeper.errors import PluginError, SigningError, UsageError
from gatekeeper.signing import sign_verdict
from gatekeeper.signing.attestation import DETAIL_PREDICATE_TYPE, format_time


def test_vsa_statement(signer) -> None:
    vsa, detail = lines(sign_verdict(make_verdict(), signer).to_jsonl())
    statement = statement_of(vsa)
    assert vsa["payloadType"] == "application/vnd.in-toto+json"
    assert vsa["signatures"][0]["keyid"] == signer.keyid()
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert statement["subject"] == [{"name": f"git+{REMOTE}", "digest": {"gitCommit": COMMIT}}]
    detail_sha = hashlib.sha256(base64.b64decode(detail["payload"])).hexdigest()
    assert statement["predicate"] == {
        "verifier": {
            "id": f"urn:gatekeeper:verifier:sha256:{signer.keyid()}",
            "version": {"gatekeeper": "0.1.0", "bandit": "1.8.0", "junit": "1.2"},
        },
        "timeVerified": "2025-03-01T12:00:00Z",
        "resourceUri": f"git+{REMOTE}@{COMMIT}",
        "policy": {"uri": "gatekeeper.yaml", "digest": {"sha256": POLICY_HEX}},
        "inputAttestations": [
            {"name": EVIDENCE.path, "digest": {"sha256": EVIDENCE.sha256}},  # read by two checks, listed once
            {"name": "src/app.py", "digest": {"sha256": "d" * 64}},
            {"name": "detail", "mediaType": "application/vnd.in-toto+json", "digest": {"sha256": detail_sha}},
        ],
        "verificationResult": "PASSED",
        "verifiedLevels": ["GATEKEEPER_POLICY_PASSED"],
    }


def test_payload_is_compact_sorted_json(signer) -> None:
    vsa = lines(sign_verdict(make_verdict(), signer).to_jsonl())[0]
    payload = base64.b64decode(vsa["payload"])
    assert payload.startswith(b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"inputAttestations":[')
    assert b": " not in payload and b", " not in payload and b"\n" not in payload


def test_signing_is_deterministic_apart_from_the_signature(signer) -> None:
    first, second = (lines(sign_verdict(make_verdict(), signer).to_jsonl()) for _ in range(2))
    assert [e["payload"] for e in first] == [e["payload"] for e in second]


@pytest.mark.parametrize("outcome", ["fail", "error"])
def test_failed_and_error_verdicts_are_signed_too(signer, outcome: str) -> None:
    signed = sign_verdict(make_verdict(outcome), signer)
    predicate = statement_of(lines(signed.to_jsonl())[0])["predicate"]
    assert signed.verification_result == "FAILED"
    assert predicate["verificationResult"] == "FAILED" and predicate["verifiedLevels"] == ["FAILED"]


def test_detail_carries_the_whole_verdict_with_the_same_subject(signer) -> None:
    verdict = make_verdict("fail")
    vsa, detail = (statement_of(e) for e in lines(sign_verdict(verdict, signer).to_jsonl()))
    assert detail["_type"] == "https://in-toto.io/Statement/v1"
    assert detail["predicateType"] == DETAIL_PREDICATE_TYPE == "urn:gatekeeper:verdict:v1"
    assert detail["subject"] == vsa["subject"]
    assert detail["predicate"] == verdict.model_dump(mode="json")
    assert detail["predicate"]["rules"][0] == {
        **detail["predicate"]["rules"][0],
        "id": "tests-green",
        "outcome": "fail",
    }


def test_artifacts_are_subjects_by_sha256_and_evidence_is_not(signer, tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    wheel = tmp_path / "dist" / "shop-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel bytes")
    image = tmp_path / "image.tar"
    image.write_bytes(b"image bytes")
    statement = statement_of(lines(sign_verdict(make_verdict(), signer, artifacts=[wheel, str(image)]).to_jsonl())[0])
    assert statement["subject"] == [
        {"name": f"git+{REMOTE}", "digest": {"gitCommit": COMMIT}},
        {"name": "image.tar", "digest": {"sha256": hashlib.sha256(b"image bytes").hexdigest()}},
        {"name": "shop-1.0-py3-none-any.whl", "digest": {"sha256": hashlib.sha256(b"wheel bytes").hexdigest()}},
    ]
    assert EVIDENCE.path not in {s["name"] for s in statement["subject"]}


def test_options_override_the_defaults(signer) -> None:
    statement = statement_of(
        lines(
            sign_verdict(
                make_verdict(),
                signer,
                verifier_id="https://ci.example.com/gatekeeper",
                resource_uri="pkg:pypi/shop@1.0",
                policy_uri="https://git.example.com/acme/policies/shop.yaml",
            ).to_jsonl()
        )[0]
    )
    predicate = statement["predicate"]
    assert predicate["verifier"]["id"] == "https://ci.example.com/gatekeeper"
    assert predicate["resourceUri"] == "pkg:pypi/shop@1.0"
    assert predicate["policy"]["uri"] == "https://git.example.com/acme/policies/shop.yaml"


def test_without_git_the_artifacts_are_the_subject(signer, tmp_path: Path) -> None:
    artifact = tmp_path / "app.tar"
    artifact.write_bytes(b"x")
    statement = statement_of(lines(sign_verdict(make_verdict(commit=None), signer, artifacts=[artifact]).to_jsonl())[0])
    assert [s["name"] for s in statement["subject"]] == ["app.tar"]
    assert statement["predicate"]["resourceUri"] == "app.tar"
    with pytest.raises(SigningError) as caught:
        sign_verdict(make_verdict(commit=None), signer)
    assert str(caught.value) == (
        "nothing to attest: the path is not a git repository with a commit, and no subject file is named"
    )


def test_a_repository_without_a_remote_is_named_git(signer) -> None:
    statement = statement_of(lines(sign_verdict(make_verdict(repository=None), signer).to_jsonl())[0])
    assert statement["subject"] == [{"name": "git", "digest": {"gitCommit": COMMIT}}]


def test_subject_file_problems_are_usage_errors(signer, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        sign_verdict(make_verdict(), signer, artifacts=[tmp_path / "missing.whl"])
    assert str(caught.value) == f"subject file {tmp_path / 'missing.whl'} not found"
    with pytest.raises(UsageError) as caught:
        sign_verdict(make_verdict(), signer, artifacts=[tmp_path])
    assert str(caught.value) == f"subject {tmp_path} is a directory; name the artifact files"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "app.whl").write_bytes(b"1")
    (tmp_path / "b" / "app.whl").write_bytes(b"2")
    with pytest.raises(UsageError) as caught:
        sign_verdict(make_verdict(), signer, artifacts=[tmp_path / "a" / "app.whl", tmp_path / "b" / "app.whl"])
    assert str(caught.value) == "two different subject files are named 'app.whl'; subjects are named by file name"


def test_format_time_is_utc_to_the_second() -> None:
    from datetime import datetime, timedelta, timezone

    assert (
        format_time(datetime(2025, 3, 1, 13, 0, 0, 999999, tzinfo=timezone(timedelta(hours=1))))
        == "2025-03-01T12:00:00Z"
    )
    assert format_time(datetime(2025, 3, 1, 12, 0, 0)) == "2025-03-01T12:00:00Z"  # naive is taken as UTC


class _BrokenSigner:
    def __init__(self, keyid: str = "a" * 64, sign_result: object = b"sig", raises: bool = False):
        self._keyid, self._result, self._raises = keyid, sign_result, raises

    def keyid(self) -> str:
        return self._keyid

    def sign(self, data: bytes) -> bytes:
        if self._raises:
            raise ConnectionError("KMS unreachable")
        return self._result  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("signer", "message"),
    [
        (_BrokenSigner(raises=True), "the signer failed: ConnectionError: KMS unreachable"),
        (_BrokenSigner(sign_result="c2ln"), "the signer returned str, not signature bytes"),
        (_BrokenSigner(sign_result=b""), "the signer returned bytes, not signature bytes"),
        (_BrokenSigner(keyid="ABC"), "the signer's keyid 'ABC' is not the lowercase hex sha256 of its public key"),
    ],
)
def test_a_failing_signer_plugin_is_a_plugin_error(signer: _BrokenSigner, message: str) -> None:
    with pytest.raises(PluginError) as caught:
        sign_verdict(make_verdict(), signer)
    assert str(caught.value) == message
