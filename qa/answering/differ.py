"""Whether the sources differ on the figure a question asks for, story by story.

The best sentences of each story (copies of one syndicated story are one story) that name at least
`MIN_TOPIC_SHARE` of the question's terms are read for figures of the unit asked; two stories
disagree when, for a unit and outcome both state, no value of one matches a value of the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.answering.select import Story
from qa.figures import Figure, differ, figures, normal_unit
from qa.question import Question
from qa.retrieval import ScoredSentence
from qa.terms import term_set

POOL = 6  # best passing sentences looked at for figures that differ
MIN_TOPIC_SHARE = 0.5  # a figure counts when its sentence names this share of the question's terms


@dataclass(frozen=True)
class Differing:
    """The unit the sources disagree on, and for each story its sentence and figure as written."""
    unit: str
    claims: list[tuple[ScoredSentence, str]]


def differing(question: Question, pool: list[ScoredSentence], story: Story) -> Differing | None:
    if not question.asks_figure:
        return None
    stated: dict[str, tuple[ScoredSentence, list[Figure]]] = {}
    topic = question.topic
    # Of a syndicated story, the copy that is cited states its figure (the one the answer quotes).
    for h in sorted(pool[:POOL], key=lambda h: h.article.id != story(h)):
        found = figures(h.text, question.units)
        about = {normal_unit(t) for t in term_set(h.text)}
        if found and story(h) not in stated and len(topic & about) >= MIN_TOPIC_SHARE * len(topic):
            stated[story(h)] = (h, found)
    entries = list(stated.values())
    for i, (_, a) in enumerate(entries):
        for _, b in entries[i + 1:]:
            key = differ(a, b)
            if key:
                return Differing(key[0], [(h, "; ".join(f.text for f in figs if f.key == key))
                                          for h, figs in entries if any(f.key == key for f in figs)])
    return None
