"""The "backlog too old" state of an outbound queue (the notifier's outbox, the 送付先情報 forwarder):
its gauge, one log line per change and the health callback, shared by both watchers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import Gauge


class StaleFlag:
    def __init__(self, gauge: Gauge, event: str, on_change: Callable[[bool], object] | None, log: Any) -> None:
        self._log = log  # the watcher's own logger
        self._gauge = gauge
        self._event = event  # "<event>_stale" / "<event>_fresh" in the log
        self._on_change = on_change
        self.stale = False

    async def update(self, age_s: float, limit_s: float, backlog: int | None) -> None:
        """The oldest unsent item is ``age_s`` old: past ``limit_s`` the queue is stale."""
        stale = age_s > limit_s
        if stale == self.stale:
            return
        self.stale = stale
        self._gauge.set(1 if stale else 0)
        if stale:
            self._log.warning(f"{self._event}_stale", oldest_age_s=round(age_s, 1), backlog=backlog)
        else:
            self._log.info(f"{self._event}_fresh")
        if self._on_change is not None:
            result = self._on_change(stale)
            if asyncio.iscoroutine(result):
                await result
