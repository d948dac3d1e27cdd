"""Interoperability with securesystemslib's DSSE implementation, both ways, for both key types.

securesystemslib (a test dependency only) is an independent implementation of DSSE: its
``Envelope.verify`` must accept gatekeeper's envelopes, and `gatekeeper verify` must accept
an envelope it signed.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey
from signing_helpers import COMMIT, make_verdict, new_signer, statement_of, with_statement

from gatekeeper.signing import keyid_of, sign_verdict
from gatekeeper.signing.dsse import PAYLOAD_TYPE, canonical_json, pae
from gatekeeper.signing.keys import generate_private_key, private_key_pem, public_key_pem

KEY_TYPES = ["ecdsa-p256", "ed25519"]


def _sslib_key(public_key) -> SSlibKey:
    """The same public key as securesystemslib sees it, under gatekeeper's keyid."""
    return SSlibKey.from_crypto(public_key, keyid=keyid_of(public_key))


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_securesystemslib_verifies_gatekeeper_envelopes(key_type: str) -> None:
    signer = new_signer(key_type)
    key = _sslib_key(signer.public_key)
    if key_type == "ecdsa-p256":
        assert (key.keytype, key.scheme) == ("ecdsa", "ecdsa-sha2-nistp256")
    else:
        assert (key.keytype, key.scheme) == ("ed25519", "ed25519")
    for line in sign_verdict(make_verdict(), signer).to_jsonl().splitlines():
        envelope = SslibEnvelope.from_dict(json.loads(line))
        assert envelope.payload_type == PAYLOAD_TYPE
        assert envelope.pae() == pae(envelope.payload_type, envelope.payload)
        assert envelope.verify([key], 1) == {signer.keyid(): key}


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_securesystemslib_rejects_what_gatekeeper_rejects(key_type: str) -> None:
    signer = new_signer(key_type)
    vsa = json.loads(sign_verdict(make_verdict("fail"), signer).to_jsonl().splitlines()[0])
    flipped = with_statement(vsa, lambda s: s["predicate"].update(verificationResult="PASSED"))
    with pytest.raises(VerificationError):  # from_dict consumes its argument: give each a copy
        SslibEnvelope.from_dict(copy.deepcopy(flipped)).verify([_sslib_key(signer.public_key)], 1)
    attacker = new_signer(key_type)
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(copy.deepcopy(vsa)).verify([_sslib_key(attacker.public_key)], 1)
    assert SslibEnvelope.from_dict(copy.deepcopy(vsa)).verify([_sslib_key(signer.public_key)], 1)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_gatekeeper_verify_accepts_a_securesystemslib_envelope(key_type: str, tmp_path: Path, run_cli) -> None:
    private = generate_private_key(key_type)  # type: ignore[arg-type]
    public = private.public_key()
    (tmp_path / "ci.pub").write_bytes(public_key_pem(public))
    sslib_signer = CryptoSigner(private, _sslib_key(public))
    # a VSA written by another producer, signed by securesystemslib: gatekeeper only reads it
    statement = statement_of(json.loads(sign_verdict(make_verdict(), new_signer()).to_jsonl().splitlines()[0]))
    statement["predicate"]["timeVerified"] = "2099-01-01T00:00:00Z"
    envelope = SslibEnvelope(canonical_json(statement), PAYLOAD_TYPE, {})
    envelope.sign(sslib_signer)
    (tmp_path / "sslib.intoto.jsonl").write_text(json.dumps(envelope.to_dict()) + "\n")
    done = run_cli(
        "verify", str(tmp_path / "sslib.intoto.jsonl"), "--key", str(tmp_path / "ci.pub"), "--commit", COMMIT
    )
    assert done.returncode == 1  # the time is in the future: a real rejection, after the signature verified
    assert "timeVerified: 2099-01-01T00:00:00Z is in the future" in done.stdout

    statement["predicate"]["timeVerified"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope = SslibEnvelope(canonical_json(statement), PAYLOAD_TYPE, {})
    envelope.sign(sslib_signer)
    (tmp_path / "sslib.intoto.jsonl").write_text(json.dumps(envelope.to_dict()) + "\n")
    done = run_cli(
        "verify",
        str(tmp_path / "sslib.intoto.jsonl"),
        "--key",
        str(tmp_path / "ci.pub"),
        "--commit",
        COMMIT,
        "--max-age",
        "1h",
    )
    assert done.returncode == 0, done.stdout
    assert f"signed by key {keyid_of(public)}, without a detail envelope" in done.stdout


def test_securesystemslib_reads_gatekeeper_key_files(tmp_path: Path) -> None:
    private = generate_private_key()
    (tmp_path / "ci.key").write_bytes(private_key_pem(private))
    key = _sslib_key(private.public_key())
    loaded = CryptoSigner.from_priv_key_uri(f"file2:{tmp_path / 'ci.key'}", key)
    assert loaded.public_key.keyid == keyid_of(private.public_key())
