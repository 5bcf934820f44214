"""Per-operator rate limit of lookups and searches (a sliding window of 60 s): bulk extraction
through the counter is refused long before it could copy the file (seed III(2)-2)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimit:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._calls: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count one call of ``key`` if it is within the limit; False (not counted) if not."""
        now = self.clock()
        calls = self._calls.setdefault(key, deque())
        while calls and now - calls[0] >= WINDOW_S:
            calls.popleft()
        if len(calls) >= self.per_minute:
            return False
        calls.append(now)
        return True
