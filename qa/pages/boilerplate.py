"""Line rules for extracted news text: which paragraphs are page furniture, not the article.

trafilatura finds the main block of a page; what it lets through is mostly short lines of
furniture inside that block: "Read more: ..." links, sign-up and app promos, share/follow lines,
photo captions and credits, bylines, comment prompts, copyright notices, gallery controls and
embedded posts. Each rule here names one such kind; a rule is kept only if it helps on the
realnews pages as a whole (benchmarks/results/realnews.md, `--ablate`). Rules look at words and
shapes of a line, never at a site's name or markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    max_chars: int  # only paragraphs up to this long can match: long ones are prose


def _rule(name: str, pattern: str, max_chars: int = 250) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE), max_chars)


_SOCIAL = r"(?:twitter|facebook|instagram|linkedin|youtube|tiktok|whatsapp|telegram|threads|x\.com)"
RULES: tuple[Rule, ...] = (
    _rule("read_more",
          r"^\s*(?:read|read more|more|related|see also|also read|also see|recommended|watch|listen"
          r"|more on this|further reading|trending|most read|popular)\s*(?::|\||»|>|-|–)\s*\S"),
    _rule("promo",
          r"\bsign up\b|\bsubscribe\b|\bnewsletters?\b|\bdownload (?:the|our)\b.*\bapps?\b"
          r"|\bfor the full story\b|\bapp store\b|\bgoogle play\b|\bios and android\b"
          r"|\bget (?:the|our) (?:free )?app\b|\bsubscri(?:ber|ption)s? (?:only|exclusive)\b", 200),
    _rule("share_follow",
          rf"^\s*(?:share|follow|like us|tweet|email|print|pin it|share this)\b.{{0,80}}$"
          rf"|\bfollow (?:us|\w+(?: \w+)?) on {_SOCIAL}\b|\bon {_SOCIAL} (?:and|or) {_SOCIAL}\b", 320),
    _rule("caption_credit",
          r"^\s*\(?(?:photo|image|picture|photograph|credit|illustration|file photo|video)s?"
          r"(?: credit)?\s*(?::|by\b|©)|©|\((?:photo|image|credit)[^)]*\)\s*$"
          r"|(?:getty images|shutterstock|ap photo|afp via getty|/afp|/reuters)\s*\)?\s*$", 160),
    _rule("byline",
          r"^\s*(?:by|written by|words by|article by|posted by|published by|reporting by|courtesy of)"
          r"\s*:?\s+\S+(?:\s+\S+){0,7}\s*$|^\s*write to\b.*@|^\s*(?:contact|email)\b.*@", 120),
    _rule("comments",
          r"\b(?:leave a comment|leave a reply|post a comment|comments? (?:are|is) (?:moderated|closed)"
          r"|to leave a comment|log ?in to comment|join the (?:conversation|discussion)"
          r"|comment policy|be the first to comment|comments? may be republished)\b|^\s*reply\s*$", 200),
    _rule("copyright",
          r"\ball rights reserved\b|\bcopyrighted property\b|\bwritten permission\b"
          r"|\bmay not be (?:re)?published\b|\bwithout (?:prior )?permission\b", 400),
    _rule("gallery",
          r"^\s*(?:show all \d+|\d+ (?:photos|images|pictures)|view (?:gallery|slideshow|all photos)"
          r"|(?:next|previous|prev) (?:slide|image|photo)|image \d+ of \d+|\d+\s*/\s*\d+)\s*$", 60),
    _rule("embedded_post",
          r"pic\.twitter\.com/|\bt\.co/|—\s*[^—()]{1,60}\(@\w+\)\s*\w+ \d{1,2}, \d{4}"
          r"|a post shared by\b", 400),
    _rule("bare_link", r"^\s*(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+/?\S*\s*$", 80),
    _rule("label_only", r"^\s*[\w ]{2,30}:\s*$", 32),
)
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def mixed_script(paragraph: str) -> bool:
    """A word spelt with both Latin and Cyrillic letters: disguised promo text, never prose."""
    return any(_LATIN.search(w) and _CYRILLIC.search(w) for w in paragraph.split())


def furniture(paragraph: str, rules: tuple[Rule, ...] | None = None) -> str:
    """The name of the first rule that marks `paragraph` as page furniture, "" for prose."""
    if mixed_script(paragraph):
        return "mixed_script"
    for rule in RULES if rules is None else rules:
        if len(paragraph) <= rule.max_chars and rule.pattern.search(paragraph):
            return rule.name
    return ""
