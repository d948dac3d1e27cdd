"""A verdict as attestations: an in-toto Statement v1 with a SLSA VSA v1 predicate, and a detail.

Two statements about the same subject (the git commit, and any artifact named as one):

1. the summary, predicate ``https://slsa.dev/verification_summary/v1``: who verified
   (``verifier``), when (``timeVerified``), against which policy (its digest), on what
   evidence (``inputAttestations``: each evidence file and the detail statement, by
   sha256), and the result, PASSED or FAILED;
2. the detail, predicate ``DETAIL_PREDICATE_TYPE``: the whole verdict, as ``--format json``
   writes it (every rule's outcome and reason, every check), bound to the summary by the
   sha256 of its statement bytes.

Each is signed into a DSSE envelope; the two envelopes are the two lines of one
``*.intoto.jsonl`` file. FAILED and error verdicts are signed too, for the audit trail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gatekeeper.digests import sha256_file
from gatekeeper.errors import GatekeeperError, PluginError, SigningError, UsageError
from gatekeeper.models import Verdict
from gatekeeper.signing import Signer
from gatekeeper.signing.dsse import PAYLOAD_TYPE, Envelope, EnvelopeError, canonical_json, sign_envelope

__all__ = [
    "DETAIL_PREDICATE_TYPE",
    "PASSED_LEVEL",
    "STATEMENT_TYPE",
    "VSA_PREDICATE_TYPE",
    "SignedVerdict",
    "default_verifier_id",
    "detail_statement",
    "format_time",
    "sign_verdict",
    "subjects_for",
    "vsa_statement",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
#: The detail predicate: the verdict as the JSON report writes it (its ``schema_version`` is 1).
DETAIL_PREDICATE_TYPE = "urn:gatekeeper:verdict:v1"
#: ``verifiedLevels`` of a passed verdict (custom SlsaResult values may not start with ``SLSA_``).
PASSED_LEVEL = "GATEKEEPER_POLICY_PASSED"
FAILED_LEVEL = "FAILED"


def default_verifier_id(keyid: str) -> str:
    """The verifier's identity when none is configured: derived from the signing key."""
    return f"urn:gatekeeper:verifier:sha256:{keyid}"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, e.g. ``2025-01-31T12:00:00Z`` (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256_file(path: Path) -> str:
    try:
        return sha256_file(path)
    except FileNotFoundError:
        raise UsageError(f"subject file {path} not found") from None
    except IsADirectoryError:
        raise UsageError(f"subject {path} is a directory; name the artifact files") from None
    except OSError as exc:
        raise UsageError(f"cannot read subject file {path}: {exc.strerror}") from None


def subjects_for(verdict: Verdict, artifacts: Sequence[str | Path] = ()) -> list[dict[str, Any]]:
    """The statement's subject: the git commit, then each artifact by file name and sha256.

    Evidence files (what the checks read) are not subjects: they are ``inputAttestations``.
    """
    subjects: list[dict[str, Any]] = []
    if verdict.subject.commit:
        remote = verdict.subject.repository
        name = f"git+{remote}" if remote else "git"
        subjects.append({"name": name, "digest": {"gitCommit": verdict.subject.commit.lower()}})
    by_name: dict[str, str] = {}
    for artifact in artifacts:
        path = Path(artifact)
        digest = _sha256_file(path)
        if by_name.get(path.name, digest) != digest:
            raise UsageError(f"two different subject files are named {path.name!r}; subjects are named by file name")
        by_name[path.name] = digest
    subjects.extend({"name": name, "digest": {"sha256": digest}} for name, digest in sorted(by_name.items()))
    if not subjects:
        raise SigningError(
            "nothing to attest: the path is not a git repository with a commit, and no subject file is named"
        )
    return subjects


def _versions(verdict: Verdict) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for check in verdict.checks:
        if check.tool is not None and check.tool.name != "gatekeeper":
            found.setdefault(check.tool.name, set()).add(check.tool.version or "unknown")
    versions = {name: ", ".join(sorted(values)) for name, values in sorted(found.items())}
    return {"gatekeeper": verdict.gatekeeper_version, **versions}


def _evidence(verdict: Verdict) -> list[dict[str, Any]]:
    files = {(i.path, i.sha256) for check in verdict.checks for i in check.inputs}
    return [{"name": path, "digest": {"sha256": sha}} for path, sha in sorted(files)]


def detail_statement(verdict: Verdict, subjects: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": DETAIL_PREDICATE_TYPE,
        "predicate": verdict.model_dump(mode="json"),
    }


def vsa_statement(
    verdict: Verdict,
    subjects: list[dict[str, Any]],
    *,
    verifier_id: str,
    detail_sha256: str,
    resource_uri: str | None = None,
    policy_uri: str | None = None,
) -> dict[str, Any]:
    passed = verdict.outcome == "pass"
    digest = verdict.policy.digest.removeprefix("sha256:")
    if resource_uri is None:
        git = subjects[0] if "gitCommit" in subjects[0]["digest"] else None
        resource_uri = f"{git['name']}@{git['digest']['gitCommit']}" if git else subjects[0]["name"]
    detail = {"name": "detail", "mediaType": PAYLOAD_TYPE, "digest": {"sha256": detail_sha256}}
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": verifier_id, "version": _versions(verdict)},
            "timeVerified": format_time(verdict.finished_at),
            "resourceUri": resource_uri,
            "policy": {
                "uri": policy_uri or (verdict.policy.sources[-1] if verdict.policy.sources else verdict.policy.name),
                "digest": {"sha256": digest},
            },
            "inputAttestations": [*_evidence(verdict), detail],
            "verificationResult": "PASSED" if passed else "FAILED",
            "verifiedLevels": [PASSED_LEVEL] if passed else [FAILED_LEVEL],
        },
    }


@dataclass(frozen=True)
class SignedVerdict:
    """The two signed envelopes; ``to_jsonl()`` is the ``*.intoto.jsonl`` file's text."""

    vsa: Envelope
    detail: Envelope
    keyid: str
    verification_result: str

    def to_jsonl(self) -> str:
        return f"{self.vsa.to_json()}\n{self.detail.to_json()}\n"


def _signed(payload: bytes, signer: Signer) -> Envelope:
    try:
        envelope = sign_envelope(payload, signer)
    except GatekeeperError:
        raise
    except Exception as exc:  # a KMS or HSM signer plugin failing names itself, never a traceback
        raise PluginError(f"the signer failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(envelope.sig, bytes) or not envelope.sig:
        raise PluginError(f"the signer returned {type(envelope.sig).__name__}, not signature bytes")
    return envelope


def sign_verdict(
    verdict: Verdict,
    signer: Signer,
    *,
    artifacts: Sequence[str | Path] = (),
    verifier_id: str | None = None,
    resource_uri: str | None = None,
    policy_uri: str | None = None,
) -> SignedVerdict:
    """Sign ``verdict`` as a VSA envelope and a detail envelope, whatever its outcome.

    ``artifacts`` are files the verdict is about (subjects, by sha256) besides the git
    commit. ``verifier_id`` defaults to a URI derived from the signing key,
    ``resource_uri`` to ``git+REMOTE@COMMIT`` and ``policy_uri`` to the policy as named.
    ``timeVerified`` is the verdict's ``finished_at``. Raises ``UsageError`` for an
    unreadable artifact, ``SigningError`` when there is no subject at all, and
    ``PluginError`` when the signer fails.
    """
    keyid = signer.keyid()
    if not isinstance(keyid, str) or len(keyid) != 64 or keyid.strip("0123456789abcdef"):
        raise PluginError(f"the signer's keyid {keyid!r} is not the lowercase hex sha256 of its public key")
    subjects = subjects_for(verdict, artifacts)
    try:
        detail_payload = canonical_json(detail_statement(verdict, subjects))
        vsa_payload = canonical_json(
            vsa_statement(
                verdict,
                subjects,
                verifier_id=verifier_id or default_verifier_id(keyid),
                detail_sha256=hashlib.sha256(detail_payload).hexdigest(),
                resource_uri=resource_uri,
                policy_uri=policy_uri,
            )
        )
    except EnvelopeError as exc:
        raise SigningError(f"the verdict cannot be signed: {exc}") from None
    result = "PASSED" if verdict.outcome == "pass" else "FAILED"
    return SignedVerdict(_signed(vsa_payload, signer), _signed(detail_payload, signer), keyid, result)
