"""The consistency check's hash tree over the records ordered by 住民票コード (住基法14条).

Leaves are buckets: the records whose 11-digit code starts with the same ``depth`` digits. A
bucket's hash covers its (code, SHA-256 of the record's canonical encoding) pairs in code
order; a node's hash covers its ten children's hashes (digit 0..9; an empty subtree is 32 zero
bytes). Both copies build the same tree from the same records, so equal root hashes mean equal
files; where they differ, the comparison descends only into the children that differ
(app/consistency.py), as a Merkle tree (RFC 9162) proves one part without the rest.

Domain separation: a bucket hash starts with b"B", a node hash with b"N".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

EMPTY = bytes(32)
DEFAULT_DEPTH = 6
DIGITS = "0123456789"


def record_hash(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


def bucket_hash(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """Hash of a bucket's (code, record hash) pairs, given in code order."""
    h = hashlib.sha256(b"B")
    empty = True
    for code, digest in entries:
        h.update(code.encode("ascii"))
        h.update(digest)
        empty = False
    return EMPTY if empty else h.digest()


def node_hash(children: Iterable[bytes]) -> bytes:
    """Hash of a node from its ten children's hashes (digit order)."""
    kids = list(children)
    if len(kids) != 10:
        raise ValueError("a node has ten children")
    if all(k == EMPTY for k in kids):
        return EMPTY
    return hashlib.sha256(b"N" + b"".join(kids)).digest()


@dataclass
class HashTree:
    """The tree of one copy: every non-empty prefix of length 0..depth -> (hash, count)."""

    depth: int = DEFAULT_DEPTH
    nodes: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    buckets: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    @classmethod
    def build(cls, records: Iterable[tuple[str, bytes]], depth: int = DEFAULT_DEPTH) -> HashTree:
        """From (住民票コード, canonical record encoding) pairs, in any order."""
        if not 1 <= depth <= 10:
            raise ValueError("depth: 1..10 digits")
        buckets: dict[str, list[tuple[str, bytes]]] = {}
        for code, canonical in records:
            if len(code) != 11 or not code.isdigit():
                raise ValueError("a 住民票コード has 11 digits")
            buckets.setdefault(code[:depth], []).append((code, record_hash(canonical)))
        nodes: dict[str, tuple[bytes, int]] = {}
        for prefix, entries in buckets.items():
            entries.sort()
            nodes[prefix] = (bucket_hash(entries), len(entries))
        level = set(buckets)
        for length in range(depth - 1, -1, -1):
            parents = {p[:length] for p in level}
            for parent in parents:
                kids = [nodes.get(parent + d, (EMPTY, 0)) for d in DIGITS]
                nodes[parent] = (node_hash(k[0] for k in kids), sum(k[1] for k in kids))
            level = parents
        tree = cls(depth=depth, nodes=nodes, buckets=buckets)
        if "" not in nodes:
            nodes[""] = (EMPTY, 0)
        return tree

    def node(self, prefix: str) -> tuple[bytes, int]:
        return self.nodes.get(prefix, (EMPTY, 0))

    def bucket(self, prefix: str) -> list[tuple[str, bytes]]:
        return self.buckets.get(prefix, [])

    @property
    def root(self) -> bytes:
        return self.node("")[0]


def children(prefix: str) -> list[str]:
    return [prefix + d for d in DIGITS]
