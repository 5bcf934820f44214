"""A bound on denied calls, per certificate and per peer address, so that a caller cannot make
the gateway write denied audit entries as fast as it can call (~1,000 a second).

Fixed windows of ``window_s`` seconds per key (``identity`` = certificate fingerprint,
``address`` = peer IP without the port). The first ``limit`` denials of a key in a window are
audited one by one. The next one cuts the key off until the window ends: it is audited once, as
``rate:cut-off``; every call of that certificate or from that address is then refused at once,
whatever it asks, without an entry of its own, and counted. When the window ends the count is
audited once (``rate:cut-off-ended``, ``suppressed=N``). So the trail keeps what happened (who,
from where, how often) in at most limit + 2 entries per key and window.

What "cut off" means here: grpc for Python gives a handler no way to close the caller's TCP
connection (an abort ends the call, not the connection; the server can only close all
connections). A cut-off caller keeps its connection until grpc's own limits (idle, age) close
it, but gets nothing through it, nor through a new one, and costs one dict lookup per call.

The hot path (no key cut off) is one truth test of a dict. It deliberately does not import grpc.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from .identity import PeerIdentity

Kind = Literal["identity", "address"]
AUDIT: Final = "audit"  # write the denial as usual
CUT_OFF: Final = "cut-off"  # write one cut-off entry instead
SUPPRESSED: Final = "suppressed"  # write nothing (counted)
PRUNE_AT = 10_000  # keys tracked before windows that ended are forgotten


@dataclass
class Episode:
    """One key's window."""

    kind: Kind
    key: str
    started: float
    limit: int
    denials: int = 0
    cut_until: float = 0.0  # > 0 while cut off
    suppressed: int = 0
    identity: PeerIdentity | None = None  # of the call that crossed the limit
    peer: str = ""


@dataclass
class DenialBound:
    per_identity: int
    per_address: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    _windows: dict[tuple[Kind, str], Episode] = field(default_factory=dict)
    _cut: dict[tuple[Kind, str], Episode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.per_identity <= 0 or self.per_address <= 0 or self.window_s <= 0:
            raise ValueError("denial bounds and the window must be positive")

    @property
    def cutting(self) -> bool:
        """Is any key cut off (the per-call check is needed)?"""
        return bool(self._cut)

    def cut_off(self, peer: str, identity: PeerIdentity | None) -> bool:
        """Is this call's certificate or address cut off? (Counted as suppressed if so.)"""
        now = self.clock()
        for key in _keys(peer, identity):
            episode = self._cut.get(key)
            if episode is not None and now < episode.cut_until:
                episode.suppressed += 1
                return True
        return False

    def on_denial(self, peer: str, identity: PeerIdentity | None) -> tuple[str, Episode | None]:
        """Count a denial: (AUDIT, None), (CUT_OFF, the episode that starts) or (SUPPRESSED, None)."""
        now = self.clock()
        verdict: tuple[str, Episode | None] = (AUDIT, None)
        for key in _keys(peer, identity):
            episode = self._windows.get(key)
            if episode is None or now >= episode.started + self.window_s:
                if episode is not None and episode.cut_until:
                    continue  # its end is not yet reported (ended()); counted there, not here
                if len(self._windows) >= PRUNE_AT:
                    self._prune(now)
                limit = self.per_identity if key[0] == "identity" else self.per_address
                episode = self._windows[key] = Episode(key[0], key[1], now, limit)
            if episode.cut_until:
                episode.suppressed += 1
                verdict = (SUPPRESSED, None)
                continue
            episode.denials += 1
            if episode.denials > episode.limit:
                episode.cut_until = episode.started + self.window_s
                episode.identity, episode.peer = identity, peer
                self._cut[key] = episode
                if verdict[0] == AUDIT:
                    verdict = (CUT_OFF, episode)
        return verdict

    def ended(self, *, all_of_them: bool = False) -> list[Episode]:
        """Cut-offs whose window is over (every one, at shutdown), forgotten here; the caller
        audits their counts."""
        now = self.clock()
        done = [e for e in self._cut.values() if all_of_them or now >= e.cut_until]
        for episode in done:
            del self._cut[(episode.kind, episode.key)]
            self._windows.pop((episode.kind, episode.key), None)
        return done

    def next_end(self) -> float | None:
        """Seconds until the next cut-off ends, if any."""
        if not self._cut:
            return None
        return max(0.0, min(e.cut_until for e in self._cut.values()) - self.clock())

    def _prune(self, now: float) -> None:
        for key in [k for k, e in self._windows.items() if not e.cut_until and now >= e.started + self.window_s]:
            del self._windows[key]


def address_of(peer: str) -> str:
    """'ipv4:127.0.0.1:5000' -> 'ipv4:127.0.0.1' (the port changes with every connection)."""
    host, sep, _port = peer.rpartition(":")
    return host if sep else peer


def _keys(peer: str, identity: PeerIdentity | None) -> list[tuple[Kind, str]]:
    keys: list[tuple[Kind, str]] = []
    if identity is not None:
        keys.append(("identity", identity.fingerprint_sha256))
    if peer:
        keys.append(("address", address_of(peer)))
    return keys
