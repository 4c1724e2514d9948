"""Which sentences an answer quotes, and whether sources differ: unit tests on hand-made hits."""

from __future__ import annotations

from datetime import date

from qa.answering.differ import differing
from qa.answering.select import diverse, passing
from qa.articles import Article
from qa.question import analyze
from qa.retrieval import ScoredSentence


def _article(article_id: str, day: date | None = None, outlet: str = "Wire") -> Article:
    return Article(id=article_id, title=article_id, published=day, source=outlet, authors=(), place="",
                   language="en", location=article_id, url="", standfirst="", text="", headings=(),
                   content_hash=article_id)


def _hit(row: int, text: str, article: Article, confidence: float = 1.0) -> ScoredSentence:
    return ScoredSentence(row=row, article=article, ordinal=row, start=0, end=len(text), text=text,
                          score=confidence, confidence=confidence, relevance=confidence, coverage=0.0)


def _own_story(hit: ScoredSentence) -> str:
    return hit.article.id


def test_nothing_passes_unless_the_best_ranked_does():
    a = _article("a")
    hits = [_hit(0, "Best ranked.", a, 0.3), _hit(1, "Second.", a, 0.9)]
    assert passing(hits, 0.41) == []  # the ranking decides; a later sentence cannot rescue it
    hits = [_hit(0, "Best ranked.", a, 0.5), _hit(1, "Weak.", a, 0.2), _hit(2, "Strong.", a, 0.8)]
    assert [h.row for h in passing(hits, 0.41)] == [0, 2]


def test_near_duplicates_are_quoted_once_and_k_is_kept():
    a, b = _article("a"), _article("b")
    hits = [_hit(0, "Some 10,000 North Korean troops are in Russia, officials said.", a),
            _hit(1, "Some 10,000 North Korean troops are in Russia, officials said on Monday.", b),
            _hit(2, "Kim said the deployment could escalate threats.", a),
            _hit(3, "Austin called for a withdrawal.", b)]
    chosen = diverse(hits, 2, _own_story)
    assert [h.row for h in chosen] == [0, 2]


def test_the_cited_copy_of_a_syndicated_story_is_the_one_quoted():
    wire, copy = _article("wire", date(2024, 11, 4)), _article("copy", date(2024, 11, 5), "Courier")
    story = {"wire": "wire", "copy": "wire"}
    hits = [_hit(0, "About 8,000 soldiers moved toward the front line, the agency said.", copy),
            _hit(1, "About 8,000 soldiers have moved toward the front line, the spy agency said.", wire)]
    chosen = diverse(hits, 3, lambda h: story[h.article.id])
    assert [h.article.id for h in chosen] == ["wire"]


def test_sources_differ_on_the_unit_asked_and_copies_never_differ():
    q = analyze("How many North Korean troops are in Russia?")
    a, b = _article("a", date(2024, 10, 31)), _article("b", date(2024, 11, 5))
    pool = [_hit(0, "Washington says 10,000 North Korean troops are in Russia.", a),
            _hit(1, "About 8,000 North Korean troops are in Russia, the Pentagon said.", b)]
    found = differing(q, pool, _own_story)
    assert found is not None and found.unit == "troop"
    assert [figure for _, figure in found.claims] == ["10,000 North Korean troops",
                                                      "8,000 North Korean troops"]
    assert differing(q, pool, lambda h: "one story") is None  # copies of one story


def test_no_disagreement_without_a_figure_question_or_on_other_counts():
    a, b = _article("a"), _article("b")
    pool = [_hit(0, "10,000 North Korean troops are in Russia.", a),
            _hit(1, "About 100 North Korean troops in Russia were killed.", b)]
    assert differing(analyze("What did Austin say about the North Korean troops in Russia?"), pool,
                     _own_story) is None
    assert differing(analyze("How many North Korean troops are in Russia?"), pool, _own_story) is None
    off_topic = [_hit(0, "10,000 North Korean troops are in Russia.", a),
                 _hit(1, "8,000 tourists visited.", b)]
    assert differing(analyze("How many North Korean troops are in Russia?"), off_topic,
                     _own_story) is None


class _Vectors:
    """Sentence vectors by row, for `varied`."""

    def __init__(self, vectors: dict[int, list[float]]):
        self.vectors = vectors

    def sentence_vectors(self, rows):
        import numpy as np

        v = np.array([self.vectors[int(r)] for r in rows], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_varied_keeps_the_best_first_and_prefers_a_sentence_that_says_something_else():
    from qa.answering.select import varied

    a = _article("a")
    hits = [_hit(0, "Best.", a, 2.0), _hit(1, "Almost the same.", a, 1.9), _hit(2, "Something else.", a, 1.8)]
    view = _Vectors({0: [1, 0, 0], 1: [0.99, 0.1, 0], 2: [0, 1, 0]})
    assert [h.row for h in varied(hits, 2, view)] == [0, 2]
    assert [h.row for h in varied(hits, 3, view)] == [0, 2, 1]
    alike = _Vectors({0: [1, 0, 0], 1: [0, 1, 0], 2: [0, 0.9, 0.1]})
    assert [h.row for h in varied(hits, 2, alike)] == [0, 1]  # by score when none repeats the first
