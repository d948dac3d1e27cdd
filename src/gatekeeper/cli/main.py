"""Argument parsing and dispatch. Heavy modules are imported inside the commands so that
``gatekeeper --version`` costs little more than starting Python.

Exit codes: 0 pass, 1 policy failed, 2 usage or policy error, 3 runtime error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from gatekeeper import __version__

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_RUNTIME = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: one line, exit 2
        self.exit(EXIT_USAGE, f"gatekeeper: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gatekeeper", description="Policy-as-code quality gate.")
    parser.add_argument("--version", action="version", version=f"gatekeeper {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run the policy's checks and decide pass/fail")
    run.add_argument("path", nargs="?", default=".", help="repository to gate (default: .)")
    run.add_argument(
        "--policy", help="policy file or builtin:NAME (default: PATH/gatekeeper.yaml, else builtin:default)"
    )
    run.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="NAME[=FILE]",
        help="output format, repeatable; FILE writes it there (atomically) instead of stdout",
    )
    run.add_argument("--mode", choices=["enforce", "warn", "audit"], help="override the policy's mode")
    run.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="checks to run at once, and the most processes one check may start (default: cores)",
    )
    run.add_argument(
        "--changed-since",
        metavar="REF",
        help="scan only the files changed since the merge-base of REF and HEAD (checks that support it)",
    )
    run.add_argument(
        "--no-ci-detect",
        action="store_true",
        help="do not write the GitHub/GitLab/Azure outputs a CI run otherwise gets automatically",
    )
    add_plugin_options(run)
    _sign_options(run)
    from gatekeeper.cli.cache_commands import add_run_cache_options  # stays light

    add_run_cache_options(run)
    from gatekeeper.cli.history_commands import add_history_parser, add_run_history_options  # stays light

    add_run_history_options(run)

    policy = sub.add_parser("policy", help="validate, show or describe policies")
    policy_sub = policy.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", parser_class=_Parser)
    validate = policy_sub.add_parser("validate", help="load and validate a policy (and its extends)")
    validate.add_argument("file")
    add_plugin_options(validate)
    show = policy_sub.add_parser("show", help="print the policy after extends are resolved")
    show.add_argument("file")
    add_plugin_options(show)
    schema = policy_sub.add_parser("schema", help="print the JSON Schema of a policy file")
    add_plugin_options(schema)
    from gatekeeper.cli.policy_diff_commands import add_policy_diff_parser  # stays light

    add_policy_diff_parser(policy_sub)
    from gatekeeper.cli.policy_test_commands import add_policy_test_parser  # stays light

    add_plugin_options(add_policy_test_parser(policy_sub))

    plugins = sub.add_parser("plugins", help="list checkers, reporters and signers, and who provides them")
    plugins.add_argument("--policy", help="also load the local plugins this policy names")
    add_plugin_options(plugins)

    init = sub.add_parser("init", help="write a commented starter gatekeeper.yaml")
    init.add_argument("path", nargs="?", default=".", help="folder to write it in (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite an existing gatekeeper.yaml")

    keygen = sub.add_parser("keygen", help="write a key pair for signing verdicts (PREFIX.key, PREFIX.pub)")
    keygen.add_argument("--type", choices=["ecdsa-p256", "ed25519"], default="ecdsa-p256", help="default: ecdsa-p256")
    keygen.add_argument("--out", required=True, metavar="PREFIX", help="writes PREFIX.key (mode 0600) and PREFIX.pub")
    keygen.add_argument("--force", action="store_true", help="overwrite existing key files")

    verify = sub.add_parser("verify", help="verify a signed verdict before deploying: exit 0 accepted, 1 rejected")
    verify.add_argument("file", help="the signed verdict (*.intoto.jsonl)")
    verify.add_argument("--key", action="append", required=True, metavar="PUB", help="trusted public key, repeatable")
    verify.add_argument("--policy-digest", action="append", default=[], metavar="sha256:HEX", help="allowed policy")
    verify.add_argument("--commit", metavar="SHA", help="the commit being deployed must be the subject")
    verify.add_argument("--artifact", action="append", default=[], metavar="FILE", help="must be a subject (sha256)")
    verify.add_argument("--resource-uri", metavar="URI", help="the resourceUri the verdict must name")
    verify.add_argument("--max-age", metavar="DURATION", help="reject verdicts older than this, e.g. 24h, 7d")

    add_history_parser(sub)
    from gatekeeper.cli.baseline_commands import add_baseline_parser  # stays light

    for create in add_baseline_parser(sub):
        add_plugin_options(create)
    from gatekeeper.cli.report_commands import add_report_parser  # stays light

    add_report_parser(sub)
    from gatekeeper.cli.replay_commands import add_replay_parser, add_simulate_parser  # stays light

    add_replay_parser(sub)
    add_simulate_parser(sub)
    from gatekeeper.cli.waivers_commands import add_waivers_parser  # stays light

    add_plugin_options(add_waivers_parser(sub))
    return parser


def _sign_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--sign",
        metavar="KEY",
        help="sign the verdict with this private key file, or NAME:REF for a registered signer "
        "(env: reads GATEKEEPER_SIGNING_KEY, which also signs without --sign)",
    )
    run.add_argument("--verdict", metavar="FILE", help="signed verdict file (default: verdict.intoto.jsonl)")
    run.add_argument("--subject", action="append", default=[], metavar="FILE", help="artifact the verdict is about")
    run.add_argument("--verifier-id", metavar="URI", help="verifier.id in the signed verdict (default: from the key)")
    run.add_argument(
        "--resource-uri", metavar="URI", help="resourceUri in the signed verdict (default: git+REMOTE@SHA)"
    )


def add_plugin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--disable-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="do not load this entry-point or local plugin (also GATEKEEPER_DISABLE_PLUGINS, comma-separated)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list  # accepted before or after the command
    args_list = [a for a in args_list if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from gatekeeper.cli import commands
    from gatekeeper.errors import GatekeeperError

    try:
        handler = getattr(commands, f"cmd_{args.command}")
        return int(handler(args))
    except GatekeeperError as exc:
        if debug:
            traceback.print_exc()
        print(f"gatekeeper: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gatekeeper: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gatekeeper policy show ... | head`: the reader left early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        print("gatekeeper: error: the output was closed before everything was written", file=sys.stderr)
        return EXIT_RUNTIME
    except Exception as exc:  # a bug of ours: still one line unless --debug
        if debug:
            traceback.print_exc()
        print(
            f"gatekeeper: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_RUNTIME


def disabled_plugins(args: argparse.Namespace) -> list[str]:
    from_env = [n.strip() for n in os.environ.get("GATEKEEPER_DISABLE_PLUGINS", "").split(",") if n.strip()]
    return [*from_env, *getattr(args, "disable_plugin", [])]
