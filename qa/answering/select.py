"""Which scored sentences an answer quotes: the best ones that pass the bar, without repeats.

A sentence that repeats one already chosen is skipped: near-duplicates within the corpus, and the
same sentence (lightly edited) in another copy of one syndicated story, of which the copy that is
cited is the one quoted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qa.retrieval import IndexView, ScoredSentence
from qa.terms import term_set

# Beyond the first (the best-supported), each further sentence quoted is the best by
# MMR_RELEVANCE x its score - (1 - MMR_RELEVANCE) x MMR_SCALE x its highest cosine to those chosen:
# three sentences that each say something (benchmarks/results/realnews-questions.md).
MMR_RELEVANCE, MMR_SCALE = 0.85, 3.0
REPEAT_OVERLAP = 0.8  # share of the shorter sentence's terms that makes it a repeat of another
COPY_OVERLAP = 0.6  # the same, between two copies of one syndicated story (edited lightly)

Story = Callable[[ScoredSentence], str]


def story_of(view: IndexView) -> Story:
    """The story a hit belongs to: the cited copy of its syndication group, or its own article."""
    return lambda hit: (view.copies(hit.article.id) or (hit.article.id,))[0]


def passing(hits: list[ScoredSentence], threshold: float) -> list[ScoredSentence]:
    """The hits an answer may quote: none unless the best-ranked passes, then every one that does
    (the ranking stays the fused one; each further sentence must pass the same bar)."""
    if not hits or hits[0].confidence < threshold:
        return []
    return [h for h in hits if h.confidence >= threshold]


def diverse(hits: list[ScoredSentence], k: int, story: Story) -> list[ScoredSentence]:
    """Best-first, up to `k`, skipping sentences that repeat one already chosen."""
    chosen: list[ScoredSentence] = []
    seen: list[tuple[set[str], str]] = []
    for h in hits:
        words, own = term_set(h.text), story(h)
        same = [i for i, (s, o) in enumerate(seen) if len(words & s) >= max(1, min(len(words), len(s))) * (
            COPY_OVERLAP if o == own and chosen[i].article.id != h.article.id else REPEAT_OVERLAP)]
        if same:  # a repeat; of a syndicated story, the copy that is cited is the one quoted
            i = same[0]
            if own == seen[i][1] == h.article.id != chosen[i].article.id:
                chosen[i] = h
            continue
        if len(chosen) == k:
            continue  # still looking: a later hit may be the cited copy of a chosen sentence
        chosen.append(h)
        seen.append((words, own))
    return chosen


def varied(hits: list[ScoredSentence], k: int, view: IndexView) -> list[ScoredSentence]:
    """Up to `k` of `hits` (best first, no repeats): the best, then each next one the best trade of
    its score against its likeness to those already chosen (maximal marginal relevance)."""
    if len(hits) <= 1 or k <= 1:
        return hits[:k]
    vectors = view.sentence_vectors(np.array([h.row for h in hits], dtype=np.int64))
    likeness = vectors @ vectors.T
    chosen = [0]
    while len(chosen) < min(k, len(hits)):
        rest = [i for i in range(len(hits)) if i not in chosen]
        chosen.append(max(rest, key=lambda i: MMR_RELEVANCE * hits[i].score
                          - (1 - MMR_RELEVANCE) * MMR_SCALE * float(likeness[i, chosen].max())))
    return [hits[i] for i in chosen]
