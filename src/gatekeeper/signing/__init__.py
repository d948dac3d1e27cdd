"""Signing of verdicts. The contract for signers lives here; the DSSE envelope lands with its issue."""

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
