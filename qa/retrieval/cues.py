"""Answer cues: whether a sentence holds the kind of answer a question asks for.

A number, a date, a name or a reason that the question does not already contain; and, for a
figure asked with its unit ("How many times ..."), a figure written with that unit and of the
outcome asked ("10 times"; soldiers killed only when the question asks how many were killed).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from qa.figures import MONTH_NAMES, NUMBER_WORDS, SCALES, states_figure
from qa.question import MAX_PHRASE, AnswerType, Question
from qa.terms import WORD, fold, name_runs, term_set, terms

CUES = ("answer_type", "counted", "phrase", "novelty")  # the cues, in the order `fuse` adds them
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(" + "|".join([*NUMBER_WORDS, *SCALES, "half"]) + r")\b", re.I)
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_YEAR_OR_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b|\b("
                           + "|".join(w.capitalize() for w in MONTH_NAMES + _DAYS) + r")\b")
_CALENDAR = frozenset(w.lower() for w in MONTH_NAMES + _DAYS)
_LIST_MARKER = re.compile(r"^\s*\d{1,3}[.)]\s+")
_WHO = re.compile(r"^\s*(who|whom|whose)\b", re.I)
# The last word of a name that is a place or an organisation, not a person
_NOT_PEOPLE = frozenset(
    "county city state street road avenue square university college school court police department "
    "ministry council party league club hospital station airport river island park house center centre "
    "agency office committee commission board company group bank news times post herald press".split())
_REASON = re.compile(r"\b(because|due to|since|as a result|so that|in order to|in exchange for|"
                     r"the reason|owing to|thanks to|that is why)\b", re.I)
_PATTERNS = {AnswerType.NUMBER: _NUMBER, AnswerType.DATE: _YEAR_OR_DATE, AnswerType.REASON: _REASON}


def has_answer_type(sentence: str, question: Question, topic: frozenset[str] = frozenset()) -> bool:
    """Whether `sentence` holds a number / date / name / reason of the kind asked, not one the
    question has. A name counts when one of its words is neither in the question nor a `topic`
    term (one of the corpus's most common terms): in a corpus about one game, "Super Bowl" answers
    no "who" question."""
    kind, asked_text = question.answer_type, question.search_text
    if kind is None:
        return False
    if kind is AnswerType.NAME:  # a day or a month is capitalized, but names no one and no place
        asked = {fold(w).lower() for w in WORD.findall(asked_text)} | _CALENDAR
        runs = name_runs(sentence)
        if _WHO.match(asked_text):  # a person is asked for: "Wilson County" or "the Crown Court" is none
            runs = [r for r in runs if fold(r[-1]).lower() not in _NOT_PEOPLE]
        return any(fold(w).lower() not in asked and not set(terms(w)) <= topic for r in runs for w in r)
    asked = fold(asked_text).lower()
    sentence = _LIST_MARKER.sub("", sentence)  # "3. CVS/minuteclinic": an item's number is no figure
    return any(fold(m.group(0)).lower() not in asked for m in _PATTERNS[kind].finditer(sentence))


def counts_what_is_asked(sentence: str, question: Question) -> bool:
    """For a number question with a unit: the sentence states a figure of that unit and outcome."""
    return question.answer_type is AnswerType.NUMBER and bool(question.units) \
        and states_figure(sentence, question.units, question.outcome)


def answer_cues(texts: list[str], question: Question, topic: frozenset[str],
                names: Collection[str] = CUES) -> dict[str, list]:
    """The named cues (`CUES`) of each sentence, for the sentences checked."""
    out: dict[str, list] = {}
    if "answer_type" in names or "counted" in names:
        typed = [has_answer_type(t, question, topic) for t in texts]
        out["answer_type"] = typed
        if "counted" in names:
            out["counted"] = [ok and counts_what_is_asked(t, question)
                              for ok, t in zip(typed, texts, strict=True)]
    if "phrase" in names:
        out["phrase"] = [phrase(t, question) for t in texts]
    if "novelty" in names:
        asked = set(question.terms) | topic
        out["novelty"] = [novelty(t, asked) for t in texts]
    return out


def phrase(sentence: str, question: Question) -> float:
    """How long a run of the question's words the sentence holds word for word: 0 for none or one
    word, rising to 1 for five or more ("came under fire for the first time")."""
    if not question.grams:
        return 0.0
    words = [fold(w).lower() for w in WORD.findall(sentence)]
    longest = 1
    for n in range(min(MAX_PHRASE, len(words)), 1, -1):
        if any(tuple(words[i:i + n]) in question.grams for i in range(len(words) - n + 1)):
            longest = n
            break
    return (longest - 1) / (MAX_PHRASE - 1)


def novelty(sentence: str, asked: set[str]) -> float:
    """The share of the sentence's terms that are neither the question's nor the corpus's topic:
    near 0 for a sentence that only restates the question."""
    own = term_set(sentence)
    return len(own - asked) / len(own) if own else 0.0
