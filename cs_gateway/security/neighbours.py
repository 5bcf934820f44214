"""The kernel's neighbour table (IP -> MAC), read for the MAC filter of security/network.py.

IPv4 comes from /proc/net/arp, IPv6 from ``ip -6 neigh show`` (optional: without ``ip`` every
IPv6 lookup answers "unknown", which the gate refuses). Both are read at most once per ``ttl``
seconds; a lookup that misses re-reads early (at most once per ``miss_refresh`` seconds), so a
peer that has just connected is found without re-reading the table on every RPC.

The MAC of a peer is only known when the peer is on-link (same L2 segment as the CS): a routed
peer has no neighbour entry of its own, so the gate refuses it on a segment where MACs are checked.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PROC_NET_ARP = Path("/proc/net/arp")
IP6_NEIGH_COMMAND: tuple[str, ...] = ("ip", "-6", "neigh", "show")
ATF_COM = 0x2  # entry complete (include/uapi/linux/if_arp.h)
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_ZERO_MAC = "00:00:00:00:00:00"
_IP6_UNUSABLE_STATES = frozenset({"INCOMPLETE", "FAILED", "NONE"})

Table = Mapping[str, frozenset[str]]  # compressed IP text -> MACs (one per interface that knows it)


def parse_proc_net_arp(text: str) -> dict[str, frozenset[str]]:
    """/proc/net/arp: ``IP address  HW type  Flags  HW address  Mask  Device``; skips the header,
    incomplete entries (flags without ATF_COM, e.g. 0x0) and the all-zero MAC."""
    table: dict[str, set[str]] = {}
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 6:
            continue
        ip_text, _hw_type, flags, mac = cols[0], cols[1], cols[2], cols[3].lower()
        try:
            complete = int(flags, 16) & ATF_COM
            address = ipaddress.IPv4Address(ip_text)
        except ValueError:
            continue
        if not complete or mac == _ZERO_MAC or not _MAC.fullmatch(mac):
            continue
        table.setdefault(str(address), set()).add(mac)
    return {ip: frozenset(macs) for ip, macs in table.items()}


def parse_ip_neigh(text: str) -> dict[str, frozenset[str]]:
    """``ip -6 neigh show``: ``ADDR dev IF lladdr MAC [router] STATE``; entries without lladdr
    or in state INCOMPLETE/FAILED/NONE are skipped."""
    table: dict[str, set[str]] = {}
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 2 or "lladdr" not in cols or cols[-1] in _IP6_UNUSABLE_STATES:
            continue
        at = cols.index("lladdr")
        if at + 1 >= len(cols):
            continue
        mac = cols[at + 1].lower()
        try:
            address = ipaddress.ip_address(cols[0].split("%", 1)[0])
        except ValueError:
            continue
        if mac == _ZERO_MAC or not _MAC.fullmatch(mac):
            continue
        table.setdefault(str(address), set()).add(mac)
    return {ip: frozenset(macs) for ip, macs in table.items()}


class NeighbourTable:
    """IP -> MAC from the kernel, cached. Thread-safe; reads are cheap (/proc) except IPv6."""

    def __init__(
        self,
        arp_path: Path | str = PROC_NET_ARP,
        *,
        ip6_command: Sequence[str] | None = IP6_NEIGH_COMMAND,
        ttl: float = 1.0,
        miss_refresh: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._arp_path = Path(arp_path)
        self._ip6_command = tuple(ip6_command) if ip6_command else None
        self._ttl = ttl
        self._miss_refresh = miss_refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._tables: dict[int, Table] = {}
        self._read_at: dict[int, float] = {}

    def macs_of(self, address: IPAddress | str) -> frozenset[str]:
        """Every MAC the kernel holds for this address (normally one); empty if none."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        key = str(ip) if ip.version == 4 else str(ipaddress.IPv6Address(int(ip)))  # no %zone
        table = self._table(ip.version, stale_after=self._ttl)
        macs = table.get(key, frozenset())
        if not macs:
            macs = self._table(ip.version, stale_after=self._miss_refresh).get(key, frozenset())
        return macs

    def mac_of(self, address: IPAddress | str) -> str | None:
        """The one MAC for this address (lowercase), or None if there is none or more than one."""
        macs = self.macs_of(address)
        return next(iter(macs)) if len(macs) == 1 else None

    def refresh(self) -> None:
        """Forget the cache; the next lookup re-reads the kernel."""
        with self._lock:
            self._read_at.clear()

    def _table(self, version: int, *, stale_after: float) -> Table:
        with self._lock:
            now = self._clock()
            read_at = self._read_at.get(version)
            if read_at is None or now - read_at >= stale_after:
                self._tables[version] = self._read_v4() if version == 4 else self._read_v6()
                self._read_at[version] = now
            return self._tables[version]

    def _read_v4(self) -> Table:
        try:
            return parse_proc_net_arp(self._arp_path.read_text(encoding="ascii", errors="replace"))
        except OSError:
            return {}

    def _read_v6(self) -> Table:
        if self._ip6_command is None:
            return {}
        executable = shutil.which(self._ip6_command[0])
        if executable is None:
            return {}
        try:
            done = subprocess.run(  # fixed argument vector, no shell
                [executable, *self._ip6_command[1:]], capture_output=True, text=True, timeout=1.0, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return {}
        return parse_ip_neigh(done.stdout) if done.returncode == 0 else {}
