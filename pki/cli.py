"""``cs-gateway pki issue|revoke|crl|rotate``: click wiring for pki.crl / pki.lifecycle.

``add_lifecycle_commands(pki_group)`` adds the four subcommands to the ``pki`` group of the main
CLI (cs_gateway/cli.py, which holds the one error boundary). Each runs a handler taking the
parsed arguments as a namespace and returning an exit code (0 ok, 1 refused with a one-line
message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click
from cryptography import x509

from pki.crl import DEFAULT_NEXT_UPDATE_DAYS, issue, revoke, rotate, write_crl
from pki.profiles import ROLES

REASONS = tuple(f.name.replace("_", "-") for f in x509.ReasonFlags if f is not x509.ReasonFlags.remove_from_crl)
_ERRORS = (ValueError, OSError)  # FileExistsError / FileNotFoundError are OSErrors


def _fail(err: Exception) -> int:
    print(f"cs-gateway: {err}", file=sys.stderr)
    return 1


def _issue(args: argparse.Namespace) -> int:
    try:
        files = issue(args.directory, args.role, args.host, days=args.days, overwrite=args.overwrite)
    except _ERRORS as err:
        return _fail(err)
    print(
        f"issued {files.spiffe_id} serial {files.serial:x} valid until {files.not_after:%Y-%m-%d}: "
        f"{files.cert_path} (leaf + intermediate), {files.key_path} (0600)"
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    try:
        record = revoke(args.directory, args.target, args.reason, next_update_days=args.next_update_days)
    except _ERRORS as err:
        return _fail(err)
    subject = f" ({record.subject})" if record.subject else ""
    print(f"revoked serial {record.serial:x}{subject}, reason {record.reason.name}; CRL re-signed")
    return 0


def _crl(args: argparse.Namespace) -> int:
    try:
        path = write_crl(args.directory, next_update_days=args.next_update_days)
    except _ERRORS as err:
        return _fail(err)
    crl = x509.load_pem_x509_crl(path.read_bytes())
    print(f"{path}: {len(crl)} revoked, next update {crl.next_update_utc:%Y-%m-%d %H:%M} UTC")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    try:
        files = rotate(args.directory, args.role, days=args.days)
    except _ERRORS as err:
        return _fail(err)
    print(
        f"rotated {files.spiffe_id}: new serial {files.serial:x} valid until {files.not_after:%Y-%m-%d} "
        f"(the old certificate is not revoked; use 'pki revoke' if its key is compromised)"
    )
    return 0


_DIRECTORY = click.argument("directory", type=click.Path(path_type=Path))
_DAYS = click.option("--days", type=int, default=None, help="validity in days (default: the role profile's lifetime)")
_CRL_DAYS = click.option(
    "--next-update-days", "next_update_days", type=int, default=DEFAULT_NEXT_UPDATE_DAYS, metavar="DAYS",
    show_default=True,
)


def add_lifecycle_commands(pki_group: click.Group) -> None:
    """Add issue, revoke, crl and rotate to the ``pki`` click group; each hands its arguments to
    the handler above as one namespace; and the card CA's commands (pki/card_cli.py)."""
    from pki.card_cli import add_card_commands

    add_card_commands(pki_group)

    @pki_group.command("issue", help="issue another leaf from the issuing CA into DIRECTORY/HOST.crt/.key")
    @_DIRECTORY
    @click.argument("role", type=click.Choice(ROLES))
    @click.argument("host")  # e.g. kizon-juki-02 ([a-z0-9-], not a role or PKI file name)
    @_DAYS
    @click.option("--overwrite", is_flag=True)
    def issue_command(**kwargs: object) -> int:
        return _issue(argparse.Namespace(**kwargs))

    @pki_group.command("revoke", help="revoke a certificate (file or hex serial) and re-sign the CRL")
    @_DIRECTORY
    @click.argument("target")  # a certificate file, or its serial number in hex
    @click.option("--reason", type=click.Choice(REASONS), default="unspecified", show_default=True)
    @_CRL_DAYS
    def revoke_command(**kwargs: object) -> int:
        return _revoke(argparse.Namespace(**kwargs))

    @pki_group.command("crl", help="re-sign DIRECTORY/crl.pem (do it before next_update)")
    @_DIRECTORY
    @_CRL_DAYS
    def crl_command(**kwargs: object) -> int:
        return _crl(argparse.Namespace(**kwargs))

    @pki_group.command("rotate", help="new key and certificate for ROLE, replacing ROLE.crt/.key atomically")
    @_DIRECTORY
    @click.argument("role", type=click.Choice(ROLES))
    @_DAYS
    def rotate_command(**kwargs: object) -> int:
        return _rotate(argparse.Namespace(**kwargs))
