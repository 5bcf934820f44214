"""The consistency check's hash tree over the records ordered by 住民票コード (住基法14条).

Leaves are buckets: the records whose 11-digit code starts with the same ``depth`` digits. A
bucket's hash covers its (code, SHA-256 of the record's canonical encoding) pairs in code
order; a node's hash covers its ten children's hashes (digit 0..9; an empty subtree is 32 zero
bytes). Both copies build the same tree from the same records, so equal root hashes mean equal
files; where they differ, the comparison descends only into the children that differ
(app/consistency.py), as a Merkle tree (RFC 9162) proves one part without the rest.

Domain separation: a bucket hash starts with b"B", a node hash with b"N".

A record's digest (``record_digest``: SHA-256 of its canonical encoding, notice_encoding.py) is
defined here once. Each copy keeps it beside the record, written in the same transaction as the
record (the CS's store: persons.record_digest; the emulators: records.digest), so a tree is
built from the stored 32-byte digests in code order (``HashTree.from_sorted``) without
re-encoding a single record.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain, groupby, islice
from operator import ge, itemgetter
from typing import Any

import orjson

from .notice_encoding import RECORD_LABEL, checked_items, encode_record

EMPTY = bytes(32)
DEFAULT_DEPTH = 6
DIGITS = "0123456789"
TARGET_BUCKET = 10  # records per leaf bucket that auto_depth aims at
DIGEST_BYTES = 32
CODE_BYTES = 11
_ENTRY = CODE_BYTES + DIGEST_BYTES


def record_hash(canonical: bytes) -> bytes:
    """The leaf digest of a record's canonical encoding (encode_record)."""
    return hashlib.sha256(canonical).digest()


def record_digest(items: Mapping[str, Any]) -> bytes:
    """The digest a copy stores beside a record: record_hash(encode_record(items)), ``items``
    being the notice items of the record's current version. The one definition every writer of
    a stored digest uses (the CS's writer, its migration, a bulk import, the emulators).

    On the write path, so made by orjson (sorted keys), whose text equals encode_record's for
    every text in which neither escapes a character (no control character, quote or backslash:
    orjson's text then has no backslash); any other record takes encode_record itself (compared in
    tests/unit/test_consistency_tree.py)."""
    checked = checked_items(dict(items))
    try:
        text = orjson.dumps(checked, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # a lone surrogate: encode_record decides
        text = b"\\"
    if b"\\" not in text:  # nothing escaped: the bytes json.dumps writes too
        return record_hash(RECORD_LABEL + text)
    return record_hash(encode_record(checked))


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


def auto_depth(records: int) -> int:
    """The depth the CS asks for: buckets of about TARGET_BUCKET records when codes spread over
    the 10-digit space (1,000,000 records: depth 5). Fewer, fuller buckets cost a few more
    bytes per differing record and far less time than one bucket per record."""
    depth = len(str(max(records // TARGET_BUCKET, 1))) - 1
    return max(1, min(10, depth))


@dataclass
class HashTree:
    """The tree of one copy: every non-empty prefix of length 0..depth -> (hash, count), and per
    leaf bucket its range in the code-ordered entries (11 ASCII digits + 32-byte digest each)."""

    depth: int = DEFAULT_DEPTH
    nodes: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    entries: bytes = b""

    @classmethod
    def build(cls, records: Iterable[tuple[str, bytes]], depth: int = DEFAULT_DEPTH) -> HashTree:
        """From (住民票コード, canonical record encoding) pairs, in any order."""
        return cls.from_digests(((code, record_hash(canonical)) for code, canonical in records), depth)

    @classmethod
    def from_digests(cls, pairs: Iterable[tuple[str, bytes]], depth: int = DEFAULT_DEPTH) -> HashTree:
        """From (住民票コード, record digest) pairs, in any order."""
        return cls.from_rows(sorted((c.encode("ascii"), d) for c, d in pairs), depth)

    @classmethod
    def from_rows(cls, rows: list[tuple[bytes, bytes]], depth: int = DEFAULT_DEPTH) -> HashTree:
        """From (code as ASCII bytes, 32-byte digest) rows in ascending code order: what one
        indexed scan of a copy's stored digests returns. Per record only C-level work (the
        checks, one join); per bucket one slice and one SHA-256, found by bisection."""
        if not 1 <= depth <= 10:
            raise ValueError("depth: 1..10 digits")
        codes = list(map(itemgetter(0), rows))
        if codes and (set(map(len, codes)) != {CODE_BYTES} or not b"".join(codes).isdigit()):
            raise ValueError("a 住民票コード has 11 digits")
        if rows and set(map(len, map(itemgetter(1), rows))) != {DIGEST_BYTES}:
            raise ValueError("a record digest has 32 bytes")
        if any(map(ge, codes, islice(codes, 1, None))):
            raise ValueError("codes must be unique and in ascending order")
        entries = b"".join(chain.from_iterable(rows))
        nodes: dict[str, tuple[bytes, int]] = {}
        ranges: dict[str, tuple[int, int]] = {}
        level: list[tuple[str, bytes, int]] = []  # (prefix, hash, count) in prefix order
        sha256 = hashlib.sha256
        start, total = 0, len(codes)
        while start < total:
            prefix_bytes = codes[start][:depth]
            end = bisect_left(codes, prefix_bytes + b":", start)  # ":" sorts right after "9"
            prefix = prefix_bytes.decode("ascii")
            digest = sha256(b"B" + entries[start * _ENTRY : end * _ENTRY]).digest()
            ranges[prefix] = (start, end)
            nodes[prefix] = (digest, end - start)
            level.append((prefix, digest, end - start))
            start = end
        for _ in range(depth):
            parents: list[tuple[str, bytes, int]] = []
            for parent, kids in groupby(level, key=lambda node: node[0][:-1]):
                slots = [EMPTY] * 10
                count = 0
                for prefix, digest, n in kids:
                    slots[ord(prefix[-1]) - 48] = digest
                    count += n
                digest = sha256(b"N" + b"".join(slots)).digest()
                nodes[parent] = (digest, count)
                parents.append((parent, digest, count))
            level = parents
        nodes.setdefault("", (EMPTY, 0))
        return cls(depth=depth, nodes=nodes, ranges=ranges, entries=entries)

    def node(self, prefix: str) -> tuple[bytes, int]:
        return self.nodes.get(prefix, (EMPTY, 0))

    def bucket(self, prefix: str) -> list[tuple[str, bytes]]:
        """The (code, record digest) pairs of a leaf bucket, in code order."""
        start, end = self.ranges.get(prefix, (0, 0))
        out = []
        for i in range(start, end):
            entry = self.entries[i * _ENTRY : (i + 1) * _ENTRY]
            out.append((entry[:CODE_BYTES].decode("ascii"), entry[CODE_BYTES:]))
        return out

    @property
    def root(self) -> bytes:
        return self.node("")[0]


def children(prefix: str) -> list[str]:
    return [prefix + d for d in DIGITS]
