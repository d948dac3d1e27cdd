"""Keys: generate, load, keyid, sign and verify bytes; and the built-in ``file`` and ``env`` signers.

Two key types: ECDSA P-256 with SHA-256 (the default; DER signatures) and Ed25519.
Private keys are PKCS#8 PEM, optionally passphrase-encrypted; public keys are SPKI PEM.
A key's id is the lowercase hex sha256 of its DER SubjectPublicKeyInfo. All the
cryptography is pyca/cryptography's. The signers are registered through the
``gatekeeper_signers`` hook like any plugin's, so a KMS or HSM signer plugs in beside them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gatekeeper.errors import SigningError, UsageError
from gatekeeper.hookspecs import hookimpl
from gatekeeper.signing import Signer, SignerType

__all__ = [
    "KEY_ENV",
    "KEY_TYPES",
    "PASSPHRASE_ENV",
    "KeyFiles",
    "KeySigner",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "keyid_of",
    "load_file_signer",
    "load_private_key",
    "load_public_key",
    "passphrase_from_env",
    "private_key_pem",
    "public_key_pem",
    "verify_signature",
    "write_keypair",
]

KeyType = Literal["ecdsa-p256", "ed25519"]
KEY_TYPES: tuple[KeyType, ...] = ("ecdsa-p256", "ed25519")
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

#: PEM text of the signing key, for CI secrets (``--sign env:`` or no ``--sign`` at all).
KEY_ENV = "GATEKEEPER_SIGNING_KEY"
#: The passphrase of an encrypted private key; never taken from the command line.
PASSPHRASE_ENV = "GATEKEEPER_SIGNING_KEY_PASSPHRASE"

_UNSUPPORTED = "gatekeeper signs with ECDSA P-256 or Ed25519 keys (`gatekeeper keygen` writes one)"


def keyid_of(public_key: PublicKey) -> str:
    """Lowercase hex sha256 of the public key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def generate_private_key(key_type: KeyType = "ecdsa-p256") -> PrivateKey:
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise UsageError(f"unknown key type {key_type!r}; use {' or '.join(KEY_TYPES)}")


def private_key_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the best algorithm cryptography offers when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_key_pem(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _supported_private(key: object, source: str) -> PrivateKey:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key
        raise SigningError(f"{source} is an ECDSA key on curve {key.curve.name}; {_UNSUPPORTED}")
    raise SigningError(f"{source} is a {type(key).__name__.removeprefix('_')}; {_UNSUPPORTED}")


def _supported_public(key: object, source: str) -> PublicKey:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key
        raise SigningError(f"{source} is an ECDSA key on curve {key.curve.name}; {_UNSUPPORTED}")
    raise SigningError(f"{source} is a {type(key).__name__.removeprefix('_')}; {_UNSUPPORTED}")


def load_private_key(pem: bytes, passphrase: bytes | None = None, *, source: str = "the signing key") -> PrivateKey:
    """A private key from PKCS#8 (or traditional) PEM. Every failure is a one-line ``SigningError``.

    ``source`` names the key in messages; the key material itself never appears in one.
    A passphrase given for a key that is not encrypted is ignored.
    """
    if b"-----BEGIN" not in pem:
        raise SigningError(f"{source} is not a PEM private key (expected PKCS#8 PEM, as `gatekeeper keygen` writes)")
    if b"PUBLIC KEY-----" in pem and b"PRIVATE KEY-----" not in pem:
        raise SigningError(f"{source} is a public key; signing needs the private key (the .key file)")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase or None)
    except TypeError:
        if not passphrase:
            raise SigningError(f"{source} is encrypted; set {PASSPHRASE_ENV} to its passphrase") from None
        return load_private_key(pem, None, source=source)  # not encrypted: the passphrase is not needed
    except ValueError:
        if passphrase and b"ENCRYPTED" in pem:
            raise SigningError(f"cannot decrypt {source}: wrong passphrase in {PASSPHRASE_ENV}") from None
        raise SigningError(f"{source} is not a valid PEM private key") from None
    except UnsupportedAlgorithm:
        raise SigningError(f"{source} uses an unsupported algorithm; {_UNSUPPORTED}") from None
    return _supported_private(key, source)


def load_public_key(pem: bytes, *, source: str = "the public key") -> PublicKey:
    """A public key from SPKI PEM (``BEGIN PUBLIC KEY``), ECDSA P-256 or Ed25519 only."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        hint = " (it is a private key: give the .pub file)" if b"PRIVATE KEY-----" in pem else ""
        raise SigningError(f"{source} is not a PEM public key{hint}") from None
    return _supported_public(key, source)


def verify_signature(public_key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s over ``data`` (ECDSA: DER, SHA-256; Ed25519: raw)."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            public_key.verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


class KeySigner:
    """A ``Signer`` over a private key held in memory: what the ``file`` and ``env`` signers load."""

    def __init__(self, private_key: PrivateKey):
        self._key = _supported_private(private_key, "the signing key")
        self._keyid = keyid_of(self._key.public_key())

    @property
    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def keyid(self) -> str:
        return self._keyid

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data)

    def __repr__(self) -> str:  # never the key material
        return f"KeySigner(keyid={self._keyid[:12]}…)"


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV, "")
    return value.encode("utf-8") if value else None


def load_file_signer(path: str | Path, passphrase: bytes | None = None) -> KeySigner:
    target = Path(path)
    try:
        pem = target.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"signing key {target} not found") from None
    except OSError as exc:
        raise SigningError(f"cannot read signing key {target}: {exc.strerror}") from None
    return KeySigner(load_private_key(pem, passphrase, source=f"signing key {target}"))


def _file_signer(ref: str) -> Signer:
    if not ref:
        raise SigningError("the file signer needs a key file: --sign PATH or --sign file:PATH")
    return load_file_signer(ref, passphrase_from_env())


def _env_signer(ref: str) -> Signer:
    variable = ref or KEY_ENV
    text = os.environ.get(variable, "")
    if not text.strip():
        raise SigningError(f"{variable} is not set or empty; put the PEM private key text in it")
    return KeySigner(load_private_key(text.encode("utf-8"), passphrase_from_env(), source=f"the key in {variable}"))


@hookimpl
def gatekeeper_signers() -> list[SignerType]:
    return [
        SignerType("file", _file_signer, f"A PKCS#8 PEM private key file; passphrase from {PASSPHRASE_ENV}."),
        SignerType("env", _env_signer, f"PEM private key text in {KEY_ENV} (or env:VARIABLE)."),
    ]


@dataclass(frozen=True)
class KeyFiles:
    private: Path
    public: Path
    keyid: str


def write_keypair(
    prefix: str | Path, key_type: KeyType = "ecdsa-p256", *, passphrase: bytes | None = None, force: bool = False
) -> KeyFiles:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub`` (SPKI PEM), each atomically."""
    base = Path(prefix)
    private, public = Path(f"{base}.key"), Path(f"{base}.pub")
    if not force:
        for existing in (private, public):
            if existing.exists():
                raise UsageError(f"{existing} already exists; use --force to overwrite it")
    key = generate_private_key(key_type)
    _write_atomic(private, private_key_pem(key, passphrase), 0o600)
    _write_atomic(public, public_key_pem(key.public_key()), 0o644)
    return KeyFiles(private, public, keyid_of(key.public_key()))


def _write_atomic(target: Path, data: bytes, mode: int) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)  # created 0600
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
