"""``cs-gateway pki issue|revoke|crl|rotate``: argparse wiring for pki.crl / pki.lifecycle.

``add_lifecycle_commands(pki_sub)`` registers the four subcommands on the ``pki`` subparsers of
the main CLI; each sets ``func`` to a handler taking the parsed namespace and returning an exit
code (0 ok, 1 refused with a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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


def add_lifecycle_commands(pki_sub: Any) -> None:
    """Register issue, revoke, crl and rotate on the ``pki`` subparsers (argparse._SubParsersAction)."""
    days_help = "validity in days (default: the role profile's lifetime)"
    crl_days = {"type": int, "default": DEFAULT_NEXT_UPDATE_DAYS, "metavar": "DAYS"}

    p = pki_sub.add_parser("issue", help="issue another leaf from the issuing CA into DIRECTORY/HOST.crt/.key")
    p.add_argument("directory", type=Path)
    p.add_argument("role", choices=ROLES)
    p.add_argument("host", help="e.g. kizon-juki-02 ([a-z0-9-], not a role or PKI file name)")
    p.add_argument("--days", type=int, default=None, help=days_help)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_issue)

    p = pki_sub.add_parser("revoke", help="revoke a certificate (file or hex serial) and re-sign the CRL")
    p.add_argument("directory", type=Path)
    p.add_argument("target", help="a certificate file, or its serial number in hex")
    p.add_argument("--reason", choices=REASONS, default="unspecified")
    p.add_argument("--next-update-days", dest="next_update_days", **crl_days)
    p.set_defaults(func=_revoke)

    p = pki_sub.add_parser("crl", help="re-sign DIRECTORY/crl.pem (do it before next_update)")
    p.add_argument("directory", type=Path)
    p.add_argument("--next-update-days", dest="next_update_days", **crl_days)
    p.set_defaults(func=_crl)

    p = pki_sub.add_parser("rotate", help="new key and certificate for ROLE, replacing ROLE.crt/.key atomically")
    p.add_argument("directory", type=Path)
    p.add_argument("role", choices=ROLES)
    p.add_argument("--days", type=int, default=None, help=days_help)
    p.set_defaults(func=_rotate)
