"""Text -> search terms for BM25: lower-cased words, English stop words dropped, light stemming.

Kept tiny and dependency-free so the same function tokenizes at index time and at query time.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves s t also said says
""".split())


def stem(word: str) -> str:
    """Plural and possessive endings only: 'troops' -> 'troop', 'forces' -> 'force'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    words = (w.replace("’", "'").lower() for w in _WORD.findall(text))
    return [stem(w.removesuffix("'s")) for w in words if w not in STOPWORDS]


# Answer types: what kind of thing a question asks for, and whether a sentence holds one that the
# question does not already contain.
_NUMBER_Q = re.compile(r"\b(how (many|much|long|old|far|big|large|often|tall|fast)|what (percentage|"
                       r"percent|number|amount|age|size|score)|by how)\b", re.I)
_DATE_Q = re.compile(r"\b(when|what (year|date|day|month|decade|century|time)|which (year|date|day|"
                     r"month|decade|century)|in what year)\b", re.I)
_NAME_Q = re.compile(r"\b(who|whom|whose|which (team|player|person|company|country|city|group|"
                     r"organization|network|university|school|band|artist)|what (team|player|company|"
                     r"country|city|network|organization|group|band|station|school))\b", re.I)
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|half)\b", re.I)
_YEAR_OR_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b|\b(January|February|March|April|May|June|July|"
                           r"August|September|October|November|December|Monday|Tuesday|Wednesday|"
                           r"Thursday|Friday|Saturday|Sunday)\b")
# A run of capitalized words (not the first word of a sentence): "Von Miller", "Levi's Stadium".
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’.-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’.-]*)*")


_REASON_Q = re.compile(r"^\s*(why|how come|for what reason|what (is|was) the reason)\b", re.I)
_REASON = re.compile(r"\b(because|due to|since|as a result|so that|in order to|in exchange for|"
                     r"the reason|owing to|thanks to|that is why)\b", re.I)


_CAPITALIZED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’.-]*")


def names(text: str) -> list[str]:
    """Terms of the capitalized words that do not start the text or a sentence: the names in it."""
    return [t for m in _CAPITALIZED.finditer(text.strip()) for t in terms(m.group(0))]


def answer_type(question: str) -> str | None:
    if _REASON_Q.search(question):
        return "reason"
    if _DATE_Q.search(question):
        return "date"
    if _NUMBER_Q.search(question):
        return "number"
    if _NAME_Q.search(question):
        return "name"
    return None


def has_answer_type(sentence: str, kind: str | None, question: str, topic: frozenset[str] = frozenset()) -> bool:
    """Whether `sentence` holds a number / date / name of the kind asked, not one the question has.

    A name counts when one of its words is neither in the question nor a `topic` term (one of the
    corpus's most common terms): in a corpus about one game, "Super Bowl" answers no "who" question.
    """
    if kind is None:
        return False
    if kind == "name":
        asked = {w.lower() for w in _WORD.findall(question)}
        return any(w.lower() not in asked and not set(terms(w)) <= topic
                   for m in _NAME.finditer(sentence) for w in _WORD.findall(m.group(0)))
    pattern = {"number": _NUMBER, "date": _YEAR_OR_DATE, "reason": _REASON}[kind]
    asked = question.lower()
    return any(m.group(0).lower() not in asked for m in pattern.finditer(sentence))
