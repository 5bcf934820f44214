"""The ``cs-gateway`` command (click): serve, config check, policy check, demo, pki, audit, backup.

A thin layer over the library, with one error boundary: ``main()`` runs a command and turns every
expected failure into one line on stderr (``cs-gateway: ...``, identifiers masked) and an exit
code. Each command names its expected failures in a table (FAILURES_*); nothing else maps errors
to exit codes. Exit codes: 0 done, 1 failed or refused, 2 unusable input (arguments,
configuration, TLS files), 3 ``serve`` only: the store's writer process died (see README).
Usage errors (a missing option, a bad value) are click's: usage and message, exit code 2.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import time
from pathlib import Path
from typing import Any

import click

from .audit import cli_commands as audit_bodies
from .config import ConfigError, config_warnings, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# (exception types, exit code, message template with {err}); the first entry that matches wins.
Failure = tuple[tuple[type[BaseException], ...], int, str]


class CommandFailedError(Exception):
    """An expected failure, mapped: main() prints the message and returns the code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StoreUnusableError(Exception):
    """serve: the store could not be opened or written at start (the message names the store)."""


def _config_failures() -> Sequence[Failure]:
    return (((ConfigError,), EXIT_USAGE, "configuration error: {err}"),)


def _serve_failures() -> Sequence[Failure]:
    from .security.tls_reload import TlsMaterialError
    from .store.at_rest import NumberKeyError

    return (
        *_config_failures(),
        ((TlsMaterialError,), EXIT_USAGE, "TLS files unusable: {err.reason}"),
        ((NumberKeyError,), EXIT_USAGE, "個人番号 key unusable: {err}"),
        ((StoreUnusableError,), EXIT_FAILED, "{err}"),
        ((OSError,), EXIT_FAILED, "{err}"),  # e.g. "cannot listen on ...": the address is taken
    )


def _pki_failures() -> Sequence[Failure]:
    return (((ValueError, OSError), EXIT_FAILED, "{err}"),)  # FileExistsError etc. are OSErrors


def _audit_failures() -> Sequence[Failure]:
    from .audit.backup import BackupError
    from .audit.keys import AuditKeyError
    from .audit.lookup import LookupRefusedError
    from .audit.retention import RetentionError
    from .audit.trail import AuditWriteError
    from .store.local import LocalStoreError

    return (
        *_config_failures(),
        ((LookupRefusedError, BackupError, RetentionError, AuditWriteError), EXIT_FAILED, "{err}"),
        ((LocalStoreError, AuditKeyError, OSError, ValueError), EXIT_USAGE, "{err}"),
        # e.g. still locked after the busy timeout: nothing was done
        ((sqlite3.Error,), EXIT_FAILED, "store error: {err}"),
    )


class Guarded(click.Command):
    """A command whose expected failures (its table) become a CommandFailedError for main()."""

    def __init__(self, *args: Any, failures: Callable[[], Sequence[Failure]] = tuple, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures  # called only on failure: its imports cost the happy path nothing

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, CommandFailedError):
            raise
        except Exception as err:
            for types, code, template in self.failures():
                if isinstance(err, types):
                    raise CommandFailedError(code, template.format(err=err)) from err
            raise


def main(argv: list[str] | None = None) -> int:
    """The one error boundary: run the command, return its exit code."""
    from .domain.masking import mask_text

    try:
        code = cli.main(args=argv, prog_name="cs-gateway", standalone_mode=False)
    except CommandFailedError as failed:
        print(f"cs-gateway: {mask_text(failed.message)}", file=sys.stderr)
        return failed.code
    except click.ClickException as err:  # usage errors: exit code 2, like argparse's
        err.show()
        return err.exit_code
    except click.Abort:
        print("cs-gateway: aborted", file=sys.stderr)
        return EXIT_FAILED
    return int(code or 0)


_PATH = click.Path(path_type=Path)
_CONFIG = click.option("--config", "config_path", type=_PATH, required=True, help="the gateway's TOML file")


@click.group(help="市町村CS emulation: a hardened gRPC gateway")
def cli() -> None:
    pass


# -- serve, config, policy, demo ---------------------------------------------------------------


@cli.command("serve", cls=Guarded, failures=_serve_failures, help="run the gateway")
@click.option("--config", "config_path", type=_PATH, required=True, help="TOML configuration file")
def serve_command(config_path: Path) -> int:
    import asyncio

    from .domain.masking import mask_text
    from .logging_setup import configure_logging, get_logger
    from .security.tls_reload import TlsMaterialError
    from .server import serve
    from .store.interface import StoreError

    configure_logging()
    config = load_config(config_path)
    log = get_logger("cs_gateway.server")
    try:
        return asyncio.run(serve(config))
    except TlsMaterialError:
        raise
    except (sqlite3.Error, StoreError) as err:  # e.g. the store's disk is full at start
        reason = mask_text(f"{type(err).__name__}: {err}")
        log.error("store_unusable", store=str(config.store_path), error=reason)
        raise StoreUnusableError(f"store unusable ({config.store_path}): {reason}") from err
    except OSError as err:  # not 'store unusable': the address is taken, ...
        log.error("cannot_start", error=mask_text(str(err)))
        raise


@cli.group("config", help="configuration tooling")
def config_group() -> None:
    pass


@config_group.command("check", cls=Guarded, failures=_config_failures, help="validate a configuration file")
@click.argument("config_path", metavar="CONFIG", type=_PATH)
def config_check(config_path: Path) -> int:
    config = load_config(config_path)
    for warning in config_warnings(config):
        print(f"{config_path}: warning: {warning}")
    print(f"{config_path}: OK")
    return EXIT_OK


@cli.group("policy", help="access policy tooling")
def policy_group() -> None:
    pass


@policy_group.command("check", cls=Guarded, help="lint a policy file: every problem, one per line")
@click.argument("file", type=_PATH)
def policy_check(file: Path) -> int:
    from .security.policy_file import policy_check_main

    return policy_check_main(file)


@cli.command("demo", cls=Guarded, help="run the gateway end to end with the 既存住基 simulator")
@click.option("--workdir", type=_PATH, default=None, help="keep PKI, config and store here")
@click.option("--keep", is_flag=True, help="do not delete the temporary work folder")
def demo_command(workdir: Path | None, keep: bool) -> int:
    from .demo import run_demo

    return run_demo(workdir=workdir, keep=keep)


# -- pki -----------------------------------------------------------------------------------------


class _PkiGroup(click.Group):
    """Every pki subcommand shares the pki failure table."""

    command_class = Guarded

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("failures", _pki_failures)
        return super().command(*args, **kwargs)


@cli.group("pki", cls=_PkiGroup, help="dev PKI tooling")
def pki_group() -> None:
    pass


@pki_group.command("init", help="make a CA and one certificate per role in DIRECTORY")
@click.argument("directory", type=_PATH)
@click.option("--trust-domain", default="hirosaki.jukinet.test", show_default=True)
@click.option("--overwrite", is_flag=True)
def pki_init(directory: Path, trust_domain: str, overwrite: bool) -> int:
    from pki.dev_pki import init_dev_pki

    pki = init_dev_pki(directory, trust_domain=trust_domain, overwrite=overwrite)
    print(f"dev PKI written to {pki.directory} (trust domain {pki.trust_domain}); keys are 0600, never commit them")
    return EXIT_OK


def _add_pki_lifecycle() -> None:
    from pki.cli import add_lifecycle_commands

    add_lifecycle_commands(pki_group)  # pki issue | revoke | crl | rotate


_add_pki_lifecycle()


# -- audit trail commands: `audit ...` and `backup` (bodies in cs_gateway/audit/cli_commands.py) --


class _ArgumentType(click.ParamType):
    """An argparse-style ``type=`` function (raising ArgumentTypeError) as a click type."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self._parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default, already of the type
        try:
            return self._parse(value)
        except (argparse.ArgumentTypeError, ValueError) as err:
            self.fail(str(err), param, ctx)


def _run_audit(body: str, config_path: Path, options: dict[str, Any]) -> int:
    """Load the configuration and run the body ``body`` of audit/cli_commands.py with the parsed
    options as one namespace (the shape the bodies take; repeatable options as lists)."""
    config = load_config(config_path)
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    return int(getattr(audit_bodies, body)(config, argparse.Namespace(config=config_path, **values)))


_CERTS = click.option(
    "--cert",
    type=_PATH,
    multiple=True,
    help="an earlier CS certificate whose signatures are still valid (after a key rotation); repeatable",
)
_DAY = _ArgumentType(audit_bodies._day, "YYYY-MM-DD")
_POSITIVE = _ArgumentType(audit_bodies._positive, "N")


@cli.group("audit", help="the audit trail: verify, report, lookup, prune")
def audit_group() -> None:
    pass


@audit_group.command(
    "verify",
    cls=Guarded,
    failures=_audit_failures,
    help="check the hash chain, signatures and that every update is audited",
)
@_CONFIG
@_CERTS
def audit_verify(config_path: Path, **options: Any) -> int:
    return _run_audit("_verify", config_path, options)


@audit_group.command(
    "report", cls=Guarded, failures=_audit_failures, help="the security officer's report for a period (JST days)"
)
@_CONFIG
@click.option("--from", "from_day", type=_DAY, required=True)
@click.option("--to", "to_day", type=_DAY, required=True)
@click.option("--json", "json", is_flag=True, help="JSON instead of text")
@click.option("--burst-persons", type=_POSITIVE, default=20, show_default=True, help="flag > N residents ...")
@click.option("--burst-minutes", type=_POSITIVE, default=10, show_default=True, help="... within W minutes")
@click.option("--repeat-limit", type=_POSITIVE, default=5, show_default=True, help="flag > K lookups of a person a day")
@click.option(
    "--office-hours",
    type=_ArgumentType(audit_bodies._hours, "HH:MM-HH:MM"),
    default=(time(8, 30), time(17, 15)),
    help="[default: 08:30-17:15]",
)
@click.option(
    "--office-days",
    type=_ArgumentType(audit_bodies._weekdays, "mon,tue,..."),
    default=frozenset(range(5)),
    help="[default: mon,tue,wed,thu,fri]",
)
@click.option("--holiday", type=_DAY, multiple=True, help="repeatable")
def audit_report(config_path: Path, **options: Any) -> int:
    return _run_audit("_report", config_path, options)


@audit_group.command(
    "lookup", cls=Guarded, failures=_audit_failures, help="who looked at one person (itself an audited operation)"
)
@_CONFIG
@click.option(
    "--juminhyo-code",
    required=True,
    help="the person's 住民票コード, or - to read it from standard input (out of ps and shell history)",
)
def audit_lookup(config_path: Path, **options: Any) -> int:
    return _run_audit("_lookup", config_path, options)


@audit_group.command(
    "prune", cls=Guarded, failures=_audit_failures, help="archive (signed) and remove entries past the retention period"
)
@_CONFIG
@_CERTS
@click.option("--now", type=_ArgumentType(audit_bodies._moment, "ISO date-time"), default=None, hidden=True)
def audit_prune(config_path: Path, **options: Any) -> int:  # --now: tests and drills only
    return _run_audit("_prune", config_path, options)


@audit_group.command(
    "verify-archive", cls=Guarded, failures=_audit_failures, help="check an archive's signature, chain and anchor"
)
@click.argument("archive", type=_PATH)  # audit-archive/audit-<first>-<last>.jsonl
@_CONFIG
@_CERTS
def audit_verify_archive(config_path: Path, **options: Any) -> int:
    return _run_audit("_verify_archive", config_path, options)


@cli.command(
    "backup", cls=Guarded, failures=_audit_failures, help="an online copy of the store (administrators only; audited)"
)
@_CONFIG
@click.option("--to", type=_PATH, required=True, help="the new file (never overwritten)")
def backup_command(config_path: Path, **options: Any) -> int:
    return _run_audit("_backup", config_path, options)


# -- operator: counter-terminal accounts (operator_commands.py) ----------------------------------


def _operator_failures() -> Sequence[Failure]:
    from .app.operators import OperatorCommandError
    from .audit.keys import AuditKeyError
    from .security.operator_auth import WeakPasswordError
    from .store.at_rest import NumberKeyError

    return (
        *_config_failures(),
        ((OperatorCommandError, WeakPasswordError), EXIT_FAILED, "{err}"),
        ((AuditKeyError, NumberKeyError, OSError), EXIT_USAGE, "{err}"),
        ((sqlite3.Error,), EXIT_FAILED, "store error: {err}"),
    )


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("new password", hide_input=True, confirmation_prompt=True))


_PASSWORD_STDIN = click.option("--password-stdin", is_flag=True, help="read the new password from stdin (scripts)")
_NO_QR = click.option("--no-qr", is_flag=True, help="do not show the provisioning URI as a QR code as well")


@cli.group("operator", help="counter-terminal operators: add, disable, reset, unlock, list (audited)")
def operator_group() -> None:
    pass


@operator_group.command("add", cls=Guarded, failures=_operator_failures, help="enrol an operator")
@_CONFIG
@click.argument("operator_id")
@click.option("--role", type=click.Choice(["shokai", "shokai-shomei", "admin"]), required=True)
@_PASSWORD_STDIN
@_NO_QR
def operator_add(config_path: Path, operator_id: str, role: str, password_stdin: bool, no_qr: bool) -> int:
    from . import operator_commands

    done, uri = operator_commands.add(load_config(config_path), operator_id, role, _new_password(password_stdin))
    click.echo(operator_commands.describe(done))
    click.echo(f"TOTP (shown once; scan into the authenticator): {uri}")
    if not no_qr:
        click.echo(operator_commands.qr_text(uri))
    return EXIT_OK


@operator_group.command("reset", cls=Guarded, failures=_operator_failures, help="new password and TOTP secret; unlocks")
@_CONFIG
@click.argument("operator_id")
@_PASSWORD_STDIN
@_NO_QR
def operator_reset(config_path: Path, operator_id: str, password_stdin: bool, no_qr: bool) -> int:
    from . import operator_commands

    done, uri = operator_commands.reset(load_config(config_path), operator_id, _new_password(password_stdin))
    click.echo(operator_commands.describe(done))
    click.echo(f"TOTP (shown once; scan into the authenticator): {uri}")
    if not no_qr:
        click.echo(operator_commands.qr_text(uri))
    return EXIT_OK


@operator_group.command("disable", cls=Guarded, failures=_operator_failures, help="refuse every login of an operator")
@_CONFIG
@click.argument("operator_id")
def operator_disable(config_path: Path, operator_id: str) -> int:
    from . import operator_commands

    click.echo(operator_commands.describe(operator_commands.disable(load_config(config_path), operator_id)))
    return EXIT_OK


@operator_group.command("unlock", cls=Guarded, failures=_operator_failures, help="unlock after failed logins")
@_CONFIG
@click.argument("operator_id")
def operator_unlock(config_path: Path, operator_id: str) -> int:
    from . import operator_commands

    click.echo(operator_commands.describe(operator_commands.unlock(load_config(config_path), operator_id)))
    return EXIT_OK


@operator_group.command("list", cls=Guarded, failures=_operator_failures, help="every operator and its state")
@_CONFIG
def operator_list(config_path: Path) -> int:
    from . import operator_commands

    for line in operator_commands.listing(load_config(config_path)):
        click.echo(operator_commands.describe(line))
    return EXIT_OK


# -- store import: the 初期移行 (import_command.py) -----------------------------------------------


def _import_failures() -> Sequence[Failure]:
    from .audit.keys import AuditKeyError
    from .import_command import ImportRefusedError
    from .store.at_rest import NumberKeyError
    from .store.bulk_import import BulkImportError

    return (
        *_config_failures(),
        ((ImportRefusedError,), EXIT_FAILED, "import refused, nothing stored: {err}"),
        ((BulkImportError,), EXIT_FAILED, "import refused, nothing stored: {err}"),
        ((AuditKeyError, NumberKeyError, OSError), EXIT_USAGE, "{err}"),
        ((sqlite3.Error,), EXIT_FAILED, "store error, nothing stored: {err}"),
    )


@cli.group("store", help="the store's file: the 初期移行 (initial data migration)")
def store_group() -> None:
    pass


@store_group.command(
    "import",
    cls=Guarded,
    failures=_import_failures,
    help=(
        "初期移行: load the 既存住基システム's 本人確認情報 (JSON Lines, one 記載 per line) into an "
        "empty store, with the update's format and logic checks; all or nothing, audited. Run with "
        "the gateway stopped. No change notices are queued: the 都道府県サーバー gets its own "
        "初期移行 copy of the same export (compare later with `consistency check`)."
    ),
)
@_CONFIG
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def store_import(config_path: Path, file: Path) -> int:
    from .import_command import run_import

    done = run_import(load_config(config_path), file, progress=lambda n: click.echo(f"... {n} records", err=True))
    click.echo(
        f"imported {done.records} records in {done.seconds:.1f} s (sha256 {done.sha256}, "
        f"audit entry {done.audit_seq}); no change notices queued"
    )
    return EXIT_OK


@cli.group("consistency", help="consistency checks of the file against a peer's copy (住基法14条)")
def consistency_group() -> None:
    pass


@consistency_group.command(
    "check", cls=Guarded, failures=_audit_failures, help="compare the file with the peer's copy (audited)"
)
@_CONFIG
@click.option(
    "--peer",
    type=click.Choice(["prefecture", "jlis"]),
    default="prefecture",
    show_default=True,
    help="prefecture: the 都道府県サーバー's copy; jlis: the 機構's 全国サーバー copy",
)
@click.option(
    "--mode",
    type=click.Choice(["tree", "full"]),
    default="tree",
    show_default=True,
    help="tree: descend only into differing subtrees; full: the whole file",
)
def consistency_check(config_path: Path, peer: str, mode: str) -> int:
    from .config import load_config
    from .peers.consistency_run import run_check
    from .server import certificate_gate

    config = load_config(config_path)
    return run_check(config, certificate_gate(config), mode=mode, peer=peer, echo=click.echo)


if __name__ == "__main__":
    raise SystemExit(main())
