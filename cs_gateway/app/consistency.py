"""The consistency check (住基法14条): does the peer's copy equal the CS's file?

Two modes, which agree on every input (tests/integration/test_consistency.py):

- ``check_by_tree``: both sides build the hash tree of domain/consistency_tree.py; the CS asks
  for the peer's nodes top-down, level by level, only below the nodes whose hashes differ, then
  for the (code, record hash) pairs of the differing buckets, then for the records that differ.
  When the copies agree, one root hash is all that crosses the wire.
- ``check_full``: the peer sends its whole file (the seed's yearly 整合性確認用本人確認情報) and
  the CS compares every record.

Each differing 住民票コード is reported with how it differs: missing on the peer, missing here,
or which items differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..domain.consistency_tree import DEFAULT_DEPTH, HashTree, children, record_hash
from ..domain.notice_encoding import decode_record

MISSING_AT_PEER = "missing_at_peer"
MISSING_HERE = "missing_here"
DIFFERS = "differs"


class PeerCopy(Protocol):
    """The peer's copy as the check reads it (peers/prefecture_client.py over mTLS)."""

    def nodes(self, prefixes: list[str], depth: int) -> dict[str, tuple[bytes, int]]: ...

    def buckets(self, prefixes: list[str], depth: int) -> list[tuple[str, bytes]]: ...

    def records(self, codes: list[str]) -> dict[str, bytes]: ...

    def full_file(self) -> Iterator[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Difference:
    juminhyo_code: str
    kind: str  # MISSING_AT_PEER | MISSING_HERE | DIFFERS
    items: tuple[str, ...] = ()  # for DIFFERS: the items whose values differ


@dataclass
class CheckReport:
    mode: str  # "tree" | "full"
    local_records: int
    peer_records: int
    differences: list[Difference] = field(default_factory=list)
    nodes_asked: int = 0

    @property
    def agrees(self) -> bool:
        return not self.differences


def _items_differing(mine: bytes, theirs: bytes) -> tuple[str, ...]:
    a, b = decode_record(mine), decode_record(theirs)
    return tuple(sorted(name for name in a if a[name] != b.get(name)))


def _compare(
    local: Mapping[str, bytes],
    peer_hashes: Mapping[str, bytes],
    codes: Iterable[str],
    fetch: PeerCopy | None,
    peer_bodies: Mapping[str, bytes] | None = None,
) -> list[Difference]:
    differing: list[str] = []
    out: list[Difference] = []
    for code in sorted(set(codes)):
        mine, theirs = local.get(code), peer_hashes.get(code)
        if theirs is None and mine is not None:
            out.append(Difference(code, MISSING_AT_PEER))
        elif mine is None and theirs is not None:
            out.append(Difference(code, MISSING_HERE))
        elif mine is not None and record_hash(mine) != theirs:
            differing.append(code)
    bodies = dict(peer_bodies) if peer_bodies is not None else (fetch.records(differing) if differing and fetch else {})
    for code in differing:
        out.append(Difference(code, DIFFERS, _items_differing(local[code], bodies[code])))
    return sorted(out, key=lambda d: d.juminhyo_code)


def check_by_tree(local: Mapping[str, bytes], peer: PeerCopy, *, depth: int = DEFAULT_DEPTH) -> CheckReport:
    """``local``: 住民票コード -> canonical record encoding (encode_record) of the CS's file."""
    tree = HashTree.build(local.items(), depth)
    frontier = [""]
    asked = 0
    peer_count = 0
    for level in range(depth + 1):
        theirs = peer.nodes(frontier, depth)
        asked += len(frontier)
        if level == 0:
            peer_count = theirs[""][1]
        differing = [p for p in frontier if theirs[p][0] != tree.node(p)[0]]
        if level == depth or not differing:
            break
        frontier = [c for p in differing for c in children(p)]
    else:  # pragma: no cover - the loop always breaks
        differing = []
    if not differing:
        return CheckReport("tree", len(local), peer_count, [], asked)
    peer_hashes = dict(peer.buckets(differing, depth))
    codes = {code for p in differing for code, _ in tree.bucket(p)} | set(peer_hashes)
    return CheckReport("tree", len(local), peer_count, _compare(local, peer_hashes, codes, peer), asked)


def check_full(local: Mapping[str, bytes], peer: PeerCopy) -> CheckReport:
    """The whole peer file, record by record."""
    bodies = dict(peer.full_file())
    hashes = {code: record_hash(body) for code, body in bodies.items()}
    differences = _compare(local, hashes, set(local) | set(bodies), None, peer_bodies=bodies)
    return CheckReport("full", len(local), len(bodies), differences)
