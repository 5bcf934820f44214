"""Time sources. Rules that depend on "today" take a clock argument so that tests fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")
Today = Callable[[], date]


def jst_today() -> date:
    """Today's civil date in Japan (住民票 dates are Japanese civil dates)."""
    return datetime.now(JST).date()


def utc_now() -> datetime:
    return datetime.now(UTC)
