"""The consistency check (住基法14条): does the peer's copy equal the CS's file?

Two modes, which agree on every input (tests/integration/test_consistency.py):

- ``check_by_tree``: both sides build the hash tree of domain/consistency_tree.py from the
  record digests they store; the CS asks for the peer's root while it builds its own tree (the
  two builds run at once, in two processes), then for the peer's nodes top-down, level by
  level, only below the nodes whose hashes differ, then for the (code, record hash) pairs of
  the differing buckets, then for the records that differ. When the copies agree, one root
  hash is all that crosses the wire.
- ``check_full``: the peer sends its whole file (the seed's yearly 整合性確認用本人確認情報) and
  the CS compares every record.

Each differing 住民票コード is reported with how it differs: missing on the peer, missing here,
or which items differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from ..domain.consistency_tree import HashTree, auto_depth, children, record_hash
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


class LocalCopy(Protocol):
    """The CS's own file as the check reads it (peers/consistency_run.py: the store)."""

    def count(self) -> int: ...

    def tree(self, depth: int) -> HashTree: ...

    def records(self, codes: list[str]) -> dict[str, bytes]: ...

    def full_file(self) -> Iterator[tuple[str, bytes]]: ...


class MappingCopy:
    """A LocalCopy held in memory: 住民票コード -> canonical record encoding (tests, the bench)."""

    def __init__(self, records: Mapping[str, bytes]) -> None:
        self._records = records

    def count(self) -> int:
        return len(self._records)

    def tree(self, depth: int) -> HashTree:
        return HashTree.build(self._records.items(), depth)

    def records(self, codes: list[str]) -> dict[str, bytes]:
        return {code: self._records[code] for code in codes if code in self._records}

    def full_file(self) -> Iterator[tuple[str, bytes]]:
        yield from sorted(self._records.items())


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
    local_hashes: Mapping[str, bytes],
    peer_hashes: Mapping[str, bytes],
    local_bodies: Mapping[str, bytes] | LocalCopy,
    peer_bodies: Mapping[str, bytes] | PeerCopy,
) -> list[Difference]:
    """The differences among the codes of either map; the bodies of the records whose hashes
    differ come from the two maps, or are fetched (only those) from the two copies."""
    differing: list[str] = []
    out: list[Difference] = []
    for code in sorted(set(local_hashes) | set(peer_hashes)):
        mine, theirs = local_hashes.get(code), peer_hashes.get(code)
        if theirs is None:
            out.append(Difference(code, MISSING_AT_PEER))
        elif mine is None:
            out.append(Difference(code, MISSING_HERE))
        elif mine != theirs:
            differing.append(code)
    if differing:
        ours = local_bodies if isinstance(local_bodies, Mapping) else local_bodies.records(differing)
        theirs_bodies = peer_bodies if isinstance(peer_bodies, Mapping) else peer_bodies.records(differing)
        for code in differing:
            out.append(Difference(code, DIFFERS, _items_differing(ours[code], theirs_bodies[code])))
    return sorted(out, key=lambda d: d.juminhyo_code)


def _as_local(local: LocalCopy | Mapping[str, bytes]) -> LocalCopy:
    return MappingCopy(local) if isinstance(local, Mapping) else local


def check_by_tree(
    local: LocalCopy | Mapping[str, bytes], peer: PeerCopy, *, depth: int | None = None
) -> CheckReport:
    """``local``: the CS's file (a LocalCopy, or 住民票コード -> canonical record encoding);
    ``depth``: the tree's depth, by default auto_depth of the CS's record count."""
    copy = _as_local(local)
    count = copy.count()
    depth = auto_depth(count) if depth is None else depth
    with ThreadPoolExecutor(max_workers=1) as pool:
        peer_root = pool.submit(peer.nodes, [""], depth)  # the peer builds its tree meanwhile
        tree = copy.tree(depth)
        theirs = peer_root.result()
    peer_count = theirs[""][1]
    frontier = [""]
    asked = 1
    for level in range(depth + 1):
        if level:
            theirs = peer.nodes(frontier, depth)
            asked += len(frontier)
        differing = [p for p in frontier if theirs[p][0] != tree.node(p)[0]]
        if level == depth or not differing:
            break
        frontier = [c for p in differing for c in children(p)]
    if not differing:
        return CheckReport("tree", count, peer_count, [], asked)
    peer_hashes = dict(peer.buckets(differing, depth))
    local_hashes = {code: digest for p in differing for code, digest in tree.bucket(p)}
    return CheckReport("tree", count, peer_count, _compare(local_hashes, peer_hashes, copy, peer), asked)


def check_full(local: LocalCopy | Mapping[str, bytes], peer: PeerCopy) -> CheckReport:
    """The whole peer file, record by record."""
    copy = _as_local(local)
    ours = dict(copy.full_file())
    bodies = dict(peer.full_file())
    mine = {code: record_hash(body) for code, body in ours.items()}
    hashes = {code: record_hash(body) for code, body in bodies.items()}
    return CheckReport("full", len(ours), len(bodies), _compare(mine, hashes, ours, bodies))
