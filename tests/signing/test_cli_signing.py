"""`gatekeeper keygen`, `run --sign` and `verify`, through the real console command."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from signing_helpers import COMMIT, POLICY_HEX, lines, make_verdict, signed_text, statement_of

from gatekeeper.signing import load_file_signer

POLICY = """
version: 1
name: cli-signing
plugins: ["{fake}"]
checks:
  tests: {uses: fake, with: {metrics: {failed: 0, total: 3}}}
rules:
  - {id: tests-green, check: tests, require: ["failed == 0"]}
"""
FAILING = POLICY.replace("failed: 0, total", "failed: 2, total")
KMS_PLUGIN = '''
"""An in-house signer, as a team would plug in a KMS: it signs with cryptography, not KeySigner."""
from pathlib import Path
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gatekeeper import hookimpl
from gatekeeper.signing import SignerType
from gatekeeper.signing.keys import keyid_of


class FakeKms:
    def __init__(self, ref):
        if ref == "explode":
            raise RuntimeError("KMS said no")
        self._key = serialization.load_pem_private_key(Path(ref).read_bytes(), None)

    def keyid(self):
        return keyid_of(self._key.public_key())

    def sign(self, data):
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


@hookimpl
def gatekeeper_signers():
    return [SignerType("vault", FakeKms, "Signs in the (fake) vault.")]
'''


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def head(repo: Path, write_policy) -> str:
    """The repository, with the passing policy, committed; its HEAD commit."""
    write_policy(POLICY)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", "https://git.example.com/acme/shop.git")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "gated")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def keys(tmp_path: Path, run_cli) -> Path:
    """An ECDSA key pair made by `gatekeeper keygen`, outside the repository: the PREFIX."""
    done = run_cli("keygen", "--out", str(tmp_path / "keys" / "ci"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "keys" / "ci"


def _digest(run_cli) -> str:
    return run_cli("policy", "validate", "gatekeeper.yaml").stdout.split()[-1]


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_keygen(tmp_path: Path, run_cli, key_type: str) -> None:
    prefix = tmp_path / "k"
    done = run_cli("keygen", "--type", key_type, "--out", str(prefix))
    assert done.returncode == 0, done.stderr
    keyid = load_file_signer(f"{prefix}.key").keyid()
    assert done.stdout == (
        f"wrote {prefix}.key (private key, mode 0600; keep it secret)\n"
        f"wrote {prefix}.pub (public key, keyid {keyid}; give it to `gatekeeper verify --key`)\n"
    )
    assert stat.S_IMODE(Path(f"{prefix}.key").stat().st_mode) == 0o600
    again = run_cli("keygen", "--out", str(prefix))
    assert again.returncode == 2
    assert again.stderr == f"gatekeeper: error: {prefix}.key already exists; use --force to overwrite it\n"
    assert run_cli("keygen", "--out", str(prefix), "--force").returncode == 0


def test_keygen_encrypts_with_the_passphrase_from_the_environment(tmp_path: Path, run_cli) -> None:
    done = run_cli("keygen", "--out", str(tmp_path / "k"), env={"GATEKEEPER_SIGNING_KEY_PASSPHRASE": "hunter2"})
    assert ", encrypted with the passphrase in GATEKEEPER_SIGNING_KEY_PASSPHRASE;" in done.stdout
    assert "hunter2" not in done.stdout + done.stderr
    assert (tmp_path / "k.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_keygen_usage_errors(run_cli) -> None:
    assert "the following arguments are required: --out" in run_cli("keygen").stderr
    done = run_cli("keygen", "--out", "x", "--type", "rsa")
    assert done.returncode == 2 and "invalid choice: 'rsa'" in done.stderr


def test_sign_then_verify(head: str, keys: Path, run_cli, repo: Path) -> None:
    done = run_cli("run", "--sign", f"{keys}.key")
    assert done.returncode == 0, done.stderr
    keyid = load_file_signer(f"{keys}.key").keyid()
    assert done.stderr.endswith(
        f"gatekeeper: signed verdict (PASSED) written to verdict.intoto.jsonl with file signer {keys}.key "
        f"(keyid {keyid})\n"
    )
    vsa, detail = lines((repo / "verdict.intoto.jsonl").read_text())
    statement = statement_of(vsa)
    assert statement["subject"] == [
        {"name": "git+https://git.example.com/acme/shop.git", "digest": {"gitCommit": head}}
    ]
    assert statement_of(detail)["predicate"]["outcome"] == "pass"
    digest = _digest(run_cli)
    verified = run_cli(
        "verify", "verdict.intoto.jsonl", "--key", f"{keys}.pub", "--commit", head, "--policy-digest", digest
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stderr == ""
    assert re.fullmatch(
        rf"gatekeeper: ACCEPTED verdict\.intoto\.jsonl: PASSED under policy {digest}, verified at "
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ, signed by key {keyid}, with its detail\n",
        verified.stdout,
    )


def test_failed_verdict_is_signed_and_rejected(head: str, keys: Path, run_cli, write_policy) -> None:
    write_policy(FAILING)
    done = run_cli("run", "--sign", f"{keys}.key", "--verdict", "out/v.intoto.jsonl")
    assert done.returncode == 1  # the verdict's exit code, signing or not
    assert "gatekeeper: signed verdict (FAILED) written to out/v.intoto.jsonl" in done.stderr
    verified = run_cli("verify", "out/v.intoto.jsonl", "--key", f"{keys}.pub", "--commit", head)
    assert verified.returncode == 1
    assert (
        verified.stdout == "gatekeeper: REJECTED out/v.intoto.jsonl: verificationResult: 'FAILED', expected 'PASSED'\n"
    )
    assert verified.stderr == (
        "gatekeeper: warning: no --policy-digest given, so a verdict made under any policy is accepted\n"
    )


@pytest.mark.parametrize(("change", "args", "code"), [("{behaviour: raise}", (), 3), (None, ("--mode", "audit"), 0)])
def test_error_and_audit_verdicts_are_signed_with_their_exit_codes(
    head: str, keys: Path, run_cli, write_policy, repo: Path, change: str | None, args: tuple[str, ...], code: int
) -> None:
    write_policy(FAILING.replace("{metrics: {failed: 2, total: 3}}", change) if change else FAILING)
    assert run_cli("run", "--sign", f"{keys}.key", *args).returncode == code
    vsa = lines((repo / "verdict.intoto.jsonl").read_text())[0]
    assert statement_of(vsa)["predicate"]["verificationResult"] == "FAILED"


def test_a_bad_key_stops_the_run_before_any_check(head: str, run_cli, repo: Path, tmp_path: Path) -> None:
    done = run_cli("run", "--sign", "missing.key")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "gatekeeper: error: signing key missing.key not found\n"  # no progress line: nothing ran
    (tmp_path / "empty.key").write_bytes(b"")
    done = run_cli("run", "--sign", str(tmp_path / "empty.key"))
    assert done.stderr == (
        f"gatekeeper: error: signing key {tmp_path / 'empty.key'} is not a PEM private key "
        "(expected PKCS#8 PEM, as `gatekeeper keygen` writes)\n"
    )
    assert not (repo / "verdict.intoto.jsonl").exists()


def test_passphrases(head: str, tmp_path: Path, run_cli) -> None:
    run_cli("keygen", "--out", str(tmp_path / "enc"), env={"GATEKEEPER_SIGNING_KEY_PASSPHRASE": "pw"})
    key = str(tmp_path / "enc.key")
    done = run_cli("run", "--sign", key)
    assert (done.returncode, done.stderr) == (
        2,
        f"gatekeeper: error: signing key {key} is encrypted; set GATEKEEPER_SIGNING_KEY_PASSPHRASE to its passphrase\n",
    )
    done = run_cli("run", "--sign", key, env={"GATEKEEPER_SIGNING_KEY_PASSPHRASE": "wrong"})
    assert (done.returncode, done.stderr) == (
        2,
        f"gatekeeper: error: cannot decrypt signing key {key}: wrong passphrase in GATEKEEPER_SIGNING_KEY_PASSPHRASE\n",
    )
    assert run_cli("run", "--sign", key, env={"GATEKEEPER_SIGNING_KEY_PASSPHRASE": "pw"}).returncode == 0


def test_key_from_the_environment_is_never_echoed(head: str, keys: Path, run_cli, repo: Path) -> None:
    pem = Path(f"{keys}.key").read_text()
    for args in [(), ("--sign", "env:")]:
        done = run_cli("run", *args, env={"GATEKEEPER_SIGNING_KEY": pem})
        assert done.returncode == 0, done.stderr
        assert "with the key in GATEKEEPER_SIGNING_KEY (keyid" in done.stderr
        body = pem.splitlines()[1]
        assert body not in done.stdout + done.stderr
        assert run_cli("verify", "verdict.intoto.jsonl", "--key", f"{keys}.pub", "--commit", head).returncode == 0
    done = run_cli("run", "--sign", "env:CI_KEY", env={"CI_KEY": pem})
    assert "with the key in CI_KEY (keyid" in done.stderr
    broken = pem.replace(pem.splitlines()[2], "SECRETSECRETSECRET")
    done = run_cli("run", env={"GATEKEEPER_SIGNING_KEY": broken})
    assert done.returncode == 2
    assert done.stderr == "gatekeeper: error: the key in GATEKEEPER_SIGNING_KEY is not a valid PEM private key\n"


def test_artifact_subjects(head: str, keys: Path, run_cli, tmp_path: Path) -> None:
    wheel = tmp_path / "shop-1.0.whl"
    wheel.write_bytes(b"wheel")
    assert run_cli("run", "--sign", f"{keys}.key", "--subject", str(wheel)).returncode == 0
    ok = run_cli("verify", "verdict.intoto.jsonl", "--key", f"{keys}.pub", "--artifact", str(wheel))
    assert ok.returncode == 0, ok.stdout
    wheel.write_bytes(b"tampered wheel")
    bad = run_cli("verify", "verdict.intoto.jsonl", "--key", f"{keys}.pub", "--artifact", str(wheel))
    assert bad.returncode == 1
    assert f"subject: no subject has the sha256 of artifact {wheel} (" in bad.stdout


def test_verify_rejects_a_stale_verdict(keys: Path, run_cli, tmp_path: Path) -> None:
    signer = load_file_signer(f"{keys}.key")
    old = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=30)
    (tmp_path / "old.jsonl").write_text(signed_text(make_verdict(finished_at=old), signer))
    done = run_cli(
        "verify", str(tmp_path / "old.jsonl"), "--key", f"{keys}.pub", "--commit", COMMIT, "--max-age", "24h"
    )
    assert done.returncode == 1
    assert done.stdout.startswith(
        f"gatekeeper: REJECTED {tmp_path / 'old.jsonl'}: timeVerified: {old:%Y-%m-%dT%H:%M:%SZ} is older than the "
        "maximum age 1d (it is 1d6h"
    )
    assert run_cli("verify", str(tmp_path / "old.jsonl"), "--key", f"{keys}.pub", "--commit", COMMIT,
                   "--policy-digest", f"sha256:{POLICY_HEX}", "--max-age", "2d").returncode == 0  # fmt: skip


def test_an_in_house_signer_plugin_by_name(head: str, keys: Path, run_cli, repo: Path, write_policy) -> None:
    (repo / "ci").mkdir()
    (repo / "ci" / "kms_signer.py").write_text(KMS_PLUGIN)
    write_policy(POLICY.replace('plugins: ["{fake}"]', 'plugins: ["{fake}", ci/kms_signer.py]'))
    listed = run_cli("plugins", "--policy", "gatekeeper.yaml").stdout.splitlines()
    assert any(line.split()[:4] == ["signer", "vault", "kms_signer", "local"] for line in listed)
    assert any(line.split()[:4] == ["signer", "file", "gatekeeper.signing.keys", "builtin"] for line in listed)
    done = run_cli("run", "--sign", f"vault:{keys}.key")
    assert done.returncode == 0, done.stderr
    assert f"with vault signer {keys}.key (keyid" in done.stderr
    assert run_cli("verify", "verdict.intoto.jsonl", "--key", f"{keys}.pub", "--commit", head).returncode == 0
    exploded = run_cli("run", "--sign", "vault:explode")
    assert (exploded.returncode, exploded.stderr) == (
        3,
        "gatekeeper: error: signer 'vault' failed to load: RuntimeError: KMS said no\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subject", "x.whl"], "--subject: only for a signed verdict; add --sign KEY"),
        (["--verdict", "v.jsonl", "--verifier-id", "u:x"], "--verdict, --verifier-id: only for a signed verdict; add --sign KEY"),
        (["--sign", "K", "--subject", "nope.whl"], "--subject nope.whl: no such file"),
        (["--sign", "K", "--verifier-id", "gatekeeper"], "--verifier-id 'gatekeeper': give an absolute URI (scheme:...)"),
    ],
)  # fmt: skip
def test_run_signing_usage_errors(head: str, run_cli, args: list[str], message: str) -> None:
    done = run_cli("run", *args)
    assert (done.returncode, done.stderr) == (2, f"gatekeeper: error: {message}\n")


def test_signing_outside_git_needs_a_subject(keys: Path, run_cli, write_policy, repo: Path) -> None:
    write_policy(POLICY)
    done = run_cli("run", "--sign", f"{keys}.key", env={"GIT_CEILING_DIRECTORIES": str(repo.parent)})
    assert done.stderr == (
        "gatekeeper: error: . is not a git repository with a commit; name what the verdict is about with --subject\n"
    )
    (repo / "app.tar").write_bytes(b"app")
    done = run_cli(
        "run", "--sign", f"{keys}.key", "--subject", "app.tar", env={"GIT_CEILING_DIRECTORIES": str(repo.parent)}
    )
    assert done.returncode == 0, done.stderr
    assert run_cli("verify", "verdict.intoto.jsonl", "--key", f"{keys}.pub", "--artifact", "app.tar").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["v.jsonl", "--commit", COMMIT], "the following arguments are required: --key"),
        (["v.jsonl", "--key", "nope.pub", "--commit", COMMIT], "public key nope.pub not found"),
        (["v.jsonl", "--key", "KEY.key", "--commit", COMMIT], "--key KEY.key is not a PEM public key (it is a private key: give the .pub file)"),
        (["v.jsonl", "--key", "KEY.pub"], "name what is being deployed with --commit SHA or --artifact FILE; otherwise any verdict would do"),
        (["v.jsonl", "--key", "KEY.pub", "--commit", COMMIT, "--max-age", "1 day"], "max age '1 day': write a duration such as 24h, 30m, 7d or 1h30m"),
        (["v.jsonl", "--key", "KEY.pub", "--commit", COMMIT, "--policy-digest", "abc"], "policy digest 'abc': write sha256:HEX, as `gatekeeper policy validate` prints it"),
        (["v.jsonl", "--key", "KEY.pub", "--commit", "HEAD"], "commit 'HEAD': give the full 40 (or 64) hex digit commit id"),
        (["missing.jsonl", "--key", "KEY.pub", "--commit", COMMIT], "signed verdict missing.jsonl not found"),
        (["v.jsonl", "--key", "KEY.pub", "--artifact", "gone.whl"], "cannot read artifact gone.whl: No such file or directory"),
    ],
)  # fmt: skip
def test_verify_usage_errors_exit_2(keys: Path, run_cli, repo: Path, args: list[str], message: str) -> None:
    (repo / "v.jsonl").write_text(signed_text(make_verdict(), load_file_signer(f"{keys}.key")))
    done = run_cli("verify", *[a.replace("KEY", str(keys)) for a in args])
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert message.replace("KEY", str(keys)) in done.stderr
    assert done.stderr.startswith("gatekeeper: error: ") and done.stderr.count("\n") == 1


def test_verify_rejections_name_the_reason(keys: Path, run_cli, repo: Path) -> None:
    signer = load_file_signer(f"{keys}.key")
    text = signed_text(make_verdict(), signer)
    (repo / "v.jsonl").write_text(text.replace('"payloadType":"application/vnd.in-toto+json"', '"payloadType":"x"', 1))
    done = run_cli("verify", "v.jsonl", "--key", f"{keys}.pub", "--commit", COMMIT)
    assert done.returncode == 1
    assert done.stdout == (
        f"gatekeeper: REJECTED v.jsonl: signature: does not verify with trusted key {signer.keyid()} "
        "(the key its keyid names)\n"
    )
    (repo / "v.jsonl").write_text("garbage")
    done = run_cli("verify", "v.jsonl", "--key", f"{keys}.pub", "--commit", COMMIT)
    assert (done.returncode, done.stdout) == (
        1,
        "gatekeeper: REJECTED v.jsonl: envelope: line 1 is not valid JSON: Expecting value at position 0\n",
    )
    assert json.loads(text.splitlines()[0])["signatures"][0]["keyid"] == signer.keyid()
