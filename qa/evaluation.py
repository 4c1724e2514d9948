"""`qa eval`: answer quality on SQuAD-format data, measured through the real pipeline.

A SQuAD file becomes a temporary corpus (one article per title, its paragraphs in order), which is
indexed with the configured model; every question is asked through the answer engine and the cited
sentences are checked against the gold answers with SQuAD's normalization.
"""

from __future__ import annotations

import json
import re
import string
import time
from dataclasses import dataclass
from pathlib import Path

from qa.answering import Answer, AnswerOptions, Engine
from qa.articles import Article, content_hash, stable_id
from qa.embedding import Embedder, Progress
from qa.errors import QAError
from qa.indexing import build_index
from qa.normalize import normalize_text
from qa.retrieval import Scope
from qa.settings import Settings

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’–—")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalization: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def contains_answer(sentence: str, answers: tuple[str, ...]) -> bool:
    padded = f" {normalize_answer(sentence)} "
    return any(f" {a} " in padded for a in map(normalize_answer, answers) if a)


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # empty for SQuAD 2.0 impossible questions
    article_id: str
    paragraph: int  # index into SquadSet.paragraphs[article_id]


@dataclass(frozen=True)
class SquadSet:
    articles: list[Article]
    questions: list[SquadQuestion]
    paragraphs: dict[str, list[tuple[int, int]]]  # article id -> char spans of its paragraphs


def load_squad(path: Path) -> SquadSet:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QAError(f"{path} is not a SQuAD file ({exc}): expected {{'data': [...]}}") from exc
    articles, questions, spans = [], [], {}
    for entry in data:
        title = entry.get("title", "untitled").replace("_", " ")
        article_id = stable_id(f"squad:{path.name}:{title}")
        paras = [normalize_text(p["context"], lines_are_paragraphs=True) for p in entry["paragraphs"]]
        text, offsets = "", []
        for para in paras:
            start = len(text) + (2 if text else 0)
            text = f"{text}\n\n{para}" if text else para
            offsets.append((start, len(text)))
        articles.append(Article(id=article_id, title=title, published=None, source="SQuAD", author="",
                                location=f"{path.name}#{title}", url="", text=text, content_hash=content_hash(text)))
        spans[article_id] = offsets
        for i, p in enumerate(entry["paragraphs"]):
            for qa in p["qas"]:
                answers = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, article_id, i))
    return SquadSet(articles, questions, spans)


@dataclass(frozen=True, kw_only=True)
class EvalReport:
    questions: int
    answerable: int
    answer_in_top1: float
    answer_in_top3: float
    paragraph_recall_at_1: float
    paragraph_recall_at_3: float
    answered_answerable: float
    declined_foreign: float | None
    declined_impossible: float | None
    evidence_chars_mean: float
    latency_p50_ms: float
    latency_p95_ms: float
    foreign_questions: int = 0


def write_corpus(squad: SquadSet, corpus_dir: Path) -> None:
    """The SQuAD articles as JSON articles, indexed by the normal pipeline."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(squad.articles):
        record = {"title": a.title, "text": a.text, "source": a.source}
        (corpus_dir / f"{i:04d}.json").write_text(json.dumps(record), encoding="utf-8")


def evaluate(engine: Engine, squad: SquadSet, foreign: list[str] | None = None) -> EvalReport:
    """Ask every question through `engine` (an Engine over an index of `squad`) and score it."""
    import numpy as np

    by_title = {a.title: a for a in squad.articles}
    top1 = top3 = para1 = para3 = answered = declined_imp = 0
    latencies, evidence = [], []
    answerable = [q for q in squad.questions if q.answers]
    impossible = [q for q in squad.questions if not q.answers]
    for q in squad.questions:
        t = time.perf_counter()
        answer = engine.answer(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        if not q.answers:
            declined_imp += not answer.found
            continue
        if not answer.found:
            continue
        answered += 1
        cites = sorted(answer.citations, key=lambda c: -c.score)  # best match first, not by date
        evidence.append(sum(len(c.sentence) for c in cites))
        hits = [contains_answer(c.sentence, q.answers) for c in cites]
        top1 += bool(hits[:1] and hits[0])
        top3 += any(hits[:3])
        in_para = [c.source.title in by_title and _in_paragraph(squad, by_title[c.source.title].id, q, c.start)
                   for c in cites]
        para1 += bool(in_para[:1] and in_para[0])
        para3 += any(in_para[:3])
    declined_foreign = None
    for text in foreign or []:
        t = time.perf_counter()
        declined_foreign = (declined_foreign or 0) + (not engine.answer(text).found)
        latencies.append((time.perf_counter() - t) * 1000)
    n = max(len(answerable), 1)
    return EvalReport(
        questions=len(squad.questions), answerable=len(answerable), answer_in_top1=top1 / n,
        answer_in_top3=top3 / n, paragraph_recall_at_1=para1 / n, paragraph_recall_at_3=para3 / n,
        answered_answerable=answered / n,
        declined_foreign=None if declined_foreign is None else declined_foreign / max(len(foreign), 1),
        declined_impossible=declined_imp / len(impossible) if impossible else None,
        evidence_chars_mean=float(np.mean(evidence)) if evidence else 0.0,
        latency_p50_ms=float(np.percentile(latencies, 50)), latency_p95_ms=float(np.percentile(latencies, 95)),
        foreign_questions=len(foreign or []))


def _in_paragraph(squad: SquadSet, article_id: str, q: SquadQuestion, start: int) -> bool:
    if article_id != q.article_id:
        return False
    lo, hi = squad.paragraphs[article_id][q.paragraph]
    return lo <= start < hi


def run_eval(settings: Settings, embedder: Embedder, path: Path, foreign_path: Path | None = None,
             progress: Progress | None = None) -> EvalReport:
    """Index `path`'s articles in a temporary folder and evaluate the answer engine on them."""
    import tempfile
    from dataclasses import replace

    squad = load_squad(path)
    foreign = [q.question for q in load_squad(foreign_path).questions] if foreign_path else None
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        local = replace(settings, corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        write_corpus(squad, local.corpus_dir)
        build_index(local, embedder, progress=progress)
        engine = Engine(local, embedder)
        engine.answer("warm up")  # load the index and model before timing
        return evaluate(engine, squad, foreign)


# News-aware checks (`qa eval` on a file with "format": "qa-news-eval", e.g. tests/data/news-eval.json):
# syndicated copies found at index time, disagreement between sources, and "latest" questions.

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
    latest_top1: float  # share of "latest" questions whose first citation is a newest relevant article
    dates_ordered: float  # share of answers citing several dates that list them oldest to newest
    latency_p50_ms: float


def is_news_eval(path: Path) -> bool:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("format") == NEWS_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


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
        dates = [c.source.date for c in answer.citations if c.source.date]
        if len(set(dates)) > 1:
            ordered.append(dates == sorted(dates))
    latest_ok = []
    for case in spec.get("latest", []):
        t = time.perf_counter()
        answer = engine.answer(case["question"])
        latencies.append((time.perf_counter() - t) * 1000)
        latest_ok.append(bool(answer.citations) and answer_location(answer) in case["expect"])
        dates = [c.source.date for c in answer.citations if c.source.date]
        if len(set(dates)) > 1:
            ordered.append(dates == sorted(dates))
    tp = sum(f and e for f, e in zip(flags, expected))
    return NewsReport(
        articles=len(articles), copy_pairs=len(true_pairs), copy_pairs_found=len(found_pairs),
        copy_precision=hit / len(found_pairs) if found_pairs else None,
        copy_recall=hit / len(true_pairs) if true_pairs else None,
        disagreement_cases=len(flags),
        disagreement_precision=tp / sum(flags) if any(flags) else None,
        disagreement_recall=tp / sum(expected) if any(expected) else None,
        disagreement_accuracy=sum(f == e for f, e in zip(flags, expected)) / max(len(flags), 1),
        held_out_cases=sum(held_out),
        held_out_accuracy=sum(f == e for f, e, h in zip(flags, expected, held_out) if h) / sum(held_out)
        if any(held_out) else None,
        latest_cases=len(latest_ok), latest_top1=sum(latest_ok) / max(len(latest_ok), 1),
        dates_ordered=sum(ordered) / len(ordered) if ordered else 1.0,
        latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0)


def answer_location(answer: Answer) -> str:
    """The article (corpus location) of the citation the answer leads with by relevance."""
    best = max(answer.citations, key=lambda c: c.score)
    return best.source.location


def run_news_eval(settings: Settings, embedder: Embedder, path: Path, progress: Progress | None = None) -> NewsReport:
    """Index the spec's corpus (a folder beside the spec) in a temporary folder and score it."""
    import shutil
    import tempfile
    from dataclasses import replace

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    source = Path(path).parent / spec.get("corpus", "")
    if not source.is_dir():
        raise QAError(f"the news eval's corpus folder {source} does not exist")
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        local = replace(settings, corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        shutil.copytree(source, local.corpus_dir)
        build_index(local, embedder, progress=progress)
        engine = Engine(local, embedder)
        engine.answer("warm up")
        return evaluate_news(engine, spec)
