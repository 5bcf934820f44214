"""Network controls on every RPC: the caller's address must lie in its role's segment, that
segment must reach the CS, and on a segment with ``mac_check = "required"`` the certificate's
host must be listed for that role with the MAC the kernel sees for the address (domain rule 7:
devices on the CS segment are restricted, e.g. by MAC address filtering; seed III(2)-3).

Runs after the certificate identity is established and before the role x RPC policy.
It deliberately does not import grpc: ``peer`` is the text of ``ServicerContext.peer()``.
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import unquote

from .neighbours import NeighbourTable
from .policy_file import Policy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Machine rules returned by NetworkGate.check (logged as the refusal rule).
UNPARSABLE_PEER = "network:unparsable-peer"
UNKNOWN_ROLE = "network:unknown-role"
SEGMENT_NOT_REACHING_CS = "network:segment-not-reaching-cs"
ADDRESS_OUTSIDE_SEGMENT = "network:address-outside-segment"
UNKNOWN_HOST = "network:unknown-host"
HOST_ROLE_MISMATCH = "network:host-role-mismatch"
MAC_UNKNOWN = "network:mac-unknown"
MAC_NOT_ALLOWED = "network:mac-not-allowed"


@functools.lru_cache(maxsize=4096)  # every call of a connection has its peer string: parsed once
def parse_peer(peer: str) -> IPAddress | None:
    """The IP of a grpc peer string: ``ipv4:127.0.0.1:43970``, ``ipv6:[::1]:5555`` or its
    percent-encoded form ``ipv6:%5B::1%5D:5555`` (what grpcio 1.85 prints). IPv4-mapped IPv6
    is returned as IPv4, a zone (``%eth0``) is dropped. ``unix:``, anything else -> None."""
    scheme, sep, rest = peer.partition(":")
    if not sep:
        return None
    rest = unquote(rest)
    if scheme == "ipv4":
        host, sep, port = rest.rpartition(":")
        if not sep or not port.isdigit():
            return None
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:
            return None
    if scheme == "ipv6":
        if not rest.startswith("["):
            return None
        host, sep, port = rest[1:].partition("]")
        if not sep or not port.startswith(":") or not port[1:].isdigit():
            return None
        try:
            address = ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
        return address.ipv4_mapped or address
    return None


class NetworkGate:
    """``check(role, host, peer)`` -> None when the connection may proceed, else a rule."""

    def __init__(self, policy: Policy, neighbours: NeighbourTable | None = None) -> None:
        self._policy = policy
        self._neighbours = neighbours if neighbours is not None else NeighbourTable()

    @property
    def policy(self) -> Policy:
        return self._policy

    def check(self, role: str, host: str, peer: str) -> str | None:
        address = parse_peer(peer)
        if address is None:
            return UNPARSABLE_PEER
        segment = self._policy.segment_of(role)
        if segment is None:
            return UNKNOWN_ROLE
        if not segment.reaches_cs:
            return SEGMENT_NOT_REACHING_CS
        if not segment.contains(address):
            return ADDRESS_OUTSIDE_SEGMENT
        entry = self._policy.host(host)
        if entry is None:
            return UNKNOWN_HOST  # on every segment: the file names every host that may call
        if entry.role != role:
            return HOST_ROLE_MISMATCH
        if segment.mac_check == "waived-loopback":
            # The policy file guarantees every CIDR of such a segment is loopback; re-check anyway.
            return None if address.is_loopback else ADDRESS_OUTSIDE_SEGMENT
        macs = self._neighbours.macs_of(address)
        if not macs:
            return MAC_UNKNOWN
        if not macs <= entry.macs:
            return MAC_NOT_ALLOWED
        return None
