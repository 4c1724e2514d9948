"""Sentences -> token-budgeted `Chunk`s of whole sentences, with sentence overlap.

Budgets are counted with a token counter passed in (tiktoken in production). A chunk never cuts a
sentence unless that one sentence is over the budget on its own; then it is cut at spaces. A
second check, `fits`, enforces the embedding model's own limit (word pieces), which tiktoken's
count does not bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qa.sentences import Sentence, cut_span

if TYPE_CHECKING:
    import tiktoken


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    article_id: str
    ordinal: int
    first_sentence: int  # ordinals, inclusive
    last_sentence: int
    start: int  # char offsets into the article text
    end: int
    text: str
    token_count: int


def tiktoken_counter(encoding: str) -> Callable[[str], int]:
    """A token counter using a bundled tiktoken encoding (never downloads)."""
    enc = _encoding(encoding)
    return lambda text: len(enc.encode(text, disallowed_special=()))


@lru_cache(maxsize=4)
def _encoding(name: str) -> tiktoken.Encoding:
    import tiktoken

    return tiktoken.get_encoding(name)


def chunk_article(article_id: str, text: str, sentences: list[Sentence], *,
                  count_tokens: Callable[[str], int], max_tokens: int, overlap: int = 1,
                  fits: Callable[[str], bool] = lambda _: True) -> list[Chunk]:
    """Whole consecutive sentences of one article packed into chunks of at most `max_tokens`
    (`count_tokens`) that the model reads whole (`fits`), neighbouring chunks sharing `overlap`
    sentences. A sentence over the budget on its own is cut at spaces into several chunks."""
    spans: list[tuple[int, int, int, int]] = []  # first, last sentence; start, end char
    counts = [count_tokens(text[s.start:s.end]) for s in sentences]
    i = 0
    while i < len(sentences):
        j, total = i + 1, counts[i]
        while j < len(sentences) and total + counts[j] <= max_tokens:
            total += counts[j]
            j += 1
        while j > i + 1 and not _ok(text[sentences[i].start:sentences[j - 1].end], count_tokens, max_tokens,
                                    fits):
            j -= 1
        first, last = sentences[i], sentences[j - 1]
        if j == i + 1 and not _ok(text[first.start:first.end], count_tokens, max_tokens, fits):
            pieces = cut_span(text, first.start, first.end, lambda p: _ok(p, count_tokens, max_tokens, fits))
            spans.extend((i, i, s, e) for s, e in pieces)
        else:
            spans.append((i, j - 1, first.start, last.end))
        if j >= len(sentences):
            break
        i = max(i + 1, j - overlap)
    return [Chunk(article_id=article_id, ordinal=n, first_sentence=sentences[a].ordinal,
                  last_sentence=sentences[b].ordinal, start=s, end=e, text=text[s:e],
                  token_count=count_tokens(text[s:e]))
            for n, (a, b, s, e) in enumerate(spans)]


def _ok(piece: str, count_tokens: Callable[[str], int], max_tokens: int, fits: Callable[[str], bool]) -> bool:
    return count_tokens(piece) <= max_tokens and fits(piece)
