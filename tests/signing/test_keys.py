"""Keys: keygen files and modes, keyid, loading (and every way it fails), the built-in signers."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gatekeeper.errors import SigningError, UsageError
from gatekeeper.plugins import load_plugins
from gatekeeper.signing import KeySigner, Signer, SignerType, keyid_of, load_file_signer, load_public_key, write_keypair
from gatekeeper.signing.keys import (
    KEY_ENV,
    PASSPHRASE_ENV,
    generate_private_key,
    load_private_key,
    private_key_pem,
    public_key_pem,
    verify_signature,
)

KEY_TYPES = ["ecdsa-p256", "ed25519"]


def _der_of_pem(pem: bytes) -> bytes:
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    return base64.b64decode(body)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_keygen_writes_pkcs8_0600_and_spki(tmp_path: Path, key_type: str) -> None:
    files = write_keypair(tmp_path / "ci" / "gk", key_type)  # type: ignore[arg-type]
    assert files.private == tmp_path / "ci" / "gk.key" and files.public == tmp_path / "ci" / "gk.pub"
    assert stat.S_IMODE(files.private.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.public.stat().st_mode) == 0o644
    private, public = files.private.read_bytes(), files.public.read_bytes()
    assert private.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, not SEC1/OpenSSH
    assert public.startswith(b"-----BEGIN PUBLIC KEY-----\n")  # SubjectPublicKeyInfo
    # the keyid is sha256 over the DER SPKI, computed here from the PEM body without cryptography
    assert files.keyid == hashlib.sha256(_der_of_pem(public)).hexdigest()
    assert keyid_of(load_public_key(public)) == files.keyid
    assert load_file_signer(files.private).keyid() == files.keyid
    assert not list((tmp_path / "ci").glob(".*.tmp"))


def test_keygen_default_is_ecdsa_p256(tmp_path: Path) -> None:
    key = load_public_key(write_keypair(tmp_path / "k").public.read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def test_keygen_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    first = write_keypair(tmp_path / "k")
    with pytest.raises(UsageError) as caught:
        write_keypair(tmp_path / "k")
    assert str(caught.value) == f"{tmp_path / 'k.key'} already exists; use --force to overwrite it"
    (tmp_path / "k.key").chmod(0o644)
    second = write_keypair(tmp_path / "k", "ed25519", force=True)
    assert second.keyid != first.keyid
    assert stat.S_IMODE(second.private.stat().st_mode) == 0o600  # not the old file's mode


def test_keygen_with_passphrase_encrypts(tmp_path: Path) -> None:
    files = write_keypair(tmp_path / "k", passphrase=b"correct horse")
    pem = files.private.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert load_file_signer(files.private, b"correct horse").keyid() == files.keyid
    with pytest.raises(SigningError) as caught:
        load_file_signer(files.private)
    assert str(caught.value) == f"signing key {files.private} is encrypted; set {PASSPHRASE_ENV} to its passphrase"
    with pytest.raises(SigningError) as caught:
        load_file_signer(files.private, b"wrong")
    assert str(caught.value) == f"cannot decrypt signing key {files.private}: wrong passphrase in {PASSPHRASE_ENV}"


def test_a_passphrase_for_a_plain_key_is_ignored(tmp_path: Path) -> None:
    files = write_keypair(tmp_path / "k")
    assert load_file_signer(files.private, b"unneeded").keyid() == files.keyid


def _pem(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"", "k is not a PEM private key (expected PKCS#8 PEM, as `gatekeeper keygen` writes)"),
        (b"ssh-ed25519 AAAA", "k is not a PEM private key (expected PKCS#8 PEM, as `gatekeeper keygen` writes)"),
        (b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", "k is not a valid PEM private key"),
        (
            public_key_pem(generate_private_key().public_key()),
            "k is a public key; signing needs the private key (the .key file)",
        ),
        (
            _pem(ec.generate_private_key(ec.SECP384R1())),
            "k is an ECDSA key on curve secp384r1; gatekeeper signs with ECDSA P-256 or Ed25519 keys "
            "(`gatekeeper keygen` writes one)",
        ),
        (
            _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "k is a RSAPrivateKey; gatekeeper signs with ECDSA P-256 or Ed25519 keys (`gatekeeper keygen` writes one)",
        ),
    ],
)
def test_bad_private_keys_are_one_line_signing_errors(pem: bytes, message: str) -> None:
    with pytest.raises(SigningError) as caught:
        load_private_key(pem, source="k")
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_traditional_sec1_pem_is_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert keyid_of(load_private_key(pem).public_key()) == keyid_of(key.public_key())


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(SigningError) as caught:
        load_file_signer(tmp_path / "nope.key")
    assert str(caught.value) == f"signing key {tmp_path / 'nope.key'} not found"


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"garbage", "--key k.pub is not a PEM public key"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "--key k.pub is not a PEM public key (it is a private key: give the .pub file)"),
        (
            public_key_pem(ec.generate_private_key(ec.SECP384R1()).public_key()),  # type: ignore[arg-type]
            "--key k.pub is an ECDSA key on curve secp384r1; gatekeeper signs with ECDSA P-256 or Ed25519 keys (`gatekeeper keygen` writes one)",
        ),
    ],
)  # fmt: skip
def test_bad_public_keys(pem: bytes, message: str) -> None:
    with pytest.raises(SigningError) as caught:
        load_public_key(pem, source="--key k.pub")
    assert str(caught.value) == message


def test_ecdsa_signatures_are_der_over_sha256_and_ed25519_raw() -> None:
    ecdsa = KeySigner(generate_private_key("ecdsa-p256"))
    signature = ecdsa.sign(b"data")
    r, s = decode_dss_signature(signature)  # DER SEQUENCE { r, s }, not raw r||s
    assert r > 0 and s > 0
    assert verify_signature(ecdsa.public_key, signature, b"data")
    assert not verify_signature(ecdsa.public_key, signature, b"datA")
    assert not verify_signature(ecdsa.public_key, signature[:-1], b"data")
    ed = KeySigner(generate_private_key("ed25519"))
    assert len(ed.sign(b"data")) == 64
    assert verify_signature(ed.public_key, ed.sign(b"data"), b"data")
    assert not verify_signature(ed.public_key, b"\0" * 64, b"data")
    assert not verify_signature(ecdsa.public_key, ed.sign(b"data"), b"data")


def test_key_signer_satisfies_the_protocol_and_never_shows_the_key() -> None:
    key = generate_private_key()
    signer: Signer = KeySigner(key)
    assert repr(signer) == f"KeySigner(keyid={signer.keyid()[:12]}…)"
    assert private_key_pem(key).decode() not in repr(signer)


def test_builtin_signers_are_registered_through_the_hook() -> None:
    plugins = load_plugins(entry_points=False)
    assert set(plugins.signers) >= {"file", "env"}
    assert all(isinstance(s, SignerType) for s in plugins.signers.values())
    info = plugins.provided_by[("signer", "file")]
    assert (info.name, info.source) == ("gatekeeper.signing.keys", "builtin")
    assert plugins.manager.has_plugin("gatekeeper.signing.keys")


def test_file_signer_reads_the_passphrase_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    files = write_keypair(tmp_path / "k", passphrase=b"s3cret")
    load = load_plugins(entry_points=False).signers["file"].load
    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret")
    assert load(str(files.private)).keyid() == files.keyid
    monkeypatch.setenv(PASSPHRASE_ENV, "nope")
    with pytest.raises(SigningError, match="wrong passphrase"):
        load(str(files.private))
    with pytest.raises(SigningError) as caught:
        load("")
    assert str(caught.value) == "the file signer needs a key file: --sign PATH or --sign file:PATH"


def test_env_signer_reads_pem_text_and_never_echoes_it(monkeypatch) -> None:
    load = load_plugins(entry_points=False).signers["env"].load
    key = generate_private_key("ed25519")
    monkeypatch.setenv(KEY_ENV, private_key_pem(key).decode())
    assert load("").keyid() == keyid_of(key.public_key())
    monkeypatch.setenv("MY_SIGNING_PEM", private_key_pem(key, b"pw").decode())
    monkeypatch.setenv(PASSPHRASE_ENV, "pw")
    assert load("MY_SIGNING_PEM").keyid() == keyid_of(key.public_key())
    broken = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-MATERIAL\n-----END PRIVATE KEY-----\n"
    monkeypatch.setenv(KEY_ENV, broken)
    with pytest.raises(SigningError) as caught:
        load("")
    assert str(caught.value) == f"the key in {KEY_ENV} is not a valid PEM private key"
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SigningError) as caught:
        load("")
    assert str(caught.value) == f"{KEY_ENV} is not set or empty; put the PEM private key text in it"
