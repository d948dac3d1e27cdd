"""Fixtures for the signing tests: one key and one signed passing verdict per module."""

from __future__ import annotations

import pytest
from signing_helpers import make_verdict, new_signer, signed_text

from gatekeeper.signing import KeySigner


@pytest.fixture(scope="module")
def signer() -> KeySigner:
    return new_signer()


@pytest.fixture(scope="module")
def good(signer: KeySigner) -> str:
    """A passing verdict for COMMIT, signed by ``signer``: both lines of the file."""
    return signed_text(make_verdict(), signer)
