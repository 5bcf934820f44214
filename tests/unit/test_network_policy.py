"""Network controls: peer parsing, the segment check, the loopback waiver and the MAC filter
(with a fake /proc/net/arp and a fake ``ip -6 neigh``)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest

from cs_gateway.security.neighbours import NeighbourTable, parse_ip_neigh, parse_proc_net_arp
from cs_gateway.security.network import NetworkGate, parse_peer
from cs_gateway.security.policy_file import Policy, known_methods, load_policy, parse_policy

REPO = Path(__file__).resolve().parents[2]

ARP_HEADER = "IP address       HW type     Flags       HW address            Mask     Device\n"
KJ_MAC = "02:00:5e:10:00:01"
TERMINAL_MAC = "02:00:5e:10:00:02"
INTRUDER_MAC = "02:00:5e:10:00:99"

# A CS segment with MAC filtering (198.51.100.0/24 = TEST-NET-2, 2001:db8::/32 = documentation).
LAN_POLICY = (
    """
[segments.loopback]
cidrs = ["127.0.0.0/8", "::1/128"]
reaches_cs = true
mac_check = "waived-loopback"

[segments.cs-lan]
cidrs = ["198.51.100.0/24", "2001:db8:cafe::/64"]
reaches_cs = true
mac_check = "required"

[segments.atena-lan]
cidrs = ["192.0.2.0/24"]
reaches_cs = false
mac_check = "required"

[roles.kizon-juki]
kind = "kizon-juki"
segment = "cs-lan"

[roles.terminal]
kind = "terminal"
segment = "cs-lan"

[roles.prefecture]
kind = "peer-server"
segment = "loopback"

[roles.atena]
kind = "in-house"
segment = "atena-lan"

[hosts.kizon-juki-01]
role = "kizon-juki"
macs = ["KJ_MAC"]

[hosts.terminal-01]
role = "terminal"
macs = ["TERMINAL_MAC"]

[hosts.prefecture-01]
role = "prefecture"
macs = []

[hosts.atena-01]
role = "atena"
macs = ["02:00:5e:10:00:0a"]
""".replace("TERMINAL_MAC", TERMINAL_MAC).replace("KJ_MAC", KJ_MAC)
    + "".join(f'\n[rpc."{m}"]\nroles = ["kizon-juki"]\n' for m in sorted(known_methods()))
)


def _arp(tmp_path: Path, *rows: tuple[str, str, str]) -> Path:
    """rows: (ip, flags, mac) -> a /proc/net/arp lookalike."""
    path = tmp_path / "arp"
    lines = [f"{ip:<16} 0x1         {flags:<11} {mac:<21} *        eth1\n" for ip, flags, mac in rows]
    path.write_text(ARP_HEADER + "".join(lines), encoding="ascii")
    return path


@pytest.fixture
def lan_policy() -> Policy:
    return parse_policy(LAN_POLICY, known_methods())


def _gate(policy: Policy, arp: Path, ip6: list[str] | None = None) -> NetworkGate:
    return NetworkGate(policy, NeighbourTable(arp, ip6_command=ip6, ttl=0.0))


# ---------------------------------------------------------------- parse_peer


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:127.0.0.1:43970", "127.0.0.1"),
        ("ipv4:198.51.100.7:1", "198.51.100.7"),
        ("ipv6:[::1]:5555", "::1"),
        ("ipv6:%5B::1%5D:39738", "::1"),  # what grpcio 1.85 prints
        ("ipv6:[2001:db8:cafe::7]:50051", "2001:db8:cafe::7"),
        ("ipv6:[::ffff:127.0.0.1]:5555", "127.0.0.1"),  # IPv4-mapped -> IPv4
        ("ipv6:%5Bfe80::1%25eth0%5D:5555", "fe80::1"),  # zone dropped
    ],
)
def test_parse_peer(peer: str, address: str) -> None:
    assert parse_peer(peer) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "peer",
    [
        "unix:/run/cs.sock",
        "unix-abstract:cs",
        "",
        "127.0.0.1:5555",
        "ipv4:127.0.0.1",
        "ipv4:127.0.0.256:1",
        "ipv4:::1:5",
        "ipv6:::1:5555",
        "ipv6:[::1]",
        "ipv6:[::1]:x",
        "ipv6:[127.0.0.1]:5",
        "tcp:127.0.0.1:5",
    ],
)
def test_parse_peer_refuses_the_rest(peer: str) -> None:
    assert parse_peer(peer) is None


# ---------------------------------------------------------------- segments


def test_default_policy_allows_loopback_without_mac(tmp_path: Path) -> None:
    gate = _gate(load_policy(REPO / "policy" / "default.toml"), _arp(tmp_path))  # empty neighbour table
    for peer in ("ipv4:127.0.0.1:40000", "ipv4:127.3.4.5:1", "ipv6:[::1]:40000", "ipv6:%5B::1%5D:1"):
        assert gate.check("kizon-juki", "kizon-juki-01", peer) is None
        # the waiver is for the MAC only: a host the file does not name is refused on loopback too
        assert gate.check("kizon-juki", "anything", peer) == "network:unknown-host"
        assert gate.check("kizon-juki", "terminal-01", peer) == "network:host-role-mismatch"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.7:40000") == "network:address-outside-segment"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:[2001:db8::1]:1") == "network:address-outside-segment"
    assert gate.check("kizon-juki", "kizon-juki-01", "unix:/tmp/s") == "network:unparsable-peer"


def test_default_policy_refuses_atena_everywhere(tmp_path: Path) -> None:
    gate = _gate(load_policy(REPO / "policy" / "default.toml"), _arp(tmp_path, ("192.0.2.10", "0x2", KJ_MAC)))
    for peer in ("ipv4:127.0.0.1:1", "ipv4:192.0.2.10:1", "ipv6:[::1]:1"):
        assert gate.check("atena", "atena-01", peer) == "network:segment-not-reaching-cs"


def test_unknown_role(lan_policy: Policy, tmp_path: Path) -> None:
    assert _gate(lan_policy, _arp(tmp_path)).check("jlis", "jlis-01", "ipv4:127.0.0.1:1") == "network:unknown-role"


def test_segment_checks_v4_and_v6(lan_policy: Policy, tmp_path: Path) -> None:
    arp = _arp(tmp_path, ("198.51.100.7", "0x2", KJ_MAC))
    gate = _gate(lan_policy, arp)
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.7:40000") is None
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.101.7:40000") == "network:address-outside-segment"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:127.0.0.1:40000") == "network:address-outside-segment"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:[::1]:40000") == "network:address-outside-segment"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:[2001:db8:beef::7]:1") == "network:address-outside-segment"
    # prefecture is on loopback (waived): loopback in, the CS LAN out
    assert gate.check("prefecture", "prefecture-01", "ipv6:[::1]:1") is None
    assert gate.check("prefecture", "prefecture-01", "ipv4:198.51.100.7:1") == "network:address-outside-segment"


def test_ipv6_mac_via_ip_neigh(lan_policy: Policy, tmp_path: Path) -> None:
    script = tmp_path / "fake-ip"
    script.write_text(
        f"#!{sys.executable}\n"
        "print('2001:db8:cafe::7 dev eth1 lladdr " + KJ_MAC + " REACHABLE')\n"
        "print('2001:db8:cafe::8 dev eth1 lladdr " + INTRUDER_MAC + " STALE')\n"
        "print('2001:db8:cafe::9 dev eth1  FAILED')\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    gate = _gate(lan_policy, _arp(tmp_path), [str(script)])
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:[2001:db8:cafe::7]:1") is None
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:%5B2001:db8:cafe::8%5D:1") == "network:mac-not-allowed"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:[2001:db8:cafe::9]:1") == "network:mac-unknown"


def test_ipv6_without_ip_command_is_unknown(lan_policy: Policy, tmp_path: Path) -> None:
    gate = _gate(lan_policy, _arp(tmp_path), ["/nonexistent/ip", "-6", "neigh"])
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv6:[2001:db8:cafe::7]:1") == "network:mac-unknown"
    assert NeighbourTable(_arp(tmp_path), ip6_command=None).mac_of("2001:db8:cafe::7") is None


# ---------------------------------------------------------------- MAC filter


def test_mac_allowed_unknown_not_allowed(lan_policy: Policy, tmp_path: Path) -> None:
    arp = _arp(
        tmp_path,
        ("198.51.100.7", "0x2", KJ_MAC),
        ("198.51.100.8", "0x2", INTRUDER_MAC),
        ("198.51.100.9", "0x0", KJ_MAC),  # incomplete
        ("198.51.100.10", "0x2", "00:00:00:00:00:00"),
        ("198.51.100.11", "0x6", KJ_MAC),  # permanent + complete
    )
    gate = _gate(lan_policy, arp)
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.7:1") is None
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.11:1") is None
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.8:1") == "network:mac-not-allowed"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.9:1") == "network:mac-unknown"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.10:1") == "network:mac-unknown"
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.12:1") == "network:mac-unknown"


def test_host_checks(lan_policy: Policy, tmp_path: Path) -> None:
    gate = _gate(lan_policy, _arp(tmp_path, ("198.51.100.7", "0x2", TERMINAL_MAC)))
    assert gate.check("kizon-juki", "kizon-juki-99", "ipv4:198.51.100.7:1") == "network:unknown-host"
    # a terminal certificate for a host registered as kizon-juki, and the reverse
    assert gate.check("terminal", "kizon-juki-01", "ipv4:198.51.100.7:1") == "network:host-role-mismatch"
    assert gate.check("kizon-juki", "terminal-01", "ipv4:198.51.100.7:1") == "network:host-role-mismatch"
    # the terminal's own MAC is not the 既存住基's
    assert gate.check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.7:1") == "network:mac-not-allowed"
    assert gate.check("terminal", "terminal-01", "ipv4:198.51.100.7:1") is None


def test_conflicting_neighbour_entries_are_refused(lan_policy: Policy, tmp_path: Path) -> None:
    arp = _arp(tmp_path, ("198.51.100.7", "0x2", KJ_MAC), ("198.51.100.7", "0x2", INTRUDER_MAC))
    table = NeighbourTable(arp, ip6_command=None)
    assert table.macs_of("198.51.100.7") == {KJ_MAC, INTRUDER_MAC}
    assert table.mac_of("198.51.100.7") is None
    assert NetworkGate(lan_policy, table).check("kizon-juki", "kizon-juki-01", "ipv4:198.51.100.7:1") == (
        "network:mac-not-allowed"
    )


# ---------------------------------------------------------------- neighbour table


def test_parse_proc_net_arp() -> None:
    text = (
        ARP_HEADER
        + "192.0.2.1        0x1         0x2         02:FC:00:00:00:05     *        eth0\n"
        + "192.0.2.2        0x1         0x0         00:00:00:00:00:00     *        eth0\n"
        + "garbage\n"
        + "not-an-ip        0x1         0x2         02:fc:00:00:00:06     *        eth0\n"
    )
    assert parse_proc_net_arp(text) == {"192.0.2.1": frozenset({"02:fc:00:00:00:05"})}


def test_parse_ip_neigh() -> None:
    text = (
        "fe80::1 dev eth0 lladdr 02:AA:00:00:00:01 router REACHABLE\n"
        "fe80::2%eth0 dev eth0 lladdr 02:aa:00:00:00:02 STALE\n"
        "fd00::1 dev eth0 FAILED\n"
        "fd00::2 dev eth0 lladdr 02:aa:00:00:00:03 INCOMPLETE\n"
        "fd00::3 dev eth0 lladdr\n"
    )
    assert parse_ip_neigh(text) == {
        "fe80::1": frozenset({"02:aa:00:00:00:01"}),
        "fe80::2": frozenset({"02:aa:00:00:00:02"}),
    }


def test_cache_and_early_refresh_on_miss(tmp_path: Path) -> None:
    now = [100.0]
    arp = _arp(tmp_path, ("198.51.100.7", "0x2", KJ_MAC))
    table = NeighbourTable(arp, ip6_command=None, ttl=1.0, miss_refresh=0.05, clock=lambda: now[0])
    assert table.mac_of("198.51.100.7") == KJ_MAC
    _arp(tmp_path, ("198.51.100.7", "0x2", INTRUDER_MAC), ("198.51.100.8", "0x2", TERMINAL_MAC))
    now[0] += 0.5
    assert table.mac_of("198.51.100.7") == KJ_MAC  # cached: not re-read within the ttl
    assert table.mac_of("198.51.100.8") == TERMINAL_MAC  # a miss re-reads early
    _arp(tmp_path)
    now[0] += 0.01
    assert table.mac_of("198.51.100.7") == INTRUDER_MAC  # hit from the re-read snapshot
    assert table.mac_of("198.51.100.9") is None  # miss within miss_refresh: no re-read
    now[0] += 1.0
    assert table.mac_of("198.51.100.7") is None  # ttl over: re-read
    table.refresh()


def test_ipv4_mapped_lookup_and_missing_file(tmp_path: Path) -> None:
    table = NeighbourTable(_arp(tmp_path, ("198.51.100.7", "0x2", KJ_MAC)), ip6_command=None)
    assert table.mac_of(ipaddress.ip_address("::ffff:198.51.100.7")) == KJ_MAC
    assert NeighbourTable(tmp_path / "absent", ip6_command=None).mac_of("198.51.100.7") is None


def test_real_neighbour_table_does_not_crash() -> None:
    table = NeighbourTable()
    table.mac_of("127.0.0.1")
    table.mac_of("::1")
