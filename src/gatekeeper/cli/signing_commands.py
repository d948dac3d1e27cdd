"""The signing commands: ``keygen``, ``verify``, and the signing step of ``run``.

Heavy modules (cryptography) are imported inside the functions, like the other commands.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.cli.main import EXIT_FAIL, EXIT_PASS
from gatekeeper.errors import GatekeeperError, PluginError, UsageError

if TYPE_CHECKING:
    from gatekeeper.models import Verdict
    from gatekeeper.plugins import Plugins
    from gatekeeper.signing import Signer

DEFAULT_VERDICT_FILE = "verdict.intoto.jsonl"
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


@dataclass(frozen=True)
class RunSigning:
    """What ``run`` will sign with, settled before any check runs so a bad key costs nothing."""

    signer: Signer
    source: str
    target: Path
    subjects: list[str]
    verifier_id: str | None
    resource_uri: str | None


def prepare_signing(args: argparse.Namespace, plugins: Plugins, root: Path) -> RunSigning | None:
    """Load the signer ``--sign`` (or ``GATEKEEPER_SIGNING_KEY``) names; None when not signing."""
    from gatekeeper.gitinfo import read_subject
    from gatekeeper.signing.keys import KEY_ENV

    ref = args.sign
    if ref is None and os.environ.get(KEY_ENV, "").strip():
        ref = "env:"
    if ref is None:
        given = [flag for flag, value in [("--verdict", args.verdict), ("--subject", args.subject),
                 ("--verifier-id", args.verifier_id), ("--resource-uri", args.resource_uri)] if value]  # fmt: skip
        if given:
            raise UsageError(f"{', '.join(given)}: only for a signed verdict; add --sign KEY")
        return None
    for flag, value in [("--verifier-id", args.verifier_id), ("--resource-uri", args.resource_uri)]:
        if value is not None and not _URI.fullmatch(value):
            raise UsageError(f"{flag} {value!r}: give an absolute URI (scheme:...)")
    for subject in args.subject:
        if not Path(subject).is_file():
            raise UsageError(f"--subject {subject}: no such file")
    if not args.subject and not read_subject(root).commit:
        raise UsageError(f"{root} is not a git repository with a commit; name what the verdict is about with --subject")
    name, colon, rest = ref.partition(":")
    kind, target = (name, rest) if colon and name in plugins.signers else ("file", ref)
    signer_type = plugins.signers.get(kind)
    if signer_type is None:
        raise UsageError(f"no signer {kind!r}; `gatekeeper plugins` lists the signers")
    try:
        signer = signer_type.load(target)
    except GatekeeperError:
        raise
    except Exception as exc:  # a plugin's signer: one line naming it, never a traceback
        raise PluginError(f"signer {kind!r} failed to load: {type(exc).__name__}: {exc}") from exc
    source = "the key in " + (target or KEY_ENV) if kind == "env" else f"{kind} signer {target}"
    target_file = Path(args.verdict or DEFAULT_VERDICT_FILE)
    return RunSigning(signer, source, target_file, list(args.subject), args.verifier_id, args.resource_uri)


def finish_signing(signing: RunSigning, verdict: Verdict) -> None:
    """Sign the decided verdict (whatever its outcome) and write it atomically."""
    from gatekeeper.reporters import write_report
    from gatekeeper.signing import sign_verdict

    signed = sign_verdict(
        verdict,
        signing.signer,
        artifacts=signing.subjects,
        verifier_id=signing.verifier_id,
        resource_uri=signing.resource_uri,
    )
    write_report(signing.target, signed.to_jsonl())
    print(
        f"gatekeeper: signed verdict ({signed.verification_result}) written to {signing.target} "
        f"with {signing.source} (keyid {signed.keyid})",
        file=sys.stderr,
    )


def cmd_keygen(args: argparse.Namespace) -> int:
    from gatekeeper.signing.keys import PASSPHRASE_ENV, passphrase_from_env, write_keypair

    passphrase = passphrase_from_env()
    files = write_keypair(args.out, args.type, passphrase=passphrase, force=args.force)
    encrypted = f", encrypted with the passphrase in {PASSPHRASE_ENV}" if passphrase else ""
    print(f"wrote {files.private} (private key, mode 0600{encrypted}; keep it secret)")
    print(f"wrote {files.public} (public key, keyid {files.keyid}; give it to `gatekeeper verify --key`)")
    return EXIT_PASS


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} not found") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


def cmd_verify(args: argparse.Namespace) -> int:
    from gatekeeper.signing.attestation import format_time
    from gatekeeper.signing.keys import load_public_key
    from gatekeeper.signing.verify import parse_duration, verify

    keys = [load_public_key(_read(path, "public key"), source=f"--key {path}") for path in args.key]
    max_age = parse_duration(args.max_age) if args.max_age is not None else None
    if not args.commit and not args.artifact:
        raise UsageError(
            "name what is being deployed with --commit SHA or --artifact FILE; otherwise any verdict would do"
        )
    data = _read(args.file, "signed verdict")
    result = verify(
        data,
        keys,
        commit=args.commit,
        artifacts=args.artifact,
        policy_digests=args.policy_digest,
        resource_uri=args.resource_uri,
        max_age=max_age,
    )
    if not args.policy_digest:
        print(
            "gatekeeper: warning: no --policy-digest given, so a verdict made under any policy is accepted",
            file=sys.stderr,
        )
    if not result.accepted:
        print(f"gatekeeper: REJECTED {args.file}: {result.reason}")
        return EXIT_FAIL
    detail = "with its detail" if result.detail_checked else "without a detail envelope"
    when = format_time(result.time_verified) if result.time_verified else "?"
    print(
        f"gatekeeper: ACCEPTED {args.file}: PASSED under policy {result.policy_digest}, verified at {when}, "
        f"signed by key {result.keyid}, {detail}"
    )
    return EXIT_PASS
