"""MAC filtering against the real kernel neighbour table (domain rule 7, seed III(2)-3).

A network namespace stands for a device on the CS segment: a veth pair joins it to this host,
both ends with MACs and addresses the test chooses (198.18.0.0/15, the RFC 2544 benchmarking
range; the traffic never leaves the veth pair). A client in the namespace connects to a TCP
server on the host end; the host learns the client's MAC, NeighbourTable reads it from
/proc/net/arp, and NetworkGate allows the certificate host when that MAC is on its list and
refuses it when the list holds another MAC. Needs root and ``ip``; skipped where a namespace
cannot be created.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from cs_gateway.security.neighbours import NeighbourTable
from cs_gateway.security.network import NetworkGate
from cs_gateway.security.policy_file import known_methods, parse_policy
from tests.netns import Veth, veth_pair


@pytest.fixture
def veth() -> Iterator[Veth]:
    with veth_pair("gw") as made:
        if isinstance(made, str):
            pytest.skip(made)
        yield made


def _policy_text(subnet: str, macs: list[str]) -> str:
    rules = "".join(f'\n[rpc."{m}"]\nroles = ["kizon-juki"]\n' for m in sorted(known_methods()))
    head = f"""
[segments.cs-lan]
cidrs = ["{subnet}"]
reaches_cs = true
mac_check = "required"

[roles.kizon-juki]
kind = "kizon-juki"
segment = "cs-lan"

[hosts.kizon-juki-07]
role = "kizon-juki"
macs = {json.dumps(macs)}
"""
    return head + rules


_CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
    s.sendall(b"hello")
    assert s.recv(16) == b"ok"
"""


def test_mac_filter_on_a_veth_pair(veth: Veth) -> None:
    started = time.monotonic()
    server = socket.create_server((veth.host_ip, 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    peers: list[str] = []

    def serve_once() -> None:
        conn, (addr, peer_port) = server.accept()
        with conn:
            conn.settimeout(5)
            conn.recv(16)
            peers.append(f"ipv4:{addr}:{peer_port}")  # what grpc's context.peer() prints
            conn.sendall(b"ok")

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    try:
        client = subprocess.run(
            ["ip", "netns", "exec", veth.netns, sys.executable, "-c", _CLIENT, veth.host_ip, str(port)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        thread.join(5)
    finally:
        server.close()
    assert client.returncode == 0, client.stderr
    assert len(peers) == 1
    peer = peers[0]
    assert peer.startswith(f"ipv4:{veth.ns_ip}:")

    # The host end learnt the client's MAC; NeighbourTable reads it from /proc/net/arp.
    table = NeighbourTable()
    deadline = time.monotonic() + 3
    while table.mac_of(veth.ns_ip) is None and time.monotonic() < deadline:
        time.sleep(0.05)
        table.refresh()
    assert table.mac_of(veth.ns_ip) == veth.ns_mac
    assert table.mac_of(veth.ns_ip) != veth.host_mac

    listed = NetworkGate(parse_policy(_policy_text(veth.subnet, [veth.ns_mac]), known_methods()), table)
    assert listed.check("kizon-juki", "kizon-juki-07", peer) is None

    other = "02:c5:00:03:00:01"
    unlisted = NetworkGate(parse_policy(_policy_text(veth.subnet, [other]), known_methods()), table)
    assert unlisted.check("kizon-juki", "kizon-juki-07", peer) == "network:mac-not-allowed"

    # Same certificate, same MAC list, but an address the kernel has no neighbour for.
    unseen = peer.replace(veth.ns_ip, veth.ns_ip.rpartition(".")[0] + ".3")
    assert listed.check("kizon-juki", "kizon-juki-07", unseen) == "network:mac-unknown"
    # And from outside the segment.
    assert listed.check("kizon-juki", "kizon-juki-07", "ipv4:127.0.0.1:1") == "network:address-outside-segment"
    assert time.monotonic() - started < 10
