"""The Merkle tree matches RFC 6962 (reference recursion and Certificate Transparency vectors)."""

from __future__ import annotations

from hashlib import sha256

from hypothesis import given
from hypothesis import strategies as st

from bastion.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    audit_path,
    leaf_hash,
    root_from_path,
    root_of,
)

# Leaves and tree heads from the Certificate Transparency reference test data.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, written as literally as possible."""
    n = len(leaves)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def leaves_of(count: int) -> list[bytes]:
    return [leaf_hash(index.to_bytes(4, "big")) for index in range(count)]


def test_certificate_transparency_vectors() -> None:
    leaves = [leaf_hash(bytes.fromhex(data)) for data in CT_LEAVES]
    for size, expected in CT_ROOTS.items():
        assert root_of(leaves[:size]).hex() == expected


def test_empty_tree_root() -> None:
    assert root_of([]) == EMPTY_ROOT == sha256(b"").digest()


def test_frontier_matches_reference_at_every_size() -> None:
    leaves = leaves_of(70)
    frontier = Frontier()
    for size in range(1, 71):
        frontier.append(leaves[size - 1])
        assert frontier.root() == reference_root(leaves[:size])


def test_frontier_round_trips_through_bytes() -> None:
    frontier = Frontier()
    frontier.extend(leaves_of(13))
    restored = Frontier.from_bytes(13, frontier.to_bytes())
    restored.append(leaf_hash(b"x"))
    frontier.append(leaf_hash(b"x"))
    assert restored.root() == frontier.root()


def test_every_inclusion_path_verifies_and_tampering_fails() -> None:
    for size in (1, 2, 3, 5, 8, 13, 33):
        leaves = leaves_of(size)
        root = root_of(leaves)
        for index in range(size):
            path = audit_path(index, leaves)
            assert root_from_path(index, size, leaves[index], path) == root
            assert root_from_path(index, size, leaf_hash(b"other"), path) != root
            if path:
                bent = [*path[:-1], leaf_hash(b"bent")]
                assert root_from_path(index, size, leaves[index], bent) != root
                # A path of the wrong length is malformed, not merely wrong.
                assert root_from_path(index, size, leaves[index], path[:-1]) != root
            if size > 1:
                assert root_from_path((index + 1) % size, size, leaves[index], path) != root


@given(st.integers(min_value=1, max_value=300), st.data())
def test_paths_are_logarithmic_and_valid(size: int, data: st.DataObject) -> None:
    leaves = leaves_of(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = audit_path(index, leaves)
    assert len(path) <= (size - 1).bit_length()
    assert root_from_path(index, size, leaves[index], path) == reference_root(leaves)


def test_out_of_range_index_is_refused() -> None:
    assert root_from_path(5, 5, leaf_hash(b""), []) is None
    assert root_from_path(-1, 5, leaf_hash(b""), []) is None


@given(st.lists(st.integers(min_value=0, max_value=70), max_size=8))
def test_extend_in_chunks_matches_leaf_by_leaf(chunks: list[int]) -> None:
    """``extend`` hashes level by level; any chunking gives the tree built leaf by leaf."""
    leaves = leaves_of(sum(chunks))
    chunked, single = Frontier(), Frontier()
    start = 0
    for count in chunks:
        chunked.extend(iter(leaves[start : start + count]))
        for leaf in leaves[start : start + count]:
            single.append(leaf)
        start += count
        assert chunked.size == single.size == start
        assert chunked.to_bytes() == single.to_bytes()
        assert chunked.root() == single.root() == reference_root(leaves[:start])
