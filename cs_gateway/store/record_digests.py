"""Each person's record digest, kept beside the person (persons.record_digest, migration 10).

The digest is consistency_tree.record_digest of the current version's notice items: SHA-256 of
the canonical record encoding, which holds the clear 個人番号. Stored as such, it would let
whoever holds the file find a number by trying the 10**11 candidates against the record's
other (clear) items. So the file keeps it sealed: AES-256 of its two 16-byte blocks under a key
derived from the store's 個人番号 key (at_rest.NumberCipher.seal_digest). A digest is uniformly
random and unique, so the blocks never repeat and the deterministic mode shows nothing of them;
it lets the consistency check open a million digests in one call (``current_digest_rows``)
instead of a million.

``stored_digest`` is the one function that makes the stored value: the writer (put_version),
migration 10, and any other writer of persons (a bulk import) call it.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from ..domain.consistency_tree import DIGEST_BYTES, record_digest
from .at_rest import NumberCipher


def stored_digest(cipher: NumberCipher, items: Mapping[str, Any]) -> bytes:
    """The value of persons.record_digest for a version with these notice items."""
    return cipher.seal_digest(record_digest(items))


def current_digest_rows(conn: sqlite3.Connection, cipher: NumberCipher) -> list[tuple[bytes, bytes]]:
    """(code as ASCII bytes, record digest) of every person, in code order: one sequential scan
    of the persons table (faster than following the code index row by row, and no index for
    the writer to keep), one sort, one call to open the digests."""
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute("SELECT CAST(juminhyo_code AS BLOB), record_digest FROM persons").fetchall()
    if any(digest is None for _, digest in rows):
        raise sqlite3.DatabaseError("a person without its record digest (the store was not migrated)")
    rows.sort()  # by code (each unique); the sealed digests follow their codes
    clear = cipher.open_digests(b"".join(map(itemgetter(1), rows)))  # blockwise: still in code order
    digests = map(itemgetter(0), struct.iter_unpack(f"{DIGEST_BYTES}s", clear))
    out = list(zip(map(itemgetter(0), rows), digests, strict=True))
    return out
