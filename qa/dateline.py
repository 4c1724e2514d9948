"""Leading datelines of news text: "WASHINGTON —", "KYIV, Ukraine (AP) —", "(Reuters) -", "LONDON:",
"Washington, (Agency - 31st Oct, 2024)".

`split_dateline` finds one at the start of a paragraph and says where the sentence after it
starts; it works on plain text as well as on extracted HTML. It only recognises the shapes
above (a place in capitals followed by a dash or colon, or any place followed by a bracketed
agency credit), so ordinary sentence starts ("WASHINGTON state lawmakers said", "U.S. officials
said", "NATO leaders met") are left alone. It has no list of places and does not check that the
place exists.
"""

from __future__ import annotations

import re

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# A word of a place in capitals: KYIV, MIAMI-DADE, ST. LOUIS, FLA., N.Y.
_UPPER_WORD = r"[A-Z][A-Z'’.]*(?:-[A-Z][A-Z'’.]*)*"
_ANY_WORD = r"[A-Z][\w'’.]*(?:-[A-Z][\w'’.]*)*"
# ", Ukraine" / ", FLA." / ", N.Y." after the city
_REGION = rf"(?:,\s*{_ANY_WORD}(?:\s+{_ANY_WORD}){{0,2}})?"
_DATE = rf"(?:,?\s+{_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?)?"
_AGENCY = r"\(\s*[A-Z][^()\n]{1,90}\)"
# A dash needs a space on at least one side, so "WASHINGTON-based" is no dateline.
_DASH = r"(?:\s+(?:—|–|--?)\s*|(?:—|–|--)\s*)"
_SEP = rf"(?:{_DASH}|\s*:\s*)"

_UPPER_PLACE = re.compile(rf"(?P<place>{_UPPER_WORD}(?:\s+{_UPPER_WORD}){{0,4}}{_REGION}){_DATE}"
                          rf"(?:\s*{_AGENCY})?{_SEP}")
_AGENCY_ONLY = re.compile(rf"{_AGENCY}{_SEP}")
# The credit may touch the sentence's first word, as some outlets print it: "London (CNN)It was".
_PLACE_AND_AGENCY = re.compile(rf"(?P<place>{_ANY_WORD}(?:\s+{_ANY_WORD}){{0,3}}{_REGION}){_DATE},?\s*"
                               rf"{_AGENCY}(?:{_SEP}|\s+|(?=[A-Z]))")


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def split_dateline(paragraph: str) -> tuple[str, int]:
    """(place, offset of the text after the dateline and its separator); ("", 0) when there is
    none. An agency-only dateline ("(Reuters) - ...") has an empty place and a positive offset."""
    lead = len(paragraph) - len(paragraph.lstrip())
    text = paragraph[lead:]
    for pattern in (_AGENCY_ONLY, _PLACE_AND_AGENCY, _UPPER_PLACE):
        match = pattern.match(text)
        if not match:
            continue
        rest = text[match.end():]
        place = match.groupdict().get("place") or ""
        if not rest or rest[0].islower() or (place and _letters(place) < 2):
            continue  # a dateline is followed by a sentence, and a place has letters
        if pattern is _UPPER_PLACE and ":" in text[len(place):match.end()] and _letters(place) < 4:
            continue  # "FBI: ..." or "CEO: ..." is a label, not a city
        return place.strip().rstrip(","), lead + match.end()
    return "", 0
