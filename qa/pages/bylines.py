"""Bylines -> author names: "By Rob Picheta, CNN" -> ("Rob Picheta",).

Sources are tried in order (JSON-LD authors and <meta> authors, then a visible byline under the
headline, then bylines found in the article text, then trafilatura's guess); the first source
that names a person wins. A source naming only an organisation (a wire agency, "Staff Report",
the outlet itself) is kept only when no source names a person, since it is then the page's only
credit. The order was chosen by measurement (benchmarks/results/realnews.md).
"""

from __future__ import annotations

import re

_LEAD = re.compile(r"^\s*(?:(?:analysis|commentary|opinion|story|text|words|article|posted|published|written"
                   r"|reported|photos?)\s+)?by\s*[:\-]?\s+|^\s*(?:authors?|written by|credit)\s*:\s*",
                   re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:[,;&|/]|\band\b)\s*", re.IGNORECASE)
_TAIL = re.compile(r"\s+(?:on|at|published|updated|posted)\b.*$|\s*\(.*?\)|\s*[-–—|•·]\s*$|\S+@\S+"
                   r"|\bemail\b.*$",
                   re.IGNORECASE)
_JUNK = re.compile(r"^(?:no author|unknown|anonymous|admin|administrator|agenc(?:y|ies)|staff|editor|editors"
                   r"|guest|null|none|n/a|by|credits?)$", re.IGNORECASE)  # "Credit": a caption's label
_NAME = re.compile(r"^\w[\w .'’-]*$")
_ROLE = re.compile(r"\b(?:analyst|correspondent|reporter|editor|writer|contributor|columnist|producer"
                   r"|photographer|intern|bureau|chief)\b", re.IGNORECASE)
_DATEISH = re.compile(r"\d{1,2}[:/.]\d|\d{4}"
                      r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d",
                      re.IGNORECASE)
_BYLINE_TEXT = re.compile(r"^\s*(?:(?:written|posted|published|article|words|story)\s+)?by\b\s*:?\s*\S",
                          re.IGNORECASE)
_BYLINE_CLASS = re.compile(r"byline|author|credit|publisher|writer|wrote", re.IGNORECASE)
_NOT_BYLINE = re.compile(r"©|\b(?:image|photo|photograph|picture|getty|shutterstock|alamy|istock|reuters/"
                         r"|ap photo)\b", re.IGNORECASE)


def _compact(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def split_byline(byline: str) -> list[str]:
    """Names in one byline, "By", dates, e-mail addresses and bracketed notes removed."""
    text = _LEAD.sub("", " ".join(byline.split()))
    names = []
    for part in _SPLIT.split(text):
        part = _LEAD.sub("", _TAIL.sub("", part)).strip(" -–—:|.,") if part else ""
        part = part if not part.endswith(".") or len(part.split()[-1]) <= 2 else part.rstrip(".")
        if part and _NAME.match(part) and not _JUNK.match(part) and not _DATEISH.search(part) \
                and len(part.split()) <= 6:
            names.append(part)
    return names


def _is_organisation(name: str, outlets: set[str]) -> bool:
    compact = _compact(name)
    return compact in outlets or any(compact.startswith(o) for o in outlets if len(o) > 2) \
        or bool(_ROLE.search(name)) or "staff" in name.casefold()


def people_first(names: list[str], outlets: set[str]) -> tuple[list[str], bool]:
    """`names` without the outlet, desks and job titles when a person remains; and whether one does."""
    people = [n for n in names if not _is_organisation(n, outlets)]
    return (people, True) if people else (names, False)


def visible_bylines(tree, headline: str) -> list[str]:
    """Byline-like texts shortly after the page's headline element (<h1>)."""
    elements = list(tree.iter())
    start = next((i for i, e in enumerate(elements) if e.tag == "h1" and headline
                  and headline in " ".join(e.text_content().split())), None)
    if start is None:
        return []
    found = []
    for element in elements[start + 1:start + 80]:
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "noscript"):
            continue
        text = " ".join(element.text_content().split())
        if not text or len(text) > 120 or _NOT_BYLINE.search(text):
            continue
        marks = f"{element.get('class', '')} {element.get('id', '')} {element.get('rel', '')}"
        marked = _BYLINE_CLASS.search(marks) and "comment" not in marks.casefold()
        if _BYLINE_TEXT.match(text) or (marked and len(text) <= 60):
            found.append(text)
    return found


def _names_of(source: list[str], outlets: set[str]) -> tuple[list[str], bool]:
    """(names, names a person) for one source; a source naming only the outlet keeps its name whole."""
    if source and all(_compact(b) in outlets for b in source):
        return [" ".join(source[0].split())], False  # "Jobs & Hire" is one name, the outlet's
    names = list(dict.fromkeys(n for byline in source for n in split_byline(byline)))
    return people_first(names, outlets) if names else ([], False)


def clean_authors(declared: list[list[str]], tree, outlet: str, doc, *, headline: str = "",
                  body_bylines: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The page's authors, as people where the page names any (see the module docstring).
    `declared`: the names of each declaring source (JSON-LD, <meta>), in order of trust."""
    outlets = {_compact(outlet)} - {""}
    visible = [[b] for b in dict.fromkeys(visible_bylines(tree, headline))]
    sources = [*declared, *visible, *([b] for b in body_bylines)]
    found = [_names_of(source, outlets) for source in sources]
    people = [names for names, person in found if person]
    if people:
        # Sources disagree at times (a CMS account in JSON-LD, the reporters in the byline): the
        # names that most sources give win, the most trusted source breaking a tie.
        keys = [frozenset(n.casefold() for n in names) for names in people]
        return tuple(max(people, key=lambda names: keys.count(frozenset(n.casefold() for n in names))))
    fallback = next((names for names, _ in found if names), [])
    # trafilatura's own guess is the last resort: it also picks up commenters' names.
    guess = [a for a in (getattr(doc, "author", "") or "").split(";") if a.strip()]
    return tuple(fallback or _names_of(guess, outlets)[0])
