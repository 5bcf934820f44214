"""The ``cs-gateway`` command: serve, pki init, demo."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from pathlib import Path

from .config import ConfigError, load_config


def _serve(args: argparse.Namespace) -> int:
    from .domain.masking import mask_text
    from .logging_setup import configure_logging, get_logger
    from .security.tls_reload import TlsMaterialError
    from .server import serve
    from .store.interface import StoreError

    configure_logging()
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"cs-gateway: configuration error: {err}", file=sys.stderr)
        return 2
    try:
        code = asyncio.run(serve(config))
    except TlsMaterialError as err:
        print(f"cs-gateway: TLS files unusable: {err.reason}", file=sys.stderr)
        return 2
    except (sqlite3.Error, StoreError) as err:  # e.g. the store's disk is full at start
        reason = mask_text(f"{type(err).__name__}: {err}")
        get_logger("cs_gateway.server").error("store_unusable", store=str(config.store_path), error=reason)
        print(f"cs-gateway: store unusable ({config.store_path}): {reason}", file=sys.stderr)
        return 1
    except OSError as err:  # e.g. "cannot listen on ...": the address is taken
        reason = mask_text(str(err))
        get_logger("cs_gateway.server").error("cannot_start", error=reason)
        print(f"cs-gateway: {reason}", file=sys.stderr)
        return 1
    return code


def _pki_init(args: argparse.Namespace) -> int:
    from pki.dev_pki import init_dev_pki

    try:
        pki = init_dev_pki(args.directory, trust_domain=args.trust_domain, overwrite=args.overwrite)
    except FileExistsError as err:
        print(f"cs-gateway: {err}", file=sys.stderr)
        return 1
    print(f"dev PKI written to {pki.directory} (trust domain {pki.trust_domain}); keys are 0600, never commit them")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    try:
        load_config(args.config)
    except ConfigError as err:
        print(f"cs-gateway: configuration error: {err}", file=sys.stderr)
        return 2
    print(f"{args.config}: OK")
    return 0


def _policy_check(args: argparse.Namespace) -> int:
    from .security.policy_file import policy_check_main

    return policy_check_main(args.file)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(workdir=args.workdir, keep=args.keep)


# --- audit trail commands: `audit ...` and `backup` (cs_gateway/audit/cli_commands.py) ---------
def _add_audit_commands(sub: argparse._SubParsersAction) -> None:
    from .audit.cli_commands import register

    register(sub)


# --- end of audit trail commands ---------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs-gateway", description="市町村CS emulation: a hardened gRPC gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    serve.set_defaults(func=_serve)

    pki = sub.add_parser("pki", help="dev PKI tooling")
    pki_sub = pki.add_subparsers(dest="pki_command", required=True)
    init = pki_sub.add_parser("init", help="make a CA and one certificate per role in DIRECTORY")
    init.add_argument("directory", type=Path)
    init.add_argument("--trust-domain", default="hirosaki.jukinet.test")
    init.add_argument("--overwrite", action="store_true")
    init.set_defaults(func=_pki_init)
    from pki.cli import add_lifecycle_commands

    add_lifecycle_commands(pki_sub)  # pki issue | revoke | crl | rotate

    config = sub.add_parser("config", help="configuration tooling")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a configuration file")
    check.add_argument("config", type=Path)
    check.set_defaults(func=_config_check)

    policy = sub.add_parser("policy", help="access policy tooling")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_check = policy_sub.add_parser("check", help="lint a policy file: every problem, one per line")
    policy_check.add_argument("file", type=Path)
    policy_check.set_defaults(func=_policy_check)

    demo = sub.add_parser("demo", help="run the gateway end to end with the 既存住基 simulator")
    demo.add_argument("--workdir", type=Path, default=None, help="keep PKI, config and store here")
    demo.add_argument("--keep", action="store_true", help="do not delete the temporary work folder")
    demo.set_defaults(func=_demo)
    _add_audit_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
