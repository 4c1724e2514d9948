"""Article text -> `Sentence`s with exact character offsets (`text[s.start:s.end]` is the sentence).

Segmentation is syntok's (chosen by measurement on news text: abbreviations such as "U.S.",
"Oct.", "D.C.", "p.m." and quotes attached to their sentence). Offsets are derived from where each
sentence's first token starts, so only whitespace can fall between two sentences: no text is lost
or duplicated, whatever syntok does with token values. Overlong runs without punctuation are cut
at a space so that one citation never quotes a wall of text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 1200
_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]*)*")


@dataclass(frozen=True)
class Sentence:
    article_id: str
    ordinal: int
    start: int
    end: int
    content_hash: str


def split_sentences(article_id: str, text: str) -> list[Sentence]:
    spans: list[tuple[int, int]] = []
    for para in _PARAGRAPH.finditer(text):
        for start, end in _segment(para.group(), para.start()):
            spans.extend(_cut_long(text, start, end))
    return [
        Sentence(article_id, i, s, e, hashlib.sha1(text[s:e].encode("utf-8")).hexdigest()[:16])
        for i, (s, e) in enumerate(spans)
    ]


def _segment(paragraph: str, offset: int) -> list[tuple[int, int]]:
    from syntok import segmenter

    starts = []
    for para in segmenter.analyze(paragraph):
        for sentence in para:
            if sentence:
                starts.append(sentence[0].offset)
    stripped_start = len(paragraph) - len(paragraph.lstrip())
    if not starts or starts[0] > stripped_start:
        starts.insert(0, stripped_start)  # text before syntok's first token still belongs somewhere
    starts = sorted(set(starts))
    bounds = starts + [len(paragraph)]
    spans = []
    for s, e in zip(bounds, bounds[1:]):
        piece = paragraph[s:e]
        e = s + len(piece.rstrip())
        s += len(piece) - len(piece.lstrip())
        if e > s:
            spans.append((offset + s, offset + e))
    return spans


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        piece_end = start + len(text[start:cut].rstrip())
        if piece_end > start:
            spans.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))
    return spans
