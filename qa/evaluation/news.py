"""`qa eval` on a qa-news-eval file (tests/data/news-eval.json): the news-aware checks.

Syndicated copies found at index time (precision and recall over article pairs), disagreement
between sources (pairs of articles with a question and whether their figures disagree), and
"latest" questions answered from the newest relevant article.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from qa.answering import AnswerOptions, Engine
from qa.embedding import Embedder, Progress
from qa.errors import QAError
from qa.evaluation.files import declared_format
from qa.evaluation.scratch import scratch_engine
from qa.retrieval import Scope
from qa.settings import Settings

NEWS_FORMAT = "qa-news-eval"


@dataclass(frozen=True, kw_only=True)
class NewsReport:
    articles: int
    copy_pairs: int  # true pairs of copies in the file
    copy_pairs_found: int
    copy_precision: float | None  # None when nothing was called a copy
    copy_recall: float | None
    disagreement_cases: int
    disagreement_precision: float | None
    disagreement_recall: float | None
    disagreement_accuracy: float
    held_out_cases: int  # pairs written after the disagreement rules were fixed
    held_out_accuracy: float | None
    latest_cases: int
    # share of "latest" questions whose first citation shown is from a newest relevant article
    latest_top1: float
    claims_ordered: float  # share of "sources differ" lines that list the figures oldest to newest
    latency_p50_ms: float


def is_news_eval(path: Path) -> bool:
    return declared_format(path) == NEWS_FORMAT


def evaluate_news(engine: Engine, spec: dict) -> NewsReport:
    """Score `engine` (over an index of the spec's corpus) on the spec's copies, pairs and latest cases."""
    import numpy as np

    from qa.syndication import pairs

    articles = [s.article for s in engine.articles()]
    by_location = {a.location: a.id for a in articles}
    try:
        true_pairs = pairs([[by_location[loc] for loc in group] for group in spec.get("copies", [])])
    except KeyError as exc:
        raise QAError(f"the news eval names an article that is not in its corpus: {exc}") from exc
    found_pairs = pairs([[s.article_id for s in g] for g in engine.status().copy_groups])
    hit = len(true_pairs & found_pairs)
    flags, expected, held_out, latencies, ordered = [], [], [], [], []
    for case in spec.get("pairs", []):
        ids = {by_location[loc] for loc in case["articles"]}
        t = time.perf_counter()
        answer = engine.answer(case["question"], options=AnswerOptions(scope=Scope(articles=frozenset(ids))))
        latencies.append((time.perf_counter() - t) * 1000)
        flags.append(answer.disagreement is not None)
        expected.append(bool(case["disagree"]))
        held_out.append(bool(case.get("held_out")))
        if answer.disagreement:
            dates = [c.date or "" for c in answer.disagreement.claims]
            ordered.append(dates == sorted(dates))
    latest_ok = []
    for case in spec.get("latest", []):
        t = time.perf_counter()
        answer = engine.answer(case["question"])
        latencies.append((time.perf_counter() - t) * 1000)
        latest_ok.append(bool(answer.citations) and answer.citations[0].source.location in case["expect"])
    tp = sum(f and e for f, e in zip(flags, expected, strict=True))
    return NewsReport(
        articles=len(articles), copy_pairs=len(true_pairs), copy_pairs_found=len(found_pairs),
        copy_precision=hit / len(found_pairs) if found_pairs else None,
        copy_recall=hit / len(true_pairs) if true_pairs else None,
        disagreement_cases=len(flags),
        disagreement_precision=tp / sum(flags) if any(flags) else None,
        disagreement_recall=tp / sum(expected) if any(expected) else None,
        disagreement_accuracy=sum(f == e for f, e in zip(flags, expected, strict=True)) / max(len(flags), 1),
        held_out_cases=sum(held_out),
        held_out_accuracy=sum(f == e for f, e, h in zip(flags, expected, held_out, strict=True) if h)
        / sum(held_out) if any(held_out) else None,
        latest_cases=len(latest_ok), latest_top1=sum(latest_ok) / max(len(latest_ok), 1),
        claims_ordered=sum(ordered) / len(ordered) if ordered else 1.0,
        latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0)



def run_news_eval(settings: Settings, embedder: Embedder, path: Path,
                  progress: Progress | None = None) -> NewsReport:
    """Index the spec's corpus (a folder beside the spec) in a temporary folder and score it."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    source = Path(path).parent / spec.get("corpus", "")
    if not source.is_dir():
        raise QAError(f"the news eval's corpus folder {source} does not exist")
    with scratch_engine(settings, embedder, lambda corpus: shutil.copytree(source, corpus),
                        progress) as engine:
        return evaluate_news(engine, spec)
