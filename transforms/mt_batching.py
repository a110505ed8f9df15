"""Canonical batches for CTranslate2: a sentence's output never depends on its neighbours.

Owns: the length buckets and how each bucket's distinct token sequences are split into groups
and padded (`canonical_groups`); each group is decoded as exactly one batch.
"""

from __future__ import annotations

from typing import Sequence

# Tokens per CTranslate2 batch, counted as CTranslate2 counts with batch_type="tokens" (the sum
# of the rows' lengths; our pad row included), so a canonical group is no larger than the batch
# a user's translate_batch(max_batch_size=2048, batch_type="tokens") would make. 2048 keeps the
# OPUS-MT-size working memory near the 394 MB int8 peak measured for 64x30 tokens.
MAX_BATCH_TOKENS = 2048

# Width of a canonical length bucket, in source tokens. Each bucket is decoded as separate
# CTranslate2 batches, and a batch has a fixed cost (the decoder weights and the 59514-wide output
# projection are streamed once per step whatever the row count): on the OPUS-MT-size model, int8,
# 1 thread, a 4-row batch costs 58 ms/row and a 32-row one 29 ms/row, while a padded source token
# costs only ~0.13 ms/row (measured on bench/bench_translate.py's model and sentences; the
# figures are in docs/translation.md). So fewer, fuller batches beat tighter padding: on its 256
# sentences (36-95 tokens) raw on canonical groups cost +7.4% / +9.4% (best / median) over CT2's
# own batching at width 8 (14 groups) and +4.0% / +0.2% at width 16 (10 groups); 96 sentences:
# +7.9% / +6.0% vs +3.0% / -1.9%. Width 1 (exact lengths) cost 3.3x (48 sentences).
BUCKET_TOKENS = 16

def bucket_top(length: int, width: int = BUCKET_TOKENS) -> int:
    """The padded length of a sentence's bucket: a function of its own length only.

    >>> bucket_top(1), bucket_top(16), bucket_top(17), bucket_top(9, width=8)
    (16, 16, 32, 16)
    """
    return -(-max(1, length) // width) * width

def _pad_row(group: list[tuple[str, ...]], top: int) -> tuple[str, ...]:
    """A dummy row of exactly `top` tokens (the group's first member repeated)."""
    return tuple((list(group[0]) * top)[:top])

def split_bucket(items: Sequence[tuple[str, ...]], top: int, max_tokens: int
                 ) -> list[list[tuple[str, ...]]]:
    """One bucket's distinct sequences in as few groups as fit `max_tokens`, each padded to `top`.

    A group's size is counted as CTranslate2 counts a batch with batch_type="tokens": the sum of
    its rows' lengths (pad row included); a lone sequence is a group whatever its length. The
    sequences are dealt round-robin, longest first, into k groups (the smallest k whose groups
    fit), so the groups have near-equal sizes (no tail group of 3 rows paying a whole batch's
    fixed cost) and, when the bucket has k members of the top length, every group gets one and
    needs no pad row. A group whose longest member is shorter than `top` gets a pad row (`_pad_row`).

    >>> [[len(u) for u in g] for g in split_bucket([("a",) * n for n in (5, 6, 7, 8)], 8, 64)]
    [[5, 6, 7, 8]]
    >>> [[len(u) for u in g] for g in split_bucket([("a",) * n for n in (5, 6, 7, 8)], 8, 20)]
    [[6, 8], [5, 7, 8]]
    >>> [[len(u) for u in g] for g in split_bucket([tuple("ab"), tuple("cd")], 2, 1)]
    [[2], [2]]
    """
    items = sorted(set(items), key=lambda u: (-len(u), u))
    budget = max(1, max_tokens)
    k = max(1, min(len(items), -(-sum(map(len, items)) // budget)))
    while True:
        groups = [sorted(items[j::k], key=lambda u: (len(u), u)) for j in range(k)]
        groups = [g + [_pad_row(g, top)] if len(g[-1]) < top else g for g in groups]
        if k == len(items) or all(sum(map(len, g)) <= budget for g in groups):
            return groups
        k += 1

def canonical_groups(units: Sequence[tuple[str, ...]], max_tokens: int,
                     width: int = BUCKET_TOKENS, max_len: int = 0
                     ) -> list[list[tuple[str, ...]]]:
    """Distinct token sequences in canonical batches: grouped by length bucket, each bucket split
    into groups of at most `max_tokens` (`split_bucket`), and every group padded to its bucket's
    top length by a *pad row* (a dummy sequence of exactly that length, whose output is thrown
    away) unless a real member has it. Each group must be decoded as one batch.

    CTranslate2 pads a batch to its longest member and padding changes float sums
    (docs/translation.md), so without the pad row a sentence's output could depend on its neighbours. With it,
    each sentence is always computed at the padded length of its own bucket, whatever the drop
    order, batch size or worker count. What remains is the batch row count, which does not
    change the rows' results (tests/test_translate.py checks this on a random-weight model).

    >>> canonical_groups([("b", "c"), ("a",), ("a", "c"), ("b", "c")], 64, width=2)
    [[('a',), ('a', 'c'), ('b', 'c')]]
    >>> canonical_groups([("a",), ("b",), ("c",)], 5, width=2)
    [[('a',), ('b',), ('c',), ('a', 'a')]]
    >>> canonical_groups([("a",), ("b",), ("c",)], 4, width=2)
    [[('a',), ('c',), ('a', 'a')], [('b',), ('b', 'b')]]

    `max_len` (the model's longest input, units are never longer) caps the padded length: a
    pad row longer than the model's position table makes the whole batch fail. The cap depends
    on the model only, so a sentence's padded length is still a function of its own length.

    >>> canonical_groups([("a",) * 5], 64, width=4, max_len=6)
    [[('a', 'a', 'a', 'a', 'a'), ('a', 'a', 'a', 'a', 'a', 'a')]]
    """
    by_bucket: dict[int, set] = {}
    for u in units:
        top = bucket_top(len(u), width)
        by_bucket.setdefault(min(top, max_len) if max_len else top, set()).add(tuple(u))
    return [g for top in sorted(by_bucket) for g in split_bucket(by_bucket[top], top, max_tokens)]
