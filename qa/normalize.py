"""Text normalization for article bodies: whitespace, stray quote lines, paragraphs.

Meaning is kept: characters are never changed except whitespace and control characters. The
result has paragraphs separated by one blank line and single spaces inside paragraphs.
"""

from __future__ import annotations

import re
import unicodedata

# A line holding only closing punctuation (a scraper split `combat.` and its `"`) belongs to the
# line before it.
_DANGLING = re.compile(r"^[\"'”’»)\]]+[.,;:!?]*$")
# A line that stops mid-sentence (no closing punctuation) before a line that starts in lower case
# was wrapped, not ended: "...who in 2008, won the" / "Africa Movie Academy Award" is one paragraph.
_OPEN_END = re.compile(r"[\w,;\-–—]$")
_CONTINUED = frozenset(["a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and",
                        "or", "but", "nor", "as", "that", "which", "who", "whose", "whom", "than", "into",
                        "onto", "over", "under", "about"])
_NO_WORDS = re.compile(r"^[\W_]+$")  # "* * *", "---": separators, not text
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def strip_controls(text: str) -> str:
    """Drop control and format characters that carry no meaning in running text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    return "".join(" " if c in _CONTROL else c for c in text)


def normalize_text(text: str, *, lines_are_paragraphs: bool | None = None) -> str:
    """Normalize a body of text into clean paragraphs.

    `lines_are_paragraphs`: True treats every line as a paragraph (scraped news, the seed
    convention); False joins wrapped lines into blank-line separated paragraphs (Markdown,
    e-mail). None decides from the text: blank lines present means wrapped paragraphs.
    """
    text = unicodedata.normalize("NFC", strip_controls(text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    if lines_are_paragraphs is None:
        lines_are_paragraphs = "\n\n" not in "\n".join(lines).strip("\n")
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if _DANGLING.match(line) and (current or paragraphs):
            if current:
                current[-1] += line
            else:
                paragraphs[-1] += line
            continue
        if lines_are_paragraphs and not (current and _wrapped(current[-1], line)):
            if current:
                paragraphs.append(" ".join(current))
            current = [line]
        else:
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(p for p in paragraphs if not _NO_WORDS.match(p))


def _wrapped(line: str, following: str) -> bool:
    """Whether `following` continues the sentence that `line` leaves open: it starts in lower case,
    or `line` ends on a word no sentence or heading ends with ("the", "of", "and")."""
    if not _OPEN_END.search(line):
        return False
    last = line.rsplit(None, 1)[-1].lower()
    return following[:1].islower() or last in _CONTINUED

