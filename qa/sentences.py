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
from collections.abc import Callable
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 1200
SEGMENTER = "syntok-1"
_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]*)*")


@dataclass(frozen=True, slots=True)
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
    return cut_span(text, start, end, lambda piece: len(piece) <= MAX_SENTENCE_CHARS)


def cut_span(text: str, start: int, end: int, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Cut `text[start:end]` at spaces into the longest pieces that `fits` accepts (a single word
    too long is cut where it must). Only whitespace falls between pieces."""
    pieces: list[tuple[int, int]] = []
    while start < end:
        lo, hi = start + 1, end  # binary search for the longest fitting prefix
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(text[start:mid]):
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        if cut < end and not text[cut].isspace():
            space = text.rfind(" ", start + 1, cut + 1)
            cut = space if space > start else cut
        piece_end = start + len(text[start:cut].rstrip())
        if piece_end > start:
            pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    return pieces
