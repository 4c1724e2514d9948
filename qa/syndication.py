"""Articles -> groups of syndicated copies: one story carried by several outlets, lightly edited.

Two articles are copies when most word 4-grams ("shingles") of the shorter one also occur in the
longer one. Containment rather than Jaccard similarity, so that a copy with trimmed paragraphs or a
new headline still matches; different stories on the same topic share names and the odd quote,
but few 4-grams. Shingles are hashed (CRC-32) and stored per article, so a build only hashes new
articles; grouping goes through an inverted index of the hashes, so it never compares every pair,
and an update looks up only the hashes of the articles it touched (`Postings`).
Precision and recall are measured in benchmarks/copies_experiment.py and by `qa eval` on
tests/data/news-eval.json.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Postings:
    """Every shingle of a set of articles, sorted by hash, with the article holding it: an
    inverted index stored beside a build's base, so an update finds the articles sharing shingles
    with the ones it touched without reading every signature."""
    hashes: np.ndarray  # uint32, sorted
    owners: np.ndarray  # the position of the article holding each hash
    resolve: Callable[[np.ndarray], tuple[list[str], np.ndarray]]  # positions -> their ids and sizes
    gone: frozenset[str] = frozenset()  # articles no longer current: their postings are passed over

    @classmethod
    def of(cls, signatures: dict[str, np.ndarray]) -> Postings:
        ids = list(signatures)
        sizes = np.array([len(signatures[i]) for i in ids], dtype=np.int64)
        hashes = np.concatenate([signatures[i] for i in ids]) if ids else np.zeros(0, np.uint32)
        owners = np.repeat(np.arange(len(ids), dtype=np.int32), sizes)
        order = np.argsort(hashes, kind="stable")
        return cls(hashes[order], owners[order], lambda at: ([ids[i] for i in at.tolist()], sizes[at]))

    def lookup(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hash, owner) of every posting of the `wanted` hashes (sorted, unique)."""
        lo = np.searchsorted(self.hashes, wanted, "left")
        counts = np.searchsorted(self.hashes, wanted, "right") - lo
        at = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        return np.asarray(self.hashes[at]), np.asarray(self.owners[at], dtype=np.int64)


def affected(groups: Sequence[Sequence[str]], touched: set[str]) -> set[str]:
    """The articles whose grouping a change can alter: those touched, and the members of any
    earlier group holding one of them."""
    return touched | {m for g in groups if not touched.isdisjoint(g) for m in g}


def copy_groups(signatures: dict[str, np.ndarray], order: Callable[[str], object] = str,
                known: tuple[Sequence[Sequence[str]], set[str]] | None = None,
                base: Postings | None = None) -> list[list[str]]:
    """Groups (two or more article ids) of copies of one story, each sorted by `order`.

    `known`: (the groups of an earlier build, the ids added, changed or removed since). Then only
    pairs involving the `affected` articles are counted; the other earlier groups are kept as they
    were (a shingle that new articles push past `COMMON` still counts for pairs of earlier articles
    until the next full grouping). `base` (with `known`): the postings of further articles, those
    of an earlier build not in `signatures` (which must hold every affected article); only the
    postings of the affected articles' hashes are read, and those of articles in `signatures`,
    touched or `base.gone` are passed over."""
    ids = list(signatures)
    sizes = np.array([len(signatures[i]) for i in ids], dtype=np.int64)
    hashes = np.concatenate([signatures[i] for i in ids]) if ids else np.zeros(0, np.uint32)
    owners = np.repeat(np.arange(len(ids)), sizes)
    kept: list[Sequence[str]] = []
    if known is not None:  # recount only what the changes can affect
        touched = set(known[1])
        kept = [g for g in known[0] if touched.isdisjoint(g)]
        own = [signatures[i] for i in affected(known[0], touched) & signatures.keys()]
        wanted = np.unique(np.concatenate(own)) if own else hashes[:0]
        shares = np.isin(hashes, wanted)
        hashes, owners = hashes[shares], owners[shares]
        if base is not None:  # the other articles' postings of those hashes (not those in `signatures`)
            found, holders = base.lookup(wanted)
            unique, inverse = np.unique(holders, return_inverse=True)
            holder_ids, holder_sizes = base.resolve(unique)
            stale = np.fromiter((i in signatures or i in touched or i in base.gone for i in holder_ids),
                                bool, len(unique))
            keep = ~stale[inverse]
            hashes = np.concatenate([hashes, found[keep]])
            owners = np.concatenate([owners, inverse[keep] + len(ids)])
            ids, sizes = ids + holder_ids, np.concatenate([sizes, holder_sizes])
    if not kept and (len(ids) < 2 or not sizes.sum()):
        return []
    by_hash = np.argsort(hashes, kind="stable")
    hashes, owners = hashes[by_hash], owners[by_hash]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if len(hashes) else np.zeros(0, np.int64)
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
            block = np.sort(owners[firsts[b:b + step, None] + np.arange(length)], axis=1)
            codes, k = np.unique((block[:, i] * n + block[:, j]).ravel(), return_counts=True)
            counts.update(dict(zip(codes.tolist(), k.tolist(), strict=True)))
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        parent.setdefault(i, i)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for code, count in counts.items():
        a, b = divmod(code, n)
        if count >= MIN_CONTAINMENT * min(sizes[a], sizes[b]):
            parent[root(a)] = root(b)
    if kept:  # earlier groups stay whole (members outside `ids` are added to it)
        position: dict[str, int] = {}
        for i, article_id in enumerate(ids):  # the first: an id can also be among passed-over holders
            position.setdefault(article_id, i)
        for group in kept:
            members = [position.setdefault(a, len(position)) for a in group]
            ids += [a for a in group if position[a] >= len(ids)]
            for other in members[1:]:
                parent[root(other)] = root(members[0])
    groups: dict[int, list[str]] = {}
    for i in list(parent):
        groups.setdefault(root(i), []).append(ids[i])
    return sorted((sorted(g, key=order) for g in groups.values() if len(g) > 1), key=lambda g: order(g[0]))


def pairs(groups: Sequence[Sequence[str]]) -> set[frozenset[str]]:
    """Every pair of articles that the groups call copies of each other."""
    return {frozenset(p) for g in groups for p in combinations(g, 2)}
