"""Signing and verifying verdicts: DSSE envelopes of in-toto Statements with a SLSA VSA predicate.

    from gatekeeper.signing import load_file_signer, sign_verdict, verify, load_public_key

    signed = sign_verdict(verdict, load_file_signer("gatekeeper.key"))
    Path("verdict.intoto.jsonl").write_text(signed.to_jsonl())
    result = verify(Path("verdict.intoto.jsonl").read_bytes(), [load_public_key(pub_pem)], commit=sha)
    if not result.accepted:
        refuse_to_deploy(result.reason)

The contract for signers lives here (``Signer``, ``SignerType``); the built-in ``file``
and ``env`` signers (``keys.py``) register through the ``gatekeeper_signers`` hook like a
plugin's KMS or HSM signer would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Signer(Protocol):
    """Something that can sign bytes: a key file, a KMS key, an HSM slot."""

    def keyid(self) -> str:
        """Lowercase hex sha256 of the public key's DER SubjectPublicKeyInfo."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The signature over ``data`` (the DSSE pre-authentication encoding)."""
        ...


@dataclass(frozen=True)
class SignerType:
    """A kind of signer; ``load`` turns a reference (a key file path, a KMS key id) into a ``Signer``."""

    name: str
    load: Callable[[str], Signer]
    description: str = ""


# Imported after the contract above, which keys.py needs. Eagerly, so that ``verify`` here is
# the function, not the submodule of the same name.
from gatekeeper.signing.attestation import SignedVerdict, sign_verdict  # noqa: E402
from gatekeeper.signing.keys import KeySigner, keyid_of, load_file_signer, load_public_key, write_keypair  # noqa: E402
from gatekeeper.signing.verify import Verification, verify  # noqa: E402

__all__ = [
    "KeySigner",
    "SignedVerdict",
    "Signer",
    "SignerType",
    "Verification",
    "keyid_of",
    "load_file_signer",
    "load_public_key",
    "sign_verdict",
    "verify",
    "write_keypair",
]
