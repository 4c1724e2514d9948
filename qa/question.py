"""A question, analysed once: what it asks for, what it is about, what it follows up.

`analyze(text, history)` returns a frozen `Question` that retrieval, the figure checks and the
answer read; nothing else parses a question. It knows nothing about an index: whether a question
about "the latest" state means anything depends on whether the corpus spans several dates, which
the caller says (`dated`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from qa.errors import QuestionError
from qa.figures import CURRENCIES, TOKEN, normal_unit, outcome_of, unit_of
from qa.terms import STOPWORDS, WORD, fold, names, terms

MAX_CHARS = 2000  # longer questions are cut
MAX_PHRASE = 5  # longest run of the question's words looked for, word for word, in a sentence


class AnswerType(Enum):
    """The kind of thing a question asks for."""
    REASON = "reason"
    DATE = "date"
    NUMBER = "number"
    NAME = "name"


MONEY = frozenset(CURRENCIES.values())
_REASON_Q = re.compile(r"^\s*(why|how come|for what reason|what (is|was) the reason)\b", re.I)
_DATE_Q = re.compile(r"\b(when|what (year|date|day|month|decade|century|time)|which (year|date|day|"
                     r"month|decade|century)|in what year)\b", re.I)
_NUMBER_Q = re.compile(r"\b(how (many|much|long|old|far|big|large|often|tall|fast)|what (percentage|"
                       r"percent|number|amount|age|size|score|share|proportion|fraction|price|cost)|"
                       r"(what|which) (is|was|are|were) the (price|cost)|by how)\b", re.I)
_NAME_Q = re.compile(r"\b(who|whom|whose|where|which (team|player|person|company|country|city|group|"
                     r"organization|network|university|school|band|artist)|what (team|player|company|"
                     r"country|city|network|organization|group|band|station|school))\b", re.I)
_FOLLOW_UP = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|this|these|those|"
                        r"there|such|the same|what about|how about|and what|what else)\b", re.I)
_LATEST = re.compile(r"\b(latest|most recent|newest|recent|recently|current|currently|now|today|so far|"
                     r"to date|as of|still|anymore|any more|update|updated)\b", re.I)
_COUNTED = re.compile(r"\b(?:estimate|figure|number|toll|count|total|tally)s? of\s+(.+)", re.I)
_CHANGE = re.compile(r"\b(ris|rose|grow|grew|fall|fell|increas|decreas|drop|jump|climb|declin|gain|lost|"
                     r"lose|shr[iu]nk|up|down)\w*", re.I)
_DISTANCE = frozenset({"km", "mile", "metre", "meter"})
_DURATION = frozenset({"day", "week", "month", "year", "hour", "minute"})
_QUESTION_WORDS = frozenset({"many", "much", "far", "long", "large", "big"})


@dataclass(frozen=True, kw_only=True)
class Question:
    text: str  # as asked: whitespace collapsed, cut to MAX_CHARS
    search_text: str  # what is searched: without its "latest" words when it asks for the latest
    context: str  # the earlier question this one follows up, or ""
    answer_type: AnswerType | None
    units: frozenset[str] | None  # units of the figure asked for: empty = none, None = any unit
    outcome: str | None  # what happened to what it counts ("killed"), if it says
    topic: frozenset[str]  # its terms as figure units: what a figure's sentence must be about
    asks_latest: bool  # it asks for the latest or current state, and the corpus spans dates
    grams: frozenset[tuple[str, ...]]  # its runs of 2..MAX_PHRASE words holding a content word

    @property
    def queries(self) -> tuple[str, ...]:
        """What retrieval searches: the question, and with its context when it follows one up."""
        return (self.search_text,) + ((f"{self.context} {self.search_text}",) if self.context else ())

    @property
    def terms(self) -> list[str]:
        """The BM25 terms of the last query (with the context): what coverage is measured on."""
        return terms(self.queries[-1])

    @property
    def names(self) -> list[str]:
        """The names (capitalized words) of the last query: those the corpus never mentions count
        against answering."""
        return names(self.queries[-1])

    @property
    def asks_figure(self) -> bool:
        return self.units is None or bool(self.units)


def analyze(text: str, history: Sequence[str] = (), *, dated: bool = True) -> Question:
    """The question `text`, after the earlier questions `history` (oldest first). `dated`: whether
    the corpus spans several dates; only then does asking for "the latest" change the question."""
    text = normalize(text)
    latest = dated and asks_latest(text)
    search = (_LATEST.sub(" ", text).strip() or text) if latest else text
    kind = answer_type(search)
    previous = [h for h in history if h.strip()]
    return Question(text=text, search_text=search,
                    context=previous[-1] if previous and needs_context(text) else "",
                    answer_type=kind, units=asked_units(search, kind), outcome=_outcome(search),
                    topic=frozenset(normal_unit(t) for t in terms(search)) - _QUESTION_WORDS,
                    asks_latest=latest, grams=_grams(search))


def history_questions(history: object) -> list[str]:
    """The earlier questions of a conversation, oldest first, from a list of strings or of chat
    messages ({"role": "user", "content": ...}, content a string or a list of text parts, as chat
    clients send them; the assistant's turns are left out). Anything else is refused, naming the
    shape expected."""
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise QuestionError(f"history must be a list of earlier questions, got {type(history).__name__}")
    out = []
    for i, item in enumerate(history):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("role"), str) and "content" in item:
            if item["role"] == "user":
                out.append(_content_text(item["content"], i))
        else:
            raise QuestionError(f"history item {i} must be a string or a chat message "
                                '{"role": "user", "content": "..."}')
    return out


def _content_text(content: object, i: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return " ".join(str(p.get("text", "")) for p in content if p.get("type", "text") == "text")
    raise QuestionError(f"history item {i}: content must be a string or a list of text parts")


def normalize(text: str) -> str:
    """Whitespace collapsed, cut to MAX_CHARS."""
    return " ".join(text.split())[:MAX_CHARS]


def is_blank(text: str) -> bool:
    """Nothing to search for: no word at all."""
    return not terms(text) and not re.search(r"\w", text)


def _grams(text: str) -> frozenset[tuple[str, ...]]:
    words = [fold(w).lower() for w in WORD.findall(text)]
    content = [w not in STOPWORDS and w not in _QUESTION_WORDS for w in words]
    return frozenset(tuple(words[i:i + n]) for n in range(2, MAX_PHRASE + 1)
                     for i in range(len(words) - n + 1) if any(content[i:i + n]))


def asks_latest(text: str) -> bool:
    """Whether the text asks for the latest or current state of things."""
    return bool(_LATEST.search(text))


def needs_context(text: str) -> bool:
    """Short questions or ones leaning on an earlier turn (pronouns, "what about ...")."""
    return len(terms(text)) <= 2 or bool(_FOLLOW_UP.search(text))


def answer_type(text: str) -> AnswerType | None:
    if _REASON_Q.search(text):
        return AnswerType.REASON
    if _DATE_Q.search(text):
        return AnswerType.DATE
    if _NUMBER_Q.search(text):
        return AnswerType.NUMBER
    if _NAME_Q.search(text):
        return AnswerType.NAME
    return None


def asked_units(text: str, kind: AnswerType | None) -> frozenset[str] | None:
    """The units of the figure `text` asks for; an empty set when it asks for none, None for any."""
    q = text.lower()
    if kind is AnswerType.DATE:
        return frozenset({"date", "year"})
    counted = _COUNTED.search(text)
    if kind is not AnswerType.NUMBER and not counted:
        return frozenset()
    if re.search(r"\bhow far\b", q):
        return _DISTANCE
    if re.search(r"\bhow long\b", q):
        return _DISTANCE | _DURATION
    if re.search(r"\b(percent|percentage|share|rate)\b", q) \
            or (re.search(r"\bhow much\b", q) and _CHANGE.search(q)):
        return frozenset({"%"})
    if re.search(r"\bhow (much|large|big)\b|\b(cost|worth|spend|spent|budget|price)\b", q):
        return MONEY
    many = re.search(r"\bhow many\s+(.+)", text, re.I) or counted
    if many:
        unit = unit_of(TOKEN.findall(many.group(many.lastindex or 0)))
        return frozenset({unit}) if unit else None
    return None


def _outcome(text: str) -> str | None:
    """What happened to what the question counts ("How many soldiers were killed?": "killed")."""
    return outcome_of(t.lower() for t in TOKEN.findall(text))
