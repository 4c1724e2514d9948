"""`qa eval` on a qa-questions file: questions written over a folder of articles, each with the file
and a short phrase of the sentence that answers it, and foreign questions the corpus cannot answer.

Measured in the order an answer shows its citations: top-1 (the first citation is from the file
and holds the phrase), any citation, foreign questions declined; and furniture quoted (a headline,
a heading, a dateline, or a boilerplate snippet of the folder's gold.json quoted as an answer), at
first place and anywhere. Format: tests/data/realnews-questions.json.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from qa.answering import Answer, Citation, Engine
from qa.dateline import split_dateline
from qa.embedding import Embedder, Progress
from qa.errors import QAError
from qa.evaluation.files import declared_format
from qa.evaluation.pages import load_gold, squash
from qa.evaluation.scratch import scratch_engine
from qa.evaluation.squad import detail_row
from qa.settings import Settings

FORMAT = "qa-questions"


@dataclass(frozen=True, kw_only=True)
class QuestionsReport:
    questions: int
    answered: float
    top1: float  # first citation shown is the answering sentence
    top1_by_score: float
    any_citation: float
    by_kind: dict[str, float]  # top-1 by kind of question
    foreign_questions: int
    declined_foreign: float | None
    furniture_top1: int  # answers whose first citation is a headline, heading, dateline or boilerplate
    furniture_any: int  # answers quoting one anywhere
    latency_p50_ms: float


def is_questions_file(path: Path) -> bool:
    return declared_format(path) == FORMAT


class _Furniture:
    """Whether a cited sentence is page furniture: the article's headline or a heading, a dateline,
    or a snippet the folder's gold.json calls boilerplate for that file."""

    def __init__(self, engine: Engine, gold: Path):
        self.engine = engine
        pages = load_gold(gold.parent) if gold.is_file() else []
        self.without = {p.file: [squash(s) for s in p.without] for p in pages}

    def __call__(self, c: Citation) -> bool:
        with self.engine.reading() as view:
            article = view.article(c.article_id)
        sentence = squash(c.sentence)
        headings = ({squash(h.text).casefold() for h in article.headings}
                    | {squash(article.title).casefold()})
        file = c.source.location.rsplit("/", 1)[-1]
        return (sentence.casefold() in headings or split_dateline(sentence)[1] > 0
                or any(s in sentence for s in self.without.get(file, ())))


def evaluate_questions(engine: Engine, spec: dict, gold: Path,
                       details: list[dict] | None = None) -> QuestionsReport:
    import numpy as np

    furniture = _Furniture(engine, gold)
    asked = spec.get("questions", [])
    top1 = by_score = anywhere = answered = furniture_top1 = furniture_any = 0
    kinds, kind_hits, latencies = Counter(), Counter(), []
    for q in asked:
        answer, seconds = _timed(engine, q["question"])
        latencies.append(seconds)

        def hit(c: Citation, q: dict = q) -> bool:
            return c.source.location == q["file"] and squash(q["answer"]) in squash(c.sentence)

        cites = list(answer.citations)
        answered += answer.found
        first = bool(cites) and hit(cites[0])
        top1 += first
        by_score += bool(cites) and hit(max(cites, key=lambda c: c.score))
        anywhere += any(map(hit, cites))
        kinds[q.get("kind", "")] += 1
        kind_hits[q.get("kind", "")] += first
        marked = [furniture(c) for c in cites]
        furniture_top1 += bool(marked) and marked[0]
        furniture_any += any(marked)
        if details is not None:
            details.append(detail_row(answer, [q["answer"]], hit)
                           | {"file": q["file"], "kind": q.get("kind", "")})
    foreign = spec.get("foreign", [])
    declined = 0
    for text in foreign:
        answer, seconds = _timed(engine, text)
        latencies.append(seconds)
        declined += not answer.found
        if details is not None:
            details.append(detail_row(answer, [], lambda c: False) | {"foreign": True})
    n = max(len(asked), 1)
    return QuestionsReport(
        questions=len(asked), answered=answered / n, top1=top1 / n, top1_by_score=by_score / n,
        any_citation=anywhere / n, by_kind={k: kind_hits[k] / kinds[k] for k in sorted(kinds)},
        foreign_questions=len(foreign), declined_foreign=declined / len(foreign) if foreign else None,
        furniture_top1=furniture_top1, furniture_any=furniture_any,
        latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0)


def _timed(engine: Engine, question: str) -> tuple[Answer, float]:
    started = time.perf_counter()
    answer = engine.answer(question)
    return answer, (time.perf_counter() - started) * 1000


def run_questions_eval(settings: Settings, embedder: Embedder, path: Path, progress: Progress | None = None,
                       details: list[dict] | None = None) -> QuestionsReport:
    """Index the file's corpus folder in a temporary folder and ask its questions."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    source = (Path(path).parent / spec.get("corpus", "")).resolve()
    if not source.is_dir():
        raise QAError(f"the questions file's corpus folder {source} does not exist")
    with scratch_engine(settings, embedder, lambda corpus: shutil.copytree(source, corpus),
                        progress) as engine:
        return evaluate_questions(engine, spec, source.parent / "gold.json", details)
