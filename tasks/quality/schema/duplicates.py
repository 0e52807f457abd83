"""Duplicate rows of a file too big to keep: an 8-byte digest and the ligne of each row,
12 bytes a row in two flat arrays, looked at once at the end of the file.

A dict of full digests (or of the rows) costs more than ten times as much per row. Two
different rows are taken for one only if their 64-bit BLAKE2b digests collide: for a
million rows, a chance of about 3 in 100 million.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from itertools import pairwise

DIGEST_SIZE = 8
BLOCK = 1 << 16  # digests sorted at once as Python ints (40 bytes each): a bounded memory


def row_key(cells: list) -> bytes:
    """The row as one byte string: two rows are duplicates when their keys are equal."""
    try:
        text = "\x1f".join(cells)
    except TypeError:  # a cell that is not text (None for a cell frictionless added)
        text = "\x1f".join(map(str, cells))
    return text.encode()


class RowDigests:
    """Rows seen so far, in reading order; `duplicates()` says which repeat an earlier one."""

    def __init__(self) -> None:
        self._digests = bytearray()
        self._lignes = array("I")

    @property
    def nbytes(self) -> int:
        """Memory held for the rows seen so far (Python's object headers aside)."""
        return len(self._digests) + self._lignes.itemsize * len(self._lignes)

    def add(self, cells: list, ligne: int) -> None:
        self._digests += hashlib.blake2b(row_key(cells), digest_size=DIGEST_SIZE).digest()
        self._lignes.append(ligne)

    def duplicates(self) -> list[tuple[int, int]]:
        """(ligne, ligne of its first occurrence) of every repeated row, by ligne.

        The digests are sorted block by block (8 more bytes a row), and the sorted blocks
        merged to find the repeated ones; a last pass in reading order names the rows."""
        with memoryview(self._digests) as raw, raw.cast("Q") as digests:
            blocks = [
                array("Q", sorted(digests[start : start + BLOCK]))
                for start in range(0, len(digests), BLOCK)
            ]
            ordered = blocks[0] if len(blocks) == 1 else heapq.merge(*blocks)
            repeated = {one for one, other in pairwise(ordered) if one == other}
            del blocks, ordered
            first: dict[int, int] = {}
            pairs: list[tuple[int, int]] = []
            for digest, ligne in zip(digests, self._lignes, strict=True):
                if digest not in repeated:
                    continue
                if digest in first:
                    pairs.append((ligne, first[digest]))
                else:
                    first[digest] = ligne
        return pairs
