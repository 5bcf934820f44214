"""The consistency check's hash tree: fixed vectors, and what changes its hashes."""

from __future__ import annotations

import hashlib

import pytest

from cs_gateway.domain.consistency_tree import (
    EMPTY,
    HashTree,
    auto_depth,
    bucket_hash,
    node_hash,
    record_digest,
    record_hash,
)
from cs_gateway.domain.notice_encoding import encode_record
from tests.unit.test_notice_encoding import ITEMS

A = ("12345678901", encode_record(ITEMS))
B = ("98765432109", encode_record({**ITEMS, "juminhyo_code": "98765432109"}))


def test_tree_matches_the_fixed_vector() -> None:
    tree = HashTree.build([A, B], depth=2)
    assert tree.root.hex() == "53a39b74b7c9d0da25d0ed131781e3f663679678c267e119d0ebab664b4433ae"
    assert tree.node("1")[0].hex() == "43eafc6abcf816149ab6c53df77137e567f3cb88221b0f51ab6ce2a1ccceb24d"
    assert tree.node("")[1] == 2 and tree.node("5") == (EMPTY, 0)


def test_hashes_are_defined_as_documented() -> None:
    leaf = bucket_hash([(A[0], record_hash(A[1]))])
    assert leaf == hashlib.sha256(b"B" + A[0].encode() + hashlib.sha256(A[1]).digest()).digest()
    node = node_hash([leaf if d == 2 else EMPTY for d in range(10)])
    assert node == hashlib.sha256(b"N" + EMPTY * 2 + leaf + EMPTY * 7).digest()
    tree = HashTree.build([A], depth=2)
    assert tree.node("12")[0] == leaf and tree.node("1")[0] == node


def test_order_of_input_does_not_matter_and_any_change_changes_the_root() -> None:
    assert HashTree.build([A, B]).root == HashTree.build([B, A]).root
    changed = ("98765432109", encode_record({**ITEMS, "juminhyo_code": "98765432109", "address": "別の住所"}))
    assert HashTree.build([A, changed]).root != HashTree.build([A, B]).root
    assert HashTree.build([A]).root != HashTree.build([A, B]).root
    assert HashTree.build([]).root == EMPTY


def test_a_tree_from_stored_digests_equals_the_tree_of_the_records() -> None:
    records = [A, B, ("12345678902", encode_record({**ITEMS, "juminhyo_code": "12345678902"}))]
    rows = sorted((code.encode(), record_hash(body)) for code, body in records)
    for depth in (1, 2, 5, 10):
        built, stored = HashTree.build(records, depth), HashTree.from_rows(rows, depth)
        assert built.nodes == stored.nodes and built.root == stored.root
        assert stored.bucket(A[0][:depth]) == built.bucket(A[0][:depth])
    assert HashTree.from_rows([], 2).root == EMPTY
    assert record_digest(ITEMS) == record_hash(encode_record(ITEMS))


def test_stored_digests_out_of_order_duplicated_or_malformed_are_refused() -> None:
    a, b = (A[0].encode(), record_hash(A[1])), (B[0].encode(), record_hash(B[1]))
    for rows in ([b, a], [a, a], [(b"1234567890", a[1])], [(a[0], a[1][:31])], [(b"1234567890x", a[1])]):
        with pytest.raises(ValueError):
            HashTree.from_rows(rows, 2)


def test_the_depth_aims_at_about_ten_records_per_bucket() -> None:
    assert [auto_depth(n) for n in (0, 9, 300, 100_000, 1_000_000, 10**12)] == [1, 1, 1, 4, 5, 10]


@pytest.mark.parametrize(
    "text",
    [
        "山田　太郎",
        "青森県弘前市大字上白銀町1番地",
        "ヤマダ　タロウ",
        'a"b',
        "a\\b",
        "tab\there",
        "x\x7f",
        "\u2028",
        "😀",
        "",
    ],
)
def test_the_write_paths_digest_is_the_digest_of_the_canonical_encoding(text: str) -> None:
    items = {**ITEMS, "name_kanji": text, "address": text + "1"}
    assert record_digest(items) == record_hash(encode_record(items))
