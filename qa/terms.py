"""Text -> search terms for BM25: lower-cased words with their accents folded ("Zürich" and
"Zurich" are one term), English stop words dropped, light stemming.

Kept tiny and dependency-free so the same function tokenizes at index time and at query time.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

WORD = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)
STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
                       "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
                       "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
                       "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
                       "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into",
                       "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor",
                       "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
                       "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
                       "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
                       "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
                       "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
                       "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "s",
                       "t", "also", "said", "says"])
# A run of capitalized words that does not start the text or a sentence: "Von Miller",
# "Levi's Stadium", "University of Notre Dame".
NAME_RUN = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’.-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’.-]*)*")


# Letters that carry no combining mark to drop (what Lucene's ASCIIFoldingFilter also folds).
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i"})


def fold(text: str) -> str:
    """`text` without diacritics: "São Paulo café" -> "Sao Paulo cafe"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Plural and possessive endings only: 'troops' -> 'troop', 'forces' -> 'force'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The BM25 terms of `text`, in order (repeats kept)."""
    words = (fold(w).replace("’", "'").lower() for w in WORD.findall(text))
    return [stem(w.removesuffix("'s")) for w in words if w not in STOPWORDS]


@lru_cache(maxsize=4096)
def term_set(text: str) -> frozenset[str]:
    """The distinct terms of `text`, remembered for recent texts: answering reads the terms of the
    same candidate sentences several times a question, and again for the next questions."""
    return frozenset(terms(text))


def name_runs(text: str) -> list[list[str]]:
    """The names in `text`, each as its words: runs of capitalized words that do not start the text
    or a sentence ("Von Miller", "University of Notre Dame")."""
    return [WORD.findall(m.group(0)) for m in NAME_RUN.finditer(text)]


def name_words(text: str) -> list[str]:
    """The words of the names in `text` (`name_runs`), one list."""
    return [w for run in name_runs(text) for w in run]


def names(text: str) -> list[str]:
    """The BM25 terms of the names in `text`."""
    return [t for w in name_words(text.strip()) for t in terms(w)]


def reads_as_english(text: str, sample: int = 3000) -> bool:
    """Whether `text` reads as English: at least a fifth of its words (in its first `sample`
    characters) are English function words, as in any English prose."""
    words = [w.lower() for w in WORD.findall(text[:sample])]
    return len(words) >= 5 and sum(w in STOPWORDS for w in words) >= 0.2 * len(words)
