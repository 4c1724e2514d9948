"""Figures stated in text: numbers with the unit they count, amounts, shares and dates.

A figure is read with its unit (the noun it counts, normalized: "soldiers" and "troops" are one
unit; "$", "%", "km", "date", "year") and, when a word near it says so, the outcome of what it
counts ("killed", "destroyed"): 100 soldiers killed and 10,000 soldiers deployed count different
things. `differ` says whether two sources' figures contradict. Rule-based on purpose: every call
can be checked by reading the sentence. This module reads text only; which question asks for which
figures is `qa.question`'s, which sources disagree is `qa.answering`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from qa.terms import STOPWORDS, stem, term_set

TOKEN = re.compile(r"[$€£₹¥]|\d[\d,.]*\w*|\w+(?:[-'’]\w+)*|%|[^\w\s]", re.UNICODE)
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven "
                                           "twelve thirteen fourteen fifteen sixteen seventeen eighteen "
                                           "nineteen twenty".split())} | {
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "dozen": 12}
SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9}
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december")
_MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES)}
_MONTHS |= {m[:3]: n for m, n in _MONTHS.items()} | {"sept": 9}
# One unit for words news uses interchangeably for the same thing counted.
_SYNONYMS = {"soldier": "troop", "force": "troop", "personnel": "troop", "serviceman": "troop",
             "percent": "%", "per": "%", "kilometre": "km", "kilometer": "km", "mile": "mile",
             "dollar": "$", "usd": "$", "euro": "€", "pound": "£", "rupee": "₹", "yen": "¥", "yuan": "¥"}
# Currencies written before the amount, as symbols or abbreviations ("Rs 42,900", "INR 500")
CURRENCIES = {"$": "$", "€": "€", "£": "£", "₹": "₹", "¥": "¥", "rs": "₹", "inr": "₹", "usd": "$",
              "eur": "€", "gbp": "£"}
_MAX_UNIT_WORDS = 4
# Words near a figure that say what happened to what it counts: figures of different outcomes count
# different things and are never compared.
_OUTCOMES = {w: "killed" for w in ("killed", "dead", "died", "deaths", "death")} | {
    w: "wounded" for w in ("wounded", "injured")} | {"casualties": "casualties"} | {
    w: "captured" for w in ("captured", "prisoners", "prisoner")} | {"missing": "missing"} | {
    w: "destroyed" for w in ("destroyed", "downed", "lost")} | {
    w: "delivered" for w in ("delivered", "received")}
# Words that end the noun phrase after a figure besides STOPWORDS: "nine times since 2010" counts times.
_ENDS_UNIT = STOPWORDS | frozenset("""since ago among amid despite including across within without toward
towards via along around near beyond behind upon onto versus though although yet instead like
unlike""".split())
OUTCOME_WINDOW = 5  # tokens looked at on each side of a figure
TOLERANCE = 0.01  # relative: figures closer than this are the same figure


@dataclass(frozen=True)
class Figure:
    value: float | str  # a number, or "MM-DD" / "YYYY" for dates
    unit: str | None  # normalized unit ("troop", "$", "%", "km", "date", "year"); None if unknown
    text: str  # as written in the sentence
    outcome: str | None = None  # what happened to what is counted ("killed", "destroyed"), if said

    @property
    def key(self) -> tuple[str | None, str | None]:
        """Figures with the same key count the same thing and can be compared."""
        return self.unit, self.outcome


def outcome_of(words: Iterable[str]) -> str | None:
    """The first outcome word among `words` (lower case), normalized: "dead" -> "killed"."""
    return next((_OUTCOMES[w] for w in words if w in _OUTCOMES), None)


def unit_of(tokens: list[str]) -> str | None:
    """The unit a noun phrase counts: its last word, stemmed and normalized ("North Korean
    soldiers" -> "troop"); None when the tokens start with no noun phrase."""
    run = _run([t.lower() for t in tokens])
    return normal_unit(stem(run[-1])) if run else None


def normal_unit(term: str) -> str:
    """One name for units news uses interchangeably ("soldier" and "troop")."""
    return _SYNONYMS.get(term, term)


def states_figure(sentence: str, units: frozenset[str], outcome: str | None) -> bool:
    """Whether `sentence` states a figure written with one of `units` ("10 times", not a bare "10"
    in a sentence that says "times" elsewhere) and of `outcome`."""
    return any(f.unit in units and f.outcome == outcome for f in figures(sentence))


def figures(sentence: str, units: frozenset[str] | None = None) -> list[Figure]:
    """The figures in `sentence`, restricted to `units` when given (None: every figure).

    A figure whose unit is not written next to it ("some 10,000 of them") takes the unit asked
    for, if the sentence names that unit elsewhere.
    """
    tokens = list(TOKEN.finditer(sentence))
    lower = [t.group(0).lower().rstrip(".,") for t in tokens]
    named = {normal_unit(t) for t in term_set(sentence)}
    out: list[Figure] = []
    used: set[int] = set()
    for i, w in enumerate(lower):
        if i in used:
            continue
        date = _date_at(lower, i)
        if date:
            value, width = date
            used.update(range(i, i + width))
            out.append(Figure(value, "year" if len(value) == 4 else "date",
                              _span(sentence, tokens, i, i + width)))
            continue
        value = _number(w)
        if value is None or (i + 1 < len(lower) and lower[i + 1] in ("th", "st", "nd", "rd")):
            continue
        first, j, unit, value = _figure_at(lower, i, value)
        if unit is None and units:
            unit = next((u for u in sorted(units) if u in named), None)
        used.update(range(i, j))
        outcome = outcome_of(lower[max(0, first - OUTCOME_WINDOW):j + OUTCOME_WINDOW])
        out.append(Figure(value, unit, _span(sentence, tokens, first, j), outcome))
    return [f for f in out if units is None or f.unit in units]


def _figure_at(lower: list[str], i: int, value: float) -> tuple[int, int, str | None, float]:
    """The figure whose number is token i: (first token, end token, unit, value with its scale)."""
    first, j = i, i + 1
    before = i - 2 if i > 1 and lower[i - 1] == "" else i - 1  # "Rs. 42,900" (its "." is stripped)
    currency = CURRENCIES.get(lower[before]) if before >= 0 else None
    if currency:
        first = before
    if j < len(lower) and lower[j] in SCALES:
        value *= SCALES[lower[j]]
        j += 1
    if j < len(lower) and (lower[j] == "%" or lower[j] in ("percent", "pct")):
        return first, j + 1, "%", value
    if j + 1 < len(lower) and lower[j] == "per" and lower[j + 1] == "cent":
        return first, j + 2, "%", value
    if currency:
        return first, j, currency, value
    rest = lower[j:]
    if rest[:1] == ["of"]:  # "8,000 of the troops", "some 10,000 of them"
        rest = rest[2:] if rest[1:2] == ["the"] else []
    run = _run(rest)
    unit = unit_of(run)
    return first, j + (len(run) if lower[j:j + 1] != ["of"] else 0), unit, value


def differ(a: list[Figure], b: list[Figure]) -> tuple[str, str | None] | None:
    """The (unit, outcome) on which two sources' figures contradict: both state it, with no value
    in common. 100 soldiers killed do not contradict 10,000 soldiers deployed."""
    keys = {f.key for f in a if f.unit} & {f.key for f in b if f.unit}
    for key in sorted(keys, key=str):
        if not any(_same(x.value, y.value) for x in a if x.key == key for y in b if y.key == key):
            return key
    return None


def _same(x: float | str, y: float | str) -> bool:
    if isinstance(x, str) or isinstance(y, str):
        return x == y
    return abs(x - y) <= TOLERANCE * max(abs(x), abs(y))


def _number(word: str) -> float | None:
    if _NUMBER.fullmatch(word):
        return float(word.replace(",", ""))
    return float(NUMBER_WORDS[word]) if word in NUMBER_WORDS else None


def _date_at(lower: list[str], i: int) -> tuple[str, int] | None:
    """A date starting at token i: "November 20", "Nov. 20", "20 November", or a year 1900-2099."""
    w = lower[i]
    nxt = lower[i + 1] if i + 1 < len(lower) else ""
    if w in _MONTHS and nxt.isdigit() and 1 <= int(nxt) <= 31:
        return f"{_MONTHS[w]:02d}-{int(nxt):02d}", 2
    if w.isdigit() and 1 <= int(w) <= 31 and nxt in _MONTHS:
        return f"{_MONTHS[nxt]:02d}-{int(w):02d}", 2
    if len(w) == 4 and w.isdigit() and 1900 <= int(w) <= 2099 and nxt not in SCALES and nxt != "%":
        return w, 1
    return None


def _run(words: list[str]) -> list[str]:
    """The noun phrase a figure counts: the words after it up to a function word or a verb."""
    run = []
    for w in words[:_MAX_UNIT_WORDS]:
        if not re.fullmatch(r"[a-z][\w'’-]*", w) or w in _ENDS_UNIT or w.endswith(("ed", "ing", "ly")):
            break
        run.append(w)
    return run


def _span(sentence: str, tokens: list[re.Match[str]], first: int, end: int) -> str:
    end = max(end, first + 1)
    return sentence[tokens[first].start():tokens[min(end, len(tokens)) - 1].end()].rstrip(".,")
