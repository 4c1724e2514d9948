"""Article text -> `Sentence`s with exact character offsets (`text[s.start:s.end]` is the sentence).

Segmentation is syntok's (chosen by measurement on news text: abbreviations such as "U.S.",
"Oct.", "D.C.", "p.m." and quotes attached to their sentence), followed by a post-pass that
re-joins what syntok splits after an abbreviation (`_rejoin`): a title ("Rep.", "Gen.", "Lt.")
never ends a sentence; a month ("Jan.", "Sept.") or "St." does not when a number or a name
follows; "No." does not before a number; "vs.", "e.g.", "i.e." never do; and the abbreviations
that can close a clause ("U.S.", "p.m.", "Inc.", "Jr.") end a sentence only before a capital
letter, so "... in the U.S. The next day ..." stays two sentences. The post-pass only re-joins,
never splits. Offsets are derived from where each
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
# The segmentation rules' version: an index split with other rules is rebuilt (qa.store.manifest).
SEGMENTER = "syntok-2"  # 2: abbreviations re-joined after syntok (`_rejoin`)
_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]*)*")
_TITLES = frozenset(["Rep.", "Reps.", "Sen.", "Sens.", "Gov.", "Gen.", "Gens.", "Lt.", "Col.", "Sgt.",
                     "Capt.", "Maj.", "Adm.", "Cmdr.", "Cpl.", "Pvt.", "Dr.", "Mr.", "Mrs.", "Ms.", "Messrs.",
                     "Prof.", "Rev.", "Hon.", "Supt.", "Insp.", "Det."])
_MONTHS = frozenset(["Jan.", "Feb.", "Mar.", "Apr.", "Jun.", "Jul.", "Aug.", "Sep.", "Sept.", "Oct.", "Nov.",
                     "Dec.", "St."])
_NEVER_LAST = frozenset(["vs.", "v.", "e.g.", "i.e."])
_CLAUSE_FINAL = frozenset(["U.S.", "U.K.", "U.N.", "U.S.A.", "a.m.", "p.m.", "Inc.", "Corp.", "Co.", "Ltd.",
                           "Jr.", "Sr."])
# Words that start sentences: after "Sept." or "St." they mean a real sentence end.
_STARTERS = frozenset(["The", "A", "An", "It", "He", "She", "They", "We", "I", "You", "This", "That", "These",
                       "Those", "There", "In", "On", "At", "But", "And", "Or", "So", "If", "When", "While",
                       "After", "Before", "Its", "His", "Her", "Their", "Our", "My"])
_LAST_TOKEN = re.compile(r"([^\s\"'“‘(\[]+)\s*$")


@dataclass(frozen=True, slots=True)
class Sentence:
    article_id: str
    ordinal: int
    start: int
    end: int
    content_hash: str


def split_sentences(article_id: str, text: str) -> list[Sentence]:
    """The sentences of `text`, paragraph by paragraph, in order; `text[s.start:s.end]` is each
    sentence exactly, only whitespace lies between two of them, and none is longer than
    `MAX_SENTENCE_CHARS` (a longer run is cut at a space)."""
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
    starts = _rejoin(paragraph, sorted(set(starts)))
    bounds = starts + [len(paragraph)]
    spans = []
    for s, e in zip(bounds, bounds[1:], strict=False):
        piece = paragraph[s:e]
        e = s + len(piece.rstrip())
        s += len(piece) - len(piece.lstrip())
        if e > s:
            spans.append((offset + s, offset + e))
    return spans


def _joins(before: str, after: str) -> bool:
    """Whether a sentence boundary between `before` and `after` is an abbreviation, not an end."""
    last = _LAST_TOKEN.search(before)
    word = after.lstrip().lstrip("\"'“‘(").split(maxsplit=1)
    if not last or not word:
        return False
    token, nxt = last.group(1), word[0]
    if token in _TITLES or token in _NEVER_LAST:
        return True
    if token in _MONTHS:
        return nxt[0].isdigit() or (nxt[0].isupper() and nxt.strip(".,;:") not in _STARTERS)
    if token == "No.":
        return nxt[0].isdigit()
    if token in _CLAUSE_FINAL:
        return not nxt[0].isupper()
    return False


def _rejoin(paragraph: str, starts: list[int]) -> list[int]:
    kept = starts[:1]
    for start in starts[1:]:
        if not _joins(paragraph[kept[-1]:start], paragraph[start:]):
            kept.append(start)
    return kept


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
