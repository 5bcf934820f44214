"""A network namespace joined to this host by a veth pair, for tests of what crosses a network.

Both ends get MACs and addresses the test knows: 198.18.N.0/24 (RFC 2544 benchmarking range;
the traffic never leaves the veth pair) and locally administered unicast MACs 02:c5:00:01/02:…
Needs root and ``ip``; ``veth_pair()`` yields the reason instead when it cannot be made, and
always removes what it made.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Veth:
    netns: str
    host_if: str
    ns_if: str
    host_ip: str
    ns_ip: str
    subnet: str  # "198.18.N.0/24"
    host_mac: str
    ns_mac: str

    @property
    def subnet_prefix(self) -> str:  # "198.18.N."
        return self.host_ip.rsplit(".", 1)[0] + "."


def ip(*args: str, netns: str | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.run([*prefix, "ip", *args], capture_output=True, text=True, timeout=5, check=False)


@contextmanager
def veth_pair(tag: str, *, avoid_octets: frozenset[int] = frozenset()) -> Iterator[Veth | str]:
    """``tag``: two letters naming the test in interface names (at most 15 characters)."""
    if shutil.which("ip") is None:
        yield "no `ip` command (iproute2)"
        return
    if os.geteuid() != 0:
        yield "creating a network namespace needs root"
        return
    suffix = secrets.token_hex(3)
    octet = 1 + secrets.randbelow(254)
    while octet in avoid_octets:
        octet = 1 + secrets.randbelow(254)
    tail = f"{secrets.randbelow(256):02x}:{secrets.randbelow(256):02x}"
    v = Veth(
        netns=f"cs{tag}-{suffix}",
        host_if=f"{tag}h{suffix}",
        ns_if=f"{tag}n{suffix}",
        host_ip=f"198.18.{octet}.1",
        ns_ip=f"198.18.{octet}.2",
        subnet=f"198.18.{octet}.0/24",
        host_mac=f"02:c5:00:01:{tail}",
        ns_mac=f"02:c5:00:02:{tail}",
    )
    created = ip("netns", "add", v.netns)
    if created.returncode != 0:
        yield f"cannot create a network namespace: {created.stderr.strip()}"
        return
    try:
        steps = [
            (("link", "add", v.host_if, "address", v.host_mac, "type", "veth", "peer", "name", v.ns_if), None),
            (("link", "set", "dev", v.ns_if, "netns", v.netns), None),
            (("link", "set", "dev", v.ns_if, "address", v.ns_mac), v.netns),
            (("link", "set", "dev", v.host_if, "address", v.host_mac), None),
            (("addr", "add", f"{v.host_ip}/24", "dev", v.host_if), None),
            (("addr", "add", f"{v.ns_ip}/24", "dev", v.ns_if), v.netns),
            (("link", "set", "dev", v.host_if, "up"), None),
            (("link", "set", "dev", v.ns_if, "up"), v.netns),
            (("link", "set", "dev", "lo", "up"), v.netns),
        ]
        for args, netns in steps:
            done = ip(*args, netns=netns)
            if done.returncode != 0:
                yield f"ip {' '.join(args)}: {done.stderr.strip()}"
                return
        yield v
    finally:
        ip("netns", "del", v.netns)  # takes the namespace end, and with it the pair, away
        if ip("link", "show", "dev", v.host_if).returncode == 0:
            ip("link", "del", "dev", v.host_if)
