"""Articles -> groups of syndicated copies: one story carried by several outlets, lightly edited.

Two articles are copies when most word 4-grams ("shingles") of the shorter one also occur in the
longer one. Containment rather than Jaccard similarity, so that a copy with trimmed paragraphs or a
new headline still matches; different stories on the same topic share names and the odd quote,
but few 4-grams. Shingles are hashed (CRC-32) and stored per article, so a build only hashes new
articles; grouping goes through an inverted index of the hashes, so it never compares every pair.
Precision and recall are measured in benchmarks/copies_experiment.py and by `qa eval` on
tests/data/news-eval.json.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np

SHINGLE_WORDS = 4  # 3 to 5 measured: benchmarks/copies_experiment.py
MIN_CONTAINMENT = 0.5  # share of the shorter article's shingles found in the other one
COMMON = 50  # a shingle in more articles than this is boilerplate, not evidence of copying
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str) -> np.ndarray:
    """Sorted unique hashes of the article's word 4-grams (case-insensitive, punctuation ignored)."""
    words = _WORD.findall(text.lower())
    grams = [" ".join(words[i:i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))]
    return np.unique(np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams if g),
                                 dtype=np.uint32, count=-1))


def copy_groups(signatures: dict[str, np.ndarray], order: Callable[[str], object] = str,
                known: tuple[Sequence[Sequence[str]], set[str]] | None = None) -> list[list[str]]:
    """Groups (two or more article ids) of copies of one story, each sorted by `order`.

    `known`: (the groups of an earlier build, the ids added, changed or removed since). Then only
    pairs involving those articles, or members of an earlier group that one of them belonged to,
    are counted; the other earlier groups are kept as they were (a shingle that new articles push
    past `COMMON` still counts for pairs of earlier articles until the next full grouping)."""
    ids = list(signatures)
    sizes = np.array([len(signatures[i]) for i in ids], dtype=np.int64)
    if len(ids) < 2 or not sizes.sum():
        return []
    hashes = np.concatenate([signatures[i] for i in ids])
    owners = np.repeat(np.arange(len(ids)), sizes)
    kept: list[Sequence[str]] = []
    if known is not None:  # recount only what the changes can affect
        touched = set(known[1])
        kept = [g for g in known[0] if touched.isdisjoint(g)]
        recount = (touched | {m for g in known[0] if not touched.isdisjoint(g) for m in g}) & signatures.keys()
        own = [signatures[i] for i in recount]
        shares = np.isin(hashes, np.unique(np.concatenate(own)) if own else hashes[:0])
        hashes, owners = hashes[shares], owners[shares]
    by_hash = np.argsort(hashes, kind="stable")
    hashes, owners = hashes[by_hash], owners[by_hash]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    ends = np.r_[starts[1:], len(hashes)]
    runs = ends - starts
    n = len(ids)
    # Every pair of articles sharing a shingle, as one code a * n + b (a < b: owners ascend within a
    # run), counted with numpy: runs of one length at a time, in blocks of bounded size.
    counts: Counter[int] = Counter()
    for length in np.unique(runs[(runs > 1) & (runs <= COMMON)]):
        firsts = starts[runs == length]
        i, j = np.triu_indices(int(length), 1)
        step = max(1, 4_000_000 // len(i))
        for b in range(0, len(firsts), step):
            block = owners[firsts[b:b + step, None] + np.arange(length)]
            codes, k = np.unique((block[:, i] * n + block[:, j]).ravel(), return_counts=True)
            counts.update(dict(zip(codes.tolist(), k.tolist())))
    shared = {(c // n, c % n): k for c, k in counts.items()}
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (a, b), count in shared.items():
        if count >= MIN_CONTAINMENT * min(sizes[a], sizes[b]):
            parent[root(a)] = root(b)
    if kept:
        position = {article_id: i for i, article_id in enumerate(ids)}
        for group in kept:
            members = [position[a] for a in group if a in position]
            for other in members[1:]:
                parent[root(other)] = root(members[0])
    groups: dict[int, list[str]] = {}
    for i, article_id in enumerate(ids):
        groups.setdefault(root(i), []).append(article_id)
    return sorted((sorted(g, key=order) for g in groups.values() if len(g) > 1), key=lambda g: order(g[0]))


def pairs(groups: Sequence[Sequence[str]]) -> set[frozenset[str]]:
    """Every pair of articles that the groups call copies of each other."""
    return {frozenset(p) for g in groups for p in combinations(g, 2)}
