"""``cs-gateway audit ...`` and ``cs-gateway backup``: the audit trail's commands, one body each
(``_verify(config, args)`` ...), and the parsers of their argument types. The command line itself
(options, loading the configuration, the error boundary that maps failures to exit codes) is in
cs_gateway/cli.py.

Exit codes: 0 done / verified, 1 a check failed or the operation was refused, 2 unusable input
(configuration, arguments, store).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time

from .site import AuditSite

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    print(f"cs-gateway: {message}", file=sys.stderr)


# -- audit verify --------------------------------------------------------------------------------


def _verify(config: AuditSite, args: argparse.Namespace) -> int:
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


def _report(config: AuditSite, args: argparse.Namespace) -> int:
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


def _lookup(config: AuditSite, args: argparse.Namespace) -> int:
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


def _prune(config: AuditSite, args: argparse.Namespace) -> int:
    from .retention import prune

    print(prune(config, now=args.now, certificates=args.cert).describe())
    return EXIT_OK


def _verify_archive(config: AuditSite, args: argparse.Namespace) -> int:
    from ..store.local import ReadOnlyStore
    from .local_ops import cs_certificates
    from .retention import check_archive_against_store

    certificates = cs_certificates(config, args.cert)
    with ReadOnlyStore(config.store_path) as store, store.snapshot() as conn:
        checked = check_archive_against_store(args.archive, certificates, conn)
    print(checked.describe(str(args.archive)))
    return EXIT_OK if checked.ok else EXIT_FAILED


# -- backup ----------------------------------------------------------------------------------------


def _backup(config: AuditSite, args: argparse.Namespace) -> int:
    from .backup import backup_store

    result = backup_store(config, args.to)
    print(result.describe())
    print(f"note: the audit HMAC key ({config.audit.hmac_key}) is not in the copy; keep it with the backup, apart")
    return EXIT_OK
