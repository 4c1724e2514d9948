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
        if lines_are_paragraphs:
            if current:
                paragraphs.append(" ".join(current))
            current = [line]
        else:
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
