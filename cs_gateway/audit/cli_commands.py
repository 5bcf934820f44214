"""``cs-gateway audit ...`` and ``cs-gateway backup``: the audit trail's commands.

Exit codes: 0 done / verified, 1 a check failed or the operation was refused, 2 unusable input
(configuration, arguments, store).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from ..config import ConfigError, GatewayConfig, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    print(f"cs-gateway: {message}", file=sys.stderr)


def _config(args: argparse.Namespace) -> GatewayConfig | None:
    try:
        return load_config(args.config)
    except ConfigError as err:
        _err(f"configuration error: {err}")
        return None


def _guarded(run: Any) -> Any:
    """Map the expected failures of a local command to a message and an exit code."""

    def handler(args: argparse.Namespace) -> int:
        from ..store.local import LocalStoreError
        from .backup import BackupError
        from .keys import AuditKeyError
        from .lookup import LookupRefusedError
        from .retention import RetentionError
        from .trail import AuditWriteError

        config = _config(args)
        if config is None:
            return EXIT_USAGE
        try:
            return int(run(config, args))
        except (LookupRefusedError, BackupError, RetentionError, AuditWriteError) as err:
            _err(str(err))
            return EXIT_FAILED
        except (LocalStoreError, AuditKeyError, OSError, ValueError) as err:
            _err(str(err))
            return EXIT_USAGE
        except sqlite3.Error as err:  # e.g. still locked after the busy timeout: nothing was done
            _err(f"store error: {err}")
            return EXIT_FAILED

    return handler


# -- audit verify --------------------------------------------------------------------------------


def _verify(config: GatewayConfig, args: argparse.Namespace) -> int:
    from ..store.local import ReadOnlyStore
    from .crosscheck import check_anchor, crosscheck_updates, latest_anchor
    from .local_ops import cs_certificates
    from .trail import verify

    certificates = cs_certificates(config, args.cert)
    # one snapshot for the chain, the anchor and the cross-check
    with ReadOnlyStore(config.store_path) as store, store.snapshot() as conn:
        chain = verify(conn, certificates, checkpoint_every=config.audit.checkpoint_every)
        anchor = latest_anchor(conn)
        anchor_problem = check_anchor(conn, certificates)
        cross = crosscheck_updates(conn)
        overridden = conn.execute(
            "SELECT seq, at FROM audit_log WHERE action = 'audit.export' AND detail LIKE '% clock-override=%'"
        ).fetchall()
    print(chain.describe())
    for seq, at in overridden:  # a drill's prune, or someone pruning ahead of time: the auditor decides
        print(f"note: entry {seq} ({at}) is a prune run with an overridden clock (--now): check why")
    if anchor is not None:
        state = f"BROKEN: {anchor_problem.problem}" if anchor_problem else "signed"
        print(f"anchor: entries up to {anchor[0]} archived to {anchor[2]} on {anchor[3]} ({state})")
    print(cross.describe())
    for problem in cross.problems[1:20]:
        print(f"  also: {problem.describe()}")
    return EXIT_OK if chain.ok and anchor_problem is None and cross.ok else EXIT_FAILED


# -- audit report --------------------------------------------------------------------------------


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: expected YYYY-MM-DD") from err


def _hours(text: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part) for part in text.split("-", 1))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HH:MM-HH:MM, e.g. 08:30-17:15") from err
    if start >= end:
        raise argparse.ArgumentTypeError(f"{text!r}: the end must be after the start")
    return start, end


def _weekdays(text: str) -> frozenset[int]:
    from .report import WEEKDAY_NAMES

    names = [n.strip().lower()[:3] for n in text.split(",") if n.strip()]
    if not names or any(n not in WEEKDAY_NAMES for n in names):
        raise argparse.ArgumentTypeError(f"{text!r}: expected day names such as mon,tue,wed,thu,fri")
    return frozenset(WEEKDAY_NAMES.index(n) for n in names)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive integer")
    return value


def _report(config: GatewayConfig, args: argparse.Namespace) -> int:
    from ..store.local import ReadOnlyStore
    from .report import OfficeHours, ReportOptions, build_report, load_period, render_json, render_text

    if args.to_day < args.from_day:
        _err("--to is before --from")
        return EXIT_USAGE
    start, end = args.office_hours
    options = ReportOptions(
        burst_persons=args.burst_persons,
        burst_minutes=args.burst_minutes,
        repeat_limit=args.repeat_limit,
        office=OfficeHours(start=start, end=end, weekdays=args.office_days, holidays=frozenset(args.holiday or [])),
    )
    with ReadOnlyStore(config.store_path) as store, store.snapshot() as conn:
        entries = load_period(conn, args.from_day, args.to_day)
    report = build_report(entries, args.from_day, args.to_day, options)
    sys.stdout.write(render_json(report) if args.json else render_text(report))
    return EXIT_OK


# -- audit lookup --------------------------------------------------------------------------------


def _lookup(config: GatewayConfig, args: argparse.Namespace) -> int:
    from .lookup import lookup_subject, render_lookup

    code = sys.stdin.readline() if args.juminhyo_code == "-" else args.juminhyo_code
    sys.stdout.write(render_lookup(lookup_subject(config, code.strip())))
    return EXIT_OK


# -- audit prune / verify-archive ------------------------------------------------------------------


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an ISO date-time") from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _prune(config: GatewayConfig, args: argparse.Namespace) -> int:
    from .retention import prune

    print(prune(config, now=args.now, certificates=args.cert).describe())
    return EXIT_OK


def _verify_archive(config: GatewayConfig, args: argparse.Namespace) -> int:
    from ..store.local import ReadOnlyStore
    from .local_ops import cs_certificates
    from .retention import check_archive_against_store

    certificates = cs_certificates(config, args.cert)
    with ReadOnlyStore(config.store_path) as store, store.snapshot() as conn:
        checked = check_archive_against_store(args.archive, certificates, conn)
    print(checked.describe(str(args.archive)))
    return EXIT_OK if checked.ok else EXIT_FAILED


# -- backup ----------------------------------------------------------------------------------------


def _backup(config: GatewayConfig, args: argparse.Namespace) -> int:
    from .backup import backup_store

    result = backup_store(config, args.to)
    print(result.describe())
    print(f"note: the audit HMAC key ({config.audit.hmac_key}) is not in the copy; keep it with the backup, apart")
    return EXIT_OK


# -- registration ----------------------------------------------------------------------------------


def _with_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="the gateway's TOML configuration file")


def _with_certs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cert",
        type=Path,
        action="append",
        default=[],
        help="an earlier CS certificate whose signatures are still valid (after a key rotation); repeatable",
    )


def register(sub: Any) -> None:
    """Add ``audit`` (verify, report, lookup, prune, verify-archive) and ``backup`` to the parser."""
    audit = sub.add_parser("audit", help="the audit trail: verify, report, lookup, prune")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = audit_sub.add_parser("verify", help="check the hash chain, signatures and that every update is audited")
    _with_config(verify)
    _with_certs(verify)
    verify.set_defaults(func=_guarded(_verify))

    report = audit_sub.add_parser("report", help="the security officer's report for a period (JST days)")
    _with_config(report)
    report.add_argument("--from", dest="from_day", type=_day, required=True, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="to_day", type=_day, required=True, metavar="YYYY-MM-DD")
    report.add_argument("--json", action="store_true", help="JSON instead of text")
    report.add_argument("--burst-persons", type=_positive, default=20, help="flag > N residents (%(default)s) ...")
    report.add_argument("--burst-minutes", type=_positive, default=10, help="... within W minutes (%(default)s)")
    report.add_argument("--repeat-limit", type=_positive, default=5, help="flag > K lookups of a person a day")
    report.add_argument("--office-hours", type=_hours, default=(time(8, 30), time(17, 15)), metavar="HH:MM-HH:MM")
    report.add_argument("--office-days", type=_weekdays, default=frozenset(range(5)), metavar="mon,tue,...")
    report.add_argument("--holiday", type=_day, action="append", metavar="YYYY-MM-DD", help="repeatable")
    report.set_defaults(func=_guarded(_report))

    lookup = audit_sub.add_parser("lookup", help="who looked at one person (itself an audited operation)")
    _with_config(lookup)
    lookup.add_argument(
        "--juminhyo-code",
        required=True,
        help="the person's 住民票コード, or - to read it from standard input (out of ps and shell history)",
    )
    lookup.set_defaults(func=_guarded(_lookup))

    prune = audit_sub.add_parser("prune", help="archive (signed) and remove entries past the retention period")
    _with_config(prune)
    _with_certs(prune)
    prune.add_argument("--now", type=_moment, default=None, help=argparse.SUPPRESS)  # tests and drills only
    prune.set_defaults(func=_guarded(_prune))

    archive = audit_sub.add_parser("verify-archive", help="check an archive's signature, chain and anchor")
    archive.add_argument("archive", type=Path, help="audit-archive/audit-<first>-<last>.jsonl")
    _with_config(archive)
    _with_certs(archive)
    archive.set_defaults(func=_guarded(_verify_archive))

    backup = sub.add_parser("backup", help="an online copy of the store (administrators only; audited)")
    _with_config(backup)
    backup.add_argument("--to", type=Path, required=True, help="the new file (never overwritten)")
    backup.set_defaults(func=_guarded(_backup))
