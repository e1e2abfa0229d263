"""The append-only Merkle log of RFC 9162 §2.1 (same tree as RFC 6962).

Hashes: leaf ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``, the empty
tree ``SHA-256("")``. The verification functions follow the RFC's algorithms step by step
(§2.1.3.2 inclusion, §2.1.4.2 consistency); the Solidity ``MerkleVerifier`` in ``contracts/``
implements the same algorithms and both are pinned by ``tests/vectors/tlog`` (the
transparency-dev/merkle conformance corpus).

:class:`MerkleLog` keeps the hash of every *complete* subtree (a perfect subtree of ``2**level``
leaves starting at ``index * 2**level``). An append stores the leaf and the subtrees it completes,
so appends are O(1) amortised; a root, an inclusion proof or a consistency proof for any earlier
size needs O(log n) stored hashes; nothing ever rebuilds the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from node.core.errors import InvalidInput, VerificationError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256

#: A stored subtree is addressed by (level, index): leaves ``index * 2**level`` up to
#: ``(index + 1) * 2**level`` (exclusive).
NodeId = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(NODE_PREFIX + left + right).digest()


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise VerificationError(f"{name} must be a {HASH_SIZE}-byte hash")


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``.

    Implements RFC 9162 §2.1.3.2.

    Raises:
        VerificationError: the proof does not prove inclusion.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    for node in proof:
        _check_hash("proof node", node)
    if index < 0 or tree_size < 0:
        raise VerificationError("index and tree size must not be negative")
    # Steps 1-5 up to the comparison.
    if root_from_inclusion(leaf_hash, index, tree_size, proof) != root:
        raise VerificationError("inclusion proof does not lead to the root")


def root_from_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to from ``leaf_hash`` (RFC 9162 §2.1.3.2 steps 1-5
    without the final comparison): the compact bundle form with cosignatures carries no root
    and rebuilds it (docs/FORMATS.md "Compact form").

    Raises:
        VerificationError: the proof has the wrong length for the index and size.
    """
    _check_hash("leaf hash", leaf_hash)
    for node in proof:
        _check_hash("proof node", node)
    # Step 1.
    if not 0 <= index < tree_size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {tree_size}")
    # Steps 2-3.
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    # Step 4.
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the path to the root")
    return r


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Verify that the tree of ``size2`` with ``root2`` extends the tree of ``size1``/``root1``.

    Implements RFC 9162 §2.1.4.2. Following the conformance corpus, equal sizes need an empty
    proof and equal roots, and a proof from size 0 is refused: it proves nothing (a log's first
    checkpoint needs no proof).

    Raises:
        VerificationError: the trees are not consistent or the proof is malformed.
    """
    if size1 < 0 or size2 < 0:
        raise VerificationError("tree sizes must not be negative")
    if size2 < size1:
        raise VerificationError(f"size2 {size2} is smaller than size1 {size1}")
    if size1 == 0:
        raise VerificationError("a consistency proof from size 0 proves nothing")
    if size1 == size2:
        # The corpus compares the roots as given here, whatever their length.
        if proof:
            raise VerificationError("a proof between equal sizes must be empty")
        if root1 != root2:
            raise VerificationError("roots differ for equal tree sizes")
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for node in proof:
        _check_hash("proof node", node)
    # Step 1.
    if not proof:
        raise VerificationError("consistency proof is empty")
    path = list(proof)
    # Step 2.
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    # Step 3.
    fn, sn = size1 - 1, size2 - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise VerificationError("consistency proof is shorter than needed")
    if fr != root1:
        raise VerificationError("consistency proof does not lead to root1")
    if sr != root2:
        raise VerificationError("consistency proof does not lead to root2")


class NodeStore(Protocol):
    """Storage of complete-subtree hashes for :class:`MerkleLog`.

    Implementations: :class:`MemoryNodeStore` here; the node adds a database store.
    ``put_nodes`` with the new size is one atomic step: either every node and the size are
    written, or none.
    """

    def get_size(self) -> int:
        """Return the number of leaves in the log."""
        ...

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """Return the hashes of the given complete subtrees, in order.

        Raises:
            StorageError: a node is missing.
        """
        ...

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]], new_size: int) -> None:
        """Store new complete subtrees and the new size, atomically."""
        ...


class MemoryNodeStore:
    """A :class:`NodeStore` in memory: one ``bytearray`` of hashes per level."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = []
        self._size = 0

    def get_size(self) -> int:
        return self._size

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        out = []
        for level, index in ids:
            start = index * HASH_SIZE
            out.append(bytes(self._levels[level][start : start + HASH_SIZE]))
        return out

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]], new_size: int) -> None:
        levels = self._levels
        for (level, index), value in nodes:
            while len(levels) <= level:
                levels.append(bytearray())
            row = levels[level]
            if len(row) != index * HASH_SIZE:
                raise AssertionError(f"node ({level}, {index}) written out of order")
            row += value
        self._size = new_size


def _split(n: int) -> int:
    """Return the largest power of two smaller than ``n`` (``n > 1``), RFC 9162 §2.1.1's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_ranges(start: int, end: int) -> list[NodeId]:
    """Decompose leaves ``[start, end)`` into maximal complete subtrees, left to right.

    ``start`` must be aligned as in the RFC recursion (a multiple of the largest power of two
    not above ``end - start``), which every range visited below satisfies.
    """
    out: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        # Alignment keeps every piece a stored complete subtree.
        while start & ((1 << level) - 1):
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


class _Ref:
    """A proof node: the hash of leaves ``[start, end)``, resolved in one batched read."""

    __slots__ = ("ids",)

    def __init__(self, start: int, end: int) -> None:
        self.ids = _perfect_ranges(start, end)


class MerkleLog:
    """An RFC 9162 Merkle log over a :class:`NodeStore`.

    ``append`` is O(1) amortised; ``root``, ``inclusion_proof`` and ``consistency_proof`` work for
    any size up to the current one and read O(log n) stored hashes in one batch.
    """

    def __init__(self, store: NodeStore | None = None) -> None:
        self._store: NodeStore = store if store is not None else MemoryNodeStore()

    @property
    def size(self) -> int:
        """The number of leaves in the log."""
        return self._store.get_size()

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and return its index (what :meth:`append_many` does for one
        leaf, without its batch bookkeeping: a leaf at an odd index reads the left siblings it
        completes, one per trailing set bit of the index, in one batch).

        Raises:
            InvalidInput: the leaf hash is not 32 bytes.
        """
        value = bytes(leaf_hash)
        if len(value) != HASH_SIZE:
            raise InvalidInput("leaf_hash", "merkle.hash_size", "leaf hash must be 32 bytes")
        store = self._store
        index = size = store.get_size()
        nodes: list[tuple[NodeId, bytes]] = [((0, index), value)]
        if index & 1:
            completed = (index ^ (index + 1)).bit_length() - 1
            lefts = store.get_nodes([(level, (index >> level) - 1) for level in range(completed)])
            for level, left in enumerate(lefts, 1):
                value = _sha256(NODE_PREFIX + left + value).digest()
                nodes.append(((level, index >> level), value))
        store.put_nodes(nodes, size + 1)
        return size

    def append_many(self, leaf_hashes: Iterable[bytes]) -> list[int]:
        """Append leaf hashes in order, atomically, and return their indexes.

        Keeps the right edge of the tree (the complete subtrees that end at the last leaf, one
        per set bit of the size): a new leaf at an odd index completes a subtree with the
        edge's subtree of the same level, and so on upwards (RFC 9162 §2.1.1), so no node is
        read twice. Only the edge subtrees the batch completes are read, in one batch at the
        start: for one leaf, those below the lowest clear bit of the size (none for an even
        size), as many reads as the loop below combines.

        Raises:
            InvalidInput: a leaf hash is not 32 bytes.
        """
        leaves = list(map(bytes, leaf_hashes))
        for leaf in leaves:
            if len(leaf) != HASH_SIZE:
                raise InvalidInput("leaf_hash", "merkle.hash_size", "leaf hash must be 32 bytes")
        size = first = self._store.get_size()
        if not leaves:
            return []
        # Edge subtrees below the highest bit that changes from size to size + count are
        # combined with a new node; those above it are not reached by this batch.
        needed = size & ((1 << ((size ^ (size + len(leaves))).bit_length() - 1)) - 1)
        edge: dict[int, bytes] = {}
        if needed:
            ids: list[NodeId] = []
            level = 0
            while needed:
                if needed & 1:
                    ids.append((level, (size >> level) - 1))
                needed >>= 1
                level += 1
            for (level, _), value in zip(ids, self._store.get_nodes(ids), strict=True):
                edge[level] = value
        new_nodes: list[tuple[NodeId, bytes]] = []
        append = new_nodes.append
        for value in leaves:
            index = size
            level = 0
            append(((0, index), value))
            while index & 1:
                value = _sha256(NODE_PREFIX + edge[level] + value).digest()
                level += 1
                index >>= 1
                append(((level, index), value))
            edge[level] = value
            size += 1
        # Within each level the nodes come out in increasing index order.
        self._store.put_nodes(new_nodes, size)
        return list(range(first, size))

    def _resolve_size(self, size: int | None, name: str = "size") -> int:
        """Return ``size`` (default: the log's size) after checking it, with one size read."""
        current = self._store.get_size()
        if size is None:
            return current
        if size < 0 or size > current:
            raise InvalidInput(
                name, "merkle.size_range", f"size {size} is outside the log (size {current})"
            )
        return size

    def _resolve(self, refs: Sequence[_Ref]) -> list[bytes]:
        """Read every stored node the refs need in one batch and fold each ref to its hash."""
        wanted = sorted({node_id for ref in refs for node_id in ref.ids})
        values = dict(zip(wanted, self._store.get_nodes(wanted), strict=True))
        out = []
        for ref in refs:
            hashes = [values[node_id] for node_id in ref.ids]
            # The decomposition is left to right; RFC 9162 folds the right edge first.
            acc = hashes[-1]
            for h in reversed(hashes[:-1]):
                acc = node_hash(h, acc)
            out.append(acc)
        return out

    def root(self, size: int | None = None) -> bytes:
        """Return the Merkle Tree Hash of the first ``size`` leaves (default: all).

        Raises:
            InvalidInput: ``size`` is negative or larger than the log.
        """
        size = self._resolve_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._resolve([_Ref(0, size)])[0]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``.

        Raises:
            InvalidInput: ``index`` or ``size`` is out of range.
        """
        size = self._resolve_size(size)
        if not 0 <= index < size:
            raise InvalidInput(
                "index", "merkle.index_range", f"leaf index {index} is outside size {size}"
            )
        refs: list[_Ref] = []
        lo, hi = 0, size
        # PATH(m, D[lo:hi]) unrolled; the proof lists the siblings from the leaf upwards.
        while hi - lo > 1:
            k = _split(hi - lo)
            if index - lo < k:
                refs.append(_Ref(lo + k, hi))
                hi = lo + k
            else:
                refs.append(_Ref(lo, lo + k))
                lo = lo + k
        refs.reverse()
        return self._resolve(refs)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return the RFC 9162 §2.1.4.1 consistency proof from ``size1`` to ``size2``.

        The proof from a size to itself is empty; from size 0 there is no proof (the first
        checkpoint needs none), so ``size1 = 0`` is refused.

        Raises:
            InvalidInput: the sizes are out of range or ``size1`` is 0 while ``size2`` is not.
        """
        size2 = self._resolve_size(size2, "size2")
        if not 0 <= size1 <= size2:
            raise InvalidInput(
                "size1", "merkle.size_range", f"size1 {size1} must be between 0 and {size2}"
            )
        if size1 == size2:
            return []
        if size1 == 0:
            raise InvalidInput("size1", "merkle.size_range", "no consistency proof from size 0")
        refs: list[_Ref] = []
        lo, hi = 0, size2
        m = size1
        complete = True  # SUBPROOF's b: whether D[0:m] is the complete tree asked for
        # SUBPROOF(m, D[lo:hi], b) unrolled.
        while True:
            n = hi - lo
            if m == n:
                if not complete:
                    refs.append(_Ref(lo, hi))
                break
            k = _split(n)
            if m <= k:
                refs.append(_Ref(lo + k, hi))
                hi = lo + k
            else:
                refs.append(_Ref(lo, lo + k))
                lo = lo + k
                m -= k
                complete = False
        refs.reverse()
        return self._resolve(refs)
